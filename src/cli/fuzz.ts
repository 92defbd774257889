// `frb fuzz`: random schedules (crashes, restarts, pauses, partitions, loss, delays, clock skew,
// leader transfers, membership changes, mixed with client load) run in the deterministic
// simulator with every safety checker on; failures are shrunk and printed with the one command
// that replays them. Exit status 0 when every schedule passed, 1 when any violated a check.
//
//   frb fuzz --protocol raft --seeds 1000 [--start S] [--nodes 3,5,7] [--faults crash,partition]
//   frb fuzz --mutant commit-old-term --seeds 2000 --fail-fast
//   frb fuzz --replay SEED [--trace out.jsonl] [shrink edits printed by a failing run]

import { Command, InvalidArgumentError, Option } from 'commander';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { allMutations } from '../core/mutations.js';
import { protocolNames } from '../core/protocols.js';
import { parseDurationUs } from '../faults/index.js';
import {
  JsonlTraceWriter,
  defaultFuzzConfig,
  defaultFuzzFaults,
  describeSchedule,
  describeViolation,
  faultKinds,
  generateSchedule,
  replayCommand,
  runSchedule,
  shrinkSchedule,
  type FaultKind,
  type FuzzConfig,
  type FuzzRunStats,
  type ScheduleEdits,
} from '../sim/index.js';
import type { FuzzWorkerData } from './fuzz-worker.js';

export interface FuzzWorkerMessage {
  type: 'result' | 'done';
  seed?: number;
  stats?: FuzzRunStats;
  passed?: boolean;
  pendingOps?: number;
  checker?: string;
  violation?: string;
  schedule?: string;
  shrunk?: { edits: ScheduleEdits; schedule: string; violation: string; runs: number };
}

interface FuzzCliOptions {
  protocol: string;
  seeds: number;
  start: number;
  nodes: number[];
  faults: FaultKind[];
  mutant?: string;
  replay?: number;
  trace?: string;
  keepFaults?: number[];
  clients?: number;
  opsMax?: number;
  loadUntil?: number;
  until?: number;
  jobs: number;
  shrink: boolean;
  shrinkRuns: number;
  show: number;
  failFast: boolean;
  json: boolean;
  progress: boolean;
}

function intArg(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name}: expected an integer >= ${min}, got "${value}"`);
    return n;
  };
}

function listArg(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const out = parts.map(Number);
  if (out.length === 0 || out.some((n) => !Number.isSafeInteger(n) || n < 0)) throw new InvalidArgumentError(`expected a list of integers like 3,5,7, got "${value}"`);
  return out;
}

function nodesArg(value: string): number[] {
  const out = listArg(value);
  if (out.some((n) => n < 1 || n > 15)) throw new InvalidArgumentError(`cluster sizes must be 1..15, got "${value}"`);
  return out;
}

function keepArg(value: string): number[] {
  return value.trim() === 'none' ? [] : listArg(value);
}

function faultsArg(value: string): FaultKind[] {
  const v = value.trim();
  if (v === 'none') return [];
  if (v === 'all' || v === 'default') return [...defaultFuzzFaults];
  const kinds = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const k of kinds) {
    if (!(faultKinds as readonly string[]).includes(k)) {
      throw new InvalidArgumentError(`unknown fault kind "${k}" (known: ${faultKinds.join(', ')}, or none, all)`);
    }
  }
  return kinds as FaultKind[];
}

function durationArg(value: string): number {
  try {
    return parseDurationUs(value, 'duration');
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function fuzzCommand(): Command {
  return new Command('fuzz')
    .description('run random fault schedules in the deterministic simulator with every safety checker on')
    .option('--protocol <name>', `protocol (${protocolNames().join(', ')})`, 'raft')
    .option('--seeds <n>', 'number of schedules', intArg('--seeds', 1), 100)
    .option('--start <s>', 'first seed', intArg('--start', 0), 1)
    .addOption(new Option('--nodes <list>', 'cluster sizes to draw from').argParser(nodesArg).default([...defaultFuzzConfig.nodes], defaultFuzzConfig.nodes.join(',')))
    .addOption(
      new Option('--faults <list>', `fault kinds (${faultKinds.join(', ')}; none; all)`)
        .argParser(faultsArg)
        .default([...defaultFuzzFaults], 'all but the explicit restart and resume'),
    )
    .addOption(new Option('--mutant <name>', 'switch off one safety rule (the checkers must notice)').choices([...allMutations]))
    .option('--replay <seed>', 'replay one schedule and print what happened', intArg('--replay', 0))
    .option('--trace <file>', 'with --replay: write the trace as JSON lines')
    .option('--keep-faults <list>', 'with --replay: keep only these faults (a shrunk schedule)', keepArg)
    .option('--clients <n>', 'with --replay: number of clients', intArg('--clients', 1))
    .option('--ops-max <n>', 'with --replay: operations per client', intArg('--ops-max', 1))
    .option('--load-until <duration>', 'with --replay: end of the load and fault phase', durationArg)
    .option('--until <duration>', 'with --replay: stop the run here', durationArg)
    .option('--jobs <n>', 'worker threads', intArg('--jobs', 1), Math.max(1, availableParallelism()))
    .option('--no-shrink', 'print failing schedules as generated, without shrinking')
    .option('--shrink-runs <n>', 'runs a shrink may take', intArg('--shrink-runs', 1), 150)
    .option('--show <n>', 'failures shrunk and printed in full (the others get one line each)', intArg('--show', 0), 5)
    .option('--fail-fast', 'stop at the first failing schedule', false)
    .option('--json', 'print the summary as one JSON object', false)
    .option('--no-progress', 'no progress bar')
    .action(async (opts: FuzzCliOptions) => {
      const config: FuzzConfig = { protocol: opts.protocol, nodes: opts.nodes, faults: opts.faults, mutant: opts.mutant ?? null };
      // Fail on an unknown protocol before starting workers.
      if (!protocolNames().includes(config.protocol)) {
        throw new Error(`unknown protocol "${config.protocol}" (known: ${protocolNames().join(', ')})`);
      }
      process.exitCode = opts.replay !== undefined ? replay(config, opts) : await fuzz(config, opts);
    });
}

function replay(config: FuzzConfig, opts: FuzzCliOptions): number {
  const seed = opts.replay!;
  const edits: ScheduleEdits = {
    ...(opts.keepFaults !== undefined ? { keepFaults: opts.keepFaults } : {}),
    ...(opts.clients !== undefined ? { clients: opts.clients } : {}),
    ...(opts.opsMax !== undefined ? { opsMax: opts.opsMax } : {}),
    ...(opts.loadUntil !== undefined ? { durationUs: opts.loadUntil } : {}),
    ...(opts.until !== undefined ? { untilUs: opts.until } : {}),
  };
  const schedule = generateSchedule(seed, config, edits);
  const trace = opts.trace !== undefined ? new JsonlTraceWriter(opts.trace) : null;
  let result;
  try {
    result = runSchedule(schedule, { trace });
  } finally {
    trace?.close();
  }
  console.log(describeSchedule(schedule));
  const s = result.stats;
  console.log(
    `${s.events} events, ${s.messagesDelivered} messages delivered, ${s.commits} client operations acknowledged, ` +
      `${s.elections} elections, ${s.faultsFired} faults, ${(s.simUs / 1e6).toFixed(3)}s simulated in ${s.wallMs.toFixed(0)}ms; trace hash ${result.traceHash}`,
  );
  if (trace !== null) console.log(`trace: ${trace.linesWritten} lines written to ${opts.trace}`);
  if (result.violation === null) {
    console.log('PASSED');
    return 0;
  }
  console.log(describeViolation(result.violation));
  return 1;
}

interface Failure {
  seed: number;
  checker: string;
  violation: string;
  schedule: string;
  shrunk?: { edits: ScheduleEdits; schedule: string; violation: string; runs: number };
}

async function fuzz(config: FuzzConfig, opts: FuzzCliOptions): Promise<number> {
  const seeds = Array.from({ length: opts.seeds }, (_, i) => opts.start + i);
  const jobs = Math.min(opts.jobs, seeds.length);
  const totals = { schedules: 0, events: 0, messages: 0, commits: 0, elections: 0, faults: 0, simUs: 0, pendingOps: 0 };
  const failures: Failure[] = [];
  const t0 = performance.now();
  const progress = new ProgressBar(seeds.length, opts.progress && !opts.json);
  const onResult = (m: FuzzWorkerMessage): boolean => {
    const st = m.stats!;
    totals.schedules++;
    totals.events += st.events;
    totals.messages += st.messagesDelivered;
    totals.commits += st.commits;
    totals.elections += st.elections;
    totals.faults += st.faultsFired;
    totals.simUs += st.simUs;
    totals.pendingOps += m.pendingOps ?? 0;
    if (m.passed !== true) {
      failures.push({ seed: m.seed!, checker: m.checker!, violation: m.violation!, schedule: m.schedule!, ...(m.shrunk !== undefined ? { shrunk: m.shrunk } : {}) });
    }
    progress.update(totals.schedules, failures.length);
    return opts.failFast && failures.length > 0;
  };
  if (jobs <= 1) {
    runInline(config, seeds, opts, onResult);
  } else {
    await runWorkers(config, seeds, jobs, opts, onResult);
  }
  progress.finish();
  const wallS = (performance.now() - t0) / 1000;
  failures.sort((a, b) => a.seed - b.seed);
  if (opts.json) {
    console.log(JSON.stringify({
      protocol: config.protocol,
      mutant: config.mutant,
      ...totals,
      violations: failures.length,
      failingSeeds: failures.map((f) => f.seed),
      replay: failures.map((f) => replayCommand(config, f.seed, f.shrunk?.edits ?? {})),
      wallS: Math.round(wallS * 10) / 10,
    }));
  } else {
    for (const f of failures.slice(opts.show)) {
      console.log(`FAILED seed ${f.seed}: ${f.checker}; replay: ${replayCommand(config, f.seed, f.shrunk?.edits ?? {}, '--trace out.jsonl')}`);
    }
    for (const f of failures.slice(0, opts.show)) {
      console.log('');
      console.log(`FAILED seed ${f.seed}: ${f.checker}`);
      if (f.shrunk !== undefined && f.shrunk.violation !== '') {
        console.log(`shrunk in ${f.shrunk.runs} runs to:`);
        console.log(indent(f.shrunk.schedule));
        console.log(indent(f.shrunk.violation));
        console.log(`replay: ${replayCommand(config, f.seed, f.shrunk.edits, '--trace out.jsonl')}`);
      } else {
        console.log(indent(f.schedule));
        console.log(indent(f.violation));
        console.log(`replay: ${replayCommand(config, f.seed, {}, '--trace out.jsonl')}`);
      }
    }
    console.log('');
    console.log(
      `${totals.schedules} schedules (seeds ${opts.start}..${opts.start + opts.seeds - 1}, protocol ${config.protocol}` +
        `${config.mutant !== null ? `, mutant ${config.mutant}` : ''}): ${totals.events} events, ${totals.messages} messages, ` +
        `${totals.commits} commits, ${totals.elections} elections, ${totals.faults} faults, ` +
        `${(totals.simUs / 1e6).toFixed(0)}s simulated in ${wallS.toFixed(1)}s; ${failures.length} violation${failures.length === 1 ? '' : 's'}` +
        (failures.length > 0 ? ` (seeds ${failures.map((f) => f.seed).join(', ')})` : ''),
    );
  }
  return failures.length > 0 ? 1 : 0;
}

function runInline(config: FuzzConfig, seeds: readonly number[], opts: FuzzCliOptions, onResult: (m: FuzzWorkerMessage) => boolean): void {
  let shrunkCount = 0;
  for (const seed of seeds) {
    const schedule = generateSchedule(seed, config);
    const result = runSchedule(schedule);
    const msg: FuzzWorkerMessage = { type: 'result', seed, stats: result.stats, passed: result.passed, pendingOps: result.pendingOps };
    if (result.violation !== null) {
      msg.checker = result.violation.checker;
      msg.violation = describeViolation(result.violation);
      msg.schedule = describeSchedule(schedule);
      if (opts.shrink && shrunkCount < opts.show) {
        shrunkCount++;
        const s = shrinkSchedule(schedule, result, opts.shrinkRuns);
        msg.shrunk = { edits: s.edits, schedule: describeSchedule(s.schedule), violation: s.result.violation === null ? '' : describeViolation(s.result.violation), runs: s.runs };
      }
    }
    if (onResult(msg)) return;
  }
}

async function runWorkers(
  config: FuzzConfig,
  seeds: readonly number[],
  jobs: number,
  opts: FuzzCliOptions,
  onResult: (m: FuzzWorkerMessage) => boolean,
): Promise<void> {
  const workers: Worker[] = [];
  let stopped = false;
  const finished = new Promise<void>((resolve, reject) => {
    let live = jobs;
    for (let w = 0; w < jobs; w++) {
      const data: FuzzWorkerData = {
        config,
        seeds: seeds.filter((_, i) => i % jobs === w),
        shrink: opts.shrink,
        shrinkRunsMax: opts.shrinkRuns,
        shrinkFailuresMax: Math.ceil(opts.show / jobs),
      };
      const worker = new Worker(new URL('./fuzz-worker.js', import.meta.url), { workerData: data });
      workers.push(worker);
      worker.on('message', (m: FuzzWorkerMessage) => {
        if (stopped) return;
        if (m.type === 'done') return;
        if (onResult(m)) {
          stopped = true;
          for (const x of workers) void x.terminate();
          resolve();
        }
      });
      worker.on('error', (err) => {
        stopped = true;
        for (const x of workers) void x.terminate();
        reject(err);
      });
      worker.on('exit', () => {
        live--;
        if (live === 0) resolve();
      });
    }
  });
  await finished;
}

function indent(text: string): string {
  return text.split('\n').map((l) => `  ${l}`).join('\n');
}

// ProgressBar draws on stderr when it is a terminal (redrawn a few times a second), and otherwise
// prints a line at every tenth of the work.
class ProgressBar {
  private lastDrawMs = 0;
  private lastTenth = -1;
  private readonly t0 = performance.now();
  private readonly tty: boolean;

  constructor(private readonly total: number, private readonly enabled: boolean) {
    this.tty = process.stderr.isTTY === true;
  }

  update(done: number, failed: number): void {
    if (!this.enabled) return;
    const now = performance.now();
    const elapsedS = (now - this.t0) / 1000;
    const rate = done / Math.max(elapsedS, 1e-3);
    const etaS = (this.total - done) / Math.max(rate, 1e-9);
    const line = `${done}/${this.total} schedules, ${failed} violation${failed === 1 ? '' : 's'}, ${rate.toFixed(1)}/s, ETA ${etaS.toFixed(0)}s`;
    if (this.tty) {
      if (now - this.lastDrawMs < 200 && done < this.total) return;
      this.lastDrawMs = now;
      const width = 30;
      const filled = Math.round((done / this.total) * width);
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${line}   `);
    } else {
      const tenth = Math.floor((done * 10) / this.total);
      if (tenth === this.lastTenth) return;
      this.lastTenth = tenth;
      process.stderr.write(`${line}\n`);
    }
  }

  finish(): void {
    if (this.enabled && this.tty) process.stderr.write('\n');
  }
}
