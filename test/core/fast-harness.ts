// A small deterministic cluster harness for the Fast Raft scenario tests (fast.test.ts).
//
// N RawNodes over MemoryStorage, driven through the Ready loop in DESIGN.md's order: persist the
// snapshot, entries and hard state; then release the messages into a pool; then apply committed
// entries (conf changes through rawNode.applyConfChange); then advance. Nothing is delivered
// unless a test says so: deliver all / deliver matching a predicate / drop matching / reorder.
// crash(id) discards the RawNode and keeps the storage; restart(id) rebuilds it with `applied` set
// to what was applied, so that a crash loses only volatile state.
//
// Safety is checked continuously: every applied entry is recorded by index across all nodes, and
// two nodes applying different entries at one index is recorded in `violations`. Invariant panics
// of the core (RaftInvariantError) are caught and recorded in `panics`; the node that panicked is
// treated as crashed. Every loop is bounded.

import { RawNode } from '../../src/core/raw-node.js';
import { decodeEntryConfChange, type Config } from '../../src/core/raft.js';
import { MemoryStorage, type InitialState } from '../../src/core/storage.js';
import { RaftError, ErrCompacted, ErrSnapOutOfDate } from '../../src/core/errors.js';
import { RaftInvariantError } from '../../src/core/logger.js';
import { Rng } from '../../src/core/rand.js';
import { StateType } from '../../src/core/ready.js';
import { getProtocol } from '../../src/core/protocols.js';
import type { FastConfig } from '../../src/core/fast-config.js';
import type { FastTrack } from '../../src/core/fast.js';
import type { Mutation } from '../../src/core/mutations.js';
import { FrameCodec } from '../../src/transport/codec.js';
import {
  Approval,
  EntryType,
  MessageType,
  emptyConfState,
  isEmptyHardState,
  isEmptySnap,
  messageTypeName,
  newMessage,
  type ConfChangeI,
  type ConfState,
  type Entry,
  type Message,
} from '../../src/core/types.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export function bytes(s: string): Uint8Array {
  return enc.encode(s);
}

export function str(b: Uint8Array): string {
  return dec.decode(b);
}

// PeerStorage starts empty under a bootstrap configuration (etcd's newTestMemoryStorage(withPeers)).
class PeerStorage extends MemoryStorage {
  constructor(private readonly boot: ConfState) {
    super();
  }
  override initialState(): InitialState {
    const st = super.initialState();
    if (this.snapshot().metadata.index === 0) return { hardState: st.hardState, confState: this.boot };
    return st;
  }
}

export interface ClusterOptions {
  // Node ids; defaults to 1..n.
  n?: number;
  protocol?: 'raft' | 'fastraft';
  fast?: Partial<FastConfig>;
  mutations?: Mutation[];
  electionTick?: number;
  heartbeatTick?: number;
  seed?: number;
  maxSizePerMsg?: number;
  checkQuorum?: boolean;
  preVote?: boolean;
}

export interface NodeSlot {
  id: number;
  rn: RawNode | null; // null while crashed
  storage: PeerStorage;
  applied: number;
  // What this node applied, by index: a key identifying the entry (type, digest, data).
  appliedKeys: Map<number, string>;
  confState: ConfState;
}

export type Pred = (m: Message) => boolean;

// A short readable rendering of a message, for traces and failure output.
export function describeMsg(m: Message): string {
  const ents = m.entries.map((e) => `${e.index}/${e.term}${e.approval === Approval.SelfApproved ? 's' : e.approval === Approval.LeaderApproved ? 'l' : ''}${e.data.length > 0 ? ':' + str(e.data) : ''}`);
  return `${m.from}->${m.to} ${messageTypeName(m.type)} t${m.term} lt${m.logTerm} i${m.index} c${m.commit}${m.reject ? ' rej' : ''}${ents.length > 0 ? ' [' + ents.join(',') + ']' : ''}`;
}

// entryKey identifies an applied entry independently of the term it was (re-)stamped with.
export function entryKey(e: Entry): string {
  return `${e.type}:${e.digest ?? '-'}:${str(e.data)}`;
}

export const isType =
  (...types: MessageType[]): Pred =>
  (m) =>
    types.includes(m.type);
export const to =
  (...ids: number[]): Pred =>
  (m) =>
    ids.includes(m.to);
export const from =
  (...ids: number[]): Pred =>
  (m) =>
    ids.includes(m.from);
export const and =
  (...ps: Pred[]): Pred =>
  (m) =>
    ps.every((p) => p(m));
export const or =
  (...ps: Pred[]): Pred =>
  (m) =>
    ps.some((p) => p(m));
export const not =
  (p: Pred): Pred =>
  (m) =>
    !p(m);
export const any: Pred = () => true;

export class Cluster {
  readonly ids: number[];
  readonly nodes = new Map<number, NodeSlot>();
  // Messages released by the nodes and not yet delivered or dropped, in release order.
  pool: Message[] = [];
  // Every message released, in order (rendered), for trace comparisons.
  readonly trace: string[] = [];
  // Entries applied anywhere, by index (first applier wins), and every disagreement seen.
  readonly appliedAt = new Map<number, { key: string; by: number }>();
  readonly violations: string[] = [];
  readonly panics: { id: number; msg: string }[] = [];
  // Messages matching any of these are lost when released (a partition, a lossy link).
  blocked: Pred[] = [];
  readonly lost: Message[] = [];
  private readonly opts: ClusterOptions;
  private readonly protocol: 'raft' | 'fastraft';
  private readonly codec = new FrameCodec();

  constructor(opts: ClusterOptions = {}) {
    this.opts = opts;
    this.protocol = opts.protocol ?? 'fastraft';
    const n = opts.n ?? 3;
    this.ids = Array.from({ length: n }, (_, i) => i + 1);
    for (const id of this.ids) {
      const cs = emptyConfState();
      cs.voters = this.ids.slice();
      const storage = new PeerStorage(cs);
      const slot: NodeSlot = { id, rn: null, storage, applied: 0, appliedKeys: new Map(), confState: cs };
      this.nodes.set(id, slot);
      slot.rn = this.build(slot);
    }
  }

  private config(slot: NodeSlot): Config {
    const o = this.opts;
    const base: Config = {
      id: slot.id,
      electionTick: o.electionTick ?? 10,
      heartbeatTick: o.heartbeatTick ?? 1,
      storage: slot.storage,
      applied: slot.applied,
      maxSizePerMsg: o.maxSizePerMsg ?? Number.MAX_SAFE_INTEGER,
      maxInflightMsgs: 256,
      checkQuorum: o.checkQuorum ?? false,
      preVote: o.preVote ?? false,
      rng: new Rng((o.seed ?? 1) * 1000 + slot.id),
      mutations: new Set(o.mutations ?? []),
    };
    const fast = this.protocol === 'fastraft' ? { fast: o.fast ?? {} } : {};
    return getProtocol(this.protocol).configure(base, fast);
  }

  private build(slot: NodeSlot): RawNode {
    return new RawNode(this.config(slot));
  }

  // --- access ------------------------------------------------------------------------------------

  slot(id: number): NodeSlot {
    const s = this.nodes.get(id);
    if (s === undefined) throw new Error(`no node ${id}`);
    return s;
  }

  node(id: number): RawNode {
    const rn = this.slot(id).rn;
    if (rn === null) throw new Error(`node ${id} is crashed`);
    return rn;
  }

  fast(id: number): FastTrack {
    const f = this.node(id).raft.fast;
    if (f === null) throw new Error(`node ${id} has no fast track`);
    return f;
  }

  alive(id: number): boolean {
    return this.slot(id).rn !== null;
  }

  leader(): number {
    let lead = 0;
    for (const id of this.ids) {
      const rn = this.slot(id).rn;
      if (rn !== null && rn.raft.state === StateType.StateLeader) {
        if (lead === 0 || rn.raft.term > this.node(lead).raft.term) lead = id;
      }
    }
    return lead;
  }

  // log returns every entry of a node's log (storage and unstable), from its first index.
  log(id: number): Entry[] {
    const l = this.node(id).raft.raftLog;
    const lo = l.firstIndex();
    const hi = l.lastIndex();
    if (hi < lo) return [];
    return l.slice(lo, hi + 1, Infinity);
  }

  entry(id: number, index: number): Entry | undefined {
    return this.log(id).find((e) => e.index === index);
  }

  // dataAt: the entry's data at an index as a string ('' for an empty entry), undefined if none.
  dataAt(id: number, index: number): string | undefined {
    const e = this.entry(id, index);
    return e === undefined ? undefined : str(e.data);
  }

  approvalAt(id: number, index: number): Approval | undefined {
    return this.entry(id, index)?.approval;
  }

  committed(id: number): number {
    return this.node(id).raft.raftLog.committed;
  }

  lastIndex(id: number): number {
    return this.node(id).raft.raftLog.lastIndex();
  }

  // appliedData: what a node applied at an index (data as a string), or undefined.
  appliedData(id: number, index: number): string | undefined {
    const k = this.slot(id).appliedKeys.get(index);
    if (k === undefined) return undefined;
    return k.slice(k.indexOf(':', k.indexOf(':') + 1) + 1);
  }

  // --- the Ready loop ----------------------------------------------------------------------------

  // process runs Ready cycles on a node until it has nothing more to hand out.
  process(id: number): void {
    const slot = this.slot(id);
    for (let guard = 0; guard < 100; guard++) {
      const rn = slot.rn;
      if (rn === null || !rn.hasReady()) return;
      this.guard(id, () => this.handleReady(slot, rn));
    }
    throw new Error(`node ${id}: Ready loop did not settle`);
  }

  processAll(): void {
    for (const id of this.ids) this.process(id);
  }

  private handleReady(slot: NodeSlot, rn: RawNode): void {
    const rd = rn.ready();
    // 1. Durable first: snapshot, entries, hard state.
    if (rd.snapshot !== null && !isEmptySnap(rd.snapshot)) {
      slot.storage.applySnapshot(rd.snapshot);
      this.restoreApplied(slot, rd.snapshot.data, rd.snapshot.metadata.index);
      slot.confState = rd.snapshot.metadata.confState;
    }
    slot.storage.append(rd.entries);
    if (!isEmptyHardState(rd.hardState)) slot.storage.setHardState(rd.hardState);
    // 2. Then the messages, which may promise what was just persisted. Each crosses the live
    // transport's codec, so every shape a scenario produces is one a real cluster can carry
    // (a frame the receiver rejects would be resent and rejected forever).
    for (const m0 of rd.messages) {
      const m = this.overTheWire(m0);
      this.trace.push(describeMsg(m));
      if (this.blocked.some((p) => p(m))) this.lost.push(m);
      else this.pool.push(m);
    }
    // 3. Then apply.
    for (const e of rd.committedEntries) {
      if (e.index <= slot.applied) continue;
      this.recordApplied(slot, e);
      const cc: ConfChangeI | null = decodeEntryConfChange(e);
      if (cc !== null) slot.confState = rn.applyConfChange(cc);
      slot.applied = e.index;
    }
    // 4. Advance.
    rn.advance(rd);
  }

  private overTheWire(m: Message): Message {
    const frame = this.codec.decode(this.codec.encode({ cluster: 'harness', from: m.from, msgs: [m] }));
    return frame.msgs[0]!;
  }

  private recordApplied(slot: NodeSlot, e: Entry): void {
    const key = entryKey(e);
    slot.appliedKeys.set(e.index, key);
    const seen = this.appliedAt.get(e.index);
    if (seen === undefined) this.appliedAt.set(e.index, { key, by: slot.id });
    else if (seen.key !== key) {
      this.violations.push(`index ${e.index}: node ${seen.by} applied ${seen.key}, node ${slot.id} applied ${key}`);
    }
  }

  private restoreApplied(slot: NodeSlot, data: Uint8Array, index: number): void {
    const pairs = JSON.parse(str(data)) as [number, string][];
    slot.appliedKeys = new Map(pairs);
    for (const [i, key] of pairs) {
      const seen = this.appliedAt.get(i);
      if (seen !== undefined && seen.key !== key) {
        this.violations.push(`index ${i}: node ${seen.by} applied ${seen.key}, node ${slot.id} restored ${key}`);
      }
    }
    slot.applied = index;
  }

  // guard runs fn on behalf of a node; an invariant panic is recorded and crashes the node.
  private guard(id: number, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (err instanceof RaftInvariantError) {
        this.panics.push({ id, msg: err.message });
        this.slot(id).rn = null;
        return;
      }
      throw err;
    }
  }

  // --- inputs ------------------------------------------------------------------------------------

  // step hands a message to a node (ordinary errors such as a dropped proposal are swallowed).
  private stepTo(m: Message): void {
    const slot = this.slot(m.to);
    const rn = slot.rn;
    if (rn === null) return;
    this.guard(m.to, () => {
      try {
        rn.step(m);
      } catch (err) {
        if (!(err instanceof RaftError)) throw err;
      }
    });
    this.process(m.to);
  }

  // deliver hands every pooled message matching pred to its recipient, in pool order, and then
  // repeats with the messages that produced, up to `rounds` times. Returns how many were delivered.
  deliver(pred: Pred = any, rounds = 1): number {
    let n = 0;
    for (let r = 0; r < rounds; r++) {
      const now = this.pool.filter(pred);
      if (now.length === 0) break;
      this.pool = this.pool.filter((m) => !pred(m));
      for (const m of now) {
        this.stepTo(m);
        n++;
      }
    }
    return n;
  }

  // settle delivers matching messages until none are left (bounded).
  settle(pred: Pred = any, maxRounds = 200): number {
    let n = 0;
    for (let r = 0; r < maxRounds; r++) {
      const k = this.deliver(pred, 1);
      if (k === 0) return n;
      n += k;
    }
    throw new Error('settle: messages kept flowing');
  }

  // drop removes matching messages from the pool and returns them.
  drop(pred: Pred = any): Message[] {
    const out = this.pool.filter(pred);
    this.pool = this.pool.filter((m) => !pred(m));
    return out;
  }

  // take is drop under another name: the test holds the messages and may inject them later.
  take(pred: Pred): Message[] {
    return this.drop(pred);
  }

  // inject puts held messages back into the pool (at the end).
  inject(ms: Message[]): void {
    for (const m of ms) this.pool.push(m);
  }

  // block loses every message matching pred from now on (until unblock), as well as those pooled.
  block(pred: Pred): void {
    this.blocked.push(pred);
    for (const m of this.drop(pred)) this.lost.push(m);
  }

  unblock(): void {
    this.blocked = [];
  }

  reorder(fn: (pool: Message[]) => Message[]): void {
    this.pool = fn(this.pool.slice());
  }

  count(pred: Pred): number {
    return this.pool.filter(pred).length;
  }

  tick(ids: number[] = this.ids, times = 1): void {
    for (let t = 0; t < times; t++) {
      for (const id of ids) {
        const rn = this.slot(id).rn;
        if (rn === null) continue;
        this.guard(id, () => rn.tick());
        this.process(id);
      }
    }
  }

  // propose submits data at a node (fast track when possible). Returns false if it was refused.
  propose(id: number, data: string): boolean {
    const rn = this.node(id);
    let ok = true;
    this.guard(id, () => {
      try {
        rn.propose(bytes(data));
      } catch (err) {
        if (!(err instanceof RaftError)) throw err;
        ok = false;
      }
    });
    this.process(id);
    return ok;
  }

  // proposeClassic hands data to the leader as a forwarded proposal, which never takes the fast
  // track: a classic entry of the leader's term.
  proposeClassic(leader: number, data: string, asFrom: number): void {
    const m = newMessage({ type: MessageType.MsgProp, from: asFrom, to: leader, entries: [{ term: 0, index: 0, type: EntryType.EntryNormal, data: bytes(data) }] });
    this.stepTo(m);
  }

  proposeConfChange(id: number, cc: ConfChangeI): void {
    const rn = this.node(id);
    this.guard(id, () => {
      try {
        rn.proposeConfChange(cc);
      } catch (err) {
        if (!(err instanceof RaftError)) throw err;
      }
    });
    this.process(id);
  }

  campaign(id: number): void {
    const rn = this.node(id);
    this.guard(id, () => rn.campaign());
    this.process(id);
  }

  // elect makes id the leader with every message delivered, and settles the cluster.
  elect(id: number, pred: Pred = any): void {
    this.campaign(id);
    this.settle(pred);
    if (this.node(id).raft.state !== StateType.StateLeader) throw new Error(`node ${id} did not become leader`);
  }

  crash(id: number): void {
    this.slot(id).rn = null;
    // Messages to or from a crashed node are lost with it.
    this.pool = this.pool.filter((m) => m.to !== id);
  }

  restart(id: number): void {
    const slot = this.slot(id);
    if (slot.rn !== null) throw new Error(`node ${id} is running`);
    slot.rn = this.build(slot);
    this.process(id);
  }

  // compact snapshots a node's state at its applied index and compacts its storage there.
  compact(id: number, index = this.slot(id).applied): void {
    const slot = this.slot(id);
    const pairs = [...slot.appliedKeys.entries()].filter(([i]) => i <= index);
    try {
      slot.storage.createSnapshot(index, slot.confState, bytes(JSON.stringify(pairs)));
      slot.storage.compact(index);
    } catch (err) {
      if (err !== ErrCompacted && err !== ErrSnapOutOfDate) throw err;
    }
  }

  // checkSafe throws when two nodes applied different entries at an index or a node panicked.
  checkSafe(): void {
    if (this.violations.length > 0) throw new Error(`safety violations:\n${this.violations.join('\n')}`);
    if (this.panics.length > 0) throw new Error(`panics:\n${this.panics.map((p) => `node ${p.id}: ${p.msg}`).join('\n')}`);
  }
}

export { Approval, EntryType, MessageType, StateType };
