// What every chart shares: the spec type, the look (fonts that the server renderer has, units in
// every axis title), colours fixed per series, and small multiples (one panel per matrix point).

import type { ChartModel } from '../model.js';

// A vega-lite spec as plain JSON. vega-lite's own TypeScript types are a union too deep to build
// against comfortably; every spec is compiled in the tests with warnings treated as failures.
export type VlSpec = Record<string, unknown>;

export interface Chart {
  // File stem of the .vl.json/.svg/.png, and the HTML anchor.
  readonly id: string;
  readonly title: string;
  // One paragraph for the report: what is drawn, and how to read it.
  readonly description: string;
  readonly spec: VlSpec;
}

export interface SkippedChart {
  readonly id: string;
  readonly title: string;
  readonly reason: string;
}

export interface ChartSet {
  readonly charts: Chart[];
  readonly skipped: SkippedChart[];
}

// vega-lite 6 reads v5 specs unchanged; the notebook's mime type is v5, so the specs say v5 and
// use nothing newer.
export const vlSchema = 'https://vega.github.io/schema/vega-lite/v5.json';

// DejaVu Sans first: it is what the server-side renderer (resvg with the system fonts) has on
// Debian; browsers fall through to their own sans-serif.
export const fontFamily = 'DejaVu Sans, Verdana, Helvetica, Arial, sans-serif';

export const panelWidth = 330;
export const panelHeight = 230;

export const config: VlSpec = {
  font: fontFamily,
  background: 'white',
  padding: 12,
  view: { stroke: '#cccccc' },
  axis: { labelFontSize: 11, titleFontSize: 12, titlePadding: 8, gridColor: '#e8e8e8' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 320, symbolStrokeWidth: 2.5 },
  header: { labelFontSize: 12, titleFontSize: 12, labelLimit: 360 },
  title: { fontSize: 15, subtitleFontSize: 11.5, subtitleColor: '#555555', anchor: 'start', offset: 12 },
  line: { strokeWidth: 2 },
};

export function colorEncoding(model: ChartModel, title = 'protocol'): VlSpec {
  return {
    field: 'series',
    type: 'nominal',
    title,
    scale: { domain: [...model.series], range: [...model.colors] },
    legend: { orient: 'right' },
  };
}

export function seriesTitle(model: ChartModel): string {
  return model.runs.some((r) => r.series !== r.protocol) ? 'results · protocol' : 'protocol';
}

// toMs turns microseconds into milliseconds for axes: sub-millisecond simulated latencies still
// show three significant digits.
export function toMs(us: number): number {
  return Math.round(us) / 1000;
}

// A log scale pays for itself when the values span more than this factor (tails, faults).
export const logSpanMin = 20;

export function spansDecades(values: readonly number[]): boolean {
  const pos = values.filter((v) => v > 0);
  if (pos.length === 0) return false;
  return Math.max(...pos) / Math.min(...pos) > logSpanMin;
}

// A log scale niced to whole decades would flatten lines that span a fraction of one: fit the data
// and leave some pixels of air instead.
export const logFit: VlSpec = { type: 'log', nice: false, padding: 12 };

export function latencyScale(values: readonly number[]): VlSpec {
  return spansDecades(values) ? logFit : { zero: false };
}

export interface Titled {
  readonly text: string;
  readonly subtitle?: string | string[];
}

// smallMultiples wraps a single-view or layered spec in a facet by matrix point when the runs
// cover more than one point, so every panel shows the series (protocols) overlaid at one point.
export function smallMultiples(
  model: ChartModel,
  title: Titled,
  rows: readonly Record<string, unknown>[],
  inner: VlSpec,
  opts: { independentY?: boolean; independentX?: boolean; width?: number; height?: number } = {},
): VlSpec {
  const width = opts.width ?? panelWidth;
  const height = opts.height ?? panelHeight;
  const points = [...new Set(rows.map((r) => r['point'] as string))];
  const ordered = model.points.map((k) => model.pointLabels.get(k)!).filter((l) => points.includes(l));
  const base = { $schema: vlSchema, title, config, data: { values: rows } };
  if (ordered.length <= 1) return { ...base, width, height, ...inner };
  const resolve: VlSpec = { scale: {} };
  if (opts.independentY) (resolve['scale'] as VlSpec)['y'] = 'independent';
  if (opts.independentX) (resolve['scale'] as VlSpec)['x'] = 'independent';
  return {
    ...base,
    facet: { field: 'point', type: 'nominal', title: null, sort: ordered, header: { labelFontWeight: 'bold' } },
    columns: Math.min(3, ordered.length),
    spec: { width, height, ...inner },
    resolve,
  };
}

// Percentile ticks of an HdrHistogram plot: x = 1/(1-p) on a log scale.
export const percentileTicks: ReadonlyArray<readonly [number, string]> = [
  [1, '0%'],
  [2, '50%'],
  [10, '90%'],
  [100, '99%'],
  [1_000, '99.9%'],
  [10_000, '99.99%'],
  [100_000, '99.999%'],
  [1_000_000, '99.9999%'],
];

export function percentileLabelExpr(): string {
  return percentileTicks.reduceRight((acc, [v, label]) => `datum.value == ${v} ? '${label}' : ${acc}`, "''");
}

export function repeatNote(model: ChartModel): string {
  return model.repeat > 1 ? `${model.repeat} repeats per point` : 'one run per point';
}
