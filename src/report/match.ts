// Matching runs across two results folders by what they measured: the swept parameters (the
// matrix point) and the protocol. Repeats of a point are one group whose figures are the median
// over repeats, so that one noisy repeat moves a comparison less than it would move a mean.
//
// The protocol must match too, except where each side has exactly one protocol at a point: that
// is a classic-vs-fast comparison (two folders, one protocol each), and those are matched.

import type { ParamValue } from '../metrics/results-format.js';
import type { LoadedResults, LoadedRun } from './load.js';
import type { MetricDef } from './metrics.js';
import { median, pointOf } from './model.js';

export interface RunGroup {
  readonly pointKey: string;
  readonly point: Readonly<Record<string, ParamValue>>;
  readonly protocol: string;
  readonly runs: readonly LoadedRun[];
}

export interface Match {
  // Where, in words: the point's parameters and the protocol(s).
  readonly where: string;
  readonly base: RunGroup;
  readonly other: RunGroup;
}

export interface Matching {
  readonly matched: Match[];
  readonly onlyBase: RunGroup[];
  readonly onlyOther: RunGroup[];
}

export function describePoint(point: Readonly<Record<string, ParamValue>>): string {
  const parts = Object.keys(point)
    .sort()
    .map((k) => `${k}=${String(point[k])}`);
  return parts.length === 0 ? 'all runs' : parts.join(', ');
}

export function describeGroup(g: RunGroup): string {
  return `${describePoint(g.point)} · ${g.protocol} (${g.runs.map((r) => r.runId).join(', ')})`;
}

export function groupRuns(set: LoadedResults): Map<string, RunGroup[]> {
  const byPoint = new Map<string, Map<string, LoadedRun[]>>();
  const points = new Map<string, Record<string, ParamValue>>();
  for (const run of set.runs) {
    const point = pointOf(run.params.params);
    const key = JSON.stringify(point);
    points.set(key, point);
    const byProtocol = byPoint.get(key) ?? new Map<string, LoadedRun[]>();
    const list = byProtocol.get(run.summary.protocol) ?? [];
    list.push(run);
    byProtocol.set(run.summary.protocol, list);
    byPoint.set(key, byProtocol);
  }
  const out = new Map<string, RunGroup[]>();
  for (const [key, byProtocol] of byPoint) {
    out.set(
      key,
      [...byProtocol.entries()].map(([protocol, runs]) => ({
        pointKey: key,
        point: points.get(key)!,
        protocol,
        runs: [...runs].sort((a, b) => a.params.rep - b.params.rep),
      })),
    );
  }
  return out;
}

export function matchRuns(base: LoadedResults, other: LoadedResults): Matching {
  const a = groupRuns(base);
  const b = groupRuns(other);
  const matched: Match[] = [];
  const onlyBase: RunGroup[] = [];
  const onlyOther: RunGroup[] = [];
  for (const [key, groupsA] of a) {
    const groupsB = b.get(key) ?? [];
    if (groupsA.length === 1 && groupsB.length === 1 && groupsA[0]!.protocol !== groupsB[0]!.protocol) {
      const [ga, gb] = [groupsA[0]!, groupsB[0]!];
      matched.push({ where: `${describePoint(ga.point)} · ${ga.protocol} vs ${gb.protocol}`, base: ga, other: gb });
      continue;
    }
    for (const ga of groupsA) {
      const gb = groupsB.find((g) => g.protocol === ga.protocol);
      if (gb === undefined) onlyBase.push(ga);
      else matched.push({ where: `${describePoint(ga.point)} · ${ga.protocol}`, base: ga, other: gb });
    }
    for (const gb of groupsB) if (!groupsA.some((g) => g.protocol === gb.protocol)) onlyOther.push(gb);
  }
  for (const [key, groupsB] of b) if (!a.has(key)) onlyOther.push(...groupsB);
  return { matched, onlyBase, onlyOther };
}

// groupValue is the median over the group's repeats; null when the metric applies to none.
export function groupValue(def: MetricDef, g: RunGroup): number | null {
  const xs = g.runs.map((r) => def.get(r.summary)).filter((x): x is number => x !== null);
  return xs.length === 0 ? null : median(xs);
}
