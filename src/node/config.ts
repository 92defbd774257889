// cluster.json: everything a live node process needs to know about its cluster, written by
// `frb cluster up` (or by hand) and read by every `frb node`. One file for the whole cluster, so
// that every member starts from the same description; each process picks its own entry by id.
//
//   {
//     "schema": 1,
//     "clusterId": "frb-3f9a01c2",          folder-safe; names the LMDB stores and the wire's cluster
//     "secret": "<64 hex digits>",          HMAC key of peer, client and control authentication
//     "protocol": "fastraft",               a name from src/core/protocols.ts
//     "fast": { "windowSize": 256 },        Fast Raft options (core/fast-config.ts), optional
//     "storage": "lmdb", "sync": true,      memory | lmdb; sync: fsync before messages leave
//     "dataDir": "data",                    relative to this file's folder; logs and stores go here
//     "tickMs": 10, "electionTicks": 10, "heartbeatTicks": 1,
//     "preVote": true, "checkQuorum": true,
//     "maxSizePerMsgBytes": 1048576, "maxInflightMsgs": 256,
//     "snapshotEntries": 10000, "snapshotKeepEntries": 1000,
//     "requestTimeoutMs": 5000,
//     "transport": "uws",                   uws | ws
//     "network": { "latency": "1ms" },      initial injected faults (src/faults syntax), optional
//     "nodes": [ { "id": 1, "host": "127.0.0.1", "port": 40001 }, ... ]
//   }
//
// Validation reports every problem with its field path in one ClusterConfigError, whose message
// starts with the file name so that the CLI can print it as one line.

import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import * as path from 'node:path';
import { protocolNames } from '../core/protocols.js';
import { defaultFastConfig, type FastConfig } from '../core/fast-config.js';
import { SpecError, describeValue, isPlainObject, networkSpecToPlain, nodeIdMax, parseNetworkSpec, type NetworkSpec } from '../faults/index.js';
import { secretBytesMin } from '../transport/index.js';

export const CLUSTER_FILE = 'cluster.json';
export const CONFIG_SCHEMA = 1;

export type StorageKind = 'memory' | 'lmdb';
export type TransportKind = 'uws' | 'ws';

export interface NodeAddress {
  readonly id: number;
  readonly host: string;
  readonly port: number;
}

export interface ClusterConfig {
  readonly schema: 1;
  readonly clusterId: string;
  readonly secret: string;
  readonly protocol: string;
  readonly fast: Readonly<Partial<FastConfig>>;
  readonly storage: StorageKind;
  readonly sync: boolean;
  // As written in the file (relative paths are relative to the file's folder); see dataDirOf.
  readonly dataDir: string;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxSizePerMsgBytes: number;
  readonly maxInflightMsgs: number;
  // Snapshot the KV state (and compact the log) every this many applied entries, keeping this
  // many entries behind the snapshot for slightly lagging followers.
  readonly snapshotEntries: number;
  readonly snapshotKeepEntries: number;
  // A client request the node has not answered within this time is answered `timeout` (the
  // client retries; writes are deduplicated by their session).
  readonly requestTimeoutMs: number;
  readonly transport: TransportKind;
  readonly network: NetworkSpec | null;
  readonly nodes: readonly NodeAddress[];
}

export const clusterConfigDefaults = {
  protocol: 'raft',
  storage: 'memory' as StorageKind,
  sync: true,
  dataDir: '.',
  tickMs: 10,
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  maxSizePerMsgBytes: 1024 * 1024,
  maxInflightMsgs: 256,
  snapshotEntries: 10_000,
  snapshotKeepEntries: 1_000,
  requestTimeoutMs: 5_000,
  transport: 'uws' as TransportKind,
} as const;

// Limits on what a file may ask for; beyond them it is a typo, not an experiment.
export const configLimits = {
  nodesMax: 64,
  tickMsMax: 10_000,
  ticksMax: 10_000,
  snapshotEntriesMax: 100_000_000,
  requestTimeoutMsMax: 600_000,
} as const;

export class ClusterConfigError extends Error {
  override name = 'ClusterConfigError';
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file}: ${problems.length === 1 ? problems[0]! : `${problems.length} problems: ${problems.join('; ')}`}`);
  }
}

const knownFields = [
  'schema', 'clusterId', 'secret', 'protocol', 'fast', 'storage', 'sync', 'dataDir', 'tickMs', 'electionTicks',
  'heartbeatTicks', 'preVote', 'checkQuorum', 'maxSizePerMsgBytes', 'maxInflightMsgs', 'snapshotEntries',
  'snapshotKeepEntries', 'requestTimeoutMs', 'transport', 'network', 'nodes',
];

const fastFields: readonly (keyof FastConfig)[] = Object.keys(defaultFastConfig) as (keyof FastConfig)[];

// parseClusterConfig validates plain data (JSON.parse of cluster.json). `file` names it in errors.
export function parseClusterConfig(value: unknown, file = CLUSTER_FILE): ClusterConfig {
  const problems: string[] = [];
  const bad = (field: string, msg: string): void => {
    problems.push(`${field}: ${msg}`);
  };
  if (!isPlainObject(value)) throw new ClusterConfigError(file, [`expected a JSON object, got ${describeValue(value)}`]);
  const o = value;
  for (const k of Object.keys(o)) if (!knownFields.includes(k)) bad(k, `unknown field (expected one of: ${knownFields.join(', ')})`);

  const int = (field: string, min: number, max: number, dflt: number | undefined): number => {
    const v = o[field];
    if (v === undefined) {
      if (dflt === undefined) bad(field, 'missing');
      return dflt ?? min;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      bad(field, `expected an integer in [${min}, ${max}], got ${describeValue(v)}`);
      return dflt ?? min;
    }
    return v;
  };
  const bool = (field: string, dflt: boolean): boolean => {
    const v = o[field];
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') {
      bad(field, `expected true or false, got ${describeValue(v)}`);
      return dflt;
    }
    return v;
  };
  const oneOf = <T extends string>(field: string, allowed: readonly T[], dflt: T): T => {
    const v = o[field];
    if (v === undefined) return dflt;
    if (typeof v !== 'string' || !allowed.includes(v as T)) {
      bad(field, `expected one of ${allowed.join(', ')}, got ${describeValue(v)}`);
      return dflt;
    }
    return v as T;
  };

  if (o['schema'] !== undefined && o['schema'] !== CONFIG_SCHEMA) bad('schema', `expected ${CONFIG_SCHEMA}, got ${describeValue(o['schema'])}`);
  const clusterId = typeof o['clusterId'] === 'string' ? o['clusterId'] : '';
  if (o['clusterId'] === undefined) bad('clusterId', 'missing');
  else if (!/^[A-Za-z0-9._-]{1,64}$/.test(clusterId)) bad('clusterId', `expected 1-64 letters, digits, '.', '_' or '-', got ${describeValue(o['clusterId'])}`);
  const secret = typeof o['secret'] === 'string' ? o['secret'] : '';
  if (o['secret'] === undefined) bad('secret', 'missing (frb cluster up writes a random one)');
  else if (typeof o['secret'] !== 'string' || Buffer.byteLength(secret) < secretBytesMin) {
    bad('secret', `expected a string of at least ${secretBytesMin} bytes (random hex is best)`);
  }
  const protocol = typeof o['protocol'] === 'string' ? o['protocol'] : clusterConfigDefaults.protocol;
  if (o['protocol'] !== undefined && (typeof o['protocol'] !== 'string' || !protocolNames().includes(o['protocol']))) {
    bad('protocol', `expected one of ${protocolNames().join(', ')}, got ${describeValue(o['protocol'])}`);
  }
  const fast: Partial<FastConfig> = {};
  if (o['fast'] !== undefined) {
    if (!isPlainObject(o['fast'])) bad('fast', `expected a mapping of Fast Raft options, got ${describeValue(o['fast'])}`);
    else {
      for (const [k, v] of Object.entries(o['fast'])) {
        if (!fastFields.includes(k as keyof FastConfig)) {
          bad(`fast.${k}`, `unknown Fast Raft option (expected one of: ${fastFields.join(', ')})`);
        } else if (k === 'enabled') {
          if (typeof v !== 'boolean') bad('fast.enabled', `expected true or false, got ${describeValue(v)}`);
          else fast.enabled = v;
        } else if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 1_000_000) {
          bad(`fast.${k}`, `expected an integer in [1, 1000000], got ${describeValue(v)}`);
        } else {
          (fast as Record<string, number>)[k] = v;
        }
      }
    }
  }
  const storage = oneOf<StorageKind>('storage', ['memory', 'lmdb'], clusterConfigDefaults.storage);
  const sync = bool('sync', clusterConfigDefaults.sync);
  let dataDir: string = clusterConfigDefaults.dataDir;
  if (o['dataDir'] !== undefined) {
    if (typeof o['dataDir'] !== 'string' || o['dataDir'].length === 0) bad('dataDir', `expected a folder path, got ${describeValue(o['dataDir'])}`);
    else dataDir = o['dataDir'];
  }
  const tickMs = int('tickMs', 1, configLimits.tickMsMax, clusterConfigDefaults.tickMs);
  const electionTicks = int('electionTicks', 2, configLimits.ticksMax, clusterConfigDefaults.electionTicks);
  const heartbeatTicks = int('heartbeatTicks', 1, configLimits.ticksMax, clusterConfigDefaults.heartbeatTicks);
  if (electionTicks <= heartbeatTicks) bad('electionTicks', `must exceed heartbeatTicks (${heartbeatTicks}), got ${electionTicks}`);
  const preVote = bool('preVote', clusterConfigDefaults.preVote);
  const checkQuorum = bool('checkQuorum', clusterConfigDefaults.checkQuorum);
  const maxSizePerMsgBytes = int('maxSizePerMsgBytes', 1, 64 * 1024 * 1024, clusterConfigDefaults.maxSizePerMsgBytes);
  const maxInflightMsgs = int('maxInflightMsgs', 1, 1_000_000, clusterConfigDefaults.maxInflightMsgs);
  const snapshotEntries = int('snapshotEntries', 1, configLimits.snapshotEntriesMax, clusterConfigDefaults.snapshotEntries);
  const snapshotKeepEntries = int('snapshotKeepEntries', 0, configLimits.snapshotEntriesMax, clusterConfigDefaults.snapshotKeepEntries);
  const requestTimeoutMs = int('requestTimeoutMs', 1, configLimits.requestTimeoutMsMax, clusterConfigDefaults.requestTimeoutMs);
  const transport = oneOf<TransportKind>('transport', ['uws', 'ws'], clusterConfigDefaults.transport);
  let network: NetworkSpec | null = null;
  if (o['network'] !== undefined && o['network'] !== null) {
    try {
      network = parseNetworkSpec(o['network'], 'network');
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
      for (const i of err.issues) problems.push(`${i.path}: ${i.message}`);
    }
  }
  const nodes: NodeAddress[] = [];
  if (!Array.isArray(o['nodes']) || o['nodes'].length === 0) {
    bad('nodes', `expected a list of { id, host, port }, got ${describeValue(o['nodes'])}`);
  } else if (o['nodes'].length > configLimits.nodesMax) {
    bad('nodes', `at most ${configLimits.nodesMax} nodes, got ${o['nodes'].length}`);
  } else {
    const ids = new Set<number>();
    const addrs = new Set<string>();
    o['nodes'].forEach((n: unknown, i: number) => {
      const p = `nodes[${i}]`;
      if (!isPlainObject(n)) {
        bad(p, `expected { id, host, port }, got ${describeValue(n)}`);
        return;
      }
      for (const k of Object.keys(n)) if (!['id', 'host', 'port'].includes(k)) bad(`${p}.${k}`, 'unknown field (expected id, host, port)');
      const { id, host, port } = n;
      let ok = true;
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > nodeIdMax) {
        bad(`${p}.id`, `expected an integer in [1, ${nodeIdMax}], got ${describeValue(id)}`);
        ok = false;
      } else if (ids.has(id)) {
        bad(`${p}.id`, `node ${id} is listed twice`);
        ok = false;
      }
      if (typeof host !== 'string' || host.length === 0) {
        bad(`${p}.host`, `expected a host name or address, got ${describeValue(host)}`);
        ok = false;
      }
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
        bad(`${p}.port`, `expected a port in [1, 65535], got ${describeValue(port)}`);
        ok = false;
      }
      if (!ok) return;
      const addr = `${host as string}:${port as number}`;
      if (addrs.has(addr)) bad(`${p}.port`, `${addr} is used by another node`);
      addrs.add(addr);
      ids.add(id as number);
      nodes.push({ id: id as number, host: host as string, port: port as number });
    });
  }
  if (problems.length > 0) throw new ClusterConfigError(file, problems);
  return {
    schema: 1,
    clusterId,
    secret,
    protocol,
    fast,
    storage,
    sync,
    dataDir,
    tickMs,
    electionTicks,
    heartbeatTicks,
    preVote,
    checkQuorum,
    maxSizePerMsgBytes,
    maxInflightMsgs,
    snapshotEntries,
    snapshotKeepEntries,
    requestTimeoutMs,
    transport,
    network,
    nodes: nodes.sort((a, b) => a.id - b.id),
  };
}

// loadClusterConfig reads and validates a cluster.json; every failure is a ClusterConfigError.
export function loadClusterConfig(file: string): ClusterConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ClusterConfigError(file, [code === 'ENOENT' ? 'no such file (frb cluster up writes it)' : `cannot read: ${(err as Error).message}`]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ClusterConfigError(file, [`not valid JSON: ${(err as Error).message}`]);
  }
  return parseClusterConfig(data, file);
}

// clusterConfigToPlain is the JSON form (the network back in its input syntax).
export function clusterConfigToPlain(c: ClusterConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...c, nodes: c.nodes.map((n) => ({ ...n })) };
  if (c.network === null) delete out['network'];
  else out['network'] = networkSpecToPlain(c.network);
  if (Object.keys(c.fast).length === 0) delete out['fast'];
  return out;
}

// saveClusterConfig writes atomically (a reader never sees half a file). The secret makes it
// private to its owner.
export function saveClusterConfig(file: string, c: ClusterConfig): void {
  // Round-trip through the parser: never write a file we would refuse to read.
  parseClusterConfig(JSON.parse(JSON.stringify(clusterConfigToPlain(c))), file);
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(clusterConfigToPlain(c), null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

export function newClusterId(): string {
  return `frb-${randomBytes(4).toString('hex')}`;
}

export function newSecret(): string {
  return randomBytes(32).toString('hex');
}

// dataDirOf resolves the data folder against the folder holding cluster.json.
export function dataDirOf(c: ClusterConfig, configFile: string): string {
  return path.resolve(path.dirname(path.resolve(configFile)), c.dataDir);
}

export function nodeAddress(c: ClusterConfig, id: number): NodeAddress {
  const n = c.nodes.find((x) => x.id === id);
  if (n === undefined) throw new ClusterConfigError(CLUSTER_FILE, [`no node ${id} (nodes: ${c.nodes.map((x) => x.id).join(', ')})`]);
  return n;
}

export function nodeLogFile(dataDir: string, id: number): string {
  return path.join(dataDir, `node-${id}.log`);
}
