// p50 and p99 commit latency against each swept parameter (cluster size, injected latency,
// contention, loss, ...), one line per protocol. The line goes through the mean over repeats and a
// bar spans their min and max, so the reader sees whether a difference is larger than the noise.
// Other swept parameters become rows of panels, so that no line mixes two settings.

import type { ChartModel, ChartRun, SweepAxis } from '../model.js';
import { mean } from '../model.js';
import type { ParamValue } from '../../metrics/results-format.js';
import { colorEncoding, config, logFit, seriesTitle, spansDecades, toMs, vlSchema } from './common.js';
import type { Chart, ChartSet, VlSpec } from './common.js';

export interface Spread {
  readonly mean: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

export function spread(xs: readonly number[]): Spread {
  return { mean: mean(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

// othersLabel names a run's setting of every swept parameter except `axis` (and the protocol).
export function othersLabel(model: ChartModel, run: ChartRun, axis: SweepAxis): string {
  const parts = model.axes
    .filter((a) => a.path !== axis.path && a.path in run.point)
    .map((a) => `${a.name}=${String(run.point[a.path])}`);
  return parts.length === 0 ? '' : parts.join(', ');
}

export function xEncoding(axis: SweepAxis, values: readonly ParamValue[]): VlSpec {
  const nums = values.map((v) => axis.toNumber(v));
  if (axis.kind === 'nominal' || nums.some((n) => n === null)) {
    return { field: 'x', type: 'ordinal', title: axis.title, sort: values.map(String), axis: { labelAngle: 0 } };
  }
  const numeric = nums as number[];
  const log = spansDecades(numeric) && numeric.every((n) => n > 0);
  return {
    field: 'x',
    type: 'quantitative',
    title: axis.title,
    scale: log ? { type: 'log' } : { zero: false, nice: false, padding: 12 },
    axis: { values: [...new Set(numeric)].sort((a, b) => a - b), grid: true },
  };
}

export function xValue(axis: SweepAxis, v: ParamValue): number | string {
  const n = axis.toNumber(v);
  return n === null ? String(v) : n;
}

export function spreadLayers(model: ChartModel, yTitle: string, yField: string, format: string, yScale: VlSpec): VlSpec[] {
  const color = colorEncoding(model, seriesTitle(model));
  const tooltip = [
    { field: 'series', title: 'series' },
    { field: 'label', title: 'value' },
    { field: yField, title: `${yTitle}, mean`, format },
    { field: 'min', title: 'min', format },
    { field: 'max', title: 'max', format },
    { field: 'n', title: 'runs' },
  ];
  return [
    {
      mark: { type: 'rule', strokeWidth: 2, opacity: 0.55 },
      encoding: { y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' }, color },
    },
    {
      mark: { type: 'line' },
      encoding: { y: { field: yField, type: 'quantitative', title: yTitle, scale: yScale }, color },
    },
    {
      mark: { type: 'point', filled: true, size: 50 },
      encoding: { y: { field: yField, type: 'quantitative' }, color, tooltip },
    },
  ];
}

// facetBy puts a metric in columns and the other swept settings in rows (when there are any).
export function facetBy(rows: readonly Record<string, unknown>[], columnField: string, columnSort: readonly string[]): VlSpec {
  const others = [...new Set(rows.map((r) => r['others'] as string))];
  const column = { field: columnField, type: 'nominal', title: null, sort: columnSort, header: { labelFontWeight: 'bold' } };
  if (others.length <= 1) return { column };
  return { column, row: { field: 'others', type: 'nominal', title: null, sort: others, header: { labelAngle: 0, labelAlign: 'left' } } };
}

export function sweepCharts(model: ChartModel): ChartSet {
  const charts: Chart[] = [];
  const skipped: ChartSet['skipped'] = [];
  const swept = model.axes.filter((a) => a.values.length >= 2);
  if (swept.length === 0) {
    skipped.push({ id: 'sweep', title: 'p50 and p99 against swept parameters', reason: 'the experiment sweeps no parameter besides the protocol' });
    return { charts, skipped };
  }
  for (const axis of swept) {
    const groups = new Map<string, { series: string; others: string; value: ParamValue; p50: number[]; p99: number[] }>();
    for (const r of model.runs) {
      if (!(axis.path in r.point) || r.run.summary.commitLatency.count === 0) continue;
      const value = r.point[axis.path]!;
      const others = othersLabel(model, r, axis);
      const key = JSON.stringify([r.series, others, value]);
      const g = groups.get(key) ?? { series: r.series, others, value, p50: [], p99: [] };
      g.p50.push(toMs(r.run.summary.commitLatency.p50Us));
      g.p99.push(toMs(r.run.summary.commitLatency.p99Us));
      groups.set(key, g);
    }
    const rows: Record<string, unknown>[] = [];
    for (const g of groups.values()) {
      for (const metric of ['p50', 'p99'] as const) {
        const s = spread(g[metric]);
        rows.push({
          series: g.series,
          others: g.others,
          metric,
          x: xValue(axis, g.value),
          label: String(g.value),
          latencyMs: Math.round(s.mean * 1000) / 1000,
          min: s.min,
          max: s.max,
          n: s.n,
        });
      }
    }
    const id = `sweep-${axis.path.replace(/[^A-Za-z0-9]+/g, '-')}`;
    const title = `p50 and p99 commit latency against ${axis.title.replace(/ \(.*\)$/, '')}`;
    if (rows.length === 0) {
      skipped.push({ id, title, reason: 'no run at this axis acknowledged a commit' });
      continue;
    }
    const log = spansDecades(rows.flatMap((r) => [r['min'] as number, r['max'] as number]));
    const spec: VlSpec = {
      $schema: vlSchema,
      title: { text: title, subtitle: `line: mean over repeats; bar: min to max (${model.repeat > 1 ? `${model.repeat} repeats` : 'one run'} per point)${log ? '; y on a log scale' : ''}` },
      config,
      data: { values: rows },
      facet: facetBy(rows, 'metric', ['p50', 'p99']),
      spec: {
        width: 340,
        height: 220,
        encoding: { x: xEncoding(axis, axis.values) },
        layer: spreadLayers(model, 'commit latency (ms)', 'latencyMs', '.3~f', log ? logFit : { zero: false }),
      },
      resolve: { scale: { y: 'independent' } },
    };
    charts.push({
      id,
      title,
      description:
        `Median (p50) and 99th percentile (p99) commit latency at each value of ${axis.path}, one line per protocol. ` +
        'Points are the mean over repeats; the vertical bars span the fastest and slowest repeat.',
      spec,
    });
  }
  return { charts, skipped };
}
