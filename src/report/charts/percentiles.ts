// Latency by percentile, HdrHistogram style: x = 1/(1-p) on a log scale so that the tail gets as
// much room as the median, one panel per matrix point, protocols overlaid. Read from the .hgrm.

import type { ChartModel } from '../model.js';
import { colorEncoding, latencyScale, percentileLabelExpr, percentileTicks, seriesTitle, smallMultiples, toMs } from './common.js';
import type { Chart, ChartSet } from './common.js';

// Past this the tail is one or two samples; HdrHistogram's own plotter stops at 99.9999% too.
const inverseTailMax = 1_000_000;

export function percentileChart(model: ChartModel): ChartSet {
  const id = 'latency-percentiles';
  const title = 'Commit latency by percentile';
  const rows: Record<string, unknown>[] = [];
  let xMax = 10;
  for (const r of model.runs) {
    for (const p of r.run.distribution) {
      if (p.percentile >= 1) continue;
      const inverse = 1 / (1 - p.percentile);
      if (inverse > inverseTailMax) continue;
      xMax = Math.max(xMax, inverse);
      rows.push({
        series: r.series,
        point: r.pointLabel,
        run: r.runId,
        inverse: Math.round(inverse * 1000) / 1000,
        percentile: Math.round(p.percentile * 1e8) / 1e6,
        latencyMs: toMs(p.valueUs),
      });
    }
  }
  if (rows.length === 0) return { charts: [], skipped: [{ id, title, reason: 'no run has a commit.hgrm' }] };
  const top = percentileTicks.find(([v]) => v >= xMax)?.[0] ?? inverseTailMax;
  // No label at 1 (0%): it sits too close to 2 (50%) on the log axis to be read.
  const ticks = percentileTicks.filter(([v]) => v > 1 && v <= top).map(([v]) => v);
  const spec = smallMultiples(
    model,
    {
      text: title,
      subtitle: 'HdrHistogram percentile distribution, corrected for coordinated omission; one line per run',
    },
    rows,
    {
      mark: { type: 'line', interpolate: 'step-after', opacity: 0.9 },
      encoding: {
        x: {
          field: 'inverse',
          type: 'quantitative',
          title: 'percentile',
          scale: { type: 'log', domain: [1, top] },
          axis: { values: ticks, labelExpr: percentileLabelExpr(), grid: true, labelOverlap: false },
        },
        y: {
          field: 'latencyMs',
          type: 'quantitative',
          title: 'commit latency (ms)',
          scale: latencyScale(rows.map((r) => r['latencyMs'] as number)),
        },
        color: colorEncoding(model, seriesTitle(model)),
        detail: { field: 'run', type: 'nominal' },
        tooltip: [
          { field: 'series', title: 'series' },
          { field: 'run', title: 'run' },
          { field: 'percentile', title: 'percentile (%)', format: '.4~f' },
          { field: 'latencyMs', title: 'latency (ms)', format: '.3~f' },
        ],
      },
    },
    { independentY: true },
  );
  const chart: Chart = {
    id,
    title,
    description:
      'Each line is one run\'s full latency distribution from its .hgrm file. The x axis is 1/(1-p) on a log scale, ' +
      'so 90%, 99%, 99.9% and 99.99% are evenly spaced and the tail is as visible as the median. Lower is better.',
    spec,
  };
  return { charts: [chart], skipped: [] };
}
