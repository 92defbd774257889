// The view the charts and tables share: every run tagged with the series it is drawn in (its
// protocol; in a comparison, its results folder too), the matrix point it measured (its swept
// parameters other than the protocol) and the swept axes with their units.

import { parseBytes, parseDurationUs, parseProbability, parseRatePerSec } from '../faults/index.js';
import type { ParamValue } from '../metrics/results-format.js';
import type { LoadedResults, LoadedRun } from './load.js';

export interface ChartRun {
  readonly series: string;
  readonly protocol: string;
  readonly pointKey: string;
  readonly pointLabel: string;
  // The swept parameters except the protocol.
  readonly point: Readonly<Record<string, ParamValue>>;
  readonly rep: number;
  readonly runId: string;
  readonly setLabel: string;
  readonly run: LoadedRun;
}

export type AxisKind = 'duration' | 'rate' | 'bytes' | 'probability' | 'number' | 'nominal';

export interface SweepAxis {
  readonly path: string;
  // Short name for point labels ("latency"), title with unit for chart axes.
  readonly name: string;
  readonly title: string;
  readonly kind: AxisKind;
  readonly values: readonly ParamValue[];
  // The axis varies contention (what makes concurrent proposals collide on Fast Raft's fast path).
  readonly contention: boolean;
  // The value in the axis's display unit (ms for durations, % for probabilities), null for nominal.
  toNumber(v: ParamValue): number | null;
}

export interface ChartModel {
  readonly runs: readonly ChartRun[];
  // Series in drawing order, and their colours (same series, same colour, in every chart).
  readonly series: readonly string[];
  readonly colors: readonly string[];
  // Swept axes other than the protocol, in the manifest's order.
  readonly axes: readonly SweepAxis[];
  // Matrix points (pointKey) in the order of the axes' values.
  readonly points: readonly string[];
  readonly pointLabels: ReadonlyMap<string, string>;
  readonly repeat: number;
}

// Tableau 10, the vega default: colour-blind friendly enough, and familiar to readers.
export const palette: readonly string[] = [
  '#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac',
];

export function isProtocolPath(path: string): boolean {
  return path === 'protocol' || path.endsWith('.protocol');
}

const knownAxes: ReadonlyArray<{ test: RegExp; name: string; title: string }> = [
  { test: /^cluster\.size$/, name: 'size', title: 'cluster size' },
  { test: /^network\.latency(\.mean)?$/, name: 'latency', title: 'injected latency' },
  { test: /loss/, name: 'loss', title: 'message loss' },
  { test: /contention|conflict/, name: 'contention', title: 'contention' },
  { test: /proposers$/, name: 'proposers', title: 'concurrent proposers' },
  { test: /^workload\.rate$/, name: 'rate', title: 'offered rate' },
  { test: /^workload\.clients$/, name: 'clients', title: 'clients' },
  { test: /value_bytes|valueBytes|payload/, name: 'payload', title: 'payload' },
];

function tryAll(values: readonly ParamValue[], parse: (v: ParamValue) => number): number[] | null {
  try {
    return values.map(parse);
  } catch {
    return null;
  }
}

function lastSegment(path: string): string {
  const i = path.lastIndexOf('.');
  return i < 0 ? path : path.slice(i + 1);
}

export function describeAxis(path: string, values: readonly ParamValue[]): SweepAxis {
  const known = knownAxes.find((k) => k.test.test(path));
  const name = known?.name ?? lastSegment(path);
  const base = known?.title ?? path;
  const strings = values.filter((v): v is string => typeof v === 'string');
  const numbers = values.every((v) => typeof v === 'number');
  // Contention is whatever makes proposals collide: conflicting keys or concurrent proposers.
  const contention = /contention|conflict|proposers|hot|keys/.test(path);
  const mk = (kind: AxisKind, unit: string | null, toNumber: (v: ParamValue) => number | null): SweepAxis => ({
    path,
    name,
    title: unit === null ? base : `${base} (${unit})`,
    kind,
    values,
    contention,
    toNumber,
  });
  if (name === 'size' && numbers) return mk('number', 'nodes', (v) => Number(v));
  // Experiment files mix bare zeros with quantities (`loss: [0, 0.5%, 1%]`, `latency: [0, 1ms]`).
  if (strings.length > 0) {
    if (tryAll(values, (v) => parseDurationUs(v)) !== null) return mk('duration', 'ms', (v) => parseDurationUs(v) / 1000);
    if (strings.every((s) => s.trim().endsWith('/s')) && tryAll(values, (v) => parseRatePerSec(v)) !== null) {
      return mk('rate', 'per s', (v) => parseRatePerSec(v));
    }
    if ((name === 'loss' || strings.every((s) => s.trim().endsWith('%'))) && tryAll(values, (v) => parseProbability(v)) !== null) {
      return mk('probability', '%', (v) => parseProbability(v) * 100);
    }
    if (strings.every((s) => /B$/.test(s.trim())) && tryAll(values, (v) => parseBytes(v)) !== null) {
      return mk('bytes', 'bytes', (v) => parseBytes(v));
    }
  }
  if (numbers) {
    // A loss written as a fraction reads better as a percentage.
    if (name === 'loss' && values.every((v) => (v as number) >= 0 && (v as number) <= 1)) {
      return mk('probability', '%', (v) => (v as number) * 100);
    }
    return mk('number', name === 'payload' ? 'bytes' : null, (v) => Number(v));
  }
  return mk('nominal', null, () => null);
}

function formatValue(v: ParamValue): string {
  return typeof v === 'string' ? v : String(v);
}

export function pointOf(params: Readonly<Record<string, ParamValue>>): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const k of Object.keys(params).sort()) if (!isProtocolPath(k)) out[k] = params[k]!;
  return out;
}

export function pointKeyOf(params: Readonly<Record<string, ParamValue>>): string {
  return JSON.stringify(pointOf(params));
}

// seriesOrder puts raft before fastraft (the baseline first), then anything else by name.
function seriesCompare(a: string, b: string): number {
  const rank = (s: string): number => (/\braft\b/.test(s) && !/fast/.test(s) ? 0 : /fastraft/.test(s) ? 1 : 2);
  return rank(a) - rank(b) || a.localeCompare(b);
}

export interface ModelOptions {
  // Name series by results folder as well as protocol (comparisons).
  readonly bySet?: boolean;
}

export function buildModel(sets: readonly LoadedResults[], options: ModelOptions = {}): ChartModel {
  // Axes: the union over the sets, in first-seen order; values in the order the manifests list them.
  const axisValues = new Map<string, ParamValue[]>();
  for (const set of sets) {
    for (const a of set.manifest.axes) {
      if (isProtocolPath(a.path)) continue;
      const vals = axisValues.get(a.path) ?? [];
      for (const v of a.values) if (!vals.some((x) => x === v)) vals.push(v);
      axisValues.set(a.path, vals);
    }
  }
  // Runs may carry swept params the manifest does not list as axes (older files): add them.
  for (const set of sets) {
    for (const r of set.runs) {
      for (const [k, v] of Object.entries(r.params.params)) {
        if (isProtocolPath(k)) continue;
        const vals = axisValues.get(k) ?? [];
        if (!vals.some((x) => x === v)) vals.push(v);
        axisValues.set(k, vals);
      }
    }
  }
  const axes = [...axisValues.entries()].map(([path, values]) => describeAxis(path, values));
  const protocolsPerSet = sets.map((s) => new Set(s.runs.map((r) => r.summary.protocol)));
  const oneProtocolEach = protocolsPerSet.every((p) => p.size === 1);
  const label = (set: LoadedResults, protocol: string): string => {
    if (!options.bySet || sets.length === 1) return protocol;
    // Classic vs fast from two folders: the folder names already tell the protocols apart only if
    // the user named them so; keep both.
    return oneProtocolEach && new Set(protocolsPerSet.map((p) => [...p][0])).size === 1 ? set.label : `${set.label} · ${protocol}`;
  };
  const pointLabel = (point: Record<string, ParamValue>): string => {
    const parts = axes.filter((a) => a.path in point).map((a) => `${a.name}=${formatValue(point[a.path]!)}`);
    return parts.length === 0 ? 'all runs' : parts.join(', ');
  };
  const runs: ChartRun[] = [];
  for (const set of sets) {
    for (const run of set.runs) {
      const point = pointOf(run.params.params);
      runs.push({
        series: label(set, run.summary.protocol),
        protocol: run.summary.protocol,
        pointKey: JSON.stringify(point),
        pointLabel: pointLabel(point),
        point,
        rep: run.params.rep,
        runId: run.runId,
        setLabel: set.label,
        run,
      });
    }
  }
  const seriesSeen: string[] = [];
  for (const r of runs) if (!seriesSeen.includes(r.series)) seriesSeen.push(r.series);
  // Within a comparison keep the folders' order (A before B); within one folder, raft first.
  const series = options.bySet && sets.length > 1 ? seriesSeen : [...seriesSeen].sort(seriesCompare);
  const colors = series.map((_, i) => palette[i % palette.length]!);
  const pointRank = (key: string): number[] => {
    const point = JSON.parse(key) as Record<string, ParamValue>;
    return axes.map((a) => (a.path in point ? a.values.indexOf(point[a.path]!) : -1));
  };
  const pointKeys = [...new Set(runs.map((r) => r.pointKey))].sort((a, b) => {
    const ra = pointRank(a);
    const rb = pointRank(b);
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
    return a.localeCompare(b);
  });
  const pointLabels = new Map(runs.map((r) => [r.pointKey, r.pointLabel] as const));
  const repeat = Math.max(...sets.map((s) => s.manifest.repeat), 1);
  return { runs, series, colors, axes, points: pointKeys, pointLabels, repeat };
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let sum = 0;
  for (const x of xs) sum += x;
  return sum / xs.length;
}

export function round(x: number, digits = 3): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
