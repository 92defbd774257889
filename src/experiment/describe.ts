// One-line descriptions of how a run's figures were obtained (DESIGN.md: every figure carries it).

import { formatDurationUs, formatRatePerSec } from '../faults/index.js';
import type { RunSpec } from './types.js';

export function describeWorkload(spec: RunSpec): string {
  const w = spec.workload;
  const loop =
    w.loop.kind === 'open'
      ? `open loop ${formatRatePerSec(w.loop.ratePerSec)} (${w.loop.arrival})`
      : `closed loop, ${w.loop.outstanding} outstanding per client`;
  const placement = w.proposers !== null ? `${w.proposers} proposer node(s), attach ${w.attach}` : `attach ${w.attach}`;
  return `${loop}, ${w.clients} clients, ${placement}, ${w.valueBytes} B values, ${w.keys.count} keys (${w.keys.dist})`;
}

export function describeRun(spec: RunSpec): string {
  const cs = spec.cluster;
  const stop = spec.stop.kind === 'duration' ? formatDurationUs(spec.stop.durationUs) : `${spec.stop.count} proposals`;
  return `${cs.protocol} x${cs.size}, ${stop} (warm-up ${formatDurationUs(spec.warmupUs)}), ${describeWorkload(spec)}`;
}
