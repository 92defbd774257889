// The one description of network faults. The simulator's network and the live transport's fault
// injector both compile a NetworkSpec into a FaultModel and ask it, per message, whether to drop
// it, whether to duplicate it and how long to hold it. Keeping one parser and one sampler means an
// experiment file means the same thing in `mode: sim` and `mode: live`, and a scripted fault or a
// control-channel command changes both in the same way.
//
// Accepted input (plain data as YAML parses it), every field optional:
//   latency: 5ms                                   # constant
//   latency: { dist: normal, mean: 5ms, stddev: 500us, max: 50ms }
//   jitter: 100us                                  # uniform +-jitter added to each sample
//   loss: 1%            duplicate: 0.1%            reorder: 1%      reorder_delay: 10ms
//   links:  { "1->2": { latency: 20ms }, "3<->*": { loss: 5% } }
//      or   [ { from: 1, to: 2, latency: 20ms }, { between: [1, 3], loss: 5% } ]
//   partitions: [ { groups: [[1, 2], [3, 4, 5]] }, { isolate: 3 }, { cut: "1->2" }, { cut: "1<->2" } ]

import type { Rng } from '../core/rand.js';
import { IssueList, SpecError, describeValue, isPlainObject } from './spec-error.js';
import { formatDurationUs, formatPercent, parseDurationUs, parseProbability } from './units.js';

// ---------------------------------------------------------------------------------------------
// Plain-data description

// Latency distributions of one-way delay. Every parameter is in microseconds except `shape`.
// `maxUs`, when set, clamps samples (a pareto tail is unbounded, and a simulated run should not
// wait a simulated year for one message).
export type LatencyDist =
  | { readonly dist: 'constant'; readonly valueUs: number }
  | { readonly dist: 'uniform'; readonly minUs: number; readonly maxUs: number }
  // Normal truncated at 0: negative samples are redrawn, so small means keep their shape rather
  // than piling probability mass on 0.
  | { readonly dist: 'normal'; readonly meanUs: number; readonly stddevUs: number; readonly capUs?: number }
  // Lognormal given by the mean and standard deviation of the delay itself (what one measures
  // with ping), not of its logarithm: sigma^2 = ln(1 + stddev^2/mean^2), mu = ln(mean) - sigma^2/2.
  | { readonly dist: 'lognormal'; readonly meanUs: number; readonly stddevUs: number; readonly capUs?: number }
  | { readonly dist: 'exponential'; readonly meanUs: number; readonly capUs?: number }
  // Pareto type I: P(X > x) = (scale/x)^shape for x >= scale. Its mean is finite only for
  // shape > 1 (scale*shape/(shape-1)), its variance only for shape > 2.
  | { readonly dist: 'pareto'; readonly scaleUs: number; readonly shape: number; readonly capUs?: number };

export type DistName = LatencyDist['dist'];
export const distNames: readonly DistName[] = ['constant', 'uniform', 'normal', 'lognormal', 'exponential', 'pareto'];

export interface LinkSpec {
  readonly latency: LatencyDist;
  // A uniform offset in [-jitterUs, +jitterUs] added to each latency sample (as netem's jitter).
  readonly jitterUs: number;
  readonly loss: number;
  readonly duplicate: number;
  // With probability `reorder` a message is held back by an extra delay so that messages sent
  // after it overtake it. The extra delay is `reorderDelayUs`, or, when null, a second independent
  // latency sample (so a reordered message takes about twice as long as usual).
  readonly reorder: number;
  readonly reorderDelayUs: number | null;
}

export type LinkPatch = { -readonly [K in keyof LinkSpec]?: LinkSpec[K] };

// A node id, or '*' for any node.
export type NodeSelector = number | '*';

export interface LinkOverride {
  readonly from: NodeSelector;
  readonly to: NodeSelector;
  readonly patch: LinkPatch;
}

// groups: two-way partition; nodes in different groups cannot reach each other. Nodes not named
// in any group form one more, implicit group, so `{ groups: [[3]] }` isolates node 3.
// cut: one-way; messages from `from` to `to` are dropped, the reverse direction still works.
export type Partition =
  | { readonly kind: 'groups'; readonly groups: readonly (readonly number[])[] }
  | { readonly kind: 'cut'; readonly from: NodeSelector; readonly to: NodeSelector };

export interface NetworkSpec {
  readonly link: LinkSpec;
  readonly overrides: readonly LinkOverride[];
  readonly partitions: readonly Partition[];
}

export const defaultLinkSpec: LinkSpec = Object.freeze({
  latency: Object.freeze({ dist: 'constant', valueUs: 0 }),
  jitterUs: 0,
  loss: 0,
  duplicate: 0,
  reorder: 0,
  reorderDelayUs: null,
});

export const defaultNetworkSpec: NetworkSpec = Object.freeze({
  link: defaultLinkSpec,
  overrides: Object.freeze([]),
  partitions: Object.freeze([]),
});

// Node ids are small positive integers; the bound keeps a (from, to) pair packable in one number.
export const nodeIdMax = 0xfffff;

// ---------------------------------------------------------------------------------------------
// Parser

const linkFields = ['latency', 'jitter', 'loss', 'duplicate', 'reorder', 'reorder_delay'] as const;
const networkFields: readonly string[] = [...linkFields, 'links', 'partitions'];

// parseNetworkSpec validates plain data (as parsed from YAML or JSON) and reports every problem,
// each with its field path, in one SpecError.
export function parseNetworkSpec(value: unknown, path = 'network'): NetworkSpec {
  const issues = new IssueList();
  if (value === undefined || value === null) return defaultNetworkSpec;
  if (!isPlainObject(value)) {
    issues.add(path, `expected a mapping of network settings, got ${describeValue(value)}`);
    issues.throwIfAny();
  }
  const obj = value as Record<string, unknown>;
  reportUnknownFields(obj, networkFields, path, issues);
  const patch = parseLinkPatch(obj, path, issues);
  const link: LinkSpec = { ...defaultLinkSpec, ...patch };
  const overrides = obj['links'] === undefined ? [] : parseLinks(obj['links'], `${path}.links`, issues);
  const partitions = obj['partitions'] === undefined ? [] : parsePartitions(obj['partitions'], `${path}.partitions`, issues);
  issues.throwIfAny();
  return { link, overrides, partitions };
}

function reportUnknownFields(obj: Record<string, unknown>, known: readonly string[], path: string, issues: IssueList): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) issues.add(`${path}.${key}`, `unknown field (expected one of: ${known.join(', ')})`);
  }
}

function parseLinkPatch(obj: Record<string, unknown>, path: string, issues: IssueList): LinkPatch {
  const patch: LinkPatch = {};
  if (obj['latency'] !== undefined) {
    const latency = issues.attempt<LatencyDist | undefined>(undefined, () => parseLatencyDist(obj['latency'], `${path}.latency`));
    if (latency !== undefined) patch.latency = latency;
  }
  if (obj['jitter'] !== undefined) patch.jitterUs = issues.attempt(0, () => parseDurationUs(obj['jitter'], `${path}.jitter`));
  if (obj['loss'] !== undefined) patch.loss = issues.attempt(0, () => parseProbability(obj['loss'], `${path}.loss`));
  if (obj['duplicate'] !== undefined) {
    patch.duplicate = issues.attempt(0, () => parseProbability(obj['duplicate'], `${path}.duplicate`));
  }
  if (obj['reorder'] !== undefined) patch.reorder = issues.attempt(0, () => parseProbability(obj['reorder'], `${path}.reorder`));
  if (obj['reorder_delay'] !== undefined) {
    patch.reorderDelayUs = obj['reorder_delay'] === null
      ? null
      : issues.attempt(0, () => parseDurationUs(obj['reorder_delay'], `${path}.reorder_delay`));
  }
  return patch;
}

const distFields: Readonly<Record<DistName, readonly string[]>> = {
  constant: ['dist', 'value'],
  uniform: ['dist', 'min', 'max'],
  normal: ['dist', 'mean', 'stddev', 'max'],
  lognormal: ['dist', 'mean', 'stddev', 'max'],
  exponential: ['dist', 'mean', 'max'],
  pareto: ['dist', 'scale', 'min', 'shape', 'max'],
};

// parseLatencyDist accepts a duration (constant) or a mapping with `dist:` and its parameters.
export function parseLatencyDist(value: unknown, path = 'latency'): LatencyDist {
  if (typeof value === 'string' || typeof value === 'number') {
    return { dist: 'constant', valueUs: parseDurationUs(value, path) };
  }
  const issues = new IssueList();
  if (!isPlainObject(value)) {
    issues.add(path, `expected a duration like 5ms or a mapping like { dist: normal, mean: 5ms, stddev: 500us }, got ${describeValue(value)}`);
    issues.throwIfAny();
  }
  const obj = value as Record<string, unknown>;
  const name = obj['dist'];
  if (typeof name !== 'string' || !(distNames as readonly string[]).includes(name)) {
    issues.add(`${path}.dist`, `expected one of ${distNames.join(', ')}, got ${describeValue(name)}`);
    issues.throwIfAny();
  }
  const dist = name as DistName;
  reportUnknownFields(obj, distFields[dist], path, issues);
  const duration = (field: string): number => {
    if (obj[field] === undefined) {
      issues.add(`${path}.${field}`, `required for dist ${dist}: expected a duration like 500us`);
      return 0;
    }
    return issues.attempt(0, () => parseDurationUs(obj[field], `${path}.${field}`));
  };
  const cap = (): { capUs?: number } => {
    if (obj['max'] === undefined) return {};
    return { capUs: issues.attempt(0, () => parseDurationUs(obj['max'], `${path}.max`)) };
  };
  let result: LatencyDist;
  switch (dist) {
    case 'constant':
      result = { dist, valueUs: duration('value') };
      break;
    case 'uniform': {
      const minUs = duration('min');
      const maxUs = duration('max');
      if (maxUs < minUs) issues.add(`${path}.max`, `must be >= min (${formatDurationUs(minUs)})`);
      result = { dist, minUs, maxUs };
      break;
    }
    case 'normal':
    case 'lognormal': {
      const meanUs = duration('mean');
      const stddevUs = duration('stddev');
      if (dist === 'lognormal' && obj['mean'] !== undefined && meanUs === 0 && stddevUs > 0) {
        issues.add(`${path}.mean`, 'a lognormal delay needs mean > 0 when stddev > 0');
      }
      result = { dist, meanUs, stddevUs, ...cap() };
      break;
    }
    case 'exponential':
      result = { dist, meanUs: duration('mean'), ...cap() };
      break;
    case 'pareto': {
      if (obj['scale'] !== undefined && obj['min'] !== undefined) {
        issues.add(`${path}.min`, 'give either scale or min (they are the same parameter), not both');
      }
      const scaleField = obj['scale'] !== undefined ? 'scale' : 'min';
      const scaleUs = obj[scaleField] === undefined
        ? (issues.add(`${path}.scale`, 'required for dist pareto: expected a duration like 1ms (the minimum delay)'), 0)
        : issues.attempt(0, () => parseDurationUs(obj[scaleField], `${path}.${scaleField}`));
      const shape = obj['shape'];
      if (typeof shape !== 'number' || !Number.isFinite(shape) || shape <= 0) {
        issues.add(`${path}.shape`, `expected a positive number like 2.5 (tail index), got ${describeValue(shape)}`);
      }
      result = { dist, scaleUs, shape: typeof shape === 'number' ? shape : 1, ...cap() };
      break;
    }
    default: {
      const unreachable: never = dist;
      throw new Error(`unhandled dist ${String(unreachable)}`);
    }
  }
  issues.throwIfAny();
  return result;
}

const LINK_KEY = /^\s*([0-9]+|\*)\s*(->|<->)\s*([0-9]+|\*)\s*$/;

interface Direction {
  readonly from: NodeSelector;
  readonly to: NodeSelector;
}

// parseLinkKey reads "1->2" (one direction) or "1<->2" (both); '*' stands for any node.
export function parseLinkKey(key: string, path: string): readonly Direction[] {
  const m = LINK_KEY.exec(key);
  if (m === null) throw new SpecError([{ path, message: `expected a link like "1->2", "1<->2" or "3->*", got ${describeValue(key)}` }]);
  const a = parseSelector(m[1]!, path);
  const b = parseSelector(m[3]!, path);
  if (a === '*' && b === '*') throw new SpecError([{ path, message: 'a link from any node to any node is the default: set it at the top level' }]);
  if (a === b) throw new SpecError([{ path, message: `a link from node ${a} to itself never carries messages` }]);
  return m[2] === '<->' ? [{ from: a, to: b }, { from: b, to: a }] : [{ from: a, to: b }];
}

function parseSelector(text: string, path: string): NodeSelector {
  if (text === '*') return '*';
  return parseNodeId(Number(text), path);
}

function parseNodeId(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > nodeIdMax) {
    throw new SpecError([{ path, message: `expected a node id (an integer from 1 to ${nodeIdMax}), got ${describeValue(value)}` }]);
  }
  return value;
}

function parseLinks(value: unknown, path: string, issues: IssueList): LinkOverride[] {
  const out: LinkOverride[] = [];
  const addPatch = (dirs: readonly Direction[], body: Record<string, unknown>, bodyPath: string, extra: readonly string[]): void => {
    reportUnknownFields(body, [...linkFields, ...extra], bodyPath, issues);
    const patch = parseLinkPatch(body, bodyPath, issues);
    for (const d of dirs) out.push({ from: d.from, to: d.to, patch });
  };
  if (isPlainObject(value)) {
    for (const [key, body] of Object.entries(value)) {
      const keyPath = `${path}[${JSON.stringify(key)}]`;
      const dirs = issues.attempt<readonly Direction[]>([], () => parseLinkKey(key, keyPath));
      if (!isPlainObject(body)) {
        issues.add(keyPath, `expected a mapping of link settings like { latency: 20ms }, got ${describeValue(body)}`);
        continue;
      }
      addPatch(dirs, body, keyPath, []);
    }
    return out;
  }
  if (!Array.isArray(value)) {
    issues.add(path, `expected a mapping like { "1->2": { latency: 20ms } } or a list, got ${describeValue(value)}`);
    return out;
  }
  value.forEach((item: unknown, i: number) => {
    const itemPath = `${path}[${i}]`;
    if (!isPlainObject(item)) {
      issues.add(itemPath, `expected { from: 1, to: 2, ... } or { between: [1, 2], ... }, got ${describeValue(item)}`);
      return;
    }
    if (item['between'] !== undefined) {
      const pair = item['between'];
      if (!Array.isArray(pair) || pair.length !== 2) {
        issues.add(`${itemPath}.between`, `expected two node ids like [1, 2], got ${describeValue(pair)}`);
        return;
      }
      const a = issues.attempt<NodeSelector>(0, () => selectorValue(pair[0], `${itemPath}.between[0]`));
      const b = issues.attempt<NodeSelector>(0, () => selectorValue(pair[1], `${itemPath}.between[1]`));
      addPatch([{ from: a, to: b }, { from: b, to: a }], item, itemPath, ['between']);
      return;
    }
    const from = issues.attempt<NodeSelector>(0, () => selectorValue(item['from'], `${itemPath}.from`));
    const to = issues.attempt<NodeSelector>(0, () => selectorValue(item['to'], `${itemPath}.to`));
    addPatch([{ from, to }], item, itemPath, ['from', 'to']);
  });
  return out;
}

function selectorValue(value: unknown, path: string): NodeSelector {
  if (value === '*') return '*';
  if (typeof value === 'string' && /^[0-9]+$/.test(value)) return parseNodeId(Number(value), path);
  return parseNodeId(value, path);
}

function parsePartitions(value: unknown, path: string, issues: IssueList): Partition[] {
  const out: Partition[] = [];
  if (!Array.isArray(value)) {
    issues.add(path, `expected a list like [{ groups: [[1, 2], [3]] }, { cut: "1->2" }], got ${describeValue(value)}`);
    return out;
  }
  value.forEach((item: unknown, i: number) => {
    const p = issues.attempt<readonly Partition[]>([], () => parsePartition(item, `${path}[${i}]`));
    out.push(...p);
  });
  return out;
}

// parsePartition reads one partition entry; "1<->2" cuts give two one-way cuts.
export function parsePartition(item: unknown, path: string): readonly Partition[] {
  const issues = new IssueList();
  if (Array.isArray(item)) return [{ kind: 'groups', groups: parseGroups(item, path) }];
  if (!isPlainObject(item)) {
    throw new SpecError([{ path, message: `expected { groups: [[1, 2], [3]] }, { isolate: 3 } or { cut: "1->2" }, got ${describeValue(item)}` }]);
  }
  const kinds = ['groups', 'isolate', 'cut'].filter((k) => item[k] !== undefined);
  if (kinds.length !== 1) {
    throw new SpecError([{ path, message: `expected exactly one of groups, isolate, cut; got ${kinds.length === 0 ? 'none' : kinds.join(' and ')}` }]);
  }
  reportUnknownFields(item, ['groups', 'isolate', 'cut'], path, issues);
  issues.throwIfAny();
  if (item['groups'] !== undefined) return [{ kind: 'groups', groups: parseGroups(item['groups'], `${path}.groups`) }];
  if (item['isolate'] !== undefined) {
    const raw = item['isolate'];
    const ids = Array.isArray(raw) ? raw : [raw];
    const group = ids.map((id: unknown, j: number) => parseNodeId(id, Array.isArray(raw) ? `${path}.isolate[${j}]` : `${path}.isolate`));
    return [{ kind: 'groups', groups: [group] }];
  }
  const cut = item['cut'];
  if (typeof cut !== 'string') throw new SpecError([{ path: `${path}.cut`, message: `expected a link like "1->2" or "1<->2", got ${describeValue(cut)}` }]);
  return parseLinkKey(cut, `${path}.cut`).map((d) => ({ kind: 'cut', from: d.from, to: d.to }));
}

function parseGroups(value: unknown, path: string): number[][] {
  const issues = new IssueList();
  if (!Array.isArray(value) || value.length === 0) {
    throw new SpecError([{ path, message: `expected a list of node groups like [[1, 2], [3, 4, 5]], got ${describeValue(value)}` }]);
  }
  const seen = new Set<number>();
  const groups = value.map((g: unknown, i: number) => {
    if (!Array.isArray(g) || g.length === 0) {
      issues.add(`${path}[${i}]`, `expected a non-empty list of node ids, got ${describeValue(g)}`);
      return [];
    }
    return g.map((id: unknown, j: number) => {
      const n = issues.attempt(0, () => parseNodeId(id, `${path}[${i}][${j}]`));
      if (n !== 0 && seen.has(n)) issues.add(`${path}[${i}][${j}]`, `node ${n} is in more than one group`);
      seen.add(n);
      return n;
    });
  });
  issues.throwIfAny();
  return groups;
}

// networkSpecToPlain writes a spec back in the accepted input form (units as strings), so that a
// control channel can report the current network and the answer parses to the same spec.
export function networkSpecToPlain(spec: NetworkSpec): Record<string, unknown> {
  const out: Record<string, unknown> = linkPatchToPlain(spec.link);
  if (spec.overrides.length > 0) {
    out['links'] = spec.overrides.map((o) => ({ from: o.from, to: o.to, ...linkPatchToPlain(o.patch) }));
  }
  if (spec.partitions.length > 0) {
    out['partitions'] = spec.partitions.map((p) =>
      p.kind === 'groups' ? { groups: p.groups.map((g) => [...g]) } : { cut: `${p.from}->${p.to}` });
  }
  return out;
}

function linkPatchToPlain(patch: LinkPatch): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (patch.latency !== undefined) out['latency'] = latencyDistToPlain(patch.latency);
  if (patch.jitterUs !== undefined) out['jitter'] = formatDurationUs(patch.jitterUs);
  if (patch.loss !== undefined) out['loss'] = formatPercent(patch.loss);
  if (patch.duplicate !== undefined) out['duplicate'] = formatPercent(patch.duplicate);
  if (patch.reorder !== undefined) out['reorder'] = formatPercent(patch.reorder);
  if (patch.reorderDelayUs !== undefined) {
    out['reorder_delay'] = patch.reorderDelayUs === null ? null : formatDurationUs(patch.reorderDelayUs);
  }
  return out;
}

export function latencyDistToPlain(d: LatencyDist): unknown {
  const max = (capUs: number | undefined): Record<string, string> => (capUs === undefined ? {} : { max: formatDurationUs(capUs) });
  switch (d.dist) {
    case 'constant':
      return formatDurationUs(d.valueUs);
    case 'uniform':
      return { dist: d.dist, min: formatDurationUs(d.minUs), max: formatDurationUs(d.maxUs) };
    case 'normal':
    case 'lognormal':
      return { dist: d.dist, mean: formatDurationUs(d.meanUs), stddev: formatDurationUs(d.stddevUs), ...max(d.capUs) };
    case 'exponential':
      return { dist: d.dist, mean: formatDurationUs(d.meanUs), ...max(d.capUs) };
    case 'pareto':
      return { dist: d.dist, scale: formatDurationUs(d.scaleUs), shape: d.shape, ...max(d.capUs) };
    default: {
      const unreachable: never = d;
      throw new Error(`unhandled dist ${JSON.stringify(unreachable)}`);
    }
  }
}

// distMeanUs is the distribution's mean before jitter and capping (Infinity for a pareto with
// shape <= 1); reports use it to describe a link.
export function distMeanUs(d: LatencyDist): number {
  switch (d.dist) {
    case 'constant':
      return d.valueUs;
    case 'uniform':
      return (d.minUs + d.maxUs) / 2;
    case 'normal':
    case 'lognormal':
    case 'exponential':
      return d.meanUs;
    case 'pareto':
      return d.shape <= 1 ? Infinity : (d.scaleUs * d.shape) / (d.shape - 1);
    default: {
      const unreachable: never = d;
      throw new Error(`unhandled dist ${JSON.stringify(unreachable)}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Runtime model

const enum DistKind {
  Constant = 0,
  Uniform = 1,
  Normal = 2,
  Lognormal = 3,
  Exponential = 4,
  Pareto = 5,
}

// Truncating a normal at 0 by redrawing: with mean >= 0 each draw is accepted with probability
// >= 1/2, so 64 draws fail with probability < 2^-64; the bound only guards against a bug.
const normalRedrawMax = 64;

// LatencySampler draws from one distribution with its parameters precomputed; sampling allocates
// nothing and draws a fixed pattern of numbers from the Rng, so a seed replays the same delays.
export class LatencySampler {
  private readonly kind: DistKind;
  private readonly p1: number;
  private readonly p2: number;
  private readonly capUs: number;

  constructor(readonly dist: LatencyDist) {
    this.capUs = Infinity;
    switch (dist.dist) {
      case 'constant':
        this.kind = DistKind.Constant;
        this.p1 = dist.valueUs;
        this.p2 = 0;
        break;
      case 'uniform':
        this.kind = DistKind.Uniform;
        this.p1 = dist.minUs;
        this.p2 = dist.maxUs - dist.minUs;
        break;
      case 'normal':
        this.kind = DistKind.Normal;
        this.p1 = dist.meanUs;
        this.p2 = dist.stddevUs;
        this.capUs = dist.capUs ?? Infinity;
        break;
      case 'lognormal': {
        this.kind = DistKind.Lognormal;
        const m = dist.meanUs;
        const s = dist.stddevUs;
        const sigma2 = m > 0 ? Math.log(1 + (s * s) / (m * m)) : 0;
        this.p1 = m > 0 ? Math.log(m) - sigma2 / 2 : -Infinity; // mu; exp(-Infinity) = 0
        this.p2 = Math.sqrt(sigma2);
        this.capUs = dist.capUs ?? Infinity;
        break;
      }
      case 'exponential':
        this.kind = DistKind.Exponential;
        this.p1 = dist.meanUs;
        this.p2 = 0;
        this.capUs = dist.capUs ?? Infinity;
        break;
      case 'pareto':
        this.kind = DistKind.Pareto;
        this.p1 = dist.scaleUs;
        this.p2 = -1 / dist.shape;
        this.capUs = dist.capUs ?? Infinity;
        break;
      default: {
        const unreachable: never = dist;
        throw new Error(`unhandled dist ${JSON.stringify(unreachable)}`);
      }
    }
  }

  // sampleUs returns a delay in microseconds, >= 0, not rounded.
  sampleUs(rng: Rng): number {
    let x: number;
    switch (this.kind) {
      case DistKind.Constant:
        return this.p1;
      case DistKind.Uniform:
        x = this.p1 + this.p2 * rng.float();
        break;
      case DistKind.Normal:
        if (this.p2 === 0) return Math.min(this.p1, this.capUs);
        x = 0;
        for (let i = 0; i < normalRedrawMax; i++) {
          x = this.p1 + this.p2 * standardNormal(rng);
          if (x >= 0) break;
        }
        break;
      case DistKind.Lognormal:
        x = Math.exp(this.p1 + this.p2 * standardNormal(rng));
        break;
      case DistKind.Exponential:
        // 1 - float() is in (0, 1], so the log is finite.
        x = -this.p1 * Math.log(1 - rng.float());
        break;
      case DistKind.Pareto:
        x = this.p1 * Math.pow(1 - rng.float(), this.p2);
        break;
    }
    if (!(x >= 0)) x = 0;
    return x > this.capUs ? this.capUs : x;
  }
}

// standardNormal uses Box-Muller and discards the second value: keeping a spare would make a
// sample depend on the previous call, which breaks replay when samplers share an Rng.
function standardNormal(rng: Rng): number {
  const u1 = 1 - rng.float(); // (0, 1]
  const u2 = rng.float();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

// LinkModel is one directed link, compiled: it answers drop / duplicate / delay for a message.
export class LinkModel {
  readonly sampler: LatencySampler;
  readonly jitterUs: number;
  readonly loss: number;
  readonly duplicate: number;
  readonly reorder: number;
  readonly reorderDelayUs: number | null;

  constructor(readonly spec: LinkSpec, readonly blocked: boolean) {
    this.sampler = new LatencySampler(spec.latency);
    this.jitterUs = spec.jitterUs;
    this.loss = spec.loss;
    this.duplicate = spec.duplicate;
    this.reorder = spec.reorder;
    this.reorderDelayUs = spec.reorderDelayUs;
  }

  // dropped draws once if loss > 0; a partitioned link drops without drawing.
  dropped(rng: Rng): boolean {
    if (this.blocked) return true;
    return this.loss > 0 && rng.float() < this.loss;
  }

  duplicated(rng: Rng): boolean {
    return this.duplicate > 0 && rng.float() < this.duplicate;
  }

  // sampleDelayUs returns a whole number of microseconds >= 0 (the simulator's clock resolution).
  sampleDelayUs(rng: Rng): number {
    let delayUs = this.sampler.sampleUs(rng);
    if (this.jitterUs > 0) delayUs += this.jitterUs * (2 * rng.float() - 1);
    if (this.reorder > 0 && rng.float() < this.reorder) {
      delayUs += this.reorderDelayUs ?? this.sampler.sampleUs(rng);
    }
    return delayUs > 0 ? Math.round(delayUs) : 0;
  }
}

// MessageFate is filled in by FaultModel.decide; callers keep one and reuse it per message.
export interface MessageFate {
  dropped: boolean;
  // Why: 'partition' (no draw was made) or 'loss'; null when delivered.
  dropReason: 'partition' | 'loss' | null;
  // 1 normally, 2 when duplicated, 0 when dropped.
  copies: number;
  delayUs: number;
  duplicateDelayUs: number;
}

export function newMessageFate(): MessageFate {
  return { dropped: false, dropReason: null, copies: 1, delayUs: 0, duplicateDelayUs: 0 };
}

// Active partitions are held with an id, so that a scripted fault can heal the one it made.
interface ActivePartition {
  readonly id: number;
  readonly partition: Partition;
  // For 'groups': node id -> group index; unnamed nodes are group -1.
  readonly groupOf: ReadonlyMap<number, number> | null;
}

// The cache of compiled links is bounded: a cluster has n*(n-1) links, so this only matters if
// node ids churn without bound (a bug) — then we rebuild rather than grow.
const linkCacheMax = 1 << 16;

// FaultModel is the compiled NetworkSpec with run-time mutation (partition, heal, link changes).
// Every mutation invalidates the compiled-link cache; per-message calls then allocate nothing
// after a link's first use.
export class FaultModel {
  private link: LinkSpec;
  private readonly overrides: LinkOverride[];
  private readonly partitions: ActivePartition[] = [];
  private nextPartitionId = 1;
  private readonly cache = new Map<number, LinkModel>();

  constructor(spec: NetworkSpec = defaultNetworkSpec) {
    this.link = spec.link;
    this.overrides = spec.overrides.slice();
    for (const p of spec.partitions) this.addPartition(p);
  }

  static fromPlain(value: unknown, path = 'network'): FaultModel {
    return new FaultModel(parseNetworkSpec(value, path));
  }

  // linkModel returns the compiled link from -> to (with partitions folded into `blocked`).
  linkModel(from: number, to: number): LinkModel {
    const key = from * (nodeIdMax + 1) + to;
    let m = this.cache.get(key);
    if (m === undefined) {
      if (this.cache.size >= linkCacheMax) this.cache.clear();
      m = new LinkModel(this.resolveLink(from, to), this.isBlocked(from, to));
      this.cache.set(key, m);
    }
    return m;
  }

  // decide fills `out` with the fate of one message from -> to. Draw order is fixed (loss,
  // duplicate, delay, duplicate's delay) and draws are skipped for zero probabilities.
  decide(from: number, to: number, rng: Rng, out: MessageFate): MessageFate {
    const link = this.linkModel(from, to);
    if (link.blocked || (link.loss > 0 && rng.float() < link.loss)) {
      out.dropped = true;
      out.dropReason = link.blocked ? 'partition' : 'loss';
      out.copies = 0;
      out.delayUs = 0;
      out.duplicateDelayUs = 0;
      return out;
    }
    out.dropped = false;
    out.dropReason = null;
    const dup = link.duplicated(rng);
    out.delayUs = link.sampleDelayUs(rng);
    out.copies = dup ? 2 : 1;
    out.duplicateDelayUs = dup ? link.sampleDelayUs(rng) : 0;
    return out;
  }

  // reachable tells whether any partition cuts from -> to (loss aside).
  reachable(from: number, to: number): boolean {
    return !this.linkModel(from, to).blocked;
  }

  // partition adds a two-way partition between groups (unnamed nodes form one more group) and
  // returns an id for heal().
  partition(groups: readonly (readonly number[])[]): number {
    const [p] = parsePartition({ groups: groups.map((g) => [...g]) }, 'partition');
    return this.addPartition(p!);
  }

  isolate(node: number): number {
    return this.partition([[node]]);
  }

  // cut drops messages from -> to only.
  cut(from: NodeSelector, to: NodeSelector): number {
    return this.addPartition({ kind: 'cut', from, to });
  }

  // heal removes one partition (by id) or, without an id, all of them. Returns how many it removed.
  heal(id?: number): number {
    let removed = 0;
    for (let i = this.partitions.length - 1; i >= 0; i--) {
      if (id === undefined || this.partitions[i]!.id === id) {
        this.partitions.splice(i, 1);
        removed++;
      }
    }
    if (removed > 0) this.cache.clear();
    return removed;
  }

  // setDefault changes the link every pair starts from.
  setDefault(patch: LinkPatch): void {
    this.link = { ...this.link, ...patch };
    this.cache.clear();
  }

  // setLink overrides from -> to (either may be '*'); later overrides win over earlier ones of the
  // same specificity, and exact pairs win over wildcards.
  setLink(from: NodeSelector, to: NodeSelector, patch: LinkPatch): void {
    this.overrides.push({ from, to, patch: { ...patch } });
    this.cache.clear();
  }

  setLinkLatency(from: NodeSelector, to: NodeSelector, latency: LatencyDist): void {
    this.setLink(from, to, { latency });
  }

  // clearLink removes every override whose selectors are exactly (from, to).
  clearLink(from: NodeSelector, to: NodeSelector): void {
    for (let i = this.overrides.length - 1; i >= 0; i--) {
      const o = this.overrides[i]!;
      if (o.from === from && o.to === to) this.overrides.splice(i, 1);
    }
    this.cache.clear();
  }

  // spec returns the current state as plain data (what networkSpecToPlain can write out).
  spec(): NetworkSpec {
    return {
      link: this.link,
      overrides: this.overrides.slice(),
      partitions: this.partitions.map((p) => p.partition),
    };
  }

  private addPartition(p: Partition): number {
    const id = this.nextPartitionId++;
    let groupOf: Map<number, number> | null = null;
    if (p.kind === 'groups') {
      groupOf = new Map();
      p.groups.forEach((g, i) => {
        for (const n of g) groupOf!.set(n, i);
      });
    }
    this.partitions.push({ id, partition: p, groupOf });
    this.cache.clear();
    return id;
  }

  private isBlocked(from: number, to: number): boolean {
    for (const ap of this.partitions) {
      const p = ap.partition;
      if (p.kind === 'cut') {
        if (matches(p.from, from) && matches(p.to, to)) return true;
      } else if ((ap.groupOf!.get(from) ?? -1) !== (ap.groupOf!.get(to) ?? -1)) {
        return true;
      }
    }
    return false;
  }

  private resolveLink(from: number, to: number): LinkSpec {
    let spec = this.link;
    // Two passes: wildcard overrides first, then exact pairs, each in the order given.
    for (let pass = 0; pass < 2; pass++) {
      for (const o of this.overrides) {
        const exact = o.from !== '*' && o.to !== '*';
        if (exact !== (pass === 1)) continue;
        if (matches(o.from, from) && matches(o.to, to)) spec = { ...spec, ...o.patch };
      }
    }
    return spec;
  }
}

function matches(sel: NodeSelector, node: number): boolean {
  return sel === '*' || sel === node;
}
