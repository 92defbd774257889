// CDF of commit latency: the share of commits acknowledged within x ms, protocols overlaid.
// The same .hgrm rows as the percentile chart, axes swapped and the percentile linear, which is
// how readers compare the body of two distributions (the percentile chart shows the tails).

import type { ChartModel } from '../model.js';
import { colorEncoding, seriesTitle, smallMultiples, spansDecades, toMs } from './common.js';
import type { ChartSet } from './common.js';

export function cdfChart(model: ChartModel): ChartSet {
  const id = 'latency-cdf';
  const title = 'CDF of commit latency';
  const rows: Record<string, unknown>[] = [];
  for (const r of model.runs) {
    for (const p of r.run.distribution) {
      rows.push({
        series: r.series,
        point: r.pointLabel,
        run: r.runId,
        latencyMs: toMs(p.valueUs),
        cumulative: Math.round(p.percentile * 1e6) / 1e4,
      });
    }
  }
  if (rows.length === 0) return { charts: [], skipped: [{ id, title, reason: 'no run has a commit.hgrm' }] };
  const log = spansDecades(rows.map((r) => r['latencyMs'] as number));
  const spec = smallMultiples(
    model,
    { text: title, subtitle: `share of commits acknowledged within x${log ? '; x on a log scale (the values span decades)' : ''}` },
    rows,
    {
      mark: { type: 'line', interpolate: 'step-after' },
      encoding: {
        x: {
          field: 'latencyMs',
          type: 'quantitative',
          title: 'commit latency (ms)',
          scale: log ? { type: 'log' } : { zero: false },
        },
        y: {
          field: 'cumulative',
          type: 'quantitative',
          title: 'commits acknowledged (%)',
          scale: { domain: [0, 100] },
        },
        color: colorEncoding(model, seriesTitle(model)),
        detail: { field: 'run', type: 'nominal' },
        tooltip: [
          { field: 'series', title: 'series' },
          { field: 'run', title: 'run' },
          { field: 'latencyMs', title: 'latency (ms)', format: '.3~f' },
          { field: 'cumulative', title: 'acknowledged (%)', format: '.4~f' },
        ],
      },
    },
    { independentX: true },
  );
  return {
    charts: [
      {
        id,
        title,
        description:
          'Cumulative distribution of commit latency per run: the y value at x is the share of commits acknowledged ' +
          'within x. A curve further left is faster; where two curves cross, one protocol wins the body and the other the tail.',
        spec,
      },
    ],
    skipped: [],
  };
}
