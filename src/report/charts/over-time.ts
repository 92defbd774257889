// Latency over time from the interval log (.hlog, one histogram per second): p50 and p99 per
// interval, one panel per matrix point, protocols overlaid, fault events marked as vertical rules.
// Only the first repeat of each point is drawn: repeats share the fault schedule, and a dozen
// overlaid lines would hide the one spike the chart is for.

import type { ChartModel, ChartRun } from '../model.js';
import { faultsInWindow } from '../load.js';
import { colorEncoding, logFit, seriesTitle, smallMultiples, spansDecades, toMs } from './common.js';
import type { ChartSet, VlSpec } from './common.js';

function faultLabel(kind: string, node: number | undefined, detail: string | undefined): string {
  const who = node !== undefined ? ` n${node}` : '';
  const what = detail !== undefined && detail.length <= 24 ? ` ${detail}` : '';
  return `${kind}${who}${what}`;
}

export function overTimeChart(model: ChartModel): ChartSet {
  const id = 'latency-over-time';
  const title = 'Commit latency over time';
  const first = new Map<string, ChartRun>();
  for (const r of model.runs) {
    const key = JSON.stringify([r.series, r.pointKey]);
    const have = first.get(key);
    if (have === undefined || r.rep < have.rep) first.set(key, r);
  }
  const rows: Record<string, unknown>[] = [];
  const faultSeen = new Set<string>();
  // Labels of faults close together are staggered in three rows so that they do not overprint.
  const faultsPerPoint = new Map<string, number>();
  let faultCount = 0;
  const values: number[] = [];
  for (const r of first.values()) {
    for (const iv of r.run.intervals) {
      for (const metric of ['p50', 'p99'] as const) {
        // An interval without an acknowledged commit has no latency: a break in the line, not a zero.
        const latencyMs = iv.count > 0 ? toMs(metric === 'p50' ? iv.p50Us : iv.p99Us) : null;
        if (latencyMs !== null) values.push(latencyMs);
        rows.push({
          kind: 'latency',
          series: r.series,
          point: r.pointLabel,
          run: r.runId,
          metric,
          tSec: Math.round((iv.startSec + iv.lengthSec / 2) * 1000) / 1000,
          latencyMs,
          commits: iv.count,
        });
      }
    }
    for (const { tSec, event } of faultsInWindow(r.run.summary)) {
      const label = faultLabel(event.kind, event.node, event.detail);
      const key = JSON.stringify([r.pointLabel, tSec, label]);
      if (faultSeen.has(key)) continue;
      faultSeen.add(key);
      const nth = faultsPerPoint.get(r.pointLabel) ?? 0;
      faultsPerPoint.set(r.pointLabel, nth + 1);
      rows.push({ kind: 'fault', point: r.pointLabel, tSec: Math.round(tSec * 1000) / 1000, label, slot: 10 + 13 * (nth % 3) });
      faultCount++;
    }
  }
  if (values.length === 0) return { charts: [], skipped: [{ id, title, reason: 'no run has a commit.hlog with acknowledged commits' }] };
  const log = spansDecades(values);
  const windowSecMax = Math.max(...[...first.values()].map((r) => (r.run.summary.window.endUs - r.run.summary.window.startUs) / 1e6));
  const inner: VlSpec = {
    layer: [
      {
        transform: [{ filter: "datum.kind === 'latency'" }],
        mark: { type: 'line', invalid: null, interpolate: 'linear' },
        encoding: {
          x: {
            field: 'tSec',
            type: 'quantitative',
            title: 'time since the measured window opened (s)',
            scale: { domain: [0, windowSecMax], nice: false },
            axis: { tickMinStep: 1 },
          },
          y: {
            field: 'latencyMs',
            type: 'quantitative',
            title: 'commit latency (ms)',
            scale: log ? logFit : { zero: false },
          },
          color: colorEncoding(model, seriesTitle(model)),
          strokeDash: { field: 'metric', type: 'nominal', title: 'per interval', scale: { domain: ['p50', 'p99'], range: [[1, 0], [5, 3]] } },
          detail: { field: 'run', type: 'nominal' },
          tooltip: [
            { field: 'series', title: 'series' },
            { field: 'run', title: 'run' },
            { field: 'metric', title: 'percentile' },
            { field: 'tSec', title: 'time (s)' },
            { field: 'latencyMs', title: 'latency (ms)', format: '.3~f' },
            { field: 'commits', title: 'commits in interval' },
          ],
        },
      },
      {
        transform: [{ filter: "datum.kind === 'fault'" }],
        mark: { type: 'rule', color: '#b22222', strokeDash: [3, 3], strokeWidth: 1.5 },
        encoding: { x: { field: 'tSec', type: 'quantitative' }, tooltip: [{ field: 'label', title: 'fault' }, { field: 'tSec', title: 'at (s)' }] },
      },
      {
        transform: [{ filter: "datum.kind === 'fault'" }],
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 10.5, color: '#b22222', baseline: 'middle' },
        encoding: { x: { field: 'tSec', type: 'quantitative' }, y: { field: 'slot', type: 'quantitative', scale: null }, text: { field: 'label' } },
      },
    ],
  };
  const subtitle = [
    `p50 (solid) and p99 (dashed) per 1 s interval of the .hlog${model.repeat > 1 ? '; first repeat of each point' : ''}${log ? '; y on a log scale' : ''}`,
    faultCount > 0 ? 'red dashed rules: injected faults' : 'no faults were injected in the measured window',
  ];
  const spec = smallMultiples(model, { text: title, subtitle }, rows, inner, { independentY: true });
  return {
    charts: [
      {
        id,
        title,
        description:
          'Per-interval p50 and p99 commit latency through each run (first repeat), read from the HdrHistogram interval log. ' +
          'Injected faults (crashes, restarts, partitions) are marked where they happened; a gap in a line is an interval ' +
          'in which no commit was acknowledged.',
        spec,
      },
    ],
    skipped: [],
  };
}
