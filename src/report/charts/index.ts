// Every chart a report draws, in the order the report shows them.

import type { ChartModel } from '../model.js';
import { cdfChart } from './cdf.js';
import type { ChartSet } from './common.js';
import { fastPathChart } from './fast-path.js';
import { messagesChart } from './messages.js';
import { overTimeChart } from './over-time.js';
import { percentileChart } from './percentiles.js';
import { sweepCharts } from './sweep.js';
import { throughputChart } from './throughput.js';

export type { Chart, ChartSet, SkippedChart, VlSpec } from './common.js';

export function buildCharts(model: ChartModel): ChartSet {
  const parts = [
    percentileChart(model),
    cdfChart(model),
    sweepCharts(model),
    throughputChart(model),
    fastPathChart(model),
    overTimeChart(model),
    messagesChart(model),
  ];
  return { charts: parts.flatMap((p) => p.charts), skipped: parts.flatMap((p) => p.skipped) };
}
