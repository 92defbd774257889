// Messages and bytes per commit: all peer messages (and bytes on the wire) in the measured window
// divided by committed client entries. Fast Raft trades messages (a broadcast to every voter and
// a vote from each) for round trips; this chart is where that cost shows.

import type { ChartModel } from '../model.js';
import { colorEncoding, config, seriesTitle, vlSchema } from './common.js';
import type { ChartSet, VlSpec } from './common.js';
import { spread } from './sweep.js';

const metrics = [
  { key: 'messages', label: 'messages per commit', title: 'messages per commit', format: ',.2f' },
  { key: 'bytes', label: 'bytes per commit', title: 'bytes per commit (B)', format: ',.0f' },
] as const;

export function messagesChart(model: ChartModel): ChartSet {
  const id = 'messages-per-commit';
  const title = 'Messages and bytes per commit';
  const groups = new Map<string, { series: string; point: string; messages: number[]; bytes: number[] }>();
  for (const r of model.runs) {
    const m = r.run.summary.messages;
    if (r.run.summary.commitLatency.count === 0 && m.perCommit === 0) continue;
    const key = JSON.stringify([r.series, r.pointKey]);
    const g = groups.get(key) ?? { series: r.series, point: r.pointLabel, messages: [], bytes: [] };
    g.messages.push(m.perCommit);
    g.bytes.push(m.bytesPerCommit);
    groups.set(key, g);
  }
  if (groups.size === 0) return { charts: [], skipped: [{ id, title, reason: 'no run committed anything' }] };
  const pointOrder = model.points.map((k) => model.pointLabels.get(k)!);
  const manyPoints = pointOrder.length > 4;
  const color = colorEncoding(model, seriesTitle(model));
  const x: VlSpec =
    pointOrder.length > 1
      ? { field: 'point', type: 'nominal', title: 'matrix point', sort: pointOrder, axis: { labelAngle: manyPoints ? -35 : 0, labelLimit: 180 } }
      : { field: 'series', type: 'nominal', title: null, sort: [...model.series], axis: { labelAngle: 0 } };
  const width = Math.max(260, Math.min(520, pointOrder.length * model.series.length * 26));
  // Two views side by side rather than a facet, so that each y axis names its own unit.
  const view = (metric: (typeof metrics)[number]): VlSpec => {
    const rows = [...groups.values()].map((g) => {
      const s = spread(g[metric.key]);
      return { series: g.series, point: g.point, value: s.mean, min: s.min, max: s.max, n: s.n };
    });
    return {
      data: { values: rows },
      width,
      height: 230,
      encoding: { x, xOffset: { field: 'series', type: 'nominal', sort: [...model.series] } },
      layer: [
        {
          mark: { type: 'bar', opacity: 0.9 },
          encoding: {
            y: { field: 'value', type: 'quantitative', title: metric.title },
            color,
            tooltip: [
              { field: 'series', title: 'series' },
              { field: 'point', title: 'point' },
              { field: 'value', title: `${metric.label}, mean`, format: metric.format },
              { field: 'min', title: 'min', format: metric.format },
              { field: 'max', title: 'max', format: metric.format },
              { field: 'n', title: 'runs' },
            ],
          },
        },
        {
          mark: { type: 'rule', color: '#333333', strokeWidth: 1.5 },
          encoding: { y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } },
        },
      ],
    };
  };
  const spec: VlSpec = {
    $schema: vlSchema,
    title: { text: title, subtitle: 'all peer messages in the measured window / committed client entries; bar: mean over repeats, line: min to max' },
    config,
    hconcat: metrics.map(view),
    resolve: { scale: { y: 'independent' } },
  };
  return {
    charts: [
      {
        id,
        title,
        description:
          'Network cost of one commit: every peer message in the measured window (left) and its bytes on the wire (right), ' +
          'divided by the committed client entries, mean over repeats. Lower is cheaper.',
        spec,
      },
    ],
    skipped: [],
  };
}
