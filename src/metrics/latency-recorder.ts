// Latency recording for runs: one HdrHistogram over the measured window, plus one per interval
// (default one second) for latency-over-time charts, written as the standard interval log
// (.hlog) and percentile distribution (.hgrm). Values are microseconds, 3 significant digits.
//
// Two recorders per run: `corrected` measures from the intended send time (open loop, so that a
// stalled system is charged for the requests it kept waiting: no coordinated omission) and
// `uncorrected` from the actual send time; DESIGN.md's commit latency is the corrected one.

import * as hdr from 'hdr-histogram-js';

type Histogram = ReturnType<typeof hdr.build>;

let wasmReady = false;

// The WebAssembly build is the fast one; it needs a one-time synchronous init.
export function initHdr(): void {
  if (wasmReady) return;
  hdr.initWebAssemblySync();
  wasmReady = true;
}

export function newHistogram(): Histogram {
  initHdr();
  return hdr.build({ numberOfSignificantValueDigits: 3, useWebAssembly: true, lowestDiscernibleValue: 1 });
}

export interface LatencySummary {
  count: number;
  meanUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  p9999Us: number;
  maxUs: number;
  minUs: number;
}

export function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) {
    return { count: 0, meanUs: 0, p50Us: 0, p90Us: 0, p99Us: 0, p999Us: 0, p9999Us: 0, maxUs: 0, minUs: 0 };
  }
  return {
    count: h.totalCount,
    meanUs: Math.round(h.mean * 1000) / 1000,
    p50Us: h.getValueAtPercentile(50),
    p90Us: h.getValueAtPercentile(90),
    p99Us: h.getValueAtPercentile(99),
    p999Us: h.getValueAtPercentile(99.9),
    p9999Us: h.getValueAtPercentile(99.99),
    maxUs: h.maxValue,
    minUs: h.minNonZeroValue,
  };
}

// IntervalRecorder keeps the whole-window histogram and the per-interval ones.
export class IntervalRecorder {
  readonly total: Histogram = newHistogram();
  private readonly intervals: Histogram[] = [];
  private destroyed = false;

  // startUs: the measured window's start on the run's clock; intervalUs: the .hlog resolution.
  constructor(
    readonly startUs: number,
    readonly intervalUs: number = 1_000_000,
  ) {}

  // record a latency observed at atUs (run clock); samples before the window start are ignored.
  record(atUs: number, latencyUs: number): void {
    if (this.destroyed) throw new Error('IntervalRecorder used after destroy');
    if (atUs < this.startUs) return;
    const v = Math.max(1, Math.round(latencyUs));
    this.total.recordValue(v);
    const slot = Math.floor((atUs - this.startUs) / this.intervalUs);
    while (this.intervals.length <= slot) this.intervals.push(newHistogram());
    this.intervals[slot]!.recordValue(v);
  }

  summary(): LatencySummary {
    return summarize(this.total);
  }

  // hgrm is the standard percentile distribution text (values in microseconds).
  hgrm(): string {
    return this.total.outputPercentileDistribution(5, 1);
  }

  // hlog is the standard HdrHistogram interval log; startTimeSec stamps the log's base time
  // (virtual time 0 for simulated runs, so that the file is identical across replays).
  hlog(startTimeSec: number, comment: string): string {
    let out = '';
    const writer = new hdr.HistogramLogWriter((s: string) => {
      out += s;
    });
    writer.outputComment(comment);
    writer.outputLogFormatVersion();
    writer.outputStartTime(startTimeSec * 1000);
    writer.outputLegend();
    const intervalSec = this.intervalUs / 1e6;
    for (let i = 0; i < this.intervals.length; i++) {
      writer.outputIntervalHistogram(this.intervals[i]!, i * intervalSec, (i + 1) * intervalSec, 1);
    }
    return out;
  }

  // intervalSummaries gives per-interval figures (for summaries and quick charts).
  intervalSummaries(): LatencySummary[] {
    return this.intervals.map(summarize);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.total.destroy();
    for (const h of this.intervals) h.destroy();
    this.intervals.length = 0;
  }
}
