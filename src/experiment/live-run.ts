// One run of an experiment on a live cluster of local node processes (mode: live): the node layer
// starts the cluster, drives the workload, applies the faults and always stops every process; this
// file maps what it measured onto the same results format as sim mode.

import { runLiveCluster, type LiveNodeSnapshot } from '../node/live-runner.js';
import { IntervalRecorder } from '../metrics/latency-recorder.js';
import type { RunSummary } from '../metrics/results-format.js';
import type { PlannedRun } from './types.js';
import type { RunOutput } from './sim-run.js';
import { RunInterruptedError } from './sim-run.js';
import { describeWorkload } from './describe.js';
import { availabilityGapUs, fastSummary, plainParams, sumFastStats } from './run-metrics.js';

function sum(snaps: readonly LiveNodeSnapshot[], f: (s: LiveNodeSnapshot) => number | undefined): number {
  let n = 0;
  for (const s of snaps) n += f(s) ?? 0;
  return n;
}

export async function runLive(run: PlannedRun, hooks: { shouldStop: () => boolean }): Promise<RunOutput> {
  const spec = run.spec;
  const abort = new AbortController();
  const poll = setInterval(() => {
    if (hooks.shouldStop()) abort.abort();
  }, 100);
  let result;
  try {
    result = await runLiveCluster({
      cluster: spec.cluster,
      network: spec.network,
      workload: spec.workload,
      faults: spec.faults,
      stop: spec.stop,
      warmupUs: spec.warmupUs,
      seed: run.seed,
      signal: abort.signal,
      handleSigint: false,
      // FRB_LIVE_KEEP=1 keeps each run's cluster folder (config, node logs, LMDB files) for
      // inspection and says where it is.
      ...(process.env['FRB_LIVE_KEEP'] === '1' ? { keepDir: true, onProgress: (m: string) => process.stderr.write(`${m}\n`) } : {}),
    });
  } finally {
    clearInterval(poll);
  }
  if (result.aborted) throw new RunInterruptedError('interrupted');

  const { startUs, endUs } = result.window;
  const corrected = new IntervalRecorder(startUs);
  const uncorrected = new IntervalRecorder(startUs);
  try {
    const completions: number[] = [];
    for (const s of result.samples) {
      if (!s.ok || s.kind !== 'put' || s.completeUs < startUs || s.completeUs > endUs) continue;
      corrected.record(s.completeUs, s.latencyUs);
      uncorrected.record(s.completeUs, s.latencyUncorrectedUs);
      completions.push(s.completeUs);
    }
    const gap = availabilityGapUs(completions, startUs, endUs);
    const commits = completions.length;
    const windowSec = Math.max(1e-6, (endUs - startUs) / 1e6);
    const achieved = commits / windowSec;
    const offered = spec.workload.loop.kind === 'open' ? spec.workload.loop.ratePerSec : achieved;
    const w = result.windowCounters;
    const msgs = sum(w, (s) => s.msgsOut);
    const bytes = sum(w, (s) => s.bytesOut);
    const params = plainParams(run.params);
    const cs = spec.cluster;
    const summary: RunSummary = {
      schema: 1,
      runId: run.id,
      mode: 'live',
      protocol: cs.protocol,
      size: cs.size,
      seed: run.seed,
      params,
      window: { startUs, endUs },
      commitLatency: corrected.summary(),
      commitLatencyUncorrected: uncorrected.summary(),
      // The live nodes do not report per-proposal commit times at the leader yet: left empty
      // (count 0) rather than estimated.
      leaderCommitLatency: { count: 0, meanUs: 0, p50Us: 0, p90Us: 0, p99Us: 0, p999Us: 0, p9999Us: 0, maxUs: 0, minUs: 0 },
      throughput: { offeredPerSec: Math.round(offered * 1000) / 1000, achievedPerSec: Math.round(achieved * 1000) / 1000, saturated: achieved < 0.95 * offered },
      fast: fastSummary(sumFastStats(w.map((s) => s.fast))),
      messages: {
        total: msgs,
        perCommit: commits === 0 ? 0 : Math.round((msgs / commits) * 1000) / 1000,
        bytesTotal: bytes,
        bytesPerCommit: commits === 0 ? 0 : Math.round((bytes / commits) * 1000) / 1000,
      },
      elections: sum(w, (s) => s.electionsWon),
      availabilityGapUs: Math.round(gap),
      unacknowledged: result.load.issued - result.load.acknowledged,
      faults: result.faults.map((f) => ({ atUs: f.atUs, kind: f.kind, ...(f.node !== undefined ? { node: f.node } : {}), ...(f.detail !== undefined ? { detail: f.detail } : {}) })),
      methodology: {
        workload: describeWorkload(spec),
        placement: `clients on nodes ${result.placement.attachedTo.join(',')} (leader at start ${result.placement.leaderAtStart})`,
        valueBytes: spec.workload.valueBytes,
        durability: cs.storage === 'lmdb' ? `lmdb ${cs.sync ? 'sync (fdatasync per Ready that must sync: entries, term or vote)' : 'no sync'}` : 'memory',
        transport: result.transport,
      },
    };
    const hlog = corrected.hlog(Math.floor(Date.parse(result.startedAt) / 1000), `frb ${run.id}: live commit latency in microseconds (intended send to acknowledgement)`);
    return { summary, hlog, hgrm: corrected.hgrm() };
  } finally {
    corrected.destroy();
    uncorrected.destroy();
  }
}
