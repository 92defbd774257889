// The wall-clock half of the CI regression gate: the current build against the baseline commit's
// build, measured on this machine in this CI run, interleaved.
//
// Wall-clock figures on a shared 2-core machine move by tens of percent from one minute to the
// next, so they are never compared with a committed number. Instead:
//   1. the baseline commit is checked out beside the repository (`git worktree add`), its
//      dependencies taken from the current checkout when its package-lock.json is the same (else
//      `npm ci` there), and its src/ built;
//   2. bench/ci/live-gate.yaml (short closed-loop runs, LMDB without fsync, 3 nodes, raft and
//      fastraft) is run alternately with each build's node processes, in rounds: A B, B A, A B, ...
//      so that a slow minute of the machine hits both sides alike, and a machine getting steadily
//      busier or quieter favours neither. The load generator, the measurement and the results
//      writer are the current build's for both: only the nodes differ;
//   3. `frb check` (the current build's) compares the two results folders: per (protocol) group the
//      median over rounds of p50 commit latency and of throughput, as ratios current/baseline, and
//      fails beyond the tolerance (default 25%). When it fails, more rounds are run and the check
//      is made again on all of them (a real regression persists; a disturbed minute mostly does
//      not): the verdict is the second check's.
//
// A baseline that cannot be built or cannot run a live cluster (a shallow clone without the
// baseline commit, a commit from before the live node existed, an incompatible cluster.json or
// client protocol) is not the change's fault: the live half is then reported as SKIPPED, with the
// reason, and does not fail the gate. The current build failing to run is a failure.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseExperiment, expandMatrix, ExperimentFileError, formatIssue } from '../../src/experiment/index.js';
import { describeWorkload } from '../../src/experiment/describe.js';
import type { PlannedRun } from '../../src/experiment/index.js';
import { runLiveCluster } from '../../src/node/index.js';
import { BenchFolder } from '../lib/results.js';
import { measuredFromLive } from '../lib/live.js';

export const slowdownEnv = 'FRB_SLOWDOWN_US_PER_MSG';

export class BaselineUnavailable extends Error {
  override name = 'BaselineUnavailable';
}

export interface Build {
  readonly label: 'baseline' | 'current';
  // The repository root of the build (holding dist/).
  readonly dir: string;
  readonly commit: string;
  readonly frbPath: string;
  // Environment given to this build's node processes (on top of the gate's own).
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface StepTime {
  readonly step: string;
  readonly ms: number;
}

function git(repoDir: string, args: string[]): string {
  return execFileSync('git', args, { cwd: repoDir, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
}

function timed<T>(steps: StepTime[], step: string, fn: () => T): T {
  const t0 = Date.now();
  try {
    return fn();
  } finally {
    steps.push({ step, ms: Date.now() - t0 });
  }
}

// chooseBaselineRef: in a clean checkout (CI) the change under test is the last commit, so the
// baseline is its parent; with uncommitted changes to tracked files (a developer asking "did my
// edit make it slower?") the baseline is HEAD.
export function chooseBaselineRef(repoDir: string): { ref: string; why: string } {
  const dirty = git(repoDir, ['status', '--porcelain', '--untracked-files=no']).length > 0;
  return dirty ? { ref: 'HEAD', why: 'the working tree has uncommitted changes' } : { ref: 'HEAD~1', why: 'the working tree is clean: the last commit is the change' };
}

function runChecked(cmd: string, args: string[], cwd: string, what: string, timeoutMs: number): void {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) {
    const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-8).join('\n');
    throw new BaselineUnavailable(`${what} failed (exit ${r.status ?? r.signal ?? '?'}):\n${tail}`);
  }
}

export interface BaselineBuildOptions {
  readonly repoDir: string;
  readonly ref: string;
  // Folder under which the worktree is made (one per commit).
  readonly workRoot: string;
  readonly steps: StepTime[];
  readonly log: (line: string) => void;
}

// prepareBaselineBuild checks out and builds the baseline commit; throws BaselineUnavailable when
// it cannot.
export function prepareBaselineBuild(o: BaselineBuildOptions): Build {
  let sha: string;
  try {
    sha = git(o.repoDir, ['rev-parse', '--verify', `${o.ref}^{commit}`]);
  } catch {
    throw new BaselineUnavailable(`${o.ref} is not a commit of this clone (a shallow clone has no parent: fetch more history)`);
  }
  const dir = join(o.workRoot, `baseline-${sha.slice(0, 12)}`);
  const marker = join(dir, '.frb-gate-built');
  if (!existsSync(marker)) {
    if (existsSync(dir)) {
      try {
        git(o.repoDir, ['worktree', 'remove', '--force', dir]);
      } catch {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    git(o.repoDir, ['worktree', 'prune']);
    mkdirSync(o.workRoot, { recursive: true });
    timed(o.steps, 'git worktree add', () => git(o.repoDir, ['worktree', 'add', '--detach', dir, sha]));
    const lockHere = readFileSync(join(o.repoDir, 'package-lock.json'), 'utf8');
    const lockThere = existsSync(join(dir, 'package-lock.json')) ? readFileSync(join(dir, 'package-lock.json'), 'utf8') : '';
    if (lockHere === lockThere && existsSync(join(o.repoDir, 'node_modules'))) {
      // Same dependencies: share them (npm ci would install the same bytes again, a minute or more).
      symlinkSync(join(o.repoDir, 'node_modules'), join(dir, 'node_modules'), 'dir');
      o.log(`baseline ${sha.slice(0, 12)}: same package-lock.json, node_modules shared`);
    } else {
      o.log(`baseline ${sha.slice(0, 12)}: package-lock.json differs, npm ci in the worktree`);
      timed(o.steps, 'npm ci (baseline)', () => runChecked('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts=false'], dir, 'npm ci in the baseline worktree', 15 * 60_000));
    }
    // Only src/ is needed to run nodes: a narrower build than the repository's full one.
    writeFileSync(
      join(dir, 'tsconfig.gate.json'),
      `${JSON.stringify({ extends: './tsconfig.json', include: ['src/**/*.ts'], compilerOptions: { sourceMap: false } }, null, 2)}\n`,
    );
    const tsc = existsSync(join(dir, 'node_modules', 'typescript', 'bin', 'tsc'))
      ? join(dir, 'node_modules', 'typescript', 'bin', 'tsc')
      : join(o.repoDir, 'node_modules', 'typescript', 'bin', 'tsc');
    timed(o.steps, 'tsc (baseline src)', () => runChecked(process.execPath, [tsc, '-p', 'tsconfig.gate.json'], dir, 'building the baseline', 10 * 60_000));
    writeFileSync(marker, `${sha}\n`);
  } else {
    o.log(`baseline ${sha.slice(0, 12)}: already built in ${dir}`);
  }
  const frbPath = join(dir, 'dist', 'src', 'cli', 'frb.js');
  if (!existsSync(frbPath)) throw new BaselineUnavailable(`the baseline build has no ${frbPath}`);
  const help = spawnSync(process.execPath, [frbPath, 'node', '--help'], { encoding: 'utf8', timeout: 30_000 });
  if (help.status !== 0) throw new BaselineUnavailable(`the baseline commit ${sha.slice(0, 12)} has no live node (frb node --help exited ${help.status ?? '?'})`);
  return { label: 'baseline', dir, commit: sha, frbPath, env: {} };
}

export function removeBaselineBuild(repoDir: string, build: Build): void {
  try {
    git(repoDir, ['worktree', 'remove', '--force', build.dir]);
  } catch {
    rmSync(build.dir, { recursive: true, force: true });
    try {
      git(repoDir, ['worktree', 'prune']);
    } catch {
      // nothing to prune
    }
  }
}

// buildReadsSlowdownKnob: whether the build's own node code reads the slowdown knob (then the
// preload must not add it a second time).
function buildReadsSlowdownKnob(buildDir: string): boolean {
  const roots = [join(buildDir, 'dist', 'src', 'node'), join(buildDir, 'dist', 'src', 'transport')];
  for (const r of roots) {
    if (!existsSync(r)) continue;
    for (const f of readdirSync(r)) {
      if (f.endsWith('.js') && readFileSync(join(r, f), 'utf8').includes(slowdownEnv)) return true;
    }
  }
  return false;
}

// currentBuild: this checkout, with the slowdown knob (when the gate was given one) for its nodes.
export function currentBuild(repoDir: string, slowdownUsPerMsg: number): Build {
  const frbPath = join(repoDir, 'dist', 'src', 'cli', 'frb.js');
  const env: Record<string, string | undefined> = {};
  if (slowdownUsPerMsg > 0) {
    env[slowdownEnv] = String(slowdownUsPerMsg);
    if (!buildReadsSlowdownKnob(repoDir)) {
      const preload = pathToFileURL(join(repoDir, 'dist', 'bench', 'ci', 'slowdown-preload.js')).href;
      env['NODE_OPTIONS'] = `${process.env['NODE_OPTIONS'] ?? ''} --import=${preload}`.trim();
    }
  }
  let commit = 'working tree';
  try {
    commit = git(repoDir, ['rev-parse', 'HEAD']);
    if (git(repoDir, ['status', '--porcelain', '--untracked-files=no']).length > 0) commit += '-dirty';
  } catch {
    // not a git checkout
  }
  return { label: 'current', dir: repoDir, commit, frbPath, env };
}

// withEnv runs fn with the environment changed (the node processes inherit the gate's), restoring
// it afterwards. Builds never get each other's knobs.
async function withEnv<T>(env: Readonly<Record<string, string | undefined>>, fn: () => Promise<T>): Promise<T> {
  const saved = new Map<string, string | undefined>();
  const keys = new Set([...Object.keys(env), slowdownEnv]);
  for (const k of keys) {
    saved.set(k, process.env[k]);
    const v = env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

export interface LiveGateOptions {
  readonly repoDir: string;
  readonly experimentFile: string;
  readonly baseline: Build;
  readonly current: Build;
  readonly rounds: number;
  // When the first rounds fail the check, this many more are run and the check is made again on
  // all of them: a real regression persists, a disturbed minute of the machine mostly does not.
  readonly confirmRounds: number;
  readonly tolerancePct: number;
  // Where the two results folders go.
  readonly outDir: string;
  readonly toolVersion: string;
  readonly log: (line: string) => void;
}

export interface RoundFigure {
  readonly round: number;
  readonly build: 'baseline' | 'current';
  readonly runId: string;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly opsPerSec: number;
}

export interface LiveGateResult {
  readonly ok: boolean;
  readonly skipped: boolean;
  readonly reason: string;
  readonly baselineDir: string | null;
  readonly currentDir: string | null;
  readonly figures: readonly RoundFigure[];
  // `frb check --json` as printed, and its text form (of the final check).
  readonly check: unknown;
  readonly checkText: string;
  // Rounds run in all, and whether confirmation rounds were needed.
  readonly rounds: number;
  readonly confirmed: boolean;
  readonly wallMs: number;
}

interface CheckOutcome {
  readonly ok: boolean;
  readonly check: unknown;
  readonly text: string;
  readonly reason: string;
}

// frbCheck runs the current build's `frb check` on the two folders (text for the log, JSON for the
// verdict line).
function frbCheck(frb: string, currentDir: string, baselineDir: string, tolerancePct: number, log: (l: string) => void): CheckOutcome {
  const args = [frb, 'check', currentDir, '--baseline', baselineDir, '--tolerance', `${tolerancePct}%`, '--metrics', 'p50,throughput', '--fail-on-missing'];
  const textRun = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 120_000 });
  const jsonRun = spawnSync(process.execPath, [...args, '--json'], { encoding: 'utf8', timeout: 120_000 });
  let check: unknown = null;
  try {
    check = JSON.parse(jsonRun.stdout) as unknown;
  } catch {
    const why = `frb check --json printed no JSON (exit ${jsonRun.status ?? jsonRun.signal ?? '?'}): ${`${jsonRun.stdout}${jsonRun.stderr}`.trim().slice(0, 500)}`;
    log(`warning: ${why}`);
    check = { error: why };
  }
  const text = `${textRun.stdout}${textRun.stderr}`.trim();
  const reason = (check as { reason?: string } | null)?.reason ?? text.split('\n').pop() ?? '';
  return { ok: textRun.status === 0, check, text, reason };
}

function loadSpec(file: string) {
  try {
    return parseExperiment(readFileSync(file, 'utf8'), file);
  } catch (err) {
    if (err instanceof ExperimentFileError) throw new Error(`${file}: ${err.issues.map(formatIssue).join('; ')}`);
    throw err;
  }
}

// The run id without its repetition: the rounds of the gate are the repetitions.
function pointId(run: PlannedRun): string {
  return run.id.replace(/,?rep=\d+$/, '');
}

function roundRunId(run: PlannedRun, round: number): string {
  const point = pointId(run);
  return point === '' ? `rep=${round}` : `${point},rep=${round}`;
}

export async function runLiveGate(o: LiveGateOptions): Promise<LiveGateResult> {
  const t0 = Date.now();
  const spec = loadSpec(o.experimentFile);
  if (spec.mode !== 'live') throw new Error(`${o.experimentFile}: the live gate needs a live experiment`);
  const matrix = expandMatrix(spec);
  const text = readFileSync(o.experimentFile, 'utf8');
  const folders = new Map<'baseline' | 'current', BenchFolder>();
  for (const b of [o.baseline, o.current]) {
    folders.set(
      b.label,
      new BenchFolder({
        root: join(o.outDir, b.label),
        name: spec.name,
        text,
        file: o.experimentFile,
        seed: spec.seed,
        repeat: o.rounds,
        axes: matrix.axes.map((a) => ({ path: a.path, values: a.values.map((v) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : JSON.stringify(v))) })),
        repoDir: o.repoDir,
        toolVersion: o.toolVersion,
        gitCommit: b.commit,
      }),
    );
  }
  const figures: RoundFigure[] = [];
  // Round r runs the baseline first when r is even and the current build first when it is odd
  // (A B, B A, A B, ...), so that a machine getting steadily busier or quieter favours neither.
  const runRound = async (round: number, of: number): Promise<void> => {
    const order = round % 2 === 0 ? [o.baseline, o.current] : [o.current, o.baseline];
    for (const b of order) {
      for (const run of matrix.runs) {
        const runId = roundRunId(run, round);
        const label = `round ${round + 1}/${of} ${b.label.padEnd(8)} ${runId}`;
        const attempt = () =>
          withEnv(b.env, () =>
            runLiveCluster({
              cluster: run.spec.cluster,
              network: run.spec.network,
              workload: run.spec.workload,
              faults: run.spec.faults,
              stop: run.spec.stop,
              warmupUs: run.spec.warmupUs,
              seed: run.seed,
              frbPath: b.frbPath,
              handleSigint: true,
              logLevel: 'warn',
            }),
          );
        let result;
        try {
          result = await attempt();
        } catch (first) {
          // Once more: a cluster can fail to start for reasons of the moment (a port taken between
          // choosing it and binding it) that say nothing about the build.
          o.log(`${label}: ${(first as Error).message.split('\n')[0]}; trying once more`);
          try {
            result = await attempt();
          } catch (err) {
            const msg = `${label}: ${(err as Error).message.split('\n')[0]}`;
            if (b.label === 'baseline') throw new BaselineUnavailable(`the baseline build could not run the live gate: ${msg}`);
            throw new Error(`the current build could not run the live gate: ${msg}`);
          }
        }
        if (result.aborted) throw new Error(`${label}: interrupted`);
        const cs = run.spec.cluster;
        const s = folders.get(b.label)!.add(
          measuredFromLive(result, {
            runId,
            index: run.index,
            rep: round,
            seed: run.seed,
            params: Object.fromEntries(Object.entries(run.params).map(([k, v]) => [k, typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : JSON.stringify(v)])),
            spec: { ...run.spec, build: b.label, buildCommit: b.commit },
            workload: describeWorkload(run.spec),
            placement: `${run.spec.workload.attach} (nodes ${result.placement.attachedTo.join(',')}, leader ${result.placement.leaderAtStart})`,
            valueBytes: run.spec.workload.valueBytes,
            durability: cs.storage === 'lmdb' ? `lmdb ${cs.sync ? 'sync (fsync per Ready)' : 'no sync'}` : cs.storage,
          }),
        );
        const fig: RoundFigure = { round, build: b.label, runId: pointId(run) === '' ? 'all' : pointId(run), p50Us: s.commitLatency.p50Us, p99Us: s.commitLatency.p99Us, opsPerSec: s.throughput.achievedPerSec };
        figures.push(fig);
        o.log(`${label}  p50 ${(fig.p50Us / 1000).toFixed(2)} ms  p99 ${(fig.p99Us / 1000).toFixed(2)} ms  ${Math.round(fig.opsPerSec)} ops/s${result.errors.length > 0 ? `  (${result.errors.length} error(s): ${result.errors[0]})` : ''}`);
      }
    }
  };
  for (let round = 0; round < o.rounds; round++) await runRound(round, o.rounds);
  const baselineDir = folders.get('baseline')!.dir;
  const currentDir = folders.get('current')!.dir;
  let outcome = frbCheck(o.current.frbPath, currentDir, baselineDir, o.tolerancePct, o.log);
  let rounds = o.rounds;
  let confirmed = false;
  if (!outcome.ok && o.confirmRounds > 0) {
    o.log(`first ${o.rounds} round(s): ${outcome.reason}`);
    o.log(`confirming with ${o.confirmRounds} more round(s); the check is then made on all ${o.rounds + o.confirmRounds}`);
    confirmed = true;
    rounds = o.rounds + o.confirmRounds;
    for (let round = o.rounds; round < rounds; round++) await runRound(round, rounds);
    outcome = frbCheck(o.current.frbPath, currentDir, baselineDir, o.tolerancePct, o.log);
  }
  for (const f of folders.values()) {
    f.setRepeat(rounds);
    f.finish();
  }
  return { ok: outcome.ok, skipped: false, reason: outcome.reason, baselineDir, currentDir, figures, check: outcome.check, checkText: outcome.text, rounds, confirmed, wallMs: Date.now() - t0 };
}
