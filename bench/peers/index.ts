// bench:peers — the figures a user quotes, side by side with what they would otherwise pick: etcd
// (Debian's etcd-server, driven through its JSON gateway) and the project's live classic Raft and
// Fast Raft clusters, 3 and 5 nodes on loopback, on one machine in one run, with the same load
// generator (load.ts), the same payload (16-byte keys, 128-byte values), the same client counts and
// durable storage on every side (etcd's WAL fsync; LMDB with sync on).
//
// For each size one cluster of every system is started, and four scenarios are measured on each,
// the systems taking turns (each with fresh clients and its own warm-up):
//   1 closed-loop client   attached to the leader, then to a follower   p50/p99/p99.9 latency
//   64 closed-loop clients attached to the leader, then to a follower   throughput, p50/p99
// It writes a results folder (results/bench-peers/<UTC time>/, `frb report` drawn into it), the
// markdown table bench/peers/RESULTS.md (with the date, the machine and the exact command), and
// prints one JSON object as its last line. Every process it starts is stopped, also on failure
// and on Ctrl-C.
//
//   npm run bench:peers [-- --duration 10 --warmup 2 --systems etcd,raft,fastraft --sizes 3,5
//                          --clients 1,64 --repeat 1 --readme]
// --readme also rewrites the table in README.md's Performance section; --readme-only does only that,
// from the last bench/peers/RESULTS.md, measuring nothing.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConnectionPool, KvSession, LocalCluster } from '../../src/node/index.js';
import type { FastSummary, RunSummary } from '../../src/metrics/results-format.js';
import { BenchFolder } from '../lib/results.js';
import { EtcdCluster, EtcdPutClient, ensureEtcd } from './etcd.js';
import { closedLoop, keyBytes, keyCount, valueBytes, type PutClient } from './load.js';
import { renderMarkdown, goalsOf, type PeerRow } from './table.js';

const repoDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

type System = 'etcd' | 'raft' | 'fastraft';
type Attach = 'leader' | 'follower';

interface Scenario {
  readonly clients: number;
  readonly attach: Attach;
}

interface Options {
  readonly durationS: number;
  readonly warmupS: number;
  readonly systems: System[];
  readonly sizes: number[];
  readonly clientCounts: number[];
  readonly repeat: number;
  readonly out: string;
  readonly readme: boolean;
  readonly readmeOnly: boolean;
  readonly command: string;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function parseList<T>(text: string, name: string, check: (s: string) => T | null): T[] {
  const out: T[] = [];
  for (const part of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const v = check(part);
    if (v === null) throw new Error(`--${name}: unknown value "${part}"`);
    out.push(v);
  }
  if (out.length === 0) throw new Error(`--${name}: empty list`);
  return out;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      systems: { type: 'string', default: 'etcd,raft,fastraft' },
      sizes: { type: 'string', default: '3,5' },
      clients: { type: 'string', default: '1,64' },
      repeat: { type: 'string', default: '1' },
      out: { type: 'string', default: 'results' },
      readme: { type: 'boolean', default: false },
      'readme-only': { type: 'boolean', default: false },
    },
  });
  const durationS = Number(values.duration);
  const warmupS = Number(values.warmup);
  if (!(durationS > 0 && durationS <= 600)) throw new Error('--duration: seconds of measured load per scenario, 1..600');
  if (!(warmupS >= 0 && warmupS <= 60)) throw new Error('--warmup: seconds, 0..60');
  const args = process.argv.slice(2);
  return {
    durationS,
    warmupS,
    systems: parseList(values.systems!, 'systems', (s) => (s === 'etcd' || s === 'raft' || s === 'fastraft' ? s : null)),
    sizes: parseList(values.sizes!, 'sizes', (s) => (/^[0-9]+$/.test(s) && Number(s) >= 3 && Number(s) <= 9 ? Number(s) : null)),
    repeat: parseList(values.repeat!, 'repeat', (s) => (/^[0-9]+$/.test(s) && Number(s) >= 1 && Number(s) <= 10 ? Number(s) : null))[0]!,
    clientCounts: parseList(values.clients!, 'clients', (s) => (/^[0-9]+$/.test(s) && Number(s) >= 1 && Number(s) <= 1024 ? Number(s) : null)),
    out: values.out!,
    readme: values.readme === true,
    readmeOnly: values['readme-only'] === true,
    command: `npm run bench:peers${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`,
  };
}

// A cluster under test, whatever the system.
interface Target {
  readonly system: System;
  readonly size: number;
  readonly version: string;
  readonly durability: string;
  readonly transport: string;
  // Node ids (1-based) of the leader and of the follower clients attach to.
  leaderAndFollower(): Promise<{ leader: number; follower: number }>;
  client(node: number): Promise<PutClient>;
  // Peer messages/bytes sent so far and fast-path counters, summed over nodes (null: unknown).
  counters(): Promise<Counters | null>;
  down(): Promise<void>;
}

interface FastCounts {
  fastCommits: number;
  classicCommits: number;
  conflicts: number;
  fallbacks: number;
  reproposals: number;
}

interface Counters {
  msgs: number;
  bytes: number;
  fast: FastCounts | null;
}

// windowOf: what the counters moved by between the end of the warm-up and the end of the load.
function windowOf(a: Counters | null, e: Counters | null): { fast: FastSummary | null; messages: { total: number; bytesTotal: number } | null } {
  if (a === null || e === null) return { fast: null, messages: null };
  const messages = { total: e.msgs - a.msgs, bytesTotal: e.bytes - a.bytes };
  if (a.fast === null || e.fast === null) return { fast: null, messages };
  const fc = e.fast.fastCommits - a.fast.fastCommits;
  const cc = e.fast.classicCommits - a.fast.classicCommits;
  return {
    messages,
    fast: {
      fastCommits: fc,
      classicCommits: cc,
      fastPathRatio: fc + cc === 0 ? 0 : Math.round((fc / (fc + cc)) * 10000) / 10000,
      conflicts: e.fast.conflicts - a.fast.conflicts,
      fallbacks: e.fast.fallbacks - a.fast.fallbacks,
      reproposals: e.fast.reproposals - a.fast.reproposals,
    },
  };
}

const toStop = new Set<Target>();

async function etcdTarget(bin: string, size: number, dir: string): Promise<Target> {
  const c = await EtcdCluster.up({ bin, size, dir, log });
  const t: Target = {
    system: 'etcd',
    size,
    version: `etcd ${c.version}`,
    durability: 'etcd WAL, fsync per batch (default; --unsafe-no-fsync not set)',
    transport: 'HTTP/1.1 JSON gateway, one keep-alive connection per client',
    async leaderAndFollower() {
      const l = await c.waitLeader(10_000);
      const f = (l + 1) % size;
      return { leader: l + 1, follower: f + 1 };
    },
    async client(node) {
      const cl = new EtcdPutClient(c.members[node - 1]!.clientPort);
      return cl;
    },
    async counters() {
      return null;
    },
    down: () => c.down(),
  };
  return t;
}

async function frbTarget(protocol: 'raft' | 'fastraft', size: number, dir: string): Promise<Target> {
  // Tied to this process: if the benchmark is killed outright, its nodes exit too.
  const c = await LocalCluster.up({ dir, size, protocol, storage: 'lmdb', sync: true, waitLeader: true, logLevel: 'warn', healthyTimeoutMs: 30_000, tiedToThisProcess: true });
  const pkg = JSON.parse(readFileSync(join(repoDir, 'package.json'), 'utf8')) as { version: string };
  const t: Target = {
    system: protocol,
    size,
    version: `frb ${pkg.version} (${protocol})`,
    durability: 'LMDB, sync on (one durable transaction per Ready)',
    transport: `${c.config.transport} WebSocket client API, one connection per client`,
    async leaderAndFollower() {
      const l = await c.waitLeader(10_000);
      const f = c.ids.find((id) => id !== l)!;
      return { leader: l, follower: f };
    },
    async client(node) {
      const pool = new ConnectionPool(c.target());
      await pool.get(node);
      const s = new KvSession(pool, { nodeId: node, followLeader: false, attemptTimeoutMs: 5000, opTimeoutMs: 10_000 });
      return {
        async put(key: string, value: string) {
          const r = await s.put(key, value);
          if (!r.ok) throw new Error(r.error ?? 'put failed');
        },
        close: () => pool.close(),
      };
    },
    async counters() {
      let msgs = 0;
      let bytes = 0;
      let fast: FastCounts | null = null;
      for (const id of c.ids) {
        const v = await c.debugVars(id, 2000);
        const peers = ((v['transport'] as { peers?: Array<Record<string, unknown>> } | undefined)?.peers ?? []);
        for (const p of peers) {
          msgs += Number(p['msgsOut'] ?? 0);
          bytes += Number(p['bytesOut'] ?? 0);
        }
        const f = v['fast'] as Record<string, number> | null | undefined;
        if (f != null) {
          fast ??= { fastCommits: 0, classicCommits: 0, conflicts: 0, fallbacks: 0, reproposals: 0 };
          fast.fastCommits += f['fastCommits'] ?? 0;
          fast.classicCommits += f['classicCommits'] ?? 0;
          fast.conflicts += f['conflicts'] ?? 0;
          fast.fallbacks += f['fallbacks'] ?? 0;
          fast.reproposals += f['reproposals'] ?? 0;
        }
      }
      return { msgs, bytes, fast };
    },
    async down() {
      await c.down(2000);
    },
  };
  return t;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

// medianRows: one row per system and scenario, each figure the median over its repetitions.
function medianRows(all: readonly PeerRow[]): PeerRow[] {
  const groups = new Map<string, PeerRow[]>();
  for (const r of all) {
    const k = `${r.system}|${r.size}|${r.clients}|${r.attach}`;
    const g = groups.get(k) ?? [];
    g.push(r);
    groups.set(k, g);
  }
  return [...groups.values()].map((g) => ({
    ...g[0]!,
    p50Us: median(g.map((r) => r.p50Us)),
    p99Us: median(g.map((r) => r.p99Us)),
    p999Us: median(g.map((r) => r.p999Us)),
    opsPerSec: median(g.map((r) => r.opsPerSec)),
    count: g.reduce((a, r) => a + r.count, 0),
    failures: g.reduce((a, r) => a + r.failures, 0),
    fastPathRatio: g[0]!.fastPathRatio === null ? null : median(g.map((r) => r.fastPathRatio ?? 0)),
  }));
}

function machineLine(): string {
  const c = cpus();
  const disk = spawnSync('sh', ['-c', "df -T . | awk 'NR==2 {print $2}'"], { cwd: repoDir, encoding: 'utf8' }).stdout.trim();
  return `${c[0]?.model.trim() ?? 'unknown CPU'} x${c.length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM (${(freemem() / 2 ** 30).toFixed(0)} free), ${process.platform}-${process.arch}${disk !== '' ? `, data on ${disk}` : ''}`;
}

function load1(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}

async function main(): Promise<void> {
  const o = options();
  if (o.readmeOnly) {
    updateReadme(readFileSync(join(repoDir, 'bench', 'peers', 'RESULTS.md'), 'utf8'));
    return;
  }
  const started = new Date();
  const loadBefore = load1();
  const etcdBin = o.systems.includes('etcd') ? ensureEtcd(log) : null;
  const scenarios: Scenario[] = [];
  for (const clients of o.clientCounts) for (const attach of ['leader', 'follower'] as const) scenarios.push({ clients, attach });
  const pkg = JSON.parse(readFileSync(join(repoDir, 'package.json'), 'utf8')) as { version: string };
  const plan = [
    `# bench:peers plan (fixed by bench/peers/index.ts)`,
    `systems: [${o.systems.join(', ')}]`,
    `sizes: [${o.sizes.join(', ')}]`,
    `scenarios: closed loop, clients ${o.clientCounts.join(' and ')}, attached to the leader and to a follower`,
    `duration: ${o.durationS}s measured after ${o.warmupS}s warm-up, per scenario; ${o.repeat} repetition(s)`,
    `payload: ${keyBytes}-byte keys over ${keyCount} keys, ${valueBytes}-byte values`,
    `command: ${o.command}`,
  ].join('\n');
  const folder = new BenchFolder({
    root: resolve(repoDir, o.out),
    name: 'bench-peers',
    text: plan,
    file: 'bench/peers/index.ts',
    seed: 0,
    repeat: o.repeat,
    axes: [
      { path: 'cluster.protocol', values: o.systems },
      { path: 'cluster.size', values: o.sizes },
      { path: 'workload.clients', values: o.clientCounts },
      { path: 'workload.attach', values: ['leader', 'follower'] },
    ],
    repoDir,
    toolVersion: pkg.version,
  });
  log(`bench:peers -> ${relative(repoDir, folder.dir)}`);
  const work = mkdtempSync(join(tmpdir(), 'frb-peers-'));
  // Every measurement; the table shows per system and scenario the median over repetitions.
  const measured: PeerRow[] = [];
  const versions = new Map<System, string>();
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('interrupted: stopping after the scenario in progress (again to quit at once)');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let index = 0;
  const measure = async (target: Target, sc: Scenario, rep: number): Promise<void> => {
    const { system, size } = target;
    const { leader, follower } = await target.leaderAndFollower();
    const node = sc.attach === 'leader' ? leader : follower;
    const clients: PutClient[] = [];
    for (let i = 0; i < sc.clients; i++) clients.push(await target.client(node));
    const warmupUs = o.warmupS * 1e6;
    const durationUs = (o.warmupS + o.durationS) * 1e6;
    let atWarmup: Counters | null = null;
    const snap = setTimeout(() => {
      target.counters().then(
        (c) => {
          atWarmup = c;
        },
        () => {},
      );
    }, o.warmupS * 1000);
    const r = await closedLoop(clients, { warmupUs, durationUs });
    clearTimeout(snap);
    const atEnd = await target.counters().catch(() => null);
    for (const c of clients) c.close();
    const { fast, messages } = windowOf(atWarmup, atEnd);
    const runId = `protocol=${system},size=${size},clients=${sc.clients},attach=${sc.attach},rep=${rep}`;
    const summary: RunSummary = folder.add({
      runId,
      index: index++,
      rep,
      seed: 0,
      params: { 'cluster.protocol': system, 'cluster.size': size, 'workload.clients': sc.clients, 'workload.attach': sc.attach },
      spec: { system, version: target.version, size, clients: sc.clients, attach: sc.attach, node, leader, keyBytes, valueBytes, keyCount, warmupS: o.warmupS, durationS: o.durationS, durability: target.durability, transport: target.transport },
      protocol: system,
      size,
      samples: r.samples,
      windowStartUs: r.windowStartUs,
      windowEndUs: r.windowEndUs,
      offeredPerSec: null,
      fast,
      messages,
      elections: 0,
      methodology: {
        workload: `closed loop, ${sc.clients} client(s) x 1 outstanding put, ${keyBytes} B keys, ${valueBytes} B values`,
        placement: `${sc.attach === 'leader' ? 'leader' : 'one follower'} (node ${node}; leader ${leader})`,
        valueBytes,
        durability: target.durability,
        transport: target.transport,
      },
    });
    const row: PeerRow = {
      system,
      size,
      clients: sc.clients,
      attach: sc.attach,
      p50Us: summary.commitLatency.p50Us,
      p99Us: summary.commitLatency.p99Us,
      p999Us: summary.commitLatency.p999Us,
      opsPerSec: summary.throughput.achievedPerSec,
      count: summary.commitLatency.count,
      failures: r.failures,
      fastPathRatio: summary.fast?.fastPathRatio ?? null,
    };
    measured.push(row);
    log(
      `  ${system} x${size} ${String(sc.clients).padStart(2)} client(s) on ${sc.attach.padEnd(8)}${o.repeat > 1 ? ` rep ${rep}` : ''}: p50 ${(row.p50Us / 1000).toFixed(2)} ms, p99 ${(row.p99Us / 1000).toFixed(2)} ms, p99.9 ${(row.p999Us / 1000).toFixed(2)} ms, ${Math.round(row.opsPerSec)} ops/s` +
        (r.failures > 0 ? `, ${r.failures} failed (${r.errors[0] ?? ''})` : ''),
    );
  };
  try {
    for (const size of o.sizes) {
      if (interrupted) break;
      // Every system's cluster of this size is up at once, and each scenario is measured on each
      // system back to back, the order rotating from one scenario to the next: a busy minute of a
      // shared machine then falls on all systems alike rather than on whichever ran in it. The idle
      // clusters cost little (heartbeats) while another is measured.
      const targets: Target[] = [];
      for (const system of o.systems) {
        log(`${system} x${size}: starting`);
        const target = system === 'etcd' ? await etcdTarget(etcdBin!, size, join(work, `${system}-${size}`)) : await frbTarget(system, size, join(work, `${system}-${size}`));
        toStop.add(target);
        targets.push(target);
        versions.set(system, target.version);
      }
      try {
        let turn = 0;
        for (let rep = 0; rep < o.repeat; rep++) {
          for (const sc of scenarios) {
            for (let k = 0; k < targets.length; k++) {
              if (interrupted) break;
              await measure(targets[(turn + k) % targets.length]!, sc, rep);
            }
            turn++;
          }
        }
      } finally {
        for (const t of targets) {
          await t.down();
          toStop.delete(t);
        }
      }
    }
  } finally {
    for (const t of toStop) await t.down().catch(() => {});
    folder.finish();
    rmSync(work, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const loadAfter = load1();
  const rows = medianRows(measured);
  const frb = join(repoDir, 'dist', 'src', 'cli', 'frb.js');
  const rep = spawnSync(process.execPath, [frb, 'report', folder.dir, '--quiet'], { encoding: 'utf8', timeout: 300_000 });
  const reportIndex = rep.status === 0 ? rep.stdout.trim() : null;
  if (rep.status !== 0) log(`frb report failed: ${(rep.stderr || rep.stdout).trim().split('\n').slice(-1)[0] ?? ''}`);
  const gitRev = spawnSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: repoDir, encoding: 'utf8' }).stdout.trim();
  const meta = {
    date: started.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    machine: machineLine(),
    node: process.version,
    commit: gitRev,
    command: o.command,
    versions: [...versions.values()],
    durationS: o.durationS,
    warmupS: o.warmupS,
    repeat: o.repeat,
    loadBefore,
    loadAfter,
    cores: cpus().length,
    resultsDir: relative(repoDir, folder.dir),
  };
  const md = renderMarkdown(rows, meta);
  writeFileSync(join(repoDir, 'bench', 'peers', 'RESULTS.md'), md);
  log(`wrote bench/peers/RESULTS.md${reportIndex !== null ? `; report: ${reportIndex}` : ''}`);
  if (o.readme) updateReadme(md);
  if (interrupted) process.exitCode = 130;
  console.log(JSON.stringify({ bench: 'peers', ...meta, report: reportIndex, rows, goals: goalsOf(rows), measured: measured.length }));
}

// updateReadme replaces the table between the Performance section's markers.
function updateReadme(md: string): void {
  const file = join(repoDir, 'README.md');
  const text = readFileSync(file, 'utf8');
  const begin = '<!-- bench:peers begin -->';
  const end = '<!-- bench:peers end -->';
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) {
    log('README.md has no bench:peers markers; not updated');
    return;
  }
  // The file's title goes; its sections sit one level deeper under the README's Performance.
  const body = md.replace(/^# .*\n+/, '').replace(/^### /gm, '#### ');
  writeFileSync(file, `${text.slice(0, i + begin.length)}\n${body.trim()}\n${text.slice(j)}`);
  log('README.md Performance section updated');
}

try {
  await main();
} catch (err) {
  for (const t of toStop) await t.down().catch(() => {});
  console.error(`bench:peers: ${(err as Error).message}`);
  process.exitCode = 1;
}
