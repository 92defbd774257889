// Core benchmark: a 3-node in-memory cluster in one process committing proposals, sequential (one in
// flight) and pipelined (64 in flight), for our core and for @coaty/consensus.raft side by side in
// the same run. See README.md beside this file. The last line printed is one JSON object.
//
//   npm run bench:core
//   node --expose-gc dist/bench/core/index.js [--sequential=20000] [--pipelined=50000]
//        [--repetitions=5] [--window=64] [--payload=32] [--only=ours|coaty]

import { execFileSync } from 'node:child_process';
import { cpus, hostname } from 'node:os';
import { makeOursCluster } from './ours.js';
import { coatyClusterFactory, coatyPackage, coatyVersion, ensureInstalled } from './coaty.js';
import { measure, median, type ClusterFactory, type RunOptions, type Sample } from './workload.js';

const targetRatio = 3;
const warmupPassMin = 20_000;

interface Options {
  sequentialProposals: number;
  pipelinedProposals: number;
  repetitions: number;
  window: number;
  payloadSizeBytes: number;
  only: 'ours' | 'coaty' | 'both';
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { sequentialProposals: 20_000, pipelinedProposals: 50_000, repetitions: 5, window: 64, payloadSizeBytes: 32, only: 'both' };
  const positive = (name: string, v: string, min: number, max: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name}=${v}: expected an integer in [${min}, ${max}]`);
    return n;
  };
  for (const a of argv) {
    const m = /^--([a-z]+)=(.*)$/.exec(a);
    if (m === null) throw new Error(`unknown argument ${a}`);
    const [, name, v] = m as unknown as [string, string, string];
    switch (name) {
      case 'sequential': o.sequentialProposals = positive(name, v, 1, 10_000_000); break;
      case 'pipelined': o.pipelinedProposals = positive(name, v, 1, 10_000_000); break;
      case 'repetitions': o.repetitions = positive(name, v, 1, 100); break;
      case 'window': o.window = positive(name, v, 2, 4096); break;
      case 'payload': o.payloadSizeBytes = positive(name, v, 4, 1 << 20); break;
      case 'only':
        if (v !== 'ours' && v !== 'coaty' && v !== 'both') throw new Error(`--only=${v}: expected ours, coaty or both`);
        o.only = v;
        break;
      default: throw new Error(`unknown option --${name}`);
    }
  }
  return o;
}

interface Impl {
  name: 'ours' | 'coaty' | 'coatyBase64';
  factory: ClusterFactory;
}

interface ModeResult {
  proposalsPerSecMedian: number;
  messagesPerSecMedian: number;
  messagesPerProposal: number;
  roundsPerProposal: number;
  proposalsPerSec: number[];
  messagesPerSec: number[];
}

function summarise(samples: readonly Sample[]): ModeResult {
  const round = (x: number): number => Math.round(x);
  const proposals = samples.reduce((s, x) => s + x.proposals, 0);
  return {
    proposalsPerSecMedian: round(median(samples.map((s) => s.proposalsPerSec))),
    messagesPerSecMedian: round(median(samples.map((s) => s.messagesPerSec))),
    messagesPerProposal: Number((samples.reduce((s, x) => s + x.messages, 0) / proposals).toFixed(3)),
    roundsPerProposal: Number((samples.reduce((s, x) => s + x.rounds, 0) / proposals).toFixed(3)),
    proposalsPerSec: samples.map((s) => round(s.proposalsPerSec)),
    messagesPerSec: samples.map((s) => round(s.messagesPerSec)),
  };
}

// gitCommit names the commit measured, marked `-dirty` when src/core differs from it (others may be
// editing the core in the same tree: the figure then belongs to that tree, not to the commit).
function gitCommit(): string {
  const git = (args: string[]): string => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const head = git(['rev-parse', '--short', 'HEAD']);
    return git(['status', '--porcelain', '--', 'src/core']) === '' ? head : `${head}-dirty`;
  } catch {
    return 'unknown';
  }
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function main(): void {
  const o = parseArgs(process.argv.slice(2));
  const impls: Impl[] = [];
  if (o.only !== 'coaty') impls.push({ name: 'ours', factory: makeOursCluster });
  if (o.only !== 'ours') {
    ensureInstalled((line) => console.log(line));
    impls.push({ name: 'coaty', factory: coatyClusterFactory('bytes') });
    impls.push({ name: 'coatyBase64', factory: coatyClusterFactory('base64') });
  }
  const gcExposed = typeof (globalThis as { gc?: unknown }).gc === 'function';
  const modes: { name: 'sequential' | 'pipelined'; window: number; measured: number }[] = [
    { name: 'sequential', window: 1, measured: o.sequentialProposals },
    { name: 'pipelined', window: o.window, measured: o.pipelinedProposals },
  ];
  // Every repetition gets a fresh cluster warmed up with a tenth of its measured count (at least
  // 1000 proposals); one untimed repetition of every (mode, implementation) pair goes first so that
  // the JIT has compiled all of them before any figure is kept (with less, our first repetition came
  // out 15-20% below the others), and never shorter than warmupPassMin proposals: our core reaches
  // its optimised code later than coaty does, so short runs on a cold process understate it badly.
  const warmupOf = (measured: number): number => Math.max(1000, Math.floor(measured / 10));
  const optionsOf = (mode: (typeof modes)[number], rep: number, measured: number): RunOptions => ({
    window: mode.window,
    warmupProposals: warmupOf(measured),
    measuredProposals: measured,
    payloadSizeBytes: o.payloadSizeBytes,
    seed: 1000 * rep + 1,
  });

  console.log(
    `core bench: 3 nodes, MemoryStorage, in-process network; payload ${o.payloadSizeBytes} B; sequential ${o.sequentialProposals} ` +
      `and pipelined (window ${o.window}) ${o.pipelinedProposals} proposals x ${o.repetitions} repetitions; gc between runs: ${gcExposed}`,
  );
  console.log('warm-up: one untimed repetition of each...');
  for (const mode of modes) for (const impl of impls) measure(impl.factory, optionsOf(mode, 0, Math.max(mode.measured, warmupPassMin)));

  const samples = new Map<string, Sample[]>();
  for (let rep = 1; rep <= o.repetitions; rep++) {
    for (const mode of modes) {
      // Alternate which implementation goes first, so that neither always runs on the heap and
      // caches the other one left.
      const order = rep % 2 === 1 ? impls : impls.slice().reverse();
      for (const impl of order) {
        const s = measure(impl.factory, optionsOf(mode, rep, mode.measured));
        const key = `${mode.name}/${impl.name}`;
        const list = samples.get(key) ?? [];
        list.push(s);
        samples.set(key, list);
        console.log(
          `rep ${rep} ${mode.name.padEnd(10)} ${impl.name.padEnd(11)} ${fmt(s.proposalsPerSec).padStart(9)} proposals/s ` +
            `${fmt(s.messagesPerSec).padStart(10)} messages/s  (${(s.elapsedNs / 1e6).toFixed(0)} ms, ${(s.messages / s.proposals).toFixed(2)} msgs/proposal)`,
        );
      }
    }
  }

  const result: Record<string, unknown> = {};
  let meetsTarget = true;
  let meetsTargetVsBase64 = true;
  for (const mode of modes) {
    const byImpl: Record<string, unknown> = {};
    const medians = new Map<string, ModeResult>();
    for (const impl of impls) {
      const r = summarise(samples.get(`${mode.name}/${impl.name}`)!);
      medians.set(impl.name, r);
      byImpl[impl.name] = r;
    }
    const ours = medians.get('ours');
    // ratio...: against the identical workload (the same Uint8Array payloads), the target;
    // ratioVsBase64...: against coaty given those bytes as base64 strings, its fastest form, reported
    // beside it. Ratios are of the medians; ...PairedMedian is the median of the per-repetition
    // ratios (the two runs of a pair are adjacent in time, so noise that hits both cancels).
    const peers: [string, string][] = [
      ['coaty', 'ratio'],
      ['coatyBase64', 'ratioVsBase64'],
    ];
    for (const [peer, prefix] of peers) {
      const other = medians.get(peer);
      if (ours === undefined || other === undefined) continue;
      const ratio = ours.proposalsPerSecMedian / other.proposalsPerSecMedian;
      const paired = median(ours.proposalsPerSec.map((x, i) => x / other.proposalsPerSec[i]!));
      byImpl[`${prefix}ProposalsPerSec`] = Number(ratio.toFixed(2));
      byImpl[`${prefix}MessagesPerSec`] = Number((ours.messagesPerSecMedian / other.messagesPerSecMedian).toFixed(2));
      byImpl[`${prefix}ProposalsPerSecPairedMedian`] = Number(paired.toFixed(2));
      if (ratio < targetRatio) {
        if (peer === 'coaty') meetsTarget = false;
        else meetsTargetVsBase64 = false;
      }
      console.log(
        `${mode.name}: ours ${fmt(ours.proposalsPerSecMedian)} vs ${peer} ${fmt(other.proposalsPerSecMedian)} proposals/s ` +
          `(medians of ${o.repetitions}) => ${ratio.toFixed(2)}x, paired ${paired.toFixed(2)}x (target >= ${targetRatio}x)`,
      );
    }
    result[mode.name] = byImpl;
  }

  console.log(
    JSON.stringify({
      bench: 'core',
      schema: 1,
      cluster: { nodes: 3, storage: 'memory', network: 'in-process, instant, one hop per round', ticks: 'none while measuring' },
      payloadSizeBytes: o.payloadSizeBytes,
      window: o.window,
      repetitions: o.repetitions,
      sequentialProposals: o.sequentialProposals,
      pipelinedProposals: o.pipelinedProposals,
      statistic: 'median of repetitions',
      ...result,
      ...(o.only === 'both' ? { targetRatio, meetsTarget, meetsTargetVsBase64 } : {}),
      peer: o.only !== 'ours' ? `${coatyPackage}@${coatyVersion}` : null,
      gcBetweenRuns: gcExposed,
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      cpuCount: cpus().length,
      host: hostname(),
      commit: gitCommit(),
    }),
  );
}

main();
