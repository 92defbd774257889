// Transport benchmark: two transports on loopback (uWebSockets.js server and `ws` server, each
// with the `ws` dialer), measuring
//   - round-trip latency of one frame (a heartbeat, and a Ready-sized batch of 16 appends),
//   - throughput of batched frames with a window of frames in flight,
//   - the error of an injected 1 ms delay: how late the high-resolution scheduler releases a
//     delayed message, measured inside a running transport (ping-pong over a 1 ms link) and for
//     the scheduler alone.
// The last line printed is one JSON object.
//
//   npm run bench:transport
//   node dist/bench/transport/index.js [--rtts=2000] [--frames=4000] [--batch=64] [--window=32]
//        [--payload=128] [--delays=2000] [--only=uws|ws]

import { execFileSync } from 'node:child_process';
import { cpus, hostname, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import * as hdr from 'hdr-histogram-js';
import type { Message } from '../../src/core/types.js';
import { MessageType, newEntry, newMessage } from '../../src/core/types.js';
import { HrScheduler, Transport, UwsUnavailableError, hrNowUs } from '../../src/transport/index.js';
import type { DelayErrorSummary, ServerKind, TransportInfo } from '../../src/transport/index.js';

interface Options {
  rtts: number;
  frames: number;
  batch: number;
  window: number;
  payloadBytes: number;
  delays: number;
  only: ServerKind | 'both';
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { rtts: 2000, frames: 4000, batch: 64, window: 32, payloadBytes: 128, delays: 2000, only: 'both' };
  const int = (name: string, v: string, min: number, max: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name}=${v}: expected an integer in [${min}, ${max}]`);
    return n;
  };
  for (const a of argv) {
    const m = /^--([a-z]+)=(.*)$/.exec(a);
    if (m === null) throw new Error(`unknown argument ${a}`);
    const [, name, v] = m as unknown as [string, string, string];
    switch (name) {
      case 'rtts': o.rtts = int(name, v, 10, 1_000_000); break;
      case 'frames': o.frames = int(name, v, 10, 10_000_000); break;
      case 'batch': o.batch = int(name, v, 1, 4096); break;
      case 'window': o.window = int(name, v, 1, 4096); break;
      case 'payload': o.payloadBytes = int(name, v, 0, 1 << 20); break;
      case 'delays': o.delays = int(name, v, 10, 1_000_000); break;
      case 'only':
        if (v !== 'uws' && v !== 'ws' && v !== 'both') throw new Error(`--only=${v}: expected uws, ws or both`);
        o.only = v;
        break;
      default: throw new Error(`unknown option --${name}`);
    }
  }
  return o;
}

const cluster = 'bench';
const secret = 'bench-secret-not-for-production';
const host = '127.0.0.1';

interface Pair {
  a: Transport;
  b: Transport;
  close(): Promise<void>;
}

// A pair whose node 2 echoes every frame back as one small ack per frame (or the frame itself
// for round trips), through handlers swapped per phase.
async function startPair(kind: ServerKind): Promise<Pair> {
  const quiet = (): void => {};
  const common = { cluster, secret, kind, host, port: 0, log: quiet, faultSeed: 1 } as const;
  const a = await Transport.start({ ...common, nodeId: 1 });
  const b = await Transport.start({ ...common, nodeId: 2, peers: { 1: `${host}:${a.port}` } });
  a.setPeer(2, `${host}:${b.port}`);
  for (let i = 0; i < 2000 && !(a.connected(2) && b.connected(1)); i++) await sleep(5);
  if (!a.connected(2)) throw new Error(`${kind}: the pair did not connect`);
  return { a, b, close: async () => { await a.close(); await b.close(); } };
}

// withTimeout bounds a phase without leaving a timer behind to hold the process open.
async function withTimeout(p: Promise<void>, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    await Promise.race([p, expired]);
  } finally {
    clearTimeout(timer);
  }
}

interface LatencySummary {
  count: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
  meanUs: number;
}

function newHistogram(): ReturnType<typeof hdr.build> {
  return hdr.build({ numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, autoResize: true });
}

// Histograms hold nanoseconds; summaries are in microseconds with 0.1 us resolution.
function summarize(h: ReturnType<typeof hdr.build>): LatencySummary {
  const us = (ns: number): number => Math.round(ns / 100) / 10;
  return {
    count: h.totalCount,
    p50Us: us(h.getValueAtPercentile(50)),
    p90Us: us(h.getValueAtPercentile(90)),
    p99Us: us(h.getValueAtPercentile(99)),
    maxUs: us(h.maxValue),
    meanUs: us(h.mean),
  };
}

function appendBatch(from: number, to: number, n: number, payloadBytes: number, base: number): Message[] {
  const data = new Uint8Array(payloadBytes).fill(7);
  return Array.from({ length: n }, (_, i) =>
    newMessage({ type: MessageType.MsgApp, from, to, term: 2, logTerm: 2, index: base + i, commit: base, entries: [newEntry({ term: 2, index: base + i + 1, data })] }),
  );
}

// roundTrips sends one frame at a time from 1 to 2; node 2 sends the same messages back (from 2
// to 1); the next frame goes when the echo arrives.
async function roundTrips(p: Pair, count: number, makeFrame: (i: number) => Message[]): Promise<LatencySummary> {
  const h = newHistogram();
  const warmup = Math.min(200, Math.floor(count / 5));
  let i = 0;
  let sentAt = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => { done = r; });
  const sendNext = (): void => {
    sentAt = hrNowUs();
    p.a.send(makeFrame(i));
  };
  p.b.onMessages((msgs) => p.b.send(msgs.map((m) => ({ ...m, from: 2, to: 1 }))));
  p.a.onMessages(() => {
    const rttNs = Math.round((hrNowUs() - sentAt) * 1000);
    if (i >= warmup) h.recordValue(rttNs);
    i++;
    if (i >= count + warmup) done();
    else sendNext();
  });
  sendNext();
  await withTimeout(finished, 120_000, 'round trips');
  return summarize(h);
}

interface Throughput {
  frames: number;
  msgs: number;
  seconds: number;
  framesPerSec: number;
  msgsPerSec: number;
  payloadMBPerSec: number;
  wireMBPerSec: number;
}

// throughput keeps `window` frames of `batch` appends in flight from 1 to 2; node 2 answers each
// frame with one MsgAppResp, which opens the window for the next frame.
async function throughput(p: Pair, o: Options): Promise<Throughput> {
  const frames = o.frames;
  let sent = 0;
  let acked = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => { done = r; });
  p.b.onMessages((msgs) => p.b.send([newMessage({ type: MessageType.MsgAppResp, from: 2, to: 1, term: 2, index: msgs[msgs.length - 1]!.index })]));
  const bytesBefore = p.a.metrics().peers[0]!.bytesOut;
  const start = hrNowUs();
  const pump = (): void => {
    while (sent < frames && sent - acked < o.window) {
      p.a.send(appendBatch(1, 2, o.batch, o.payloadBytes, sent * o.batch));
      sent++;
    }
  };
  p.a.onMessages(() => {
    acked++;
    if (acked >= frames) done();
    else pump();
  });
  pump();
  await withTimeout(finished, 300_000, 'throughput run');
  const seconds = (hrNowUs() - start) / 1e6;
  const wireBytes = p.a.metrics().peers[0]!.bytesOut - bytesBefore;
  const msgs = frames * o.batch;
  return {
    frames,
    msgs,
    seconds: Math.round(seconds * 1000) / 1000,
    framesPerSec: Math.round(frames / seconds),
    msgsPerSec: Math.round(msgs / seconds),
    payloadMBPerSec: Math.round((msgs * o.payloadBytes) / seconds / 1e4) / 100,
    wireMBPerSec: Math.round(wireBytes / seconds / 1e4) / 100,
  };
}

// delayedPingPong runs ping-pong over a link with a constant 1 ms injected delay (1 -> 2 only)
// and returns the transport's own record of release error.
async function delayedPingPong(p: Pair, count: number): Promise<DelayErrorSummary & { rttUsP50: number }> {
  p.a.applyFaults({ links: { '1->2': { latency: '1ms' } } });
  p.a.resetDelayError();
  const rtt = await roundTrips(p, count, (i) => [newMessage({ type: MessageType.MsgHeartbeat, from: 1, to: 2, term: 2, commit: i })]);
  const e = p.a.delayError();
  p.a.applyFaults({});
  return { ...round(e), rttUsP50: rtt.p50Us };
}

function round(e: DelayErrorSummary): DelayErrorSummary {
  const r = (x: number): number => Math.round(x * 10) / 10;
  return { count: e.count, p50Us: r(e.p50Us), p99Us: r(e.p99Us), maxUs: r(e.maxUs), meanUs: r(e.meanUs) };
}

// schedulerOnly schedules `count` releases 1 ms ahead, spread over time, with nothing else running.
async function schedulerOnly(count: number): Promise<DelayErrorSummary> {
  let released = 0;
  const s = new HrScheduler<number>((_k, _v, n) => { released += n; });
  for (let i = 0; i < count; i++) {
    s.schedule(hrNowUs() + 1000, 0, i);
    await sleep(i % 3 === 0 ? 0 : 1);
  }
  for (let i = 0; i < 1000 && released < count; i++) await sleep(2);
  const e = s.errorSummary();
  s.stop();
  return round(e);
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const kinds: ServerKind[] = o.only === 'both' ? ['uws', 'ws'] : [o.only];
  const byKind: Record<string, unknown> = {};
  let delayInTransport: (DelayErrorSummary & { rttUsP50: number; kind: ServerKind }) | null = null;
  for (const kind of kinds) {
    let p: Pair;
    try {
      p = await startPair(kind);
    } catch (err) {
      if (err instanceof UwsUnavailableError) {
        console.log(`${kind}: skipped: ${err.message}`);
        byKind[kind] = { skipped: err.message };
        continue;
      }
      throw err;
    }
    try {
      const info: TransportInfo = p.a.info;
      const heartbeat = await roundTrips(p, o.rtts, (i) => [newMessage({ type: MessageType.MsgHeartbeat, from: 1, to: 2, term: 2, commit: i })]);
      console.log(`${kind}: heartbeat round trip p50 ${heartbeat.p50Us} us, p99 ${heartbeat.p99Us} us, max ${heartbeat.maxUs} us`);
      const batch = await roundTrips(p, o.rtts, (i) => appendBatch(1, 2, 16, o.payloadBytes, i * 16));
      console.log(`${kind}: 16-append frame round trip p50 ${batch.p50Us} us, p99 ${batch.p99Us} us`);
      const tput = await throughput(p, o);
      console.log(`${kind}: ${tput.msgsPerSec} msgs/s in ${tput.framesPerSec} frames/s of ${o.batch} (${tput.payloadMBPerSec} MB/s payload, ${tput.wireMBPerSec} MB/s on the wire), window ${o.window}`);
      if (delayInTransport === null) {
        const d = await delayedPingPong(p, o.delays);
        delayInTransport = { ...d, kind };
        console.log(`${kind}: injected 1 ms delay, release error p50 ${d.p50Us} us, p99 ${d.p99Us} us, max ${d.maxUs} us (round trip p50 ${d.rttUsP50} us)`);
      }
      byKind[kind] = {
        implementation: info.implementation,
        dialer: info.dialer,
        native: info.native,
        heartbeatRttUs: heartbeat,
        batch16RttUs: batch,
        throughput: tput,
      };
    } finally {
      await p.close();
    }
  }
  const sched = await schedulerOnly(o.delays);
  console.log(`scheduler alone: injected 1 ms delay, release error p50 ${sched.p50Us} us, p99 ${sched.p99Us} us, max ${sched.maxUs} us`);
  const p99s = [sched.p99Us, ...(delayInTransport !== null ? [delayInTransport.p99Us] : [])];
  console.log(
    JSON.stringify({
      bench: 'transport',
      schema: 1,
      setup: 'two transports in one process on 127.0.0.1; node 1 dials node 2 with ws + bufferutil; msgpackr frames; no faults except the delay measurement',
      rtts: o.rtts,
      frames: o.frames,
      batch: o.batch,
      window: o.window,
      payloadBytes: o.payloadBytes,
      ...byKind,
      delayError1ms: {
        target: 'p99 < 100 us',
        inTransport: delayInTransport,
        schedulerOnly: sched,
        meetsTarget: p99s.every((x) => x < 100),
      },
      loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      cpuCount: cpus().length,
      host: hostname(),
      commit: gitCommit(),
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exit(1);
});
