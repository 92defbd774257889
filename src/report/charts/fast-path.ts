// Fast-path ratio (fastraft): the share of committed client entries decided by a fast quorum,
// against contention. Contention is what breaks the fast path (concurrent proposals for one index
// split the votes), so that is the axis this chart wants; an experiment that does not sweep it
// gets the ratio against its first swept parameter instead, and the subtitle says so.

import type { ChartModel, SweepAxis } from '../model.js';
import { config, vlSchema } from './common.js';
import type { ChartSet, VlSpec } from './common.js';
import { othersLabel, spread, spreadLayers, xEncoding, xValue } from './sweep.js';
import type { ParamValue } from '../../metrics/results-format.js';

export function fastPathChart(model: ChartModel): ChartSet {
  const id = 'fast-path-ratio';
  const title = 'Fast-path ratio against contention';
  const fastRuns = model.runs.filter((r) => r.run.summary.fast !== null);
  if (fastRuns.length === 0) return { charts: [], skipped: [{ id, title, reason: 'no run reports a fast path (no fastraft runs)' }] };
  // The legend lists only the series that have a fast path.
  const fastSeries = model.series.filter((s) => fastRuns.some((r) => r.series === s));
  const fastModel: ChartModel = { ...model, series: fastSeries, colors: fastSeries.map((s) => model.colors[model.series.indexOf(s)]!) };
  const contention = model.axes.find((a) => a.contention && a.values.length >= 2);
  const axis: SweepAxis | undefined = contention ?? model.axes.find((a) => a.values.length >= 2);
  const groups = new Map<string, { series: string; others: string; value: ParamValue; ratios: number[] }>();
  for (const r of fastRuns) {
    const value: ParamValue = axis !== undefined && axis.path in r.point ? r.point[axis.path]! : r.pointLabel;
    const others = axis !== undefined ? othersLabel(model, r, axis) : '';
    const key = JSON.stringify([r.series, others, value]);
    const g = groups.get(key) ?? { series: r.series, others, value, ratios: [] };
    g.ratios.push(Math.round(r.run.summary.fast!.fastPathRatio * 10000) / 100);
    groups.set(key, g);
  }
  const rows = [...groups.values()].map((g) => {
    const s = spread(g.ratios);
    return {
      series: g.series,
      others: g.others,
      x: axis !== undefined ? xValue(axis, g.value) : String(g.value),
      label: String(g.value),
      ratioPct: Math.round(s.mean * 100) / 100,
      min: s.min,
      max: s.max,
      n: s.n,
    };
  });
  const x: VlSpec =
    axis !== undefined
      ? xEncoding(axis, axis.values)
      : { field: 'x', type: 'ordinal', title: 'matrix point', axis: { labelAngle: 0 } };
  const inner: VlSpec = {
    width: 420,
    height: 240,
    encoding: { x },
    layer: spreadLayers(fastModel, 'fast-path ratio (%)', 'ratioPct', '.2~f', { domain: [0, 100] }),
  };
  const subtitle =
    contention !== undefined
      ? 'share of committed entries decided by a fast quorum; line: mean over repeats, bar: min to max'
      : axis !== undefined
        ? `contention is not swept in this experiment: the ratio is drawn against ${axis.path}`
        : 'contention is not swept in this experiment: one value per matrix point';
  const others = [...new Set(rows.map((r) => r.others))];
  const spec: VlSpec =
    others.length > 1
      ? {
          $schema: vlSchema,
          title: { text: title, subtitle },
          config,
          data: { values: rows },
          facet: { row: { field: 'others', type: 'nominal', title: null, sort: others, header: { labelAngle: 0, labelAlign: 'left' } } },
          spec: inner,
        }
      : { $schema: vlSchema, title: { text: title, subtitle }, config, data: { values: rows }, ...inner };
  return {
    charts: [
      {
        id,
        title,
        description:
          'For fastraft runs: the percentage of committed client entries that a fast quorum (ceil(3n/4) matching votes) decided; ' +
          'the rest went through the classic fallback. Higher is better; it falls as proposals collide.',
        spec,
      },
    ],
    skipped: [],
  };
}
