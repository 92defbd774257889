// The field tree of an experiment file (every field name, nested as in the file) and the helpers
// that validate one field at a time while collecting every problem.

import { SpecError, describeValue, isPlainObject } from '../faults/index.js';
import type { SpecIssue } from '../faults/index.js';
import { isUnder, oneOfMessage, parsePath, unknownFieldMessage } from './paths.js';

// A mapping's fields; null marks a field holding a value (scalar, list, or a mapping whose fields
// are not named here). '*' stands for any key.
export interface FieldTree {
  readonly [key: string]: FieldTree | null;
}

export const anyKey = '*';

const latencyTree: FieldTree = { dist: null, value: null, mean: null, stddev: null, min: null, max: null, scale: null, shape: null };
// Kept in step with the fault model's link fields (src/faults/fault-model.ts).
const linkTree: FieldTree = { latency: latencyTree, jitter: null, loss: null, duplicate: null, reorder: null, reorder_delay: null };

export const fastTree: FieldTree = {
  enabled: null,
  window: null,
  side_buffer: null,
  max_pending: null,
  decision_timeout_ticks: null,
  retransmit_ticks: null,
};

export const clusterTree: FieldTree = {
  protocol: null,
  size: null,
  storage: null,
  sync: null,
  tick: null,
  election_ticks: null,
  heartbeat_ticks: null,
  pre_vote: null,
  check_quorum: null,
  max_inflight_msgs: null,
  max_size_per_msg: null,
  fast: fastTree,
  disk: { latency: latencyTree },
  processing: { per_message: null },
};

export const keysTree: FieldTree = { count: null, dist: null, theta: null, hot_keys: null, hot_share: null };

export const workloadTree: FieldTree = {
  mode: null,
  arrival: null,
  rate: null,
  clients: null,
  outstanding: null,
  attach: null,
  proposers: null,
  value_bytes: null,
  keys: keysTree,
  conflict: null,
};

export const networkTree: FieldTree = { ...linkTree, links: { [anyKey]: linkTree }, partitions: null };

export const experimentTree: FieldTree = {
  name: null,
  description: null,
  mode: null,
  seed: null,
  repeat: null,
  seeds: null,
  duration: null,
  proposals: null,
  timeout: null,
  warmup: null,
  cluster: clusterTree,
  network: networkTree,
  workload: workloadTree,
  faults: null,
  sweep: null,
};

export function fieldNames(tree: FieldTree): string[] {
  return Object.keys(tree).filter((k) => k !== anyKey);
}

// ---------------------------------------------------------------------------------------------
// Collecting issues

export type Severity = 'error' | 'warning';

export interface RawIssue {
  readonly path: string;
  readonly message: string;
  // Point at the key (an unknown field) rather than at the value.
  readonly atKey: boolean;
  readonly severity: Severity;
  // The message for a problem that depends on a swept value (the cluster size), with that value
  // left out: when it holds in points with different values, it is reported once in these words.
  readonly general?: string;
}

// A field used only under a condition (a rate only in open loop) is refused when no run of the
// matrix meets the condition; a sweep may legitimately leave it unused in some runs.
export interface UnusedField {
  readonly path: string;
  readonly message: string;
}

const UNKNOWN_FROM_FAULTS = /^unknown field \(expected one of: (.*)\)$/;

export class Collector {
  readonly issues: RawIssue[] = [];
  readonly unused: UnusedField[] = [];

  error(path: string, message: string, atKey = false, general?: string): void {
    this.issues.push(general === undefined ? { path, message, atKey, severity: 'error' } : { path, message, atKey, severity: 'error', general });
  }

  warn(path: string, message: string): void {
    this.issues.push({ path, message, atKey: false, severity: 'warning' });
  }

  markUnused(path: string, message: string): void {
    this.unused.push({ path, message });
  }

  // attempt runs a parser of src/faults; the issues of a SpecError it throws are recorded (unknown
  // fields rewritten with a suggestion) and `fallback` returned, so that validation goes on.
  attempt<T>(fallback: T, parse: () => T): T {
    try {
      return parse();
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
      for (const issue of err.issues) this.fromSpecIssue(issue);
      return fallback;
    }
  }

  private fromSpecIssue(issue: SpecIssue): void {
    const m = UNKNOWN_FROM_FAULTS.exec(issue.message);
    const segments = m === null ? null : parsePath(issue.path);
    const key = segments === null ? undefined : segments[segments.length - 1];
    if (m !== null && typeof key === 'string') {
      this.error(issue.path, unknownFieldMessage(key, m[1]!.split(', ')), true);
      return;
    }
    this.error(issue.path, issue.message);
  }

  // failed: whether the value at `path` could not be read (an error at it, inside it, or at an
  // enclosing field). Checks relating two fields skip a field that failed, so that one mistake is
  // reported once rather than again as a strange combination. Unknown fields do not count.
  failed(path: string): boolean {
    return this.issues.some((i) => i.severity === 'error' && !i.atKey && (isUnder(i.path, path) || isUnder(path, i.path)));
  }

  get errorCount(): number {
    return this.issues.filter((i) => i.severity === 'error').length;
  }
}

// ---------------------------------------------------------------------------------------------
// One field at a time

export type Obj = Readonly<Record<string, unknown>>;

const empty: Obj = Object.freeze({});

// section reads an optional mapping: absent or empty (`cluster:`) gives {}, anything else but a
// mapping is reported and treated as {} so that the rest of the file is still checked.
export function section(value: unknown, path: string, c: Collector, example: string): Obj {
  if (value === undefined || value === null) return empty;
  if (!isPlainObject(value)) {
    c.error(path, `expected a mapping like ${example}, got ${describeValue(value)}`);
    return empty;
  }
  return value;
}

export function checkFields(obj: Obj, known: readonly string[], path: string, c: Collector): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) c.error(path === '' ? key : `${path}.${key}`, unknownFieldMessage(key, known), true);
  }
}

export function intField(obj: Obj, key: string, path: string, c: Collector, min: number, max: number, fallback: number): number {
  const v = obj[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    c.error(`${path}${path === '' ? '' : '.'}${key}`, `expected a whole number from ${min} to ${max}, got ${describeValue(v)}`);
    return fallback;
  }
  return v;
}

export function boolField(obj: Obj, key: string, path: string, c: Collector, fallback: boolean): boolean {
  const v = obj[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') {
    c.error(`${path}.${key}`, `expected true or false, got ${describeValue(v)}`);
    return fallback;
  }
  return v;
}

export function enumField<T extends string>(obj: Obj, key: string, path: string, c: Collector, options: readonly T[], fallback: T): T {
  const v = obj[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !(options as readonly string[]).includes(v)) {
    c.error(path === '' ? key : `${path}.${key}`, oneOfMessage(v, options, describeValue(v)));
    return fallback;
  }
  return v as T;
}

export function getIn(data: unknown, segments: readonly string[]): unknown {
  let node = data;
  for (const s of segments) {
    if (!isPlainObject(node)) return undefined;
    node = node[s];
  }
  return node;
}

// has: whether the dotted field path is written (with a value other than null).
export function has(data: unknown, dotted: string): boolean {
  const v = getIn(data, dotted.split('.'));
  return v !== undefined && v !== null;
}

// setIn returns a copy of `data` with `value` at `segments`, creating missing mappings on the
// way; it copies only the mappings along the path. When a field on the way holds something other
// than a mapping, it reports how many segments lead to it.
export type SetResult = { readonly ok: true; readonly data: Obj } | { readonly ok: false; readonly blockedAt: number };

export function setIn(data: Obj, segments: readonly string[], value: unknown): SetResult {
  const go = (node: Obj, i: number): SetResult => {
    const key = segments[i]!;
    if (i === segments.length - 1) return { ok: true, data: { ...node, [key]: value } };
    const next = node[key];
    if (next !== undefined && next !== null && !isPlainObject(next)) return { ok: false, blockedAt: i + 1 };
    const inner = go((next ?? empty) as Obj, i + 1);
    return inner.ok ? { ok: true, data: { ...node, [key]: inner.data } } : inner;
  };
  return go(data, 0);
}
