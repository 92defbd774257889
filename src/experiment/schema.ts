// Experiment files: YAML text -> a validated ExperimentSpec, or an ExperimentFileError listing every
// problem with its field path and line:column. Validation happens in three layers:
//   1. each field on its own (types, units, ranges, unknown fields with a suggestion);
//   2. each point of the sweep, with its values substituted: fields again (so a sweep value is
//      checked as if written at its field, and reported at its list item) and the combinations
//      (a fault naming node 7 in a 5-node cluster, a warm-up longer than the run);
//   3. the matrix as a whole: a field that no run uses (Fast Raft options when every run is raft).
// Nothing here runs anything; the runner gets the spec and the matrix (matrix.ts).

import { defaultFastConfig } from '../core/fast-config.js';
import type { FastConfig } from '../core/fast-config.js';
import { protocolNames } from '../core/protocols.js';
import {
  defaultNetworkSpec,
  describeValue,
  formatDurationUs,
  isPlainObject,
  nodeIdMax,
  parseBytes,
  parseDurationUs,
  parseLatencyDist,
  parseNetworkSpec,
  parsePartition,
  parseProbability,
  parseRatePerSec,
} from '../faults/index.js';
import type { LinkPatch, NetworkSpec, Partition } from '../faults/index.js';
import { ExperimentFileError } from './errors.js';
import {
  Collector,
  anyKey,
  boolField,
  checkFields,
  clusterTree,
  enumField,
  experimentTree,
  fastTree,
  fieldNames,
  has,
  intField,
  keysTree,
  section,
  setIn,
  workloadTree,
} from './fields.js';
import type { FieldTree, Obj, RawIssue } from './fields.js';
import { childPath, isUnder, itemPath, oneOfMessage, suggest } from './paths.js';
import { loadYaml } from './yaml-source.js';
import type { YamlSource } from './yaml-source.js';
import {
  arrivalKinds,
  attachKinds,
  experimentModes,
  faultKinds,
  keyDistKinds,
  loopKinds,
  nodeTargetNames,
  seedScopes,
  storageKinds,
} from './types.js';
import type {
  ClusterSpec,
  DownTarget,
  ExperimentIssue,
  ExperimentMode,
  ExperimentSpec,
  FaultAction,
  FaultKind,
  FaultSpec,
  KeyDist,
  NetworkChange,
  NodeTarget,
  RunSpec,
  SeedScope,
  StopSpec,
  SweepAxis,
  WorkloadSpec,
} from './types.js';

// ---------------------------------------------------------------------------------------------
// Defaults and limits (every count a file can set has a bound)

export const experimentDefaults = Object.freeze({
  mode: 'sim' as ExperimentMode,
  seed: 1,
  repeat: 1,
  seeds: 'per_repetition' as SeedScope,
  durationUs: 10_000_000,
  proposalsTimeoutUs: 300_000_000,
  warmupUs: 0,
  protocol: 'raft' as string,
  size: 3,
  storage: 'memory' as const,
  sync: true,
  tickUs: 10_000,
  electionTicks: 10,
  heartbeatTicks: 1,
  // etcd server's settings.
  preVote: true,
  checkQuorum: true,
  maxInflightMsgs: 512,
  maxSizePerMsgBytes: 1 << 20,
  clients: 8,
  ratePerSec: 1000,
  outstanding: 1,
  valueBytes: 128,
  keyCount: 1000,
  zipfTheta: 0.99,
  hotFraction: 0.01,
  hotShare: 0.9,
});

export const experimentLimits = Object.freeze({
  nameLengthMax: 64,
  seedMax: 0xffffffff,
  repeatMax: 1000,
  // Runs in one matrix (points x repeat): past this an experiment is a mistake or a week of work.
  runsMax: 10_000,
  sizeMax: 255,
  proposalsMax: 1_000_000_000,
  ticksMax: 1_000_000,
  clientsMax: 100_000,
  outstandingMax: 100_000,
  ratePerSecMax: 10_000_000,
  valueBytesMax: 64 << 20,
  keyCountMax: 1_000_000_000,
  fastWindowMax: 1 << 16,
  inflightMsgsMax: 1 << 16,
});

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

// ---------------------------------------------------------------------------------------------
// Public entry point

// parseExperiment validates an experiment file and returns its spec with every default filled;
// it throws ExperimentFileError listing every problem (sorted by position) when there is any.
export function parseExperiment(text: string, fileName: string): ExperimentSpec {
  const src = loadYaml(text);
  const fail = (issues: readonly ExperimentIssue[]): never => {
    throw new ExperimentFileError(fileName, issues);
  };
  if (src.errors.length > 0) fail(src.errors.map((e) => ({ file: fileName, path: '', ...e })));
  if (!isPlainObject(src.data)) {
    const got = src.data === null || src.data === undefined ? 'an empty file' : describeValue(src.data);
    fail([{ file: fileName, path: '', line: 1, column: 1, message: `expected a mapping of experiment settings (name, cluster, workload, ...), got ${got}` }]);
  }
  const data = src.data as Obj;
  const c = new Collector();
  checkFields(data, fieldNames(experimentTree), '', c);
  const header = parseHeader(data, fileName, c);
  const base = parseRunSpec(data, header, c).spec;
  const axes = parseSweep(data, c);
  const points = axes.reduce((n, a) => n * a.values.length, 1);
  const runCount = points * header.repeat;
  let extra: RawIssue[] = [];
  if (runCount > experimentLimits.runsMax) {
    const why = axes.length === 0 ? `${header.repeat} repetitions` : `${points} sweep points x ${header.repeat} repetitions`;
    c.error(axes.length === 0 ? 'repeat' : 'sweep', `the matrix has ${runCount} runs (${why}); at most ${experimentLimits.runsMax}`);
  } else {
    extra = checkPoints(data, header, axes, c.issues);
  }
  const all = [...c.issues, ...extra];
  const located = locateAll(src, fileName, all);
  const errors = located.filter((x) => x.severity === 'error').map((x) => x.issue);
  if (errors.length > 0) fail(errors);
  return {
    ...base,
    description: header.description,
    seed: header.seed,
    repeat: header.repeat,
    seeds: header.seeds,
    sweep: axes.map((a) => ({ path: a.path, values: a.values })),
    runCount,
    source: { fileName, text, data },
    warnings: located.filter((x) => x.severity === 'warning').map((x) => x.issue),
  };
}

// resolvePoint returns the RunSpec of one point of a validated experiment: valueIndex[i] picks the
// value of sweep axis i.
export function resolvePoint(spec: ExperimentSpec, valueIndex: readonly number[]): RunSpec {
  if (valueIndex.length !== spec.sweep.length) throw new Error(`resolvePoint: ${valueIndex.length} indices for ${spec.sweep.length} axes`);
  let data: Obj = spec.source.data;
  spec.sweep.forEach((axis, i) => {
    const r = setIn(data, axis.path.split('.'), axis.values[valueIndex[i]!]);
    if (!r.ok) throw new Error(`resolvePoint: sweep ${axis.path} cannot be set in a validated experiment`);
    data = r.data;
  });
  const c = new Collector();
  const { spec: run } = parseRunSpec(data, { name: spec.name, mode: spec.mode }, c);
  if (c.errorCount > 0) throw new Error(`resolvePoint: a validated point has errors: ${c.issues[0]!.path}: ${c.issues[0]!.message}`);
  return run;
}

// ---------------------------------------------------------------------------------------------
// Header: the fields that describe the experiment rather than a run

interface Header {
  readonly name: string;
  readonly description: string;
  readonly mode: ExperimentMode;
  readonly seed: number;
  readonly repeat: number;
  readonly seeds: SeedScope;
}

function defaultName(fileName: string): string {
  const stem = fileName.replace(/^.*[\\/]/, '').replace(/\.ya?ml$/i, '');
  const safe = stem.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, experimentLimits.nameLengthMax);
  return safe === '' ? 'experiment' : safe;
}

function parseHeader(data: Obj, fileName: string, c: Collector): Header {
  let name = defaultName(fileName);
  const rawName = data['name'];
  if (rawName !== undefined) {
    if (typeof rawName !== 'string' || !NAME.test(rawName) || rawName.length > experimentLimits.nameLengthMax) {
      c.error('name', `expected a name of letters, digits, '.', '_' and '-' (at most ${experimentLimits.nameLengthMax}; it names the results folder), got ${describeValue(rawName)}`);
    } else {
      name = rawName;
    }
  }
  let description = '';
  const rawDesc = data['description'];
  if (rawDesc !== undefined && rawDesc !== null) {
    if (typeof rawDesc !== 'string') c.error('description', `expected text, got ${describeValue(rawDesc)}`);
    else description = rawDesc.trim();
  }
  return {
    name,
    description,
    mode: enumField(data, 'mode', '', c, experimentModes, experimentDefaults.mode),
    seed: intField(data, 'seed', '', c, 0, experimentLimits.seedMax, experimentDefaults.seed),
    repeat: intField(data, 'repeat', '', c, 1, experimentLimits.repeatMax, experimentDefaults.repeat),
    seeds: enumField(data, 'seeds', '', c, seedScopes, experimentDefaults.seeds),
  };
}

// ---------------------------------------------------------------------------------------------
// Fields of one run (layer 1)

interface ParsedRun {
  readonly spec: RunSpec;
  // faultIndex[k] is the position in the file's faults list of spec.faults[k] (faults that failed
  // to parse are left out).
  readonly faultIndex: readonly number[];
}

function parseRunSpec(data: Obj, header: Pick<Header, 'name' | 'mode'>, c: Collector): ParsedRun {
  const stop = parseStop(data, c);
  const warmupUs = data['warmup'] === undefined
    ? experimentDefaults.warmupUs
    : c.attempt(experimentDefaults.warmupUs, () => parseDurationUs(data['warmup'], 'warmup'));
  const cluster = parseCluster(data['cluster'], 'cluster', c);
  const network = data['network'] === undefined || data['network'] === null
    ? defaultNetworkSpec
    : c.attempt<NetworkSpec>(defaultNetworkSpec, () => parseNetworkSpec(data['network'], 'network'));
  const workload = parseWorkload(data['workload'], 'workload', c);
  const { faults, faultIndex } = parseFaults(data['faults'], 'faults', c);
  return { spec: { name: header.name, mode: header.mode, stop, warmupUs, cluster, network, workload, faults }, faultIndex };
}

function positiveDuration(value: unknown, path: string, c: Collector, fallback: number): number {
  const us = c.attempt<number | undefined>(undefined, () => parseDurationUs(value, path));
  if (us === undefined) return fallback;
  if (us <= 0) {
    c.error(path, `must be longer than 0, got ${describeValue(value)}`);
    return fallback;
  }
  return us;
}

function parseStop(data: Obj, c: Collector): StopSpec {
  const timeoutUs = data['timeout'] === undefined
    ? experimentDefaults.proposalsTimeoutUs
    : positiveDuration(data['timeout'], 'timeout', c, experimentDefaults.proposalsTimeoutUs);
  const durationUs = data['duration'] === undefined
    ? experimentDefaults.durationUs
    : positiveDuration(data['duration'], 'duration', c, experimentDefaults.durationUs);
  if (data['proposals'] !== undefined) {
    const count = intField(data, 'proposals', '', c, 1, experimentLimits.proposalsMax, 1);
    return { kind: 'proposals', count, timeoutUs };
  }
  return { kind: 'duration', durationUs };
}

function parseCluster(value: unknown, path: string, c: Collector): ClusterSpec {
  const d = experimentDefaults;
  const obj = section(value, path, c, '{ protocol: fastraft, size: 5 }');
  checkFields(obj, fieldNames(clusterTree), path, c);
  let protocol = d.protocol;
  const rawProtocol = obj['protocol'];
  if (rawProtocol !== undefined) {
    const known = protocolNames();
    if (typeof rawProtocol !== 'string' || !known.includes(rawProtocol)) {
      c.error(`${path}.protocol`, oneOfMessage(rawProtocol, known, describeValue(rawProtocol)));
    } else {
      protocol = rawProtocol;
    }
  }
  const tickUs = obj['tick'] === undefined ? d.tickUs : positiveDuration(obj['tick'], `${path}.tick`, c, d.tickUs);
  const maxSizePerMsgBytes = obj['max_size_per_msg'] === undefined
    ? d.maxSizePerMsgBytes
    : c.attempt(d.maxSizePerMsgBytes, () => parseBytes(obj['max_size_per_msg'], `${path}.max_size_per_msg`));
  return {
    protocol,
    size: intField(obj, 'size', path, c, 1, experimentLimits.sizeMax, d.size),
    storage: enumField(obj, 'storage', path, c, storageKinds, d.storage),
    sync: boolField(obj, 'sync', path, c, d.sync),
    tickUs,
    electionTicks: intField(obj, 'election_ticks', path, c, 2, experimentLimits.ticksMax, d.electionTicks),
    heartbeatTicks: intField(obj, 'heartbeat_ticks', path, c, 1, experimentLimits.ticksMax, d.heartbeatTicks),
    preVote: boolField(obj, 'pre_vote', path, c, d.preVote),
    checkQuorum: boolField(obj, 'check_quorum', path, c, d.checkQuorum),
    maxInflightMsgs: intField(obj, 'max_inflight_msgs', path, c, 1, experimentLimits.inflightMsgsMax, d.maxInflightMsgs),
    maxSizePerMsgBytes,
    fast: parseFast(obj['fast'], `${path}.fast`, c),
    disk: parseDisk(obj['disk'], `${path}.disk`, c),
    processing: parseProcessing(obj['processing'], `${path}.processing`, c),
  };
}

function parseFast(value: unknown, path: string, c: Collector): Readonly<FastConfig> {
  const f = defaultFastConfig;
  const obj = section(value, path, c, '{ window: 256 }');
  checkFields(obj, fieldNames(fastTree), path, c);
  const m = experimentLimits.fastWindowMax;
  return {
    enabled: boolField(obj, 'enabled', path, c, f.enabled),
    windowSize: intField(obj, 'window', path, c, 1, m, f.windowSize),
    sideBufferSize: intField(obj, 'side_buffer', path, c, 0, m, f.sideBufferSize),
    maxPendingProposals: intField(obj, 'max_pending', path, c, 1, m, f.maxPendingProposals),
    decisionTimeoutTicks: intField(obj, 'decision_timeout_ticks', path, c, 1, experimentLimits.ticksMax, f.decisionTimeoutTicks),
    retransmitTicks: intField(obj, 'retransmit_ticks', path, c, 1, experimentLimits.ticksMax, f.retransmitTicks),
  };
}

function parseDisk(value: unknown, path: string, c: Collector): ClusterSpec['disk'] {
  if (value === undefined || value === null) return null;
  const obj = section(value, path, c, '{ latency: 2ms }');
  checkFields(obj, ['latency'], path, c);
  if (obj['latency'] === undefined) {
    if (isPlainObject(value)) c.error(`${path}.latency`, 'required: the time to make one write durable, like 2ms or { dist: lognormal, mean: 2ms, stddev: 1ms }');
    return null;
  }
  return c.attempt<ClusterSpec['disk']>(null, () => ({ latency: parseLatencyDist(obj['latency'], `${path}.latency`) }));
}

function parseProcessing(value: unknown, path: string, c: Collector): ClusterSpec['processing'] {
  if (value === undefined || value === null) return null;
  const obj = section(value, path, c, '{ per_message: 20us }');
  checkFields(obj, ['per_message'], path, c);
  if (obj['per_message'] === undefined) {
    if (isPlainObject(value)) c.error(`${path}.per_message`, 'required: the CPU time a node spends per message, like 20us');
    return null;
  }
  return { perMessageUs: c.attempt(0, () => parseDurationUs(obj['per_message'], `${path}.per_message`)) };
}

function parseWorkload(value: unknown, path: string, c: Collector): WorkloadSpec {
  const d = experimentDefaults;
  const lim = experimentLimits;
  const obj = section(value, path, c, '{ mode: open, rate: 1000/s, clients: 8, attach: followers }');
  checkFields(obj, fieldNames(workloadTree), path, c);
  const kind = enumField(obj, 'mode', path, c, loopKinds, 'open');
  const arrival = enumField(obj, 'arrival', path, c, arrivalKinds, 'constant');
  let ratePerSec: number = d.ratePerSec;
  if (obj['rate'] !== undefined) {
    const r = c.attempt<number | undefined>(undefined, () => parseRatePerSec(obj['rate'], `${path}.rate`));
    if (r !== undefined && r > lim.ratePerSecMax) c.error(`${path}.rate`, `at most ${lim.ratePerSecMax}/s, got ${describeValue(obj['rate'])}`);
    else if (r !== undefined) ratePerSec = r;
  }
  const outstanding = intField(obj, 'outstanding', path, c, 1, lim.outstandingMax, d.outstanding);
  const proposers = obj['proposers'] === undefined || obj['proposers'] === null
    ? null
    : intField(obj, 'proposers', path, c, 1, lim.sizeMax, 1);
  let valueBytes: number = d.valueBytes;
  if (obj['value_bytes'] !== undefined) {
    const b = c.attempt<number | undefined>(undefined, () => parseBytes(obj['value_bytes'], `${path}.value_bytes`));
    if (b !== undefined && b > lim.valueBytesMax) c.error(`${path}.value_bytes`, `at most ${lim.valueBytesMax} bytes, got ${describeValue(obj['value_bytes'])}`);
    else if (b !== undefined) valueBytes = b;
  }
  return {
    loop: kind === 'open' ? { kind, arrival, ratePerSec } : { kind, outstanding },
    clients: intField(obj, 'clients', path, c, 1, lim.clientsMax, d.clients),
    attach: enumField(obj, 'attach', path, c, attachKinds, 'leader'),
    proposers,
    valueBytes,
    keys: parseKeys(obj['keys'], `${path}.keys`, c),
    conflict: obj['conflict'] === undefined ? 0 : c.attempt(0, () => parseProbability(obj['conflict'], `${path}.conflict`)),
  };
}

function parseKeys(value: unknown, path: string, c: Collector): KeyDist {
  const d = experimentDefaults;
  // `keys: 1000` is shorthand for { count: 1000, dist: uniform }.
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 1 || value > experimentLimits.keyCountMax) {
      c.error(path, `expected a key count from 1 to ${experimentLimits.keyCountMax} or a mapping like { count: 1000, dist: zipfian }, got ${value}`);
      return { dist: 'uniform', count: d.keyCount };
    }
    return { dist: 'uniform', count: value };
  }
  const obj = section(value, path, c, '{ count: 1000, dist: zipfian, theta: 0.99 }');
  checkFields(obj, fieldNames(keysTree), path, c);
  const count = intField(obj, 'count', path, c, 1, experimentLimits.keyCountMax, d.keyCount);
  const dist = enumField(obj, 'dist', path, c, keyDistKinds, 'uniform');
  switch (dist) {
    case 'uniform':
      return { dist, count };
    case 'zipfian': {
      const t = obj['theta'];
      if (t !== undefined && (typeof t !== 'number' || !Number.isFinite(t) || t <= 0 || t > 10)) {
        c.error(`${path}.theta`, `expected a skew above 0 (YCSB uses 0.99), at most 10, got ${describeValue(t)}`);
        return { dist, count, theta: d.zipfTheta };
      }
      return { dist, count, theta: typeof t === 'number' ? t : d.zipfTheta };
    }
    case 'hotspot': {
      const hotFraction = obj['hot_keys'] === undefined ? d.hotFraction : c.attempt(d.hotFraction, () => parseProbability(obj['hot_keys'], `${path}.hot_keys`));
      const hotShare = obj['hot_share'] === undefined ? d.hotShare : c.attempt(d.hotShare, () => parseProbability(obj['hot_share'], `${path}.hot_share`));
      if (hotFraction === 0) c.error(`${path}.hot_keys`, 'the hot set needs some keys: expected a share above 0, like 1%');
      return { dist, count, hotFraction, hotShare };
    }
    default: {
      const unreachable: never = dist;
      throw new Error(`unhandled key distribution ${String(unreachable)}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Faults

// The duration field that undoes each action, when the action has one.
const undoField: Partial<Record<FaultKind, string>> = {
  crash: 'restart_after',
  pause: 'resume_after',
  isolate: 'heal_after',
  partition: 'heal_after',
  network: 'revert_after',
};
const undoFields = ['restart_after', 'resume_after', 'heal_after', 'revert_after'];
const faultFields: readonly string[] = ['at', ...faultKinds, ...undoFields];
const faultExample = '{ at: 6s, crash: leader, restart_after: 2s }';

function parseFaults(value: unknown, path: string, c: Collector): { faults: FaultSpec[]; faultIndex: number[] } {
  const faults: FaultSpec[] = [];
  const faultIndex: number[] = [];
  if (value === undefined || value === null) return { faults, faultIndex };
  if (!Array.isArray(value)) {
    c.error(path, `expected a list of faults like [ ${faultExample} ], got ${describeValue(value)}`);
    return { faults, faultIndex };
  }
  value.forEach((item: unknown, i: number) => {
    const p = itemPath(path, i);
    const before = c.errorCount;
    const f = parseFault(item, p, c);
    if (f !== undefined && c.errorCount === before) {
      faults.push(f);
      faultIndex.push(i);
    }
  });
  return { faults, faultIndex };
}

function parseFault(item: unknown, path: string, c: Collector): FaultSpec | undefined {
  if (!isPlainObject(item)) {
    c.error(path, `expected a fault like ${faultExample}, got ${describeValue(item)}`);
    return undefined;
  }
  checkFields(item, faultFields, path, c);
  let atUs = 0;
  if (item['at'] === undefined) c.error(`${path}.at`, 'required: when the fault fires, like 6s (from the start of the run)');
  else atUs = c.attempt(0, () => parseDurationUs(item['at'], `${path}.at`));
  const kinds = faultKinds.filter((k) => item[k] !== undefined);
  if (kinds.length === 0) {
    c.error(path, `a fault needs one action: ${faultKinds.join(', ')}`);
    return undefined;
  }
  if (kinds.length > 1) {
    c.error(`${path}.${kinds[1]!}`, `one action per fault: this one has ${kinds.join(' and ')} (write one fault for each)`);
    return undefined;
  }
  const kind = kinds[0]!;
  for (const f of undoFields) {
    if (item[f] !== undefined && undoField[kind] !== f) {
      const owners = Object.entries(undoField).filter(([, v]) => v === f).map(([k]) => k);
      c.error(`${path}.${f}`, `${f} goes with ${owners.join(' or ')}, not with ${kind}`, true);
    }
  }
  const undo = (): number | null => {
    const f = undoField[kind];
    if (f === undefined || item[f] === undefined || item[f] === null) return null;
    return positiveDuration(item[f], `${path}.${f}`, c, 1);
  };
  const at = `${path}.${kind}`;
  let action: FaultAction;
  switch (kind) {
    case 'crash':
    case 'pause':
    case 'isolate': {
      const target = parseNodeTarget(item[kind], at, c);
      if (target === undefined) return undefined;
      const after = undo();
      action = kind === 'crash'
        ? { kind, target, restartAfterUs: after }
        : kind === 'pause'
          ? { kind, target, resumeAfterUs: after }
          : { kind, target, healAfterUs: after };
      break;
    }
    case 'restart':
    case 'resume': {
      const target = parseDownTarget(item[kind], at, c);
      if (target === undefined) return undefined;
      action = { kind, target };
      break;
    }
    case 'partition': {
      const partitions = c.attempt<readonly Partition[] | undefined>(undefined, () => parsePartition(item[kind], at));
      if (partitions === undefined) return undefined;
      action = { kind, partitions, healAfterUs: undo() };
      break;
    }
    case 'network': {
      const change = parseNetworkChange(item[kind], at, c);
      if (change === undefined) return undefined;
      action = { kind, change, revertAfterUs: undo() };
      break;
    }
    case 'heal':
      if (item[kind] !== true) {
        c.error(at, `write heal: true, got ${describeValue(item[kind])}`);
        return undefined;
      }
      action = { kind };
      break;
    default: {
      const unreachable: never = kind;
      throw new Error(`unhandled fault kind ${String(unreachable)}`);
    }
  }
  return { atUs, action };
}

const TARGET_EXPECTED = `expected ${nodeTargetNames.join(', ')} or a node id`;

function nodeId(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^[0-9]+$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= nodeIdMax ? n : undefined;
}

function parseNodeTarget(value: unknown, path: string, c: Collector): NodeTarget | undefined {
  if (value === 'leader' || value === 'follower' || value === 'random') return { kind: value };
  const id = nodeId(value);
  if (id !== undefined) return { kind: 'node', id };
  const guess = typeof value === 'string' ? suggest(value, nodeTargetNames) : undefined;
  c.error(path, `${TARGET_EXPECTED}, got ${describeValue(value)}${guess === undefined ? '' : ` (did you mean ${JSON.stringify(guess)}?)`}`);
  return undefined;
}

function parseDownTarget(value: unknown, path: string, c: Collector): DownTarget | undefined {
  if (value === 'all') return { kind: 'all' };
  const id = nodeId(value);
  if (id !== undefined) return { kind: 'node', id };
  c.error(path, `expected a node id or all (every node an earlier fault took down), got ${describeValue(value)}`);
  return undefined;
}

// Link fields as written -> LinkSpec keys.
const linkKeys: ReadonlyArray<readonly [string, keyof LinkPatch]> = [
  ['latency', 'latency'],
  ['jitter', 'jitterUs'],
  ['loss', 'loss'],
  ['duplicate', 'duplicate'],
  ['reorder', 'reorder'],
  ['reorder_delay', 'reorderDelayUs'],
];

function parseNetworkChange(value: unknown, path: string, c: Collector): NetworkChange | undefined {
  if (!isPlainObject(value) || Object.keys(value).length === 0) {
    c.error(path, `expected the network settings to change, like { latency: 20ms, loss: 1% }, got ${describeValue(value)}`);
    return undefined;
  }
  const spec = c.attempt<NetworkSpec | undefined>(undefined, () => parseNetworkSpec(value, path));
  if (spec === undefined) return undefined;
  const link: Record<string, unknown> = {};
  for (const [written, key] of linkKeys) {
    if (value[written] !== undefined) link[key] = spec.link[key];
  }
  return { link: link as LinkPatch, overrides: spec.overrides, partitions: spec.partitions };
}

// ---------------------------------------------------------------------------------------------
// Node ids named in network settings, with where they are written

interface NodeRef {
  readonly id: number;
  readonly path: string;
  readonly atKey: boolean;
}

const LINK_KEY = /^\s*([0-9]+|\*)\s*(?:->|<->)\s*([0-9]+|\*)\s*$/;

function refsOfValue(value: unknown, path: string, out: NodeRef[]): void {
  const id = nodeId(value);
  if (id !== undefined) out.push({ id, path, atKey: false });
}

function refsOfLinkKey(key: unknown, path: string, atKey: boolean, out: NodeRef[]): void {
  if (typeof key !== 'string') return;
  const m = LINK_KEY.exec(key);
  if (m === null) return;
  for (const g of [m[1]!, m[2]!]) if (g !== '*') out.push({ id: Number(g), path, atKey });
}

function refsOfPartition(item: unknown, path: string, out: NodeRef[]): void {
  const groups = (g: unknown, p: string): void => {
    if (!Array.isArray(g)) return;
    g.forEach((grp: unknown, i: number) => {
      if (Array.isArray(grp)) grp.forEach((id: unknown, j: number) => refsOfValue(id, `${p}[${i}][${j}]`, out));
    });
  };
  if (Array.isArray(item)) return groups(item, path);
  if (!isPlainObject(item)) return;
  groups(item['groups'], `${path}.groups`);
  const iso = item['isolate'];
  if (Array.isArray(iso)) iso.forEach((id: unknown, j: number) => refsOfValue(id, `${path}.isolate[${j}]`, out));
  else refsOfValue(iso, `${path}.isolate`, out);
  refsOfLinkKey(item['cut'], `${path}.cut`, false, out);
}

function refsOfNetwork(value: unknown, path: string, out: NodeRef[]): void {
  if (!isPlainObject(value)) return;
  const links = value['links'];
  if (isPlainObject(links)) {
    for (const key of Object.keys(links)) refsOfLinkKey(key, childPath(`${path}.links`, key), true, out);
  } else if (Array.isArray(links)) {
    links.forEach((l: unknown, i: number) => {
      if (!isPlainObject(l)) return;
      const p = itemPath(`${path}.links`, i);
      refsOfValue(l['from'], `${p}.from`, out);
      refsOfValue(l['to'], `${p}.to`, out);
      const b = l['between'];
      if (Array.isArray(b)) b.forEach((id: unknown, j: number) => refsOfValue(id, `${p}.between[${j}]`, out));
    });
  }
  const parts = value['partitions'];
  if (Array.isArray(parts)) parts.forEach((p: unknown, i: number) => refsOfPartition(p, itemPath(`${path}.partitions`, i), out));
}

// ---------------------------------------------------------------------------------------------
// Combinations within one run (layer 2)

function targetNodeId(t: NodeTarget | DownTarget): number | undefined {
  return t.kind === 'node' ? t.id : undefined;
}

function checkRun(parsed: ParsedRun, data: Obj, c: Collector): void {
  const { spec, faultIndex } = parsed;
  const ok = (...paths: string[]): boolean => !paths.some((p) => c.failed(p));
  const fmt = formatDurationUs;

  // When the run ends.
  if (has(data, 'duration') && has(data, 'proposals')) {
    c.error('proposals', 'give either duration or proposals, not both: a run ends at a time or after a number of proposals');
  }
  if (has(data, 'timeout') && ok('proposals') && spec.stop.kind === 'duration') {
    c.markUnused('timeout', 'timeout bounds a run that ends after a number of proposals; every run here ends at its duration');
  }
  const endUs = spec.stop.kind === 'duration' ? spec.stop.durationUs : null;
  if (endUs !== null && ok('warmup', 'duration') && spec.warmupUs >= endUs) {
    c.error('warmup', `the warm-up (${fmt(spec.warmupUs)}) must be shorter than the duration (${fmt(endUs)}), or nothing is measured`);
  }
  if (spec.stop.kind === 'proposals' && ok('warmup', 'timeout') && spec.warmupUs >= spec.stop.timeoutUs) {
    c.error('warmup', `the warm-up (${fmt(spec.warmupUs)}) must be shorter than the timeout (${fmt(spec.stop.timeoutUs)})`);
  }

  // Cluster.
  const cl = spec.cluster;
  const size = ok('cluster.size') ? cl.size : undefined;
  if (ok('cluster.election_ticks', 'cluster.heartbeat_ticks') && cl.electionTicks <= cl.heartbeatTicks) {
    c.error('cluster.election_ticks', `must be greater than heartbeat_ticks (${cl.heartbeatTicks}), or followers campaign between two heartbeats`);
  }
  if (has(data, 'cluster.fast') && ok('cluster.protocol') && cl.protocol === 'raft') {
    c.markUnused('cluster.fast', 'Fast Raft options, but every run uses protocol raft, which has no fast track');
  }
  if (spec.mode === 'live') {
    for (const f of ['disk', 'processing']) {
      if (has(data, `cluster.${f}`)) {
        c.error(`cluster.${f}`, `a modelled cost exists only in the simulator (mode: sim); a live run pays the real one`, true);
      }
    }
  }

  // Workload.
  const w = spec.workload;
  const loop = w.loop;
  if (ok('workload.mode')) {
    if (loop.kind === 'closed') {
      for (const f of ['rate', 'arrival']) {
        if (has(data, `workload.${f}`)) {
          c.markUnused(`workload.${f}`, `${f} is for open-loop workloads; every run here is closed-loop (each client sends when an answer comes back; set outstanding)`);
        }
      }
    } else {
      if (has(data, 'workload.outstanding')) {
        c.markUnused('workload.outstanding', 'outstanding is for closed-loop workloads (mode: closed); an open-loop client sends on schedule');
      }
      if (ok('workload.rate') && loop.ratePerSec === 0) c.error('workload.rate', 'an open-loop workload needs a rate above 0');
    }
  }
  const distOk = ok('workload.keys.dist');
  if (distOk && w.keys.dist !== 'zipfian' && has(data, 'workload.keys.theta')) {
    c.markUnused('workload.keys.theta', 'theta is the skew of dist: zipfian; no run here uses it');
  }
  for (const f of ['hot_keys', 'hot_share']) {
    if (distOk && w.keys.dist !== 'hotspot' && has(data, `workload.keys.${f}`)) {
      c.markUnused(`workload.keys.${f}`, `${f} is a parameter of dist: hotspot; no run here uses it`);
    }
  }
  if (size !== undefined && ok('workload.attach')) {
    if (w.attach === 'followers' && size === 1) c.error('workload.attach', 'a 1-node cluster has no followers');
  }
  if (w.proposers !== null && ok('workload.proposers')) {
    const p = w.proposers;
    if (size !== undefined && p > size) {
      c.error('workload.proposers', `${p} proposers on different nodes need at least ${p} nodes; the cluster has ${size}`, false,
        `${p} proposers on different nodes need at least ${p} nodes`);
    } else if (ok('workload.attach') && w.attach === 'leader' && p > 1) {
      c.error('workload.proposers', `attach: leader puts every client on the leader, so there is 1 proposer, not ${p} (use attach: all or followers)`);
    } else if (ok('workload.attach') && w.attach === 'followers' && size !== undefined && p > size - 1) {
      c.error('workload.proposers', `${p} proposers on followers need at least ${p + 1} nodes; the cluster has ${size}`, false,
        `${p} proposers on followers need at least ${p + 1} nodes`);
    }
    if (ok('workload.clients') && p > w.clients) {
      c.error('workload.proposers', `${p} proposing nodes need at least ${p} clients (one per node); there are ${w.clients}`);
    }
  }

  // Node ids must exist.
  const refs: NodeRef[] = [];
  refsOfNetwork(data['network'], 'network', refs);
  const rawFaults = Array.isArray(data['faults']) ? (data['faults'] as unknown[]) : [];
  spec.faults.forEach((f, k) => {
    const p = itemPath('faults', faultIndex[k]!);
    const raw = rawFaults[faultIndex[k]!] as Obj;
    const at = `${p}.${f.action.kind}`;
    const a = f.action;
    if (a.kind === 'crash' || a.kind === 'pause' || a.kind === 'isolate' || a.kind === 'restart' || a.kind === 'resume') {
      const id = targetNodeId(a.target);
      if (id !== undefined) refs.push({ id, path: at, atKey: false });
      if (a.target.kind === 'follower' && size === 1) c.error(at, 'a 1-node cluster has no followers');
    } else if (a.kind === 'partition') {
      refsOfPartition(raw['partition'], at, refs);
    } else if (a.kind === 'network') {
      refsOfNetwork(raw['network'], at, refs);
    }
    // When it fires.
    if (endUs !== null && ok('duration')) {
      if (f.atUs >= endUs) {
        c.error(`${p}.at`, `${fmt(f.atUs)} is not before the end of the run (duration ${fmt(endUs)}): the fault would never fire`);
        return;
      }
      const undo = a.kind === 'crash' ? a.restartAfterUs : a.kind === 'pause' ? a.resumeAfterUs
        : a.kind === 'isolate' || a.kind === 'partition' ? a.healAfterUs : a.kind === 'network' ? a.revertAfterUs : null;
      if (undo !== null && f.atUs + undo >= endUs) {
        c.warn(`${p}.${undoField[a.kind]!}`, `${fmt(f.atUs)} + ${fmt(undo)} is past the end of the run (duration ${fmt(endUs)}): it is never undone`);
      }
    }
    if (ok('warmup') && f.atUs < spec.warmupUs) {
      c.warn(`${p}.at`, `fires during the warm-up (${fmt(spec.warmupUs)}), which is not measured`);
    }
  });
  if (size !== undefined) {
    for (const r of refs) {
      if (r.id > size && !c.failed(r.path)) {
        c.error(r.path, `node ${r.id} does not exist in a ${size}-node cluster (ids 1 to ${size})`, r.atKey, `node ${r.id} does not exist in the cluster`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Sweep axes

interface Axis {
  readonly path: string;
  readonly segments: readonly string[];
  // The field path as issues name it (`network.links["1->2"].latency`).
  readonly fieldPath: string;
  // Where the axis is written (`sweep["cluster.size"]`).
  readonly sweepPath: string;
  readonly values: readonly unknown[];
}

const unsweepable: Readonly<Record<string, string>> = {
  name: 'one experiment has one name',
  description: 'one experiment has one description',
  mode: 'one experiment runs on one driver (write a second file for mode: live)',
  seed: 'repeat: already gives each run its own seed',
  repeat: 'write repeat: once; it applies to every point',
  seeds: 'one experiment derives its seeds one way',
  sweep: 'a sweep cannot sweep itself',
};

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isPlainObject(value)) {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

// checkSweepKey walks a dotted path down the field tree; it returns an error message or undefined.
function checkSweepKey(key: string): string | undefined {
  const segments = key.split('.');
  if (segments.some((s) => s.trim() === '')) return `expected a dotted field path like cluster.size, got ${JSON.stringify(key)}`;
  const root = segments[0]!;
  const why = unsweepable[root];
  if (why !== undefined) return `${root} cannot be swept: ${why}`;
  let tree: FieldTree | null = experimentTree;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const prefix = segments.slice(0, i).join('.');
    if (tree === null) return `${prefix} holds a value, not fields: it has no field ${JSON.stringify(seg)}`;
    if (seg in tree) {
      tree = tree[seg]!;
      continue;
    }
    if (anyKey in tree) {
      tree = tree[anyKey]!;
      continue;
    }
    const names = fieldNames(tree).filter((n) => i > 0 || unsweepable[n] === undefined);
    const guess = suggest(seg, names);
    const whole = (g: string): string => (prefix === '' ? g : `${prefix}.${g}`);
    if (guess !== undefined) return `unknown field ${JSON.stringify(seg)} in ${JSON.stringify(key)} (did you mean ${JSON.stringify(whole(guess))}?)`;
    return `unknown field ${JSON.stringify(seg)} in ${JSON.stringify(key)} (${prefix === '' ? 'fields' : prefix} has: ${names.join(', ')})`;
  }
  return undefined;
}

function parseSweep(data: Obj, c: Collector): Axis[] {
  const raw = data['sweep'];
  const axes: Axis[] = [];
  if (raw === undefined || raw === null) return axes;
  if (!isPlainObject(raw)) {
    c.error('sweep', `expected a mapping of field paths to lists of values, like { cluster.size: [3, 5, 7] }, got ${describeValue(raw)}`);
    return axes;
  }
  for (const [key, values] of Object.entries(raw)) {
    const sweepPath = childPath('sweep', key);
    const keyProblem = checkSweepKey(key);
    if (keyProblem !== undefined) {
      c.error(sweepPath, keyProblem, true);
      continue;
    }
    if (!Array.isArray(values)) {
      c.error(sweepPath, `expected a list of values like [3, 5, 7], got ${describeValue(values)} (a single value belongs at the field itself)`);
      continue;
    }
    if (values.length === 0) {
      c.error(sweepPath, 'an axis needs at least one value');
      continue;
    }
    const seen = new Map<string, number>();
    let repeated = false;
    values.forEach((v: unknown, i: number) => {
      const k = canonical(v);
      const first = seen.get(k);
      if (first !== undefined) {
        c.error(itemPath(sweepPath, i), `repeats item ${first} (${describeValue(v)}): each value of an axis must be different`);
        repeated = true;
      } else {
        seen.set(k, i);
      }
    });
    const segments = key.split('.');
    const overlap = axes.find((a) => isUnder(key, a.path) || isUnder(a.path, key));
    if (overlap !== undefined) {
      c.error(sweepPath, `overlaps sweep key ${JSON.stringify(overlap.path)}: sweep one or the other`, true);
      continue;
    }
    const set = setIn(data, segments, values[0]);
    if (!set.ok) {
      const prefix = segments.slice(0, set.blockedAt).join('.');
      c.error(sweepPath, `cannot sweep ${key}: ${prefix} is written as ${describeValue(getPrefix(data, segments.slice(0, set.blockedAt)))} in the file, not as a mapping (sweep ${prefix} instead)`, true);
      continue;
    }
    if (repeated) continue;
    const fieldPath = segments.reduce((p, s) => childPath(p, s), '');
    axes.push({ path: key, segments, fieldPath, sweepPath, values });
  }
  return axes;
}

function getPrefix(data: Obj, segments: readonly string[]): unknown {
  let node: unknown = data;
  for (const s of segments) node = isPlainObject(node) ? node[s] : undefined;
  return node;
}

// ---------------------------------------------------------------------------------------------
// Every point of the matrix (layers 2 and 3)

interface Found {
  readonly issue: RawIssue;
  // The points (tuples of value indices, joined) where it was found.
  readonly points: string[];
  // Axis whose value it was reported at, if any; its value index.
  readonly axis: number;
  readonly axisValue: number;
  // Whether its specific message differed between points (then the general one is shown).
  varied: boolean;
}

function issueKey(i: RawIssue): string {
  return `${i.severity}\u0000${i.path}\u0000${i.message}`;
}

function checkPoints(data: Obj, header: Header, axes: readonly Axis[], baseIssues: readonly RawIssue[]): RawIssue[] {
  const baseKeys = new Set(baseIssues.map(issueKey));
  const found = new Map<string, Found>();
  const unusedSeen = new Map<string, { present: number; unused: number; message: string }>();
  const lengths = axes.map((a) => a.values.length);
  const total = lengths.reduce((n, l) => n * l, 1);
  const tuple = new Array<number>(axes.length).fill(0);
  for (let point = 0; point < total; point++) {
    // Mixed radix, last axis fastest: the matrix order.
    for (let i = axes.length - 1, rest = point; i >= 0; i--) {
      tuple[i] = rest % lengths[i]!;
      rest = Math.floor(rest / lengths[i]!);
    }
    let d: Obj = data;
    axes.forEach((a, i) => {
      const r = setIn(d, a.segments, a.values[tuple[i]!]);
      if (r.ok) d = r.data;
    });
    const c = new Collector();
    const parsed = parseRunSpec(d, header, c);
    checkRun(parsed, d, c);
    const pointKey = tuple.join(',');
    for (const raw of c.issues) {
      let issue = raw;
      let axis = -1;
      axes.forEach((a, i) => {
        if (axis < 0 && isUnder(raw.path, a.fieldPath)) {
          axis = i;
          issue = { ...raw, path: itemPath(a.sweepPath, tuple[i]!) + raw.path.slice(a.fieldPath.length) };
        }
      });
      if (axis < 0 && baseKeys.has(issueKey(issue))) continue;
      const key = issueKey({ ...issue, message: issue.general ?? issue.message });
      const f = found.get(key);
      if (f === undefined) {
        found.set(key, { issue, points: [pointKey], axis, axisValue: axis < 0 ? -1 : tuple[axis]!, varied: false });
      } else {
        f.points.push(pointKey);
        if (f.issue.message !== issue.message) f.varied = true;
      }
    }
    // Fields written at this point, and which of them the point does not use.
    const unusedHere = new Map(c.unused.map((u) => [u.path, u.message]));
    for (const path of conditionalFields) {
      if (!has(d, path)) continue;
      const u = unusedSeen.get(path) ?? { present: 0, unused: 0, message: '' };
      u.present++;
      const msg = unusedHere.get(path);
      if (msg !== undefined) {
        u.unused++;
        u.message = msg;
      }
      unusedSeen.set(path, u);
    }
  }
  const out: RawIssue[] = [];
  for (const f of found.values()) {
    const scope = f.axis < 0 ? total : total / lengths[f.axis]!;
    const label = f.points.length < scope ? pointLabel(axes, lengths, f) : '';
    const message = f.varied ? f.issue.general ?? f.issue.message : f.issue.message;
    out.push({ path: f.issue.path, atKey: f.issue.atKey, severity: f.issue.severity, message: label === '' ? message : `${message} (${label})` });
  }
  for (const [path, u] of unusedSeen) {
    if (u.present === 0 || u.unused < u.present) continue;
    const axis = axes.find((a) => isUnder(a.fieldPath, path) || isUnder(path, a.fieldPath));
    const at = has(data, path) || axis === undefined ? path : axis.sweepPath;
    out.push({ path: at, message: u.message, atKey: true, severity: 'error' });
  }
  return out;
}

// Fields that apply only under a condition another field sets (see Collector.markUnused).
const conditionalFields = [
  'timeout',
  'cluster.fast',
  'workload.rate',
  'workload.arrival',
  'workload.outstanding',
  'workload.keys.theta',
  'workload.keys.hot_keys',
  'workload.keys.hot_share',
];

function showValue(v: unknown): string {
  return typeof v === 'string' ? v : canonical(v);
}

// pointLabel says which points an issue holds in, naming only the axes it depends on: an axis is
// irrelevant when changing its value never takes a failing point to a passing one.
function pointLabel(axes: readonly Axis[], lengths: readonly number[], f: Found): string {
  const failing = new Set(f.points);
  const tuples = f.points.map((p) => p.split(',').map(Number));
  const relevant: number[] = [];
  axes.forEach((_, i) => {
    if (i === f.axis) return;
    const matters = tuples.some((t) => {
      for (let v = 0; v < lengths[i]!; v++) {
        const u = t.slice();
        u[i] = v;
        if (!failing.has(u.join(','))) return true;
      }
      return false;
    });
    if (matters) relevant.push(i);
  });
  const count = `${f.points.length} of ${f.axis < 0 ? lengths.reduce((n, l) => n * l, 1) : lengths.reduce((n, l) => n * l, 1) / lengths[f.axis]!} sweep points`;
  if (relevant.length === 1) {
    const i = relevant[0]!;
    const vals = [...new Set(tuples.map((t) => t[i]!))].sort((a, b) => a - b).map((v) => showValue(axes[i]!.values[v]));
    const list = vals.length === 1 ? vals[0]! : `${vals.slice(0, -1).join(', ')} or ${vals[vals.length - 1]!}`;
    return `when ${axes[i]!.path} is ${list}`;
  }
  const first = tuples[0]!;
  const shown = (relevant.length === 0 ? axes.map((_, i) => i).filter((i) => i !== f.axis) : relevant)
    .map((i) => `${axes[i]!.path}=${showValue(axes[i]!.values[first[i]!])}`);
  return `e.g. when ${shown.join(', ')}; ${count}`;
}

// ---------------------------------------------------------------------------------------------
// Positions

interface Located {
  readonly severity: RawIssue['severity'];
  readonly issue: ExperimentIssue;
}

function locateAll(src: YamlSource, file: string, issues: readonly RawIssue[]): Located[] {
  const seen = new Set<string>();
  const out: (Located & { readonly order: number })[] = [];
  issues.forEach((i, order) => {
    const key = issueKey(i);
    if (seen.has(key)) return;
    seen.add(key);
    const pos = src.locate(i.path, i.atKey);
    out.push({ severity: i.severity, order, issue: { file, path: i.path, line: pos.line, column: pos.column, message: i.message } });
  });
  out.sort((a, b) => a.issue.line - b.issue.line || a.issue.column - b.issue.column || a.order - b.order);
  return out.map(({ severity, issue }) => ({ severity, issue }));
}

