// TEST DATA. Small results folders written the way the runner writes them (manifest, params,
// summary, and real .hgrm/.hlog from IntervalRecorder), from latencies drawn out of a seeded
// toy model: a commit takes about four one-way delays in classic Raft (client at a follower:
// forward, append, ack, notify) and three on Fast Raft's fast path. The numbers mean nothing; the
// files are the contract's shape, which is what the report code is tested against.

import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IntervalRecorder } from '../../src/metrics/latency-recorder.js';
import type { Manifest, ParamValue, RunParams, RunSummary } from '../../src/metrics/results-format.js';

export interface FixtureOptions {
  readonly name?: string;
  readonly protocols?: readonly string[];
  readonly latencies?: readonly string[];
  readonly contention?: readonly number[] | null;
  // Swept cluster sizes (null: 5 nodes, not swept).
  readonly sizes?: readonly number[] | null;
  // Swept offered rates per second (null: ratePerSec, not swept).
  readonly rates?: readonly number[] | null;
  readonly repeat?: number;
  readonly durationSec?: number;
  readonly ratePerSec?: number;
  // Multiplies every latency (a doctored slower build).
  readonly slowdown?: number;
  // Crash the leader this many seconds into the window (null: no fault).
  readonly crashAtSec?: number | null;
  readonly seed?: number;
  readonly timestamp?: string;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function parseMs(text: string): number {
  const m = /^([0-9.]+)(us|ms)$/.exec(text);
  if (m === null) throw new Error(`fixture latency ${text}`);
  return m[2] === 'us' ? Number(m[1]) / 1000 : Number(m[1]);
}

export function tempDir(prefix = 'frb-report-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

// writeFixture writes results/<name>/<timestamp>/ under root and returns the timestamped folder.
export function writeFixture(root: string, opts: FixtureOptions = {}): string {
  const name = opts.name ?? 'fast-vs-classic';
  const protocols = opts.protocols ?? ['raft', 'fastraft'];
  const latencies = opts.latencies ?? ['1ms', '5ms', '20ms'];
  const contention = opts.contention ?? null;
  const sizes = opts.sizes ?? null;
  const rates = opts.rates ?? null;
  const repeat = opts.repeat ?? 2;
  const durationSec = opts.durationSec ?? 8;
  const ratePerSec = opts.ratePerSec ?? 400;
  const slowdown = opts.slowdown ?? 1;
  const crashAtSec = opts.crashAtSec === undefined ? 5 : opts.crashAtSec;
  const seed = opts.seed ?? 1;
  const dir = join(root, name, opts.timestamp ?? '2026-01-01T00-00-00Z');
  mkdirSync(join(dir, 'runs'), { recursive: true });
  const axes: Manifest['axes'] = [];
  if (protocols.length > 1) axes.push({ path: 'cluster.protocol', values: [...protocols] });
  if (sizes !== null) axes.push({ path: 'cluster.size', values: [...sizes] });
  if (rates !== null) axes.push({ path: 'workload.rate', values: rates.map((r) => `${r}/s`) });
  axes.push({ path: 'network.latency', values: [...latencies] });
  if (contention !== null) axes.push({ path: 'workload.contention', values: [...contention] });
  const points: Array<Record<string, ParamValue>> = [];
  for (const protocol of protocols) {
    for (const n of sizes ?? [null]) {
      for (const latency of latencies) {
        for (const c of contention ?? [null]) {
         for (const rate of rates ?? [null]) {
          const p: Record<string, ParamValue> = {};
          if (rate !== null) p['workload.rate'] = `${rate}/s`;
          if (protocols.length > 1) p['cluster.protocol'] = protocol;
          if (n !== null) p['cluster.size'] = n;
          p['network.latency'] = latency;
          if (c !== null) p['workload.contention'] = c;
          points.push(p);
         }
        }
      }
    }
  }
  const matrix: Manifest['matrix'] = [];
  const windowStartUs = 2_000_000;
  const windowUs = durationSec * 1_000_000;
  let index = 0;
  for (const point of points) {
    const protocol = (point['cluster.protocol'] as string | undefined) ?? protocols[0]!;
    const fast = protocol === 'fastraft';
    const oneWayMs = parseMs(point['network.latency'] as string);
    const contentionShare = (point['workload.contention'] as number | undefined) ?? 0.05;
    const size = (point['cluster.size'] as number | undefined) ?? 5;
    const offeredPerSec = point['workload.rate'] !== undefined ? Number(String(point['workload.rate']).replace('/s', '')) : ratePerSec;
    // Past 600/s the toy cluster saturates: throughput flattens and latency climbs.
    const saturation = Math.max(1, offeredPerSec / 600);
    for (let rep = 0; rep < repeat; rep++) {
      const runId = `r${String(index).padStart(3, '0')}-${protocol}${sizes !== null ? `-n${String(point['cluster.size'])}` : ''}-${String(point['network.latency'])}${contention !== null ? `-c${String(point['workload.contention'])}` : ''}-rep${rep}`;
      const runSeed = seed * 1000 + index * 10 + rep;
      matrix.push({ runId, index, rep, seed: runSeed, params: point });
      const random = rng(runSeed);
      const corrected = new IntervalRecorder(windowStartUs);
      const uncorrected = new IntervalRecorder(windowStartUs);
      const leader = new IntervalRecorder(windowStartUs);
      const intervalUs = 1_000_000 / offeredPerSec;
      const crashUs = crashAtSec === null ? Infinity : windowStartUs + crashAtSec * 1_000_000;
      const outageUs = 150_000;
      let fastCommits = 0;
      let classicCommits = 0;
      let acked = 0;
      for (let t = windowStartUs; t < windowStartUs + windowUs; t += intervalUs) {
        const conflict = fast && random() < contentionShare + 0.05;
        const hops = fast ? (conflict ? 5 : 3) : 4;
        if (fast) {
          if (conflict) classicCommits++;
          else fastCommits++;
        }
        const jitter = -Math.log(1 - random()) * 0.15 * oneWayMs;
        const tail = random() < 0.01 ? oneWayMs * (2 + 6 * random()) : 0;
        let latencyUs = (hops * oneWayMs + jitter + tail + 0.05 + 0.04 * size) * 1000 * slowdown * saturation ** 3;
        // During the outage after a crash, requests wait for the new leader (corrected latency
        // counts the wait from the intended send time).
        if (t >= crashUs && t < crashUs + outageUs) latencyUs += crashUs + outageUs - t;
        const ackAt = t + latencyUs;
        // Acknowledged after the window closed: outside the measurement, as the runner treats it.
        if (ackAt >= windowStartUs + windowUs) continue;
        corrected.record(ackAt, latencyUs);
        uncorrected.record(ackAt, Math.min(latencyUs, (hops * oneWayMs + jitter) * 1000 * slowdown));
        leader.record(ackAt, latencyUs * 0.7);
        acked++;
      }
      const windowEndUs = windowStartUs + windowUs;
      const perCommit = fast ? 2 * size + 1 + (classicCommits / Math.max(1, acked)) * 2 * (size - 1) : 2 * (size - 1) + 2;
      const summary: RunSummary = {
        schema: 1,
        runId,
        mode: 'sim',
        protocol,
        size,
        seed: runSeed,
        params: point,
        window: { startUs: windowStartUs, endUs: windowEndUs },
        commitLatency: corrected.summary(),
        commitLatencyUncorrected: uncorrected.summary(),
        leaderCommitLatency: leader.summary(),
        throughput: {
          offeredPerSec,
          achievedPerSec: Math.round((acked / durationSec / slowdown / saturation) * 10) / 10,
          saturated: saturation > 1.05,
        },
        fast: fast
          ? {
              fastCommits,
              classicCommits,
              fastPathRatio: fastCommits / Math.max(1, fastCommits + classicCommits),
              conflicts: classicCommits,
              fallbacks: classicCommits,
              reproposals: Math.floor(classicCommits / 4),
            }
          : null,
        messages: {
          total: Math.round(perCommit * acked),
          perCommit: Math.round(perCommit * 1000) / 1000,
          bytesTotal: Math.round(perCommit * acked * 180),
          bytesPerCommit: Math.round(perCommit * 180),
        },
        elections: crashAtSec === null ? 1 : 2,
        availabilityGapUs: crashAtSec === null ? 20_000 : outageUs,
        unacknowledged: 0,
        faults:
          crashAtSec === null
            ? []
            : [
                { atUs: crashUs, kind: 'crash', node: 1, detail: 'leader' },
                { atUs: crashUs + 2_000_000, kind: 'restart', node: 1 },
              ],
        methodology: {
          workload: `open loop ${offeredPerSec}/s, 8 clients on followers, 128 B values`,
          placement: 'followers',
          valueBytes: 128,
          durability: 'memory (simulated disk 0us)',
          transport: 'simulated network',
        },
      };
      const params: RunParams = { schema: 1, runId, index, rep, seed: runSeed, params: point, spec: { note: 'test fixture' } };
      const runDir = join(dir, 'runs', runId);
      mkdirSync(runDir, { recursive: true });
      writeFileSync(join(runDir, 'params.json'), JSON.stringify(params, null, 2));
      writeFileSync(join(runDir, 'summary.json'), JSON.stringify(summary, null, 2));
      writeFileSync(join(runDir, 'commit.hgrm'), corrected.hgrm());
      writeFileSync(join(runDir, 'commit.hlog'), corrected.hlog(0, `test fixture ${runId}`));
      corrected.destroy();
      uncorrected.destroy();
      leader.destroy();
    }
    index++;
  }
  const manifest: Manifest = {
    schema: 1,
    tool: { name: 'frb', version: '0.1.0' },
    experiment: {
      name,
      file: `experiments/${name}.yaml`,
      text: `name: ${name}\nmode: sim\nrepeat: ${repeat}\n# test fixture\n`,
    },
    mode: 'sim',
    seed,
    repeat,
    matrix,
    axes,
    gitCommit: '0123456789abcdef0123456789abcdef01234567',
    node: 'v20.0.0',
    cpu: 'Test CPU @ 1.00GHz x2',
    host: 'fixture-host',
    platform: 'linux x64',
    startedAt: '2026-01-01T00:00:00.000Z',
    endedAt: '2026-01-01T00:01:00.000Z',
    finished: matrix.map((m) => m.runId),
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return dir;
}

// doctorSlower copies a results folder and makes every run slower by `factor` in its summary
// (latencies up, throughput down): the "regressed build" the check must catch.
export function doctorSlower(src: string, dst: string, factor: number): string {
  cpSync(src, dst, { recursive: true });
  const runsDir = join(dst, 'runs');
  for (const runId of readdirSync(runsDir)) {
    const file = join(runsDir, runId, 'summary.json');
    const s = JSON.parse(readFileSync(file, 'utf8')) as RunSummary;
    const scale = (l: RunSummary['commitLatency']): RunSummary['commitLatency'] => ({
      ...l,
      meanUs: l.meanUs * factor,
      p50Us: Math.round(l.p50Us * factor),
      p90Us: Math.round(l.p90Us * factor),
      p99Us: Math.round(l.p99Us * factor),
      p999Us: Math.round(l.p999Us * factor),
      p9999Us: Math.round(l.p9999Us * factor),
      maxUs: Math.round(l.maxUs * factor),
    });
    s.commitLatency = scale(s.commitLatency);
    s.throughput = { ...s.throughput, achievedPerSec: s.throughput.achievedPerSec / factor };
    writeFileSync(file, JSON.stringify(s, null, 2));
  }
  return dst;
}
