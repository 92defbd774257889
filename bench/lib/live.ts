// What a live run of the project's own cluster (src/node's runLiveCluster) becomes in a results
// folder: its samples, window and the nodes' window counters (peer messages, fast-path counts).

import type { LiveRunResult } from '../../src/node/index.js';
import type { FastSummary, ParamValue } from '../../src/metrics/results-format.js';
import type { MeasuredRun } from './results.js';

export function fastOfWindow(r: LiveRunResult): FastSummary | null {
  let fastCommits = 0;
  let classicCommits = 0;
  let conflicts = 0;
  let fallbacks = 0;
  let reproposals = 0;
  let any = false;
  for (const n of r.windowCounters) {
    if (n.fast == null) continue;
    any = true;
    fastCommits += n.fast.fastCommits;
    classicCommits += n.fast.classicCommits;
    conflicts += n.fast.conflicts;
    fallbacks += n.fast.fallbacks;
    reproposals += n.fast.reproposals;
  }
  if (!any) return null;
  const total = fastCommits + classicCommits;
  return {
    fastCommits,
    classicCommits,
    fastPathRatio: total === 0 ? 0 : Math.round((fastCommits / total) * 10000) / 10000,
    conflicts,
    fallbacks,
    reproposals,
  };
}

export function messagesOfWindow(r: LiveRunResult): { total: number; bytesTotal: number } {
  let total = 0;
  let bytesTotal = 0;
  for (const n of r.windowCounters) {
    total += n.msgsOut ?? 0;
    bytesTotal += n.bytesOut ?? 0;
  }
  return { total, bytesTotal };
}

export interface LiveMeasureMeta {
  readonly runId: string;
  readonly index: number;
  readonly rep: number;
  readonly seed: number;
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly spec: unknown;
  readonly workload: string;
  readonly placement: string;
  readonly valueBytes: number;
  readonly durability: string;
}

export function measuredFromLive(r: LiveRunResult, meta: LiveMeasureMeta): MeasuredRun {
  let elections = 0;
  for (const n of r.windowCounters) elections += n.electionsWon ?? 0;
  return {
    runId: meta.runId,
    index: meta.index,
    rep: meta.rep,
    seed: meta.seed,
    params: meta.params,
    spec: meta.spec,
    protocol: r.protocol,
    size: r.size,
    samples: r.samples.filter((s) => s.kind === 'put'),
    windowStartUs: r.window.startUs,
    windowEndUs: r.window.endUs,
    offeredPerSec: null,
    fast: fastOfWindow(r),
    messages: messagesOfWindow(r),
    elections,
    methodology: {
      workload: meta.workload,
      placement: meta.placement,
      valueBytes: meta.valueBytes,
      durability: meta.durability,
      transport: r.transport,
    },
  };
}
