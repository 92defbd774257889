// The figures `compare` and `check` put side by side, by the names users type
// (`--metrics p50,p99,throughput`), each with the direction that counts as worse.

import type { RunSummary } from '../metrics/results-format.js';
import { fmtMs, fmtNum } from './tables.js';

export interface MetricDef {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly label: string;
  // lower: a larger current value is a regression (latency, cost); higher: a smaller one is.
  readonly better: 'lower' | 'higher';
  // null: the metric does not apply to this run (no commits, or no fast path).
  get(s: RunSummary): number | null;
  format(v: number): string;
}

function latency(name: string, aliases: string[], label: string, pick: (l: RunSummary['commitLatency']) => number): MetricDef {
  return {
    name,
    aliases,
    label,
    better: 'lower',
    get: (s) => (s.commitLatency.count > 0 ? pick(s.commitLatency) : null),
    format: (v) => `${fmtMs(v)} ms`,
  };
}

export const metricDefs: readonly MetricDef[] = [
  latency('p50', ['median'], 'p50 commit latency', (l) => l.p50Us),
  latency('p90', [], 'p90 commit latency', (l) => l.p90Us),
  latency('p99', [], 'p99 commit latency', (l) => l.p99Us),
  latency('p99.9', ['p999'], 'p99.9 commit latency', (l) => l.p999Us),
  latency('p99.99', ['p9999'], 'p99.99 commit latency', (l) => l.p9999Us),
  latency('max', [], 'max commit latency', (l) => l.maxUs),
  latency('mean', [], 'mean commit latency', (l) => l.meanUs),
  {
    name: 'leader-p99',
    aliases: ['leader_p99'],
    label: 'p99 leader commit latency',
    better: 'lower',
    get: (s) => (s.leaderCommitLatency.count > 0 ? s.leaderCommitLatency.p99Us : null),
    format: (v) => `${fmtMs(v)} ms`,
  },
  {
    name: 'throughput',
    aliases: ['tput', 'achieved'],
    label: 'achieved throughput',
    better: 'higher',
    get: (s) => s.throughput.achievedPerSec,
    format: (v) => `${fmtNum(v)}/s`,
  },
  {
    name: 'fast-path',
    aliases: ['fastpath', 'fast_path', 'fast-path-ratio'],
    label: 'fast-path ratio',
    better: 'higher',
    get: (s) => (s.fast !== null ? s.fast.fastPathRatio : null),
    format: (v) => `${(v * 100).toFixed(1)}%`,
  },
  {
    name: 'messages',
    aliases: ['msgs', 'messages-per-commit'],
    label: 'messages per commit',
    better: 'lower',
    get: (s) => s.messages.perCommit,
    format: (v) => fmtNum(v, 2),
  },
  {
    name: 'bytes',
    aliases: ['bytes-per-commit'],
    label: 'bytes per commit',
    better: 'lower',
    get: (s) => s.messages.bytesPerCommit,
    format: (v) => `${fmtNum(v, 0)} B`,
  },
  {
    name: 'gap',
    aliases: ['availability-gap'],
    label: 'availability gap',
    better: 'lower',
    get: (s) => s.availabilityGapUs,
    format: (v) => `${fmtMs(v)} ms`,
  },
];

export class MetricListError extends Error {
  override name = 'MetricListError';
}

export function parseMetricList(text: string): MetricDef[] {
  const out: MetricDef[] = [];
  for (const raw of text.split(',')) {
    const name = raw.trim().toLowerCase();
    if (name === '') continue;
    const def = metricDefs.find((m) => m.name === name || m.aliases.includes(name));
    if (def === undefined) {
      throw new MetricListError(`unknown metric "${raw.trim()}"; known: ${metricDefs.map((m) => m.name).join(', ')}`);
    }
    if (!out.includes(def)) out.push(def);
  }
  if (out.length === 0) throw new MetricListError('no metric given');
  return out;
}

// relativeChange is (current - baseline) / baseline in percent; "worse" is signed by direction so
// that a positive number is always a regression. A zero baseline makes any worsening infinite.
export function worsePct(def: MetricDef, baseline: number, current: number): number {
  const delta = def.better === 'lower' ? current - baseline : baseline - current;
  if (baseline === 0) return delta === 0 ? 0 : delta > 0 ? Infinity : -Infinity;
  return (delta / Math.abs(baseline)) * 100;
}

export function changePct(baseline: number, current: number): number {
  if (baseline === 0) return current === 0 ? 0 : current > 0 ? Infinity : -Infinity;
  return ((current - baseline) / Math.abs(baseline)) * 100;
}

export function fmtChange(pct: number): string {
  if (pct === Infinity) return '+∞%';
  if (pct === -Infinity) return '-∞%';
  const sign = pct > 0 ? '+' : pct < 0 ? '' : '±';
  return `${sign}${pct.toFixed(1)}%`;
}
