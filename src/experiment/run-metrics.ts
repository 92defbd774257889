// Pieces of a run's summary that every driver (sim, live) computes the same way.

import { fastPathRatio, type FastStats } from '../core/fast.js';
import type { FastSummary, ParamValue } from '../metrics/results-format.js';

// plainParams turns a sweep point into JSON scalars: mappings (a latency distribution) as text.
export function plainParams(p: Readonly<Record<string, unknown>>): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const [k, v] of Object.entries(p)) {
    out[k] = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : JSON.stringify(v);
  }
  return out;
}

// availabilityGapUs: the longest interval of the window [startUs, endUs] with no acknowledgement,
// given the acknowledgement times inside it (sorted here).
export function availabilityGapUs(completionsUs: number[], startUs: number, endUs: number): number {
  completionsUs.sort((a, b) => a - b);
  let gap = 0;
  let prev = startUs;
  for (const t of completionsUs) {
    gap = Math.max(gap, t - prev);
    prev = t;
  }
  return Math.max(gap, endUs - prev);
}

// sumFastStats adds the Fast Raft counters of several nodes; null when none runs the fast track.
export function sumFastStats(stats: Iterable<FastStats | null | undefined>): FastStats | null {
  let out: FastStats | null = null;
  for (const s of stats) {
    if (s === null || s === undefined) continue;
    if (out === null) out = { ...s };
    else for (const k of Object.keys(s) as (keyof FastStats)[]) out[k] += s[k];
  }
  return out;
}

// fastSummary reports counters accumulated over a window (end minus start when start is known).
export function fastSummary(end: FastStats | null, start: FastStats | null = null): FastSummary | null {
  if (end === null) return null;
  const d = { ...end };
  if (start !== null) for (const k of Object.keys(d) as (keyof FastStats)[]) d[k] = Math.max(0, d[k] - start[k]);
  return {
    fastCommits: d.fastCommits,
    classicCommits: d.classicCommits,
    fastPathRatio: Math.round(fastPathRatio(d) * 10000) / 10000,
    conflicts: d.conflicts,
    fallbacks: d.fallbacks,
    reproposals: d.reproposals,
  };
}
