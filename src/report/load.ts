// Reading results folders (DESIGN.md "Results layout"). Reports only ever read these files, so
// this is the one place that knows the layout; everything downstream works on LoadedResults.
//
// manifest.json, params.json and summary.json are checked field by field for what the reports
// use: a report drawn from a half-understood file would be a figure nobody can defend. A run
// without its .hgrm or .hlog is still loaded (its summary holds the headline numbers) and the gap
// is reported as a warning, because a report that refuses a whole experiment for one missing
// file helps nobody.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import * as hdr from 'hdr-histogram-js';
import { RESULTS_SCHEMA } from '../metrics/results-format.js';
import type { FaultEvent, Manifest, ParamValue, RunParams, RunSummary } from '../metrics/results-format.js';
import type { LatencySummary } from '../metrics/latency-recorder.js';

// A user pointed a report at something that is not a (readable) results folder.
export class ResultsFormatError extends Error {
  override name = 'ResultsFormatError';
  constructor(
    readonly file: string,
    readonly field: string | null,
    reason: string,
  ) {
    super(`${file}${field !== null ? ` (${field})` : ''}: ${reason}`);
  }
}

// One row of a .hgrm percentile distribution: `percentile` is a fraction in [0, 1].
export interface PercentilePoint {
  readonly valueUs: number;
  readonly percentile: number;
  readonly totalCount: number;
}

// One interval of the .hlog, timed from the start of the measured window.
export interface IntervalPoint {
  readonly startSec: number;
  readonly lengthSec: number;
  readonly count: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
}

export interface LoadedRun {
  readonly dir: string;
  readonly runId: string;
  readonly params: RunParams;
  readonly summary: RunSummary;
  readonly distribution: readonly PercentilePoint[];
  readonly intervals: readonly IntervalPoint[];
}

export interface LoadedResults {
  // The folder holding manifest.json.
  readonly dir: string;
  // A short name for tables and legends: `<experiment>/<timestamp>` unless the caller names it.
  readonly label: string;
  readonly manifest: Manifest;
  readonly runs: readonly LoadedRun[];
  readonly warnings: readonly string[];
}

// Limits: a results folder is data someone else wrote; a corrupt one must not exhaust memory.
export const runsMax = 10_000;
export const fileBytesMax = 64 * 1024 * 1024;
export const intervalsMax = 100_000;

function readText(file: string): string {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new ResultsFormatError(file, null, 'missing');
  }
  if (size > fileBytesMax) throw new ResultsFormatError(file, null, `larger than ${fileBytesMax} bytes`);
  return readFileSync(file, 'utf8');
}

function readJson(file: string): unknown {
  const text = readText(file);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ResultsFormatError(file, null, `not valid JSON: ${(err as Error).message}`);
  }
}

// Field checkers: each names the file and the dotted field it rejects.
class Fields {
  constructor(readonly file: string) {}

  fail(field: string, reason: string): never {
    throw new ResultsFormatError(this.file, field, reason);
  }

  object(v: unknown, field: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, 'expected an object');
    return v as Record<string, unknown>;
  }

  number(v: unknown, field: string): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(field, `expected a finite number, got ${JSON.stringify(v)}`);
    return v;
  }

  string(v: unknown, field: string): string {
    if (typeof v !== 'string') this.fail(field, `expected a string, got ${JSON.stringify(v)}`);
    return v;
  }

  schema(o: Record<string, unknown>): void {
    if (o['schema'] !== RESULTS_SCHEMA) {
      this.fail('schema', `this version of frb reads schema ${RESULTS_SCHEMA}, the file says ${JSON.stringify(o['schema'])}`);
    }
  }

  params(v: unknown, field: string): Record<string, ParamValue> {
    const o = this.object(v, field);
    for (const [k, x] of Object.entries(o)) {
      if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') {
        this.fail(`${field}.${k}`, 'expected a string, number or boolean');
      }
    }
    return o as Record<string, ParamValue>;
  }

  latency(v: unknown, field: string): LatencySummary {
    const o = this.object(v, field);
    for (const k of ['count', 'meanUs', 'p50Us', 'p90Us', 'p99Us', 'p999Us', 'p9999Us', 'maxUs', 'minUs']) {
      this.number(o[k], `${field}.${k}`);
    }
    return o as unknown as LatencySummary;
  }
}

function checkManifest(file: string, raw: unknown): Manifest {
  const f = new Fields(file);
  const o = f.object(raw, '$');
  f.schema(o);
  if (o['mode'] !== 'sim' && o['mode'] !== 'live') f.fail('mode', 'expected "sim" or "live"');
  const exp = f.object(o['experiment'], 'experiment');
  f.string(exp['name'], 'experiment.name');
  f.string(exp['text'], 'experiment.text');
  f.object(o['tool'], 'tool');
  f.number(o['seed'], 'seed');
  f.number(o['repeat'], 'repeat');
  if (!Array.isArray(o['matrix'])) f.fail('matrix', 'expected an array');
  if (!Array.isArray(o['axes'])) f.fail('axes', 'expected an array');
  (o['axes'] as unknown[]).forEach((a, i) => {
    const axis = f.object(a, `axes[${i}]`);
    f.string(axis['path'], `axes[${i}].path`);
    if (!Array.isArray(axis['values'])) f.fail(`axes[${i}].values`, 'expected an array');
  });
  for (const k of ['node', 'cpu', 'host', 'platform', 'startedAt']) f.string(o[k], k);
  if (!Array.isArray(o['finished'])) f.fail('finished', 'expected an array');
  return o as unknown as Manifest;
}

function checkParams(file: string, raw: unknown): RunParams {
  const f = new Fields(file);
  const o = f.object(raw, '$');
  f.schema(o);
  f.string(o['runId'], 'runId');
  f.number(o['index'], 'index');
  f.number(o['rep'], 'rep');
  f.number(o['seed'], 'seed');
  f.params(o['params'], 'params');
  return o as unknown as RunParams;
}

function checkSummary(file: string, raw: unknown): RunSummary {
  const f = new Fields(file);
  const o = f.object(raw, '$');
  f.schema(o);
  f.string(o['runId'], 'runId');
  if (o['mode'] !== 'sim' && o['mode'] !== 'live') f.fail('mode', 'expected "sim" or "live"');
  f.string(o['protocol'], 'protocol');
  f.number(o['size'], 'size');
  f.params(o['params'], 'params');
  const w = f.object(o['window'], 'window');
  f.number(w['startUs'], 'window.startUs');
  f.number(w['endUs'], 'window.endUs');
  f.latency(o['commitLatency'], 'commitLatency');
  f.latency(o['commitLatencyUncorrected'], 'commitLatencyUncorrected');
  f.latency(o['leaderCommitLatency'], 'leaderCommitLatency');
  const t = f.object(o['throughput'], 'throughput');
  f.number(t['offeredPerSec'], 'throughput.offeredPerSec');
  f.number(t['achievedPerSec'], 'throughput.achievedPerSec');
  if (o['fast'] !== null) {
    const fast = f.object(o['fast'], 'fast');
    f.number(fast['fastPathRatio'], 'fast.fastPathRatio');
    f.number(fast['fastCommits'], 'fast.fastCommits');
    f.number(fast['classicCommits'], 'fast.classicCommits');
  }
  const m = f.object(o['messages'], 'messages');
  for (const k of ['total', 'perCommit', 'bytesTotal', 'bytesPerCommit']) f.number(m[k], `messages.${k}`);
  f.number(o['elections'], 'elections');
  f.number(o['availabilityGapUs'], 'availabilityGapUs');
  f.number(o['unacknowledged'], 'unacknowledged');
  if (!Array.isArray(o['faults'])) f.fail('faults', 'expected an array');
  (o['faults'] as unknown[]).forEach((e, i) => {
    const ev = f.object(e, `faults[${i}]`);
    f.number(ev['atUs'], `faults[${i}].atUs`);
    f.string(ev['kind'], `faults[${i}].kind`);
  });
  const meth = f.object(o['methodology'], 'methodology');
  for (const k of ['workload', 'placement', 'durability']) f.string(meth[k], `methodology.${k}`);
  f.number(meth['valueBytes'], 'methodology.valueBytes');
  return o as unknown as RunSummary;
}

// parseHgrm reads the standard percentile distribution text (HdrHistogram's
// outputPercentileDistribution): `Value Percentile TotalCount 1/(1-Percentile)` rows, then
// `#[...]` footer lines. The 1/(1-p) column is recomputed by the charts rather than trusted,
// since writers format it loosely near p = 1.
export function parseHgrm(text: string, file = 'commit.hgrm'): PercentilePoint[] {
  const points: PercentilePoint[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#') || t.startsWith('Value')) continue;
    const cols = t.split(/\s+/);
    if (cols.length < 3) throw new ResultsFormatError(file, null, `unexpected line "${t.slice(0, 60)}"`);
    const valueUs = Number(cols[0]);
    const percentile = Number(cols[1]);
    const totalCount = Number(cols[2]);
    if (!Number.isFinite(valueUs) || !(percentile >= 0 && percentile <= 1) || !Number.isFinite(totalCount)) {
      throw new ResultsFormatError(file, null, `unexpected line "${t.slice(0, 60)}"`);
    }
    points.push({ valueUs, percentile, totalCount });
    if (points.length > intervalsMax) throw new ResultsFormatError(file, null, `more than ${intervalsMax} rows`);
  }
  return points;
}

// parseHlog decodes a standard interval log into per-interval figures, timed from the log's
// StartTime (the start of the measured window, as IntervalRecorder writes it).
export function parseHlog(text: string, file = 'commit.hlog'): IntervalPoint[] {
  const reader = new hdr.HistogramLogReader(text);
  const out: IntervalPoint[] = [];
  for (;;) {
    const h = reader.nextIntervalHistogram();
    if (h === null) break;
    try {
      const startSec = h.startTimeStampMsec / 1000 - reader.startTimeSec;
      out.push({
        startSec: Math.round(startSec * 1e6) / 1e6,
        lengthSec: (h.endTimeStampMsec - h.startTimeStampMsec) / 1000,
        count: h.totalCount,
        p50Us: h.totalCount > 0 ? h.getValueAtPercentile(50) : 0,
        p90Us: h.totalCount > 0 ? h.getValueAtPercentile(90) : 0,
        p99Us: h.totalCount > 0 ? h.getValueAtPercentile(99) : 0,
        maxUs: h.totalCount > 0 ? h.maxValue : 0,
      });
    } finally {
      h.destroy();
    }
    if (out.length > intervalsMax) throw new ResultsFormatError(file, null, `more than ${intervalsMax} intervals`);
  }
  // A log with interval lines that all failed to decode reads as empty; say so rather than draw nothing.
  if (out.length === 0 && /^[0-9.]+,[0-9.]+,[0-9.]+,\S+/m.test(text)) {
    throw new ResultsFormatError(file, null, 'interval lines present but none could be decoded');
  }
  return out;
}

// resolveResultsDir accepts the timestamped folder itself or its experiment folder
// (results/<name>/), in which case the latest timestamp is taken: timestamps sort as text.
export function resolveResultsDir(dir: string): { dir: string; note: string | null } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ResultsFormatError(dir, null, 'not a folder');
  if (existsSync(join(dir, 'manifest.json'))) return { dir, note: null };
  const candidates = readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, 'manifest.json')))
    .sort();
  if (candidates.length === 0) {
    throw new ResultsFormatError(dir, null, 'no manifest.json here nor in a timestamped folder below (is this a results folder?)');
  }
  const latest = candidates[candidates.length - 1]!;
  return {
    dir: join(dir, latest),
    note: candidates.length > 1 ? `${dir} holds ${candidates.length} results; using the latest, ${latest}` : null,
  };
}

export interface LoadOptions {
  label?: string;
}

export function loadResults(dirArg: string, options: LoadOptions = {}): LoadedResults {
  const { dir, note } = resolveResultsDir(dirArg);
  const warnings: string[] = [];
  if (note !== null) warnings.push(note);
  const manifestFile = join(dir, 'manifest.json');
  const manifest = checkManifest(manifestFile, readJson(manifestFile));
  const runsDir = join(dir, 'runs');
  const runIds = existsSync(runsDir)
    ? readdirSync(runsDir)
        .filter((name) => statSync(join(runsDir, name)).isDirectory())
        .sort()
    : [];
  if (runIds.length > runsMax) throw new ResultsFormatError(runsDir, null, `more than ${runsMax} runs`);
  const runs: LoadedRun[] = [];
  for (const runId of runIds) {
    const runDir = join(runsDir, runId);
    const paramsFile = join(runDir, 'params.json');
    const summaryFile = join(runDir, 'summary.json');
    if (!existsSync(summaryFile)) {
      warnings.push(`run ${runId} has no summary.json (unfinished?); left out`);
      continue;
    }
    const params = checkParams(paramsFile, readJson(paramsFile));
    const summary = checkSummary(summaryFile, readJson(summaryFile));
    if (params.runId !== runId) throw new ResultsFormatError(paramsFile, 'runId', `says ${params.runId}, the folder is ${runId}`);
    if (summary.runId !== runId) throw new ResultsFormatError(summaryFile, 'runId', `says ${summary.runId}, the folder is ${runId}`);
    let distribution: PercentilePoint[] = [];
    let intervals: IntervalPoint[] = [];
    const hgrmFile = join(runDir, 'commit.hgrm');
    const hlogFile = join(runDir, 'commit.hlog');
    if (existsSync(hgrmFile)) distribution = parseHgrm(readText(hgrmFile), hgrmFile);
    else warnings.push(`run ${runId} has no commit.hgrm; its percentile distribution is not drawn`);
    if (existsSync(hlogFile)) intervals = parseHlog(readText(hlogFile), hlogFile);
    else warnings.push(`run ${runId} has no commit.hlog; its latency over time is not drawn`);
    runs.push({ dir: runDir, runId, params, summary, distribution, intervals });
  }
  for (const m of manifest.matrix) {
    if (!runs.some((r) => r.runId === m.runId)) warnings.push(`run ${m.runId} of the matrix has no results`);
  }
  if (runs.length === 0) throw new ResultsFormatError(runsDir, null, 'no finished runs');
  const label = options.label ?? `${manifest.experiment.name}/${basename(dir)}`;
  return { dir, label, manifest, runs, warnings };
}

// faultsInWindow gives a run's fault events as seconds from the start of its measured window.
export function faultsInWindow(summary: RunSummary): Array<{ tSec: number; event: FaultEvent }> {
  const { startUs, endUs } = summary.window;
  return summary.faults
    .filter((e) => e.atUs >= startUs && e.atUs <= endUs)
    .map((event) => ({ tSec: (event.atUs - startUs) / 1e6, event }));
}

export function describeDir(dir: string): string {
  const rel = relative(process.cwd(), dir);
  return rel === '' ? '.' : rel.startsWith('..') ? dir : rel;
}
