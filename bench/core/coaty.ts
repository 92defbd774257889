// @coaty/consensus.raft behind BenchCluster, for a side-by-side comparison with our core.
//
// The package is a TypeScript port of etcd/raft (its dist/ported/ folder: raft.js, rawnode.js,
// storage.js, raftpb/raft.pb.js), wrapped in a Coaty/MQTT controller (dist/non-ported/) that
// persists to sqlite3. It is not a dependency of the project: it brings 373 packages and compiles
// sqlite3 unless install scripts are skipped, so it is installed on demand into bench/.peers/coaty
// (gitignored), with scripts skipped, and only its ported core is loaded.
//
// The ported core imports a single value from the controller module: `emptyRaftData` (null), the
// default `data` of an entry. Loading the real controller would load @coaty/core, rxjs and the
// sqlite3 native binding (absent, since install scripts are skipped), so that module is
// pre-seeded in the require cache with just that value. Nothing else of the controller is reached.
//
// Everything the package hands back is `unknown` and narrowed here to the few members used.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { BenchCluster } from './workload.js';

export const coatyPackage = '@coaty/consensus.raft';
export const coatyVersion = '1.0.0';

// Compiled to dist/bench/core/coaty.js; the peer folder lives in the source tree, beside bench/core.
const peerDir = fileURLToPath(new URL('../../../bench/.peers/coaty/', import.meta.url));
const peerPackageJson = `${peerDir}node_modules/${coatyPackage}/package.json`;

// The narrow view of the package's ported core that the Ready loop below uses.
interface CoatyEntry {
  readonly data: unknown;
}
interface CoatyMessage {
  readonly to: string;
}
interface CoatyHardState {
  isEmptyHardState(): boolean;
}
interface CoatySnapshot {
  isEmptySnap(): boolean;
}
interface CoatyReady {
  readonly entries: CoatyEntry[];
  readonly committedEntries: CoatyEntry[];
  readonly messages: CoatyMessage[];
  readonly hardState: CoatyHardState;
  readonly snapshot: CoatySnapshot;
}
interface CoatyRawNode {
  readonly raft: { readonly state: number };
  campaign(): unknown;
  propose(data: unknown): unknown;
  step(m: CoatyMessage): unknown;
  hasReady(): boolean;
  ready(): CoatyReady;
  advance(rd: CoatyReady): void;
}
interface CoatyMemoryStorage {
  Append(entries: CoatyEntry[]): unknown;
  SetHardState(st: CoatyHardState): unknown;
  ApplySnapshot(snap: CoatySnapshot): unknown;
}
interface CoatyCore {
  newRawNode(config: unknown): CoatyRawNode;
  newMemoryStorage(): CoatyMemoryStorage;
  newRaftConfig(p: Record<string, unknown>): unknown;
  newConfState(p: { voters: string[] }): unknown;
  newSnapshotMetadata(p: { index: number; term: number; confState: unknown }): unknown;
  newSnapshot(p: { metadata: unknown }): CoatySnapshot;
  discardLogger: unknown;
  stateLeader: number;
}

// ensureInstalled installs the package into bench/.peers/coaty unless it is already there.
export function ensureInstalled(log: (line: string) => void): void {
  if (installedVersion() === coatyVersion) {
    log(`coaty: using ${coatyPackage}@${coatyVersion} from bench/.peers/coaty`);
    return;
  }
  log(`coaty: installing ${coatyPackage}@${coatyVersion} into bench/.peers/coaty (once; ~373 packages, install scripts skipped)...`);
  const npmCli = process.env['npm_execpath'];
  const args = ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefix', peerDir, `${coatyPackage}@${coatyVersion}`];
  const t0 = Date.now();
  // Run by `npm run`, npm_execpath names npm's own CLI: use the same npm that runs us.
  if (npmCli !== undefined && npmCli.endsWith('.js')) {
    execFileSync(process.execPath, [npmCli, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  } else {
    execFileSync('npm', args, { stdio: ['ignore', 'inherit', 'inherit'] });
  }
  const v = installedVersion();
  if (v !== coatyVersion) throw new Error(`coaty: install finished but found version ${v ?? 'none'} in ${peerPackageJson}`);
  log(`coaty: installed in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
}

function installedVersion(): string | undefined {
  if (!existsSync(peerPackageJson)) return undefined;
  const pkg: unknown = JSON.parse(readFileSync(peerPackageJson, 'utf8'));
  if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string') return pkg.version;
  return undefined;
}

function member(mod: unknown, name: string, what: string): unknown {
  if ((typeof mod !== 'object' && typeof mod !== 'function') || mod === null || !(name in mod)) {
    throw new Error(`coaty: ${what} has no ${name}`);
  }
  return (mod as Record<string, unknown>)[name];
}

function ctor(mod: unknown, name: string, what: string): new (p: unknown) => unknown {
  const c = member(mod, name, what);
  if (typeof c !== 'function') throw new Error(`coaty: ${what}.${name} is not a class`);
  return c as new (p: unknown) => unknown;
}

function method(obj: unknown, name: string, what: string): (...args: unknown[]) => unknown {
  const f = member(obj, name, what);
  if (typeof f !== 'function') throw new Error(`coaty: ${what}.${name} is not a function`);
  return (f as (...args: unknown[]) => unknown).bind(obj);
}

let core: CoatyCore | undefined;

export function loadCoatyCore(): CoatyCore {
  if (core !== undefined) return core;
  const req = createRequire(peerPackageJson);
  const controllerPath = req.resolve(`${coatyPackage}/non-ported/raft-controller`);
  const stub = new Module(controllerPath);
  stub.filename = controllerPath;
  stub.loaded = true;
  stub.exports = { emptyRaftData: null };
  req.cache[controllerPath] = stub;

  const raftMod: unknown = req(`${coatyPackage}/ported/raft`);
  const rawNodeMod: unknown = req(`${coatyPackage}/ported/rawnode`);
  const storageMod: unknown = req(`${coatyPackage}/ported/storage`);
  const pbMod: unknown = req(`${coatyPackage}/ported/raftpb/raft.pb`);
  const loggerMod: unknown = req(`${coatyPackage}/ported/logger`);
  for (const p of Object.keys(req.cache)) {
    if (/[\\/](sqlite3|@coaty[\\/]core)[\\/]/.test(p)) throw new Error(`coaty: ${p} was loaded; the benchmark must stay off the persistence path`);
  }

  const RaftConfig = ctor(raftMod, 'RaftConfig', 'ported/raft');
  const ConfState = ctor(pbMod, 'ConfState', 'ported/raftpb/raft.pb');
  const SnapshotMetadata = ctor(pbMod, 'SnapshotMetadata', 'ported/raftpb/raft.pb');
  const Snapshot = ctor(pbMod, 'Snapshot', 'ported/raftpb/raft.pb');
  const newRawNode = method(member(rawNodeMod, 'RawNode', 'ported/rawnode'), 'NewRawNode', 'RawNode');
  const newMemoryStorage = method(member(storageMod, 'MemoryStorage', 'ported/storage'), 'NewMemoryStorage', 'MemoryStorage');
  const stateLeader = member(member(raftMod, 'StateType', 'ported/raft'), 'StateLeader', 'StateType');
  if (typeof stateLeader !== 'number') throw new Error('coaty: StateType.StateLeader is not a number');

  core = {
    newRawNode: (config) => asRawNode(newRawNode(config)),
    newMemoryStorage: () => asMemoryStorage(newMemoryStorage()),
    newRaftConfig: (p) => new RaftConfig(p),
    newConfState: (p) => new ConfState(p),
    newSnapshotMetadata: (p) => new SnapshotMetadata(p),
    newSnapshot: (p) => {
      const s = new Snapshot(p);
      method(s, 'isEmptySnap', 'Snapshot');
      return s as CoatySnapshot;
    },
    discardLogger: member(loggerMod, 'discardLogger', 'ported/logger'),
    stateLeader,
  };
  return core;
}

function asRawNode(x: unknown): CoatyRawNode {
  for (const m of ['campaign', 'propose', 'step', 'hasReady', 'ready', 'advance']) method(x, m, 'RawNode');
  const raft = member(x, 'raft', 'RawNode');
  if (typeof member(raft, 'state', 'RawNode.raft') !== 'number') throw new Error('coaty: RawNode.raft.state is not a number');
  return x as CoatyRawNode;
}

function asMemoryStorage(x: unknown): CoatyMemoryStorage {
  for (const m of ['Append', 'SetHardState', 'ApplySnapshot']) method(x, m, 'MemoryStorage');
  return x as CoatyMemoryStorage;
}

// Its methods return an Error or null where etcd returns an error.
function check(err: unknown, what: string): void {
  if (err !== null && err !== undefined) throw new Error(`coaty: ${what}: ${err instanceof Error ? err.message : String(err)}`);
}

const nodeCount = 3;
const leaderId = 1;
// The same options as ours.ts.
const electionTick = 10;
const heartbeatTick = 1;
const maxSizePerMsgBytes = 1024 * 1024;
const maxInflightMsgs = 256;

// Node ids are strings in this port ("1", "2", "3").
function nodeIndex(id: string): number {
  const i = Number(id) - 1;
  if (!(i >= 0 && i < nodeCount)) throw new Error(`coaty: message to unknown node ${id}`);
  return i;
}

// How proposals carry their bytes. `bytes` is the identical workload: the same Uint8Array objects
// our core gets. The package sizes entries with JSON.stringify (ported/util.js limitSize and
// payloadSize), which is slow on a Uint8Array ('{"0":..,"1":..}'); `base64` hands it the same bytes
// as a base64 string, the form a user of its JSON-based RaftData would choose, and shows what that
// choice is worth to it.
export type CoatyPayloadForm = 'bytes' | 'base64';

class CoatyCluster implements BenchCluster {
  private readonly nodes: CoatyRawNode[] = [];
  private readonly storages: CoatyMemoryStorage[] = [];
  private readonly applied: number[] = [];
  private queue: CoatyMessage[] = [];
  private delivered = 0;
  private payloads: readonly (Uint8Array | string)[] = [];
  private nextPayload = 0;
  checksum = 0;

  constructor(
    c: CoatyCore,
    private readonly payloadForm: CoatyPayloadForm,
  ) {
    const voters: string[] = [];
    for (let id = 1; id <= nodeCount; id++) voters.push(String(id));
    for (let id = 1; id <= nodeCount; id++) {
      const storage = c.newMemoryStorage();
      const metadata = c.newSnapshotMetadata({ index: 1, term: 1, confState: c.newConfState({ voters }) });
      check(storage.ApplySnapshot(c.newSnapshot({ metadata })), 'ApplySnapshot');
      this.storages.push(storage);
      const config = c.newRaftConfig({
        id: String(id),
        electionTick,
        heartbeatTick,
        storage,
        maxSizePerMsg: maxSizePerMsgBytes,
        maxInflightMsgs,
        logger: c.discardLogger,
      });
      this.nodes.push(c.newRawNode(config));
      this.applied.push(0);
    }
    check(this.nodes[leaderId - 1]!.campaign(), 'campaign');
    for (let r = 0; r < 100 && this.nodes[leaderId - 1]!.raft.state !== c.stateLeader; r++) this.round();
    if (this.nodes[leaderId - 1]!.raft.state !== c.stateLeader) throw new Error('coaty: node 1 failed to become leader');
  }

  load(payloads: readonly Uint8Array[]): void {
    this.payloads = this.payloadForm === 'bytes' ? payloads : payloads.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('base64'));
    this.nextPayload = 0;
  }

  proposeNext(): void {
    const p = this.payloads[this.nextPayload++];
    if (p === undefined) throw new Error('coaty: no payload loaded for this proposal');
    check(this.nodes[leaderId - 1]!.propose(p), 'propose');
  }

  round(): number {
    let leaderApplied = 0;
    for (let i = 0; i < nodeCount; i++) {
      const rn = this.nodes[i]!;
      if (!rn.hasReady()) continue;
      const rd = rn.ready();
      const st = this.storages[i]!;
      if (!rd.snapshot.isEmptySnap()) check(st.ApplySnapshot(rd.snapshot), 'ApplySnapshot');
      if (rd.entries.length > 0) check(st.Append(rd.entries), 'Append');
      if (!rd.hardState.isEmptyHardState()) check(st.SetHardState(rd.hardState), 'SetHardState');
      const msgs = rd.messages;
      for (let k = 0; k < msgs.length; k++) this.queue.push(msgs[k]!);
      const ents = rd.committedEntries;
      let n = 0;
      for (let k = 0; k < ents.length; k++) {
        // Empty entries (the leader's on election) carry the package's emptyRaftData, null.
        const data = ents[k]!.data;
        if (data instanceof Uint8Array && data.length > 0) {
          this.checksum = (this.checksum + data[0]!) | 0;
        } else if (typeof data === 'string' && data.length > 0) {
          this.checksum = (this.checksum + data.charCodeAt(0)) | 0;
        } else {
          continue;
        }
        n++;
      }
      this.applied[i]! += n;
      if (i === leaderId - 1) leaderApplied = n;
      rn.advance(rd);
    }
    const q = this.queue;
    this.queue = [];
    for (let k = 0; k < q.length; k++) {
      const m = q[k]!;
      check(this.nodes[nodeIndex(m.to)]!.step(m), 'step');
    }
    this.delivered += q.length;
    return leaderApplied;
  }

  messagesDelivered(): number {
    return this.delivered;
  }

  appliedCounts(): number[] {
    return this.applied.slice();
  }
}

export function coatyClusterFactory(payloadForm: CoatyPayloadForm): () => BenchCluster {
  const c = loadCoatyCore();
  return () => new CoatyCluster(c, payloadForm);
}
