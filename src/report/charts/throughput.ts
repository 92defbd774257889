// Throughput against latency: one mark per run at (achieved commits/s, p50 or p99). When the
// offered rate is swept, the means over repeats are joined in order of offered rate, which gives
// the classic latency-throughput curve and shows where a protocol saturates.

import type { ChartModel } from '../model.js';
import { mean } from '../model.js';
import { colorEncoding, config, latencyScale, seriesTitle, toMs, vlSchema } from './common.js';
import type { ChartSet, VlSpec } from './common.js';

export function throughputChart(model: ChartModel): ChartSet {
  const id = 'throughput-latency';
  const title = 'Throughput against commit latency';
  const rateAxis = model.axes.find((a) => a.kind === 'rate' || /rate/.test(a.path));
  const points: Record<string, unknown>[] = [];
  const curves = new Map<string, { series: string; metric: string; group: string; offered: number; tput: number[]; lat: number[] }>();
  for (const r of model.runs) {
    const s = r.run.summary;
    if (s.commitLatency.count === 0) continue;
    for (const metric of ['p50', 'p99'] as const) {
      const latencyMs = toMs(metric === 'p50' ? s.commitLatency.p50Us : s.commitLatency.p99Us);
      points.push({
        series: r.series,
        metric,
        run: r.runId,
        point: r.pointLabel,
        throughput: Math.round(s.throughput.achievedPerSec * 10) / 10,
        offered: s.throughput.offeredPerSec,
        latencyMs,
      });
      if (rateAxis !== undefined) {
        // A curve joins the points that differ only in offered rate.
        const group = JSON.stringify(Object.entries(r.point).filter(([k]) => k !== rateAxis.path));
        const key = JSON.stringify([r.series, metric, group, s.throughput.offeredPerSec]);
        const c = curves.get(key) ?? { series: r.series, metric, group, offered: s.throughput.offeredPerSec, tput: [], lat: [] };
        c.tput.push(s.throughput.achievedPerSec);
        c.lat.push(latencyMs);
        curves.set(key, c);
      }
    }
  }
  if (points.length === 0) return { charts: [], skipped: [{ id, title, reason: 'no run acknowledged a commit' }] };
  const color = colorEncoding(model, seriesTitle(model));
  const yScale = latencyScale(points.map((p) => p['latencyMs'] as number));
  const log = (yScale as VlSpec)['type'] === 'log';
  // Runs at one offered rate achieve nearly the same throughput: a zero-based axis keeps them from
  // being spread over a range of a few commits/s that would read as a real difference.
  const tputs = points.map((p) => p['throughput'] as number);
  const tputMax = Math.max(...tputs);
  const xScale: VlSpec = tputMax - Math.min(...tputs) < 0.1 * tputMax ? { domain: [0, Math.ceil(tputMax * 1.08)], nice: false } : { zero: false, padding: 24 };
  const layers: VlSpec[] = [];
  if (curves.size > 0) {
    const lineRows = [...curves.values()].map((c) => ({
      series: c.series,
      metric: c.metric,
      group: c.group,
      offered: c.offered,
      throughput: mean(c.tput),
      latencyMs: mean(c.lat),
    }));
    layers.push({
      data: { values: lineRows },
      mark: { type: 'line', opacity: 0.7 },
      encoding: {
        x: { field: 'throughput', type: 'quantitative' },
        y: { field: 'latencyMs', type: 'quantitative' },
        color,
        strokeDash: { field: 'metric', type: 'nominal', title: 'percentile', scale: { domain: ['p50', 'p99'], range: [[1, 0], [5, 3]] } },
        detail: { field: 'group', type: 'nominal' },
        order: { field: 'offered', type: 'quantitative' },
      },
    });
  }
  layers.push({
    data: { values: points },
    mark: { type: 'point', filled: true, size: 60, opacity: 0.85 },
    encoding: {
      x: { field: 'throughput', type: 'quantitative', title: 'achieved throughput (commits/s)', scale: xScale, axis: { format: ',~r' } },
      y: { field: 'latencyMs', type: 'quantitative', title: 'commit latency (ms)', scale: yScale },
      color,
      shape: { field: 'metric', type: 'nominal', title: 'percentile', scale: { domain: ['p50', 'p99'], range: ['circle', 'triangle-up'] } },
      tooltip: [
        { field: 'series', title: 'series' },
        { field: 'run', title: 'run' },
        { field: 'point', title: 'point' },
        { field: 'metric', title: 'percentile' },
        { field: 'latencyMs', title: 'latency (ms)', format: '.3~f' },
        { field: 'throughput', title: 'achieved (/s)', format: ',.1f' },
        { field: 'offered', title: 'offered (/s)', format: ',.0f' },
      ],
    },
  });
  const spec: VlSpec = {
    $schema: vlSchema,
    title: {
      text: title,
      subtitle: `${rateAxis !== undefined ? 'one mark per run; lines join the means in order of offered rate' : 'one mark per run (the offered rate is not swept)'}${log ? '; y on a log scale' : ''}`,
    },
    config,
    width: 520,
    height: 300,
    layer: layers,
  };
  return {
    charts: [
      {
        id,
        title,
        description:
          'Each run appears twice, at its achieved throughput and its p50 (circle) and p99 (triangle) commit latency. ' +
          'Down and to the right is better; a run far left of its offered rate is saturated.',
        spec,
      },
    ],
    skipped: [],
  };
}
