// One run of an experiment on a live cluster of local node processes (mode: live): the node layer
// starts the cluster, drives the workload, applies the faults and always stops every process; this
// file maps what it measured onto the same results format as sim mode.

import { runLiveCluster, type LiveNodeSnapshot } from '../node/live-runner.js';
import { fastPathRatio, type FastStats } from '../core/fast.js';
import { IntervalRecorder } from '../metrics/latency-recorder.js';
import type { FastSummary, ParamValue, RunSummary } from '../metrics/results-format.js';
import type { PlannedRun } from './types.js';
import type { RunOutput } from './sim-run.js';
import { RunInterruptedError } from './sim-run.js';
import { describeWorkload } from './describe.js';

function sum(snaps: readonly LiveNodeSnapshot[], f: (s: LiveNodeSnapshot) => number | undefined): number {
  let n = 0;
  for (const s of snaps) n += f(s) ?? 0;
  return n;
}

function fastSummary(snaps: readonly LiveNodeSnapshot[]): FastSummary | null {
  let acc: FastStats | null = null;
  for (const s of snaps) {
    if (s.fast === undefined || s.fast === null) continue;
    if (acc === null) acc = { ...s.fast };
    else for (const k of Object.keys(s.fast) as (keyof FastStats)[]) acc[k] += s.fast[k];
  }
  if (acc === null) return null;
  return {
    fastCommits: acc.fastCommits,
    classicCommits: acc.classicCommits,
    fastPathRatio: Math.round(fastPathRatio(acc) * 10000) / 10000,
    conflicts: acc.conflicts,
    fallbacks: acc.fallbacks,
    reproposals: acc.reproposals,
  };
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
    completions.sort((a, b) => a - b);
    let gap = 0;
    let prev = startUs;
    for (const t of completions) {
      gap = Math.max(gap, t - prev);
      prev = t;
    }
    gap = Math.max(gap, endUs - prev);
    const commits = completions.length;
    const windowSec = Math.max(1e-6, (endUs - startUs) / 1e6);
    const achieved = commits / windowSec;
    const offered = spec.workload.loop.kind === 'open' ? spec.workload.loop.ratePerSec : achieved;
    const w = result.windowCounters;
    const msgs = sum(w, (s) => s.msgsOut);
    const bytes = sum(w, (s) => s.bytesOut);
    const params: Record<string, ParamValue> = {};
    for (const [k, v] of Object.entries(run.params)) {
      params[k] = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : JSON.stringify(v);
    }
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
      fast: fastSummary(w),
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
        durability: cs.storage === 'lmdb' ? `lmdb ${cs.sync ? 'sync (fdatasync per Ready)' : 'no sync'}` : 'memory',
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
