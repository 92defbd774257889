// The CI regression gate (`npm run bench:ci`, run by .ci/run after the tests). Two halves:
//
//   sim   bench/ci/sim-gate.yaml in the simulator must equal bench/baselines/sim-gate/ exactly
//         (sim-gate.ts: deterministic figures, no tolerance, no wall clock);
//   live  bench/ci/live-gate.yaml on real node processes, the current build against the baseline
//         commit's build measured here and now, interleaved A B, B A, A B, compared by
//         `frb check` as median ratios with a tolerance (live-gate.ts).
//
// Exit 0 when both pass (a live half SKIPPED for want of a usable baseline build counts as a pass
// and says why), 1 otherwise. The last line printed is one JSON object.
//
//   node dist/bench/ci/gate.js [--sim-only | --live-only] [--update-baseline]
//       [--experiment FILE] [--baseline DIR]                 sim half
//       [--live-experiment FILE] [--baseline-ref REF | --baseline-build DIR]
//       [--rounds N] [--confirm-rounds N] [--tolerance PCT] [--out DIR] [--keep]  live half
//
// Environment: FRB_GATE_LIVE=0 skips the live half; FRB_SLOWDOWN_US_PER_MSG=N makes every peer
// message of the *current* build's nodes cost N more microseconds of CPU (the gate's own test
// uses it to show that the gate fails a slower build); FRB_GATE_ROUNDS, FRB_GATE_CONFIRM_ROUNDS,
// FRB_GATE_TOLERANCE and FRB_GATE_BASELINE_REF stand for the options of the same names.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatDifferences, runSimGate, type SimGateResult } from './sim-gate.js';
import {
  BaselineUnavailable,
  chooseBaselineRef,
  currentBuild,
  prepareBaselineBuild,
  removeBaselineBuild,
  runLiveGate,
  slowdownEnv,
  type Build,
  type LiveGateResult,
  type StepTime,
} from './live-gate.js';

// dist/bench/ci/gate.js -> the repository root.
const repoDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

// Three rounds: the median of three ignores one disturbed run on either side. A failed check is
// confirmed with three more (the median of six), so that a false alarm needs a disturbed machine
// for most of two minutes.
const roundsDefault = 3;
const confirmRoundsDefault = 3;
const toleranceDefaultPct = 25;

function log(line: string): void {
  console.log(line);
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function parseTolerancePct(text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*%?$/.exec(text.trim());
  if (m === null) throw new Error(`--tolerance: expected a percentage like 25%, got "${text}"`);
  return Number(m[1]);
}

function parseCount(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > 20) throw new Error(`${name}: expected an integer from ${min} to 20, got "${text}"`);
  return n;
}

function inRepo(p: string): string {
  return isAbsolute(p) ? p : resolve(repoDir, p);
}

interface Verdict {
  gate: 'pass' | 'fail';
  sim: { status: 'pass' | 'fail' | 'off' | 'updated'; reason: string; differences: number; wallMs: number } | null;
  live: {
    status: 'pass' | 'fail' | 'skipped' | 'off';
    reason: string;
    baseline: string | null;
    current: string | null;
    rounds: number;
    confirmed: boolean;
    tolerancePct: number;
    ratios: Array<{ where: string; metric: string; baseline: number; current: number; changePct: number }>;
    steps: StepTime[];
    wallMs: number;
  } | null;
  slowdownUsPerMsg: number;
  wallMs: number;
}

async function simHalf(opts: { experiment: string; baseline: string; update: boolean; keep: boolean }, toolVersion: string): Promise<SimGateResult> {
  log(`sim half: ${relative(repoDir, opts.experiment)} against ${relative(repoDir, opts.baseline)}, compared exactly`);
  log('  (every field of each run\'s summary.json — simulated commit latency p50/p90/p99/p99.9/p99.99/min/max/mean/count,');
  log('   throughput, fast-path counts and ratio, messages and bytes per commit, elections, availability gap —');
  log('   commit.hgrm and commit.hlog byte for byte, and each run\'s resolved spec)');
  const r = await runSimGate({
    experimentFile: opts.experiment,
    baselineDir: opts.baseline,
    repoDir,
    toolVersion,
    update: opts.update,
    keep: opts.keep,
  });
  for (const line of formatDifferences(r.differences)) log(line);
  log(`  ${opts.update ? 'UPDATED' : r.ok ? 'PASS' : 'FAIL'}: ${r.reason} (${secs(r.wallMs)})`);
  return r;
}

async function liveHalf(
  opts: {
    experiment: string;
    baselineRef: string | undefined;
    baselineBuild: string | undefined;
    rounds: number;
    confirmRounds: number;
    tolerancePct: number;
    out: string | undefined;
    keep: boolean;
  },
  slowdownUsPerMsg: number,
  toolVersion: string,
): Promise<{ result: LiveGateResult | null; skippedReason: string | null; steps: StepTime[]; baseline: Build | null; current: Build; wallMs: number }> {
  const t0 = Date.now();
  const steps: StepTime[] = [];
  const current = currentBuild(repoDir, slowdownUsPerMsg);
  let baseline: Build | null = null;
  const ownBaseline = opts.baselineBuild === undefined;
  const workRoot = mkdtempSync(join(tmpdir(), 'frb-gate-'));
  const outDir = opts.out !== undefined ? inRepo(opts.out) : join(workRoot, 'results');
  try {
    if (opts.baselineBuild !== undefined) {
      const dir = inRepo(opts.baselineBuild);
      baseline = { label: 'baseline', dir, commit: `build in ${dir}`, frbPath: join(dir, 'dist', 'src', 'cli', 'frb.js'), env: {} };
      log(`live half: ${relative(repoDir, opts.experiment)}; baseline: the build in ${dir}`);
    } else {
      const chosen = opts.baselineRef !== undefined ? { ref: opts.baselineRef, why: 'asked for' } : chooseBaselineRef(repoDir);
      log(`live half: ${relative(repoDir, opts.experiment)}; baseline: ${chosen.ref} (${chosen.why})`);
      try {
        baseline = prepareBaselineBuild({ repoDir, ref: chosen.ref, workRoot, steps, log: (l) => log(`  ${l}`) });
      } catch (err) {
        if (err instanceof BaselineUnavailable) {
          return { result: null, skippedReason: err.message, steps, baseline: null, current, wallMs: Date.now() - t0 };
        }
        throw err;
      }
    }
    for (const s of steps) log(`  ${s.step}: ${secs(s.ms)}`);
    log(`  current: ${current.commit}${slowdownUsPerMsg > 0 ? ` with ${slowdownEnv}=${slowdownUsPerMsg} (injected slowdown)` : ''}; baseline: ${baseline.commit}`);
    const order = Array.from({ length: opts.rounds }, (_v, r) => (r % 2 === 0 ? 'A B' : 'B A')).join(', ');
    log(`  ${opts.rounds} rounds, A = baseline, B = current (${order}); tolerance ${opts.tolerancePct}% on the medians of p50 and throughput`);
    if (opts.confirmRounds > 0) log(`  a failed check is confirmed with ${opts.confirmRounds} more rounds before the gate fails`);
    try {
      const result = await runLiveGate({
        repoDir,
        experimentFile: opts.experiment,
        baseline,
        current,
        rounds: opts.rounds,
        confirmRounds: opts.confirmRounds,
        tolerancePct: opts.tolerancePct,
        outDir,
        toolVersion,
        log: (l) => log(`  ${l}`),
      });
      steps.push({ step: 'live runs and check', ms: result.wallMs });
      return { result, skippedReason: null, steps, baseline, current, wallMs: Date.now() - t0 };
    } catch (err) {
      if (err instanceof BaselineUnavailable) return { result: null, skippedReason: err.message, steps, baseline, current, wallMs: Date.now() - t0 };
      throw err;
    }
  } finally {
    if (baseline !== null && ownBaseline && !opts.keep) removeBaselineBuild(repoDir, baseline);
    // The work folder holds the baseline's worktree and, without --out, the results.
    if (!opts.keep) rmSync(workRoot, { recursive: true, force: true });
    else log(`  kept: ${workRoot}`);
  }
}

async function main(): Promise<number> {
  const t0 = Date.now();
  const { values } = parseArgs({
    options: {
      'sim-only': { type: 'boolean', default: false },
      'live-only': { type: 'boolean', default: false },
      'update-baseline': { type: 'boolean', default: false },
      experiment: { type: 'string' },
      baseline: { type: 'string' },
      'live-experiment': { type: 'string' },
      'baseline-ref': { type: 'string' },
      'baseline-build': { type: 'string' },
      rounds: { type: 'string' },
      'confirm-rounds': { type: 'string' },
      tolerance: { type: 'string' },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
    allowPositionals: false,
  });
  const pkg = JSON.parse(readFileSync(join(repoDir, 'package.json'), 'utf8')) as { version: string };
  const slowdownUsPerMsg = Number(process.env[slowdownEnv] ?? '0');
  if (!Number.isFinite(slowdownUsPerMsg) || slowdownUsPerMsg < 0) throw new Error(`${slowdownEnv}: expected microseconds (a number >= 0)`);
  const update = values['update-baseline'] === true;
  const liveOff = process.env['FRB_GATE_LIVE'] === '0';
  const doSim = values['live-only'] !== true;
  const doLive = values['sim-only'] !== true && !update && !liveOff;
  const verdict: Verdict = { gate: 'pass', sim: null, live: null, slowdownUsPerMsg, wallMs: 0 };
  log(`frb regression gate (bench/ci) on ${process.version}`);

  if (doSim) {
    const r = await simHalf(
      {
        experiment: inRepo(values.experiment ?? 'bench/ci/sim-gate.yaml'),
        baseline: inRepo(values.baseline ?? 'bench/baselines/sim-gate'),
        update,
        keep: values.keep === true,
      },
      pkg.version,
    );
    verdict.sim = { status: update ? 'updated' : r.ok ? 'pass' : 'fail', reason: r.reason, differences: r.differences.length, wallMs: r.wallMs };
  } else {
    verdict.sim = { status: 'off', reason: '--live-only', differences: 0, wallMs: 0 };
  }

  const rounds = parseCount('--rounds', values.rounds ?? process.env['FRB_GATE_ROUNDS'] ?? String(roundsDefault), 1);
  const confirmRounds = parseCount('--confirm-rounds', values['confirm-rounds'] ?? process.env['FRB_GATE_CONFIRM_ROUNDS'] ?? String(confirmRoundsDefault), 0);
  const tolerancePct = parseTolerancePct(values.tolerance ?? process.env['FRB_GATE_TOLERANCE'] ?? `${toleranceDefaultPct}%`);
  if (doLive) {
    const h = await liveHalf(
      {
        experiment: inRepo(values['live-experiment'] ?? 'bench/ci/live-gate.yaml'),
        baselineRef: values['baseline-ref'] ?? process.env['FRB_GATE_BASELINE_REF'],
        baselineBuild: values['baseline-build'],
        rounds,
        confirmRounds,
        tolerancePct,
        out: values.out,
        keep: values.keep === true,
      },
      slowdownUsPerMsg,
      pkg.version,
    );
    const ratios: NonNullable<Verdict['live']>['ratios'] = [];
    let status: 'pass' | 'fail' | 'skipped';
    let reason: string;
    if (h.result === null) {
      status = 'skipped';
      reason = h.skippedReason ?? 'no baseline';
      for (const line of reason.split('\n')) log(`  ${line}`);
      log(`  SKIPPED: the live half compared nothing (${reason.split('\n')[0]})`);
    } else {
      const check = h.result.check as { findings?: Array<{ where: string; metric: string; baseline: number; current: number; changePct: number }> } | null;
      for (const f of check?.findings ?? []) ratios.push({ where: f.where, metric: f.metric, baseline: f.baseline, current: f.current, changePct: Math.round(f.changePct * 100) / 100 });
      for (const line of h.result.checkText.split('\n')) log(`  ${line}`);
      status = h.result.ok ? 'pass' : 'fail';
      reason = h.result.reason;
      log(`  ${status.toUpperCase()}: live half (${secs(h.wallMs)})`);
    }
    verdict.live = {
      status,
      reason,
      baseline: h.baseline?.commit ?? null,
      current: h.current.commit,
      rounds: h.result?.rounds ?? rounds,
      confirmed: h.result?.confirmed ?? false,
      tolerancePct,
      ratios,
      steps: h.steps,
      wallMs: h.wallMs,
    };
  } else {
    verdict.live = {
      status: 'off',
      reason: liveOff ? 'FRB_GATE_LIVE=0' : update ? '--update-baseline' : '--sim-only',
      baseline: null,
      current: null,
      rounds,
      confirmed: false,
      tolerancePct,
      ratios: [],
      steps: [],
      wallMs: 0,
    };
  }

  const failed = verdict.sim?.status === 'fail' || verdict.live?.status === 'fail';
  verdict.gate = failed ? 'fail' : 'pass';
  verdict.wallMs = Date.now() - t0;
  log(`gate: ${failed ? 'FAIL' : 'PASS'} (sim ${verdict.sim?.status ?? 'off'}, live ${verdict.live?.status ?? 'off'}) in ${secs(verdict.wallMs)}`);
  console.log(JSON.stringify(verdict));
  return failed ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (err) {
  console.error(`gate: ${(err as Error).message}`);
  process.exitCode = 1;
}
