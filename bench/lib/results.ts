// Results folders for benchmarks that measure live systems themselves (bench/peers, the live half of
// bench/ci): the same layout, files and metric definitions as `frb run` writes (DESIGN.md, "Results
// layout"; src/metrics/results-format.ts), so that `frb report`, `frb compare` and `frb check` read
// them like any experiment.
//
// Latencies go in as per-operation samples on the run's clock (microseconds); the measured window
// excludes the warm-up, and throughput is acknowledged operations per second of that window.

import { IntervalRecorder, type LatencySummary } from '../../src/metrics/latency-recorder.js';
import type { FastSummary, Manifest, ParamValue, RunParams, RunSummary } from '../../src/metrics/results-format.js';
import { ResultsFolder, gitCommit, machine } from '../../src/experiment/results-writer.js';

// One operation as a load generator saw it.
export interface OpSample {
  readonly ok: boolean;
  // On the run clock: when it was answered; from the intended send, and from the actual send.
  readonly completeUs: number;
  readonly latencyUs: number;
  readonly latencyUncorrectedUs: number;
}

export interface MeasuredRun {
  readonly runId: string;
  readonly index: number;
  readonly rep: number;
  readonly seed: number;
  // The point of the matrix: dotted field path -> value.
  readonly params: Readonly<Record<string, ParamValue>>;
  // What was run, in full (plain JSON).
  readonly spec: unknown;
  readonly protocol: string;
  readonly size: number;
  readonly samples: readonly OpSample[];
  readonly windowStartUs: number;
  readonly windowEndUs: number;
  // Open loop: the offered rate; closed loop: null (offered is what was achieved).
  readonly offeredPerSec: number | null;
  readonly fast: FastSummary | null;
  // Peer messages and bytes sent in the window, summed over nodes; null: not measured.
  readonly messages: { readonly total: number; readonly bytesTotal: number } | null;
  readonly elections: number;
  readonly methodology: RunSummary['methodology'];
}

const emptyLatency: LatencySummary = { count: 0, meanUs: 0, p50Us: 0, p90Us: 0, p99Us: 0, p999Us: 0, p9999Us: 0, maxUs: 0, minUs: 0 };

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export function buildRunOutput(m: MeasuredRun): { summary: RunSummary; hlog: string; hgrm: string } {
  const corrected = new IntervalRecorder(m.windowStartUs);
  const uncorrected = new IntervalRecorder(m.windowStartUs);
  try {
    const completions: number[] = [];
    let unacknowledged = 0;
    for (const s of m.samples) {
      if (!s.ok) {
        unacknowledged++;
        continue;
      }
      if (s.completeUs < m.windowStartUs || s.completeUs > m.windowEndUs) continue;
      corrected.record(s.completeUs, s.latencyUs);
      uncorrected.record(s.completeUs, s.latencyUncorrectedUs);
      completions.push(s.completeUs);
    }
    completions.sort((a, b) => a - b);
    let gap = 0;
    let prev = m.windowStartUs;
    for (const t of completions) {
      gap = Math.max(gap, t - prev);
      prev = t;
    }
    gap = Math.round(Math.max(gap, m.windowEndUs - prev));
    const windowUs = Math.max(1, m.windowEndUs - m.windowStartUs);
    const commits = completions.length;
    const achieved = commits / (windowUs / 1e6);
    const offered = m.offeredPerSec ?? achieved;
    const msgs = m.messages;
    const summary: RunSummary = {
      schema: 1,
      runId: m.runId,
      mode: 'live',
      protocol: m.protocol,
      size: m.size,
      seed: m.seed,
      params: { ...m.params },
      window: { startUs: Math.round(m.windowStartUs), endUs: Math.round(m.windowEndUs) },
      commitLatency: corrected.summary(),
      commitLatencyUncorrected: uncorrected.summary(),
      leaderCommitLatency: { ...emptyLatency },
      throughput: { offeredPerSec: round3(offered), achievedPerSec: round3(achieved), saturated: achieved < 0.95 * offered },
      fast: m.fast,
      messages: {
        total: msgs?.total ?? 0,
        perCommit: msgs === null || commits === 0 ? 0 : round3(msgs.total / commits),
        bytesTotal: msgs?.bytesTotal ?? 0,
        bytesPerCommit: msgs === null || commits === 0 ? 0 : round3(msgs.bytesTotal / commits),
      },
      elections: m.elections,
      availabilityGapUs: gap,
      unacknowledged,
      faults: [],
      methodology: m.methodology,
    };
    const startSec = Math.floor(Date.now() / 1000);
    const hlog = corrected.hlog(startSec, `frb ${m.runId}: commit latency in microseconds (wall clock; intended send to acknowledgement)`);
    return { summary, hlog, hgrm: corrected.hgrm() };
  } finally {
    corrected.destroy();
    uncorrected.destroy();
  }
}

export interface BenchFolderOptions {
  readonly root: string;
  readonly name: string;
  // What was run, as text (an experiment file, or a description of the benchmark's fixed plan).
  readonly text: string;
  readonly file: string | null;
  readonly seed: number;
  readonly repeat: number;
  readonly axes: Array<{ path: string; values: ParamValue[] }>;
  readonly repoDir: string;
  readonly toolVersion: string;
  // The git commit the figures belong to (default: the repository's HEAD, "-dirty" when changed).
  readonly gitCommit?: string | null;
}

// BenchFolder writes a results folder one run at a time (the manifest is rewritten after each, so
// a benchmark stopped half-way leaves a readable folder of what it finished).
export class BenchFolder {
  readonly folder: ResultsFolder;
  private readonly manifest: Manifest;

  constructor(o: BenchFolderOptions) {
    this.folder = ResultsFolder.create(o.root, o.name, new Date());
    const m = machine();
    this.manifest = {
      schema: 1,
      tool: { name: 'frb', version: o.toolVersion },
      experiment: { name: o.name, file: o.file, text: o.text },
      mode: 'live',
      seed: o.seed,
      repeat: o.repeat,
      matrix: [],
      axes: o.axes,
      gitCommit: o.gitCommit !== undefined ? o.gitCommit : gitCommit(o.repoDir),
      node: m.node,
      cpu: m.cpu,
      host: m.host,
      platform: m.platform,
      startedAt: new Date().toISOString(),
      endedAt: null,
      finished: [],
    };
    this.folder.writeManifest(this.manifest);
  }

  get dir(): string {
    return this.folder.dir;
  }

  add(m: MeasuredRun): RunSummary {
    const out = buildRunOutput(m);
    const params: RunParams = { schema: 1, runId: m.runId, index: m.index, rep: m.rep, seed: m.seed, params: { ...m.params }, spec: m.spec };
    this.folder.writeRun(params, out.summary, out.hlog, out.hgrm);
    this.manifest.matrix.push({ runId: m.runId, index: m.index, rep: m.rep, seed: m.seed, params: { ...m.params } });
    this.manifest.finished.push(m.runId);
    this.folder.writeManifest(this.manifest);
    return out.summary;
  }

  // setRepeat records how many repetitions the folder ended up with (a benchmark that added rounds).
  setRepeat(repeat: number): void {
    this.manifest.repeat = repeat;
    this.folder.writeManifest(this.manifest);
  }

  finish(): void {
    this.manifest.endedAt = new Date().toISOString();
    this.folder.writeManifest(this.manifest);
  }
}
