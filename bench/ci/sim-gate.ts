// The deterministic half of the CI regression gate: run bench/ci/sim-gate.yaml in the simulator and
// require its results to equal the committed baseline (bench/baselines/sim-gate/) exactly.
//
// Exactly, not within a tolerance: the simulator is deterministic (virtual clock, seeded RNG, no
// wall-clock input), so on any machine the same commit gives the same bytes, and a difference is a
// change of behaviour of the core or the simulator, never noise. What is compared:
//   - every field of every run's summary.json: simulated commit latency (count, mean, min, p50,
//     p90, p99, p99.9, p99.99, max; corrected and uncorrected), throughput, the fast-path counts and
//     ratio, messages and bytes per commit (and their totals), elections, availability gap,
//     unacknowledged proposals, the methodology text;
//   - commit.hgrm and commit.hlog byte for byte (the full distribution and latency over time);
//   - the resolved spec of each run (params.json), so that a baseline made from another experiment
//     is reported as such rather than as a mysterious difference;
//   - the set of runs.
// Nothing taken from the wall clock is compared (the manifest's timestamps, host, git commit).
//
// A difference is a failure in both directions: a change that makes the simulated figures better is
// a change of behaviour too, and whoever makes it regenerates the baseline on purpose
// (bench/baselines/README.md), so that the review shows the new figures.

import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { parseExperiment, ExperimentFileError, formatIssue } from '../../src/experiment/index.js';
import { runExperiment } from '../../src/experiment/runner.js';

export interface Difference {
  // Run id (or '*' for the folder), the file, and the JSON path inside it.
  readonly run: string;
  readonly file: string;
  readonly path: string;
  readonly baseline: string;
  readonly current: string;
}

export interface SimGateResult {
  readonly ok: boolean;
  readonly reason: string;
  readonly runs: number;
  readonly currentDir: string;
  readonly baselineDir: string;
  readonly differences: readonly Difference[];
  readonly wallMs: number;
}

// Differences listed at most; the count is always complete.
export const differencesShownMax = 40;

function show(v: unknown): string {
  if (v === undefined) return '(absent)';
  const s = JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

// diffJson lists the leaf paths where two JSON values differ.
export function diffJson(base: unknown, cur: unknown, path: string, out: Array<{ path: string; baseline: string; current: string }>): void {
  if (Object.is(base, cur)) return;
  const bothObjects = typeof base === 'object' && base !== null && typeof cur === 'object' && cur !== null;
  if (bothObjects && Array.isArray(base) === Array.isArray(cur)) {
    const b = base as Record<string, unknown>;
    const c = cur as Record<string, unknown>;
    const keys = new Set([...Object.keys(b), ...Object.keys(c)]);
    for (const k of [...keys].sort()) diffJson(b[k], c[k], path === '' ? k : `${path}.${k}`, out);
    return;
  }
  out.push({ path: path === '' ? '(root)' : path, baseline: show(base), current: show(cur) });
}

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8')) as unknown;
}

function runIds(dir: string): string[] {
  const runs = join(dir, 'runs');
  if (!existsSync(runs)) return [];
  return readdirSync(runs)
    .filter((id) => existsSync(join(runs, id, 'summary.json')))
    .sort();
}

// The figures a reader looks at first are listed first (the sort is stable: the rest keep their
// order).
const headline = [
  'commitLatency.p50Us',
  'commitLatency.p99Us',
  'commitLatency.maxUs',
  'throughput.achievedPerSec',
  'fast.fastPathRatio',
  'messages.perCommit',
  'messages.bytesPerCommit',
];

function headlineRank(path: string): number {
  const i = headline.indexOf(path);
  return i < 0 ? headline.length : i;
}

// compareDeterministic compares two results folders of the same deterministic experiment.
export function compareDeterministic(baselineDir: string, currentDir: string): Difference[] {
  const out: Difference[] = [];
  if (!existsSync(join(baselineDir, 'manifest.json'))) {
    out.push({ run: '*', file: 'manifest.json', path: '(folder)', baseline: `no results folder at ${baselineDir}`, current: '' });
    return out;
  }
  const baseRuns = runIds(baselineDir);
  const curRuns = runIds(currentDir);
  for (const id of baseRuns) {
    if (!curRuns.includes(id)) out.push({ run: id, file: 'runs/', path: '(run)', baseline: 'present', current: 'missing' });
  }
  for (const id of curRuns) {
    if (!baseRuns.includes(id)) out.push({ run: id, file: 'runs/', path: '(run)', baseline: 'missing', current: 'present' });
  }
  for (const id of baseRuns.filter((r) => curRuns.includes(r))) {
    const b = join(baselineDir, 'runs', id);
    const c = join(currentDir, 'runs', id);
    const leaves: Array<{ path: string; baseline: string; current: string }> = [];
    diffJson(readJson(join(b, 'summary.json')), readJson(join(c, 'summary.json')), '', leaves);
    leaves.sort((x, y) => headlineRank(x.path) - headlineRank(y.path));
    for (const l of leaves) out.push({ run: id, file: 'summary.json', ...l });
    leaves.length = 0;
    diffJson((readJson(join(b, 'params.json')) as { spec: unknown }).spec, (readJson(join(c, 'params.json')) as { spec: unknown }).spec, 'spec', leaves);
    for (const l of leaves) out.push({ run: id, file: 'params.json', ...l });
    for (const f of ['commit.hgrm', 'commit.hlog']) {
      const bt = existsSync(join(b, f)) ? readFileSync(join(b, f), 'utf8') : null;
      const ct = existsSync(join(c, f)) ? readFileSync(join(c, f), 'utf8') : null;
      if (bt !== ct) {
        out.push({ run: id, file: f, path: '(bytes)', baseline: bt === null ? '(absent)' : `${bt.length} chars`, current: ct === null ? '(absent)' : `${ct.length} chars, differs` });
      }
    }
  }
  return out;
}

function pctChange(baseline: string, current: string): string {
  const b = Number(baseline);
  const c = Number(current);
  if (!Number.isFinite(b) || !Number.isFinite(c) || b === 0) return '';
  const pct = ((c - b) / b) * 100;
  return ` (${pct >= 0 ? '+' : ''}${pct.toFixed(2)}%)`;
}

export function formatDifferences(diffs: readonly Difference[]): string[] {
  const lines = diffs
    .slice(0, differencesShownMax)
    .map((d) => `  ${d.run} ${d.file} ${d.path}: ${d.baseline} -> ${d.current}${pctChange(d.baseline, d.current)}`);
  if (diffs.length > differencesShownMax) lines.push(`  ... and ${diffs.length - differencesShownMax} more`);
  return lines;
}

export interface SimGateOptions {
  readonly experimentFile: string;
  readonly baselineDir: string;
  readonly repoDir: string;
  readonly toolVersion: string;
  // Rewrite the baseline from this run instead of comparing.
  readonly update?: boolean;
  // Keep the temporary results folder (printed) instead of deleting it.
  readonly keep?: boolean;
}

export async function runSimGate(o: SimGateOptions): Promise<SimGateResult> {
  const t0 = Date.now();
  let spec;
  try {
    // The file is named relative to the repository in the results (the manifest is committed).
    const label = isAbsolute(o.experimentFile) ? relative(o.repoDir, o.experimentFile) : o.experimentFile;
    spec = parseExperiment(readFileSync(o.experimentFile, 'utf8'), label);
  } catch (err) {
    if (err instanceof ExperimentFileError) throw new Error(`${o.experimentFile}: ${err.issues.map(formatIssue).join('; ')}`);
    throw err;
  }
  if (spec.mode !== 'sim') throw new Error(`${o.experimentFile}: the deterministic gate needs a sim experiment, not mode ${spec.mode}`);
  const outRoot = mkdtempSync(join(tmpdir(), 'frb-sim-gate-'));
  try {
    const result = await runExperiment(spec, { outRoot, toolVersion: o.toolVersion, repoDir: o.repoDir });
    if (result.interrupted || result.finished.length !== result.matrix.runs.length) throw new Error('the sim gate experiment did not finish');
    if (o.update === true) {
      rmSync(o.baselineDir, { recursive: true, force: true });
      cpSync(result.dir, o.baselineDir, { recursive: true });
      return {
        ok: true,
        reason: `baseline rewritten: ${result.finished.length} runs -> ${o.baselineDir}`,
        runs: result.finished.length,
        currentDir: o.baselineDir,
        baselineDir: o.baselineDir,
        differences: [],
        wallMs: Date.now() - t0,
      };
    }
    const differences = compareDeterministic(o.baselineDir, result.dir);
    const specChanged = differences.some((d) => d.file === 'params.json');
    const reason =
      differences.length === 0
        ? `${result.finished.length} runs equal to the baseline exactly`
        : `${differences.length} difference(s) from the baseline` +
          (specChanged ? ' (the experiment itself differs from the one the baseline was made from)' : '') +
          '; if the change of behaviour is intended, regenerate the baseline: npm run bench:ci -- --update-baseline (bench/baselines/README.md)';
    return {
      ok: differences.length === 0,
      reason,
      runs: result.finished.length,
      currentDir: o.keep === true ? result.dir : '(deleted)',
      baselineDir: o.baselineDir,
      differences,
      wallMs: Date.now() - t0,
    };
  } finally {
    if (o.keep !== true) rmSync(outRoot, { recursive: true, force: true });
  }
}
