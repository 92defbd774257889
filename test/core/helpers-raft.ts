// Test drivers for the Raft rule tests (raft-*.test.ts, raw-node.test.ts).
//
// Two levels, as in etcd's own tests:
// - Network drives bare Raft state machines the way etcd's raft_test.go `network` does: a message is
//   stepped, the messages that wait for durability are released at once (advanceMessagesAfterAppend)
//   and the outgoing ones are queued, until the queue is empty. Entries stay in the unstable log
//   unless a test persists them with nextEnts. Good for exact, small scenarios.
// - RawCluster drives RawNodes through the full Ready loop (persist, send, apply conf changes,
//   advance) with explicit control over delivery: drop filters, crash/restart from what was
//   persisted, and a seeded random schedule. It checks the safety invariants of Raft §5 after
//   every event when asked to.
// Everything is deterministic: no Math.random, no clock. Every loop is bounded.

import assert from 'node:assert/strict';
import { Raft, type Config } from '../../src/core/raft.js';
import { RawNode } from '../../src/core/raw-node.js';
import { MemoryStorage, type InitialState } from '../../src/core/storage.js';
import { RaftError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rand.js';
import { StateType, isLocalMsgTarget, type Ready } from '../../src/core/ready.js';
import { asV2, decodeConfChange, decodeConfChangeV2 } from '../../src/core/confchange.js';
import {
  EntryType,
  MessageType,
  emptyConfState,
  messageTypeName,
  newEntry,
  newMessage,
  type ConfChangeI,
  type ConfState,
  type Entry,
  type HardState,
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

export function ids(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

// ---------------------------------------------------------------------------------------------
// Storage and configuration

// PeerStorage is a MemoryStorage whose log starts empty at index 1 under a given bootstrap
// configuration, as etcd's newTestMemoryStorage(withPeers(...)) sets the ConfState of its empty
// snapshot. Once a real snapshot is applied, its ConfState takes over.
export class PeerStorage extends MemoryStorage {
  constructor(private readonly bootConfState: ConfState) {
    super();
  }

  override initialState(): InitialState {
    const st = super.initialState();
    if (this.snapshot().metadata.index === 0) return { hardState: st.hardState, confState: this.bootConfState };
    return st;
  }
}

export function confState(voters: number[], learners: number[] = []): ConfState {
  const cs = emptyConfState();
  cs.voters = voters.slice();
  cs.learners = learners.slice();
  return cs;
}

export function newTestStorage(voters: number[], learners: number[] = []): PeerStorage {
  return new PeerStorage(confState(voters, learners));
}

// entries at consecutive indices from `first` with the given terms (etcd's index(i).terms(...)).
export function ents(first: number, ...terms: number[]): Entry[] {
  return terms.map((term, k) => newEntry({ term, index: first + k }));
}

export function newTestConfig(id: number, electionTick: number, heartbeatTick: number, storage: MemoryStorage, extra: Partial<Config> = {}): Config {
  return {
    id,
    electionTick,
    heartbeatTick,
    storage,
    maxSizePerMsg: Number.MAX_SAFE_INTEGER,
    maxInflightMsgs: 256,
    ...extra,
  };
}

export function newTestRaft(id: number, electionTick: number, heartbeatTick: number, storage: MemoryStorage, extra: Partial<Config> = {}): Raft {
  return new Raft(newTestConfig(id, electionTick, heartbeatTick, storage, extra));
}

// ---------------------------------------------------------------------------------------------
// Bare-Raft plumbing (etcd's raft_test.go helpers)

// advanceMessagesAfterAppend treats the unstable state as durable and releases the messages that
// waited for it: self-addressed ones are stepped, the rest join r.msgs.
export function advanceMessagesAfterAppend(r: Raft): void {
  for (let round = 0; round < 1000; round++) {
    const msgs = r.msgsAfterAppend;
    if (msgs.length === 0) return;
    r.msgsAfterAppend = [];
    for (const m of msgs) {
      if (m.to === r.id) stepQuiet(r, m);
      else r.msgs.push(m);
    }
  }
  throw new Error('advanceMessagesAfterAppend did not settle');
}

// readMessages releases the durable-state messages and takes everything r wants to send.
export function readMessages(r: Raft): Message[] {
  advanceMessagesAfterAppend(r);
  const msgs = r.msgs;
  r.msgs = [];
  return msgs;
}

// takeMessagesAfterAppend takes the messages waiting for durability without releasing them.
export function takeMessagesAfterAppend(r: Raft): Message[] {
  const msgs = r.msgsAfterAppend;
  r.msgsAfterAppend = [];
  return msgs;
}

// stepOrSend delivers the messages taken by takeMessagesAfterAppend, as if persisted now.
export function stepOrSend(r: Raft, msgs: Message[]): void {
  for (const m of msgs) {
    if (m.to === r.id) stepQuiet(r, m);
    else r.msgs.push(m);
  }
}

// stepQuiet steps m, swallowing the errors the core reports to callers (ErrProposalDropped...);
// broken invariants (RaftInvariantError) and bugs still throw.
export function stepQuiet(r: Raft, m: Message): void {
  try {
    r.step(m);
  } catch (err) {
    if (!(err instanceof RaftError)) throw err;
  }
}

// stepErr steps m and returns what it threw (null when nothing).
export function stepErr(r: Raft, m: Message): unknown {
  try {
    r.step(m);
    return null;
  } catch (err) {
    return err;
  }
}

// nextEnts persists the unstable entries into s, releases what waited for them, and returns the
// committed entries to apply (marking them applied), as etcd's nextEnts.
export function nextEnts(r: Raft, s: MemoryStorage): Entry[] {
  s.append(r.raftLog.nextUnstableEnts());
  r.raftLog.stableTo(r.raftLog.lastEntryID());
  advanceMessagesAfterAppend(r);
  const out = r.raftLog.nextCommittedEnts(true);
  r.raftLog.appliedTo(r.raftLog.committed, 0);
  return out;
}

export function mustAppendEntry(r: Raft, ...es: Entry[]): void {
  if (!r.appendEntry(es)) throw new Error('entry unexpectedly dropped');
}

// commitNoopEntry makes a fresh leader commit its empty entry by acking it from every follower.
export function commitNoopEntry(r: Raft, s: MemoryStorage): void {
  assert.equal(r.state, StateType.StateLeader, 'commitNoopEntry needs a leader');
  r.bcastAppend();
  for (const m of readMessages(r)) {
    assert.ok(m.type === MessageType.MsgApp && m.entries.length === 1 && m.entries[0]!.data.length === 0, 'not a message to append the empty entry');
    r.step(acceptAndReply(m));
  }
  readMessages(r);
  s.append(r.raftLog.nextUnstableEnts());
  r.raftLog.appliedTo(r.raftLog.committed, 0);
  r.raftLog.stableTo(r.raftLog.lastEntryID());
}

// acceptAndReply is the success response a follower would give to an append.
export function acceptAndReply(m: Message): Message {
  assert.equal(m.type, MessageType.MsgApp);
  return newMessage({ type: MessageType.MsgAppResp, from: m.to, to: m.from, term: m.term, index: m.index + m.entries.length });
}

export function msg(m: Partial<Message> & { type: MessageType }): Message {
  return newMessage(m);
}

export function prop(from: number, ...data: string[]): Message {
  return newMessage({ type: MessageType.MsgProp, from, to: from, entries: data.map((d) => newEntry({ data: bytes(d) })) });
}

export function hup(id: number): Message {
  return newMessage({ type: MessageType.MsgHup, from: id, to: id });
}

export function beat(id: number): Message {
  return newMessage({ type: MessageType.MsgBeat, from: id, to: id });
}

// A compact, comparable view of a message: only the fields a scenario is about.
export interface MsgView {
  type: string;
  from: number;
  to: number;
  term: number;
  logTerm?: number;
  index?: number;
  commit?: number;
  reject?: boolean;
  rejectHint?: number;
  entries?: Array<[index: number, term: number, data: string]>;
}

export function view(m: Message, fields: ReadonlyArray<keyof MsgView> = ['logTerm', 'index', 'commit', 'reject', 'rejectHint', 'entries']): MsgView {
  const v: MsgView = { type: messageTypeName(m.type), from: m.from, to: m.to, term: m.term };
  for (const f of fields) {
    switch (f) {
      case 'logTerm': v.logTerm = m.logTerm; break;
      case 'index': v.index = m.index; break;
      case 'commit': v.commit = m.commit; break;
      case 'reject': v.reject = m.reject; break;
      case 'rejectHint': v.rejectHint = m.rejectHint; break;
      case 'entries': v.entries = m.entries.map((e) => [e.index, e.term, str(e.data)]); break;
      default: break;
    }
  }
  return v;
}

export function sortMsgs(ms: Message[]): Message[] {
  return ms.slice().sort((a, b) => a.to - b.to || a.type - b.type || a.index - b.index);
}

// logIds is a log as [index, term] pairs, for comparing logs across nodes.
export function logIds(r: Raft): Array<[number, number]> {
  return r.raftLog.allEntries().map((e) => [e.index, e.term]);
}

export function logView(r: Raft): Array<[number, number, string]> {
  return r.raftLog.allEntries().map((e) => [e.index, e.term, str(e.data)]);
}

// ---------------------------------------------------------------------------------------------
// Network of bare Raft state machines

export const blackHole = 'blackHole' as const;
export type NetPeer = Raft | null | typeof blackHole;

export class Network {
  readonly peers = new Map<number, Raft | typeof blackHole>();
  readonly storage = new Map<number, MemoryStorage>();
  private readonly dropped = new Set<string>();
  private readonly ignored = new Set<MessageType>();
  // msgHook sees every message about to be queued; returning false drops it.
  msgHook: ((m: Message) => boolean) | null = null;
  // Every message delivered, in order, for tests that look at the conversation.
  readonly trace: Message[] = [];
  traceOn = false;

  // peers[i] is node i+1: null makes a fresh Raft over all the nodes, a Raft is used as given (its
  // id must be i+1), blackHole swallows everything.
  constructor(peers: NetPeer[], configure?: (c: Config) => void) {
    const all = ids(peers.length);
    peers.forEach((p, i) => {
      const id = i + 1;
      if (p === null) {
        const s = newTestStorage(all);
        const c = newTestConfig(id, 10, 1, s);
        configure?.(c);
        this.storage.set(id, s);
        this.peers.set(id, new Raft(c));
      } else if (p === blackHole) {
        this.peers.set(id, blackHole);
      } else {
        assert.equal(p.id, id, `peer at position ${i} must have id ${id}`);
        this.storage.set(id, p.raftLog.storage as MemoryStorage);
        this.peers.set(id, p);
      }
    });
  }

  raft(id: number): Raft {
    const p = this.peers.get(id);
    if (p === undefined || p === blackHole) throw new Error(`node ${id} is not a raft`);
    return p;
  }

  send(...msgs: Message[]): void {
    const queue = msgs.slice();
    for (let head = 0; head < queue.length; head++) {
      if (head > 200_000) throw new Error('network did not quiesce');
      const m = queue[head]!;
      const p = this.peers.get(m.to);
      if (p === undefined || p === blackHole) continue;
      if (this.traceOn) this.trace.push(m);
      stepQuiet(p, m);
      for (const out of this.filter(readMessages(p))) queue.push(out);
    }
  }

  cut(a: number, b: number): void {
    this.dropped.add(`${a}>${b}`);
    this.dropped.add(`${b}>${a}`);
  }

  isolate(id: number): void {
    for (const other of this.peers.keys()) if (other !== id) this.cut(id, other);
  }

  ignore(t: MessageType): void {
    this.ignored.add(t);
  }

  recover(): void {
    this.dropped.clear();
    this.ignored.clear();
  }

  private filter(msgs: Message[]): Message[] {
    const out: Message[] = [];
    for (const m of msgs) {
      if (this.ignored.has(m.type)) continue;
      if (m.type === MessageType.MsgHup) throw new Error('MsgHup never goes over the network');
      if (this.dropped.has(`${m.from}>${m.to}`)) continue;
      if (this.msgHook !== null && !this.msgHook(m)) continue;
      out.push(m);
    }
    return out;
  }
}

// entsWithConfig is a Raft (id 1) whose log holds entries of the given terms at indices 1..n, at
// the last of those terms: a node that took part in earlier elections.
export function entsWithConfig(id: number, peers: number[], configure: ((c: Config) => void) | undefined, ...terms: number[]): Raft {
  const s = newTestStorage(peers);
  s.append(terms.map((term, i) => newEntry({ index: i + 1, term })));
  const c = newTestConfig(id, 5, 1, s);
  configure?.(c);
  const r = new Raft(c);
  r.reset(terms[terms.length - 1]!);
  return r;
}

// votedWithConfig is a Raft that voted for `vote` in `term` but holds no entries.
export function votedWithConfig(id: number, peers: number[], configure: ((c: Config) => void) | undefined, vote: number, term: number): Raft {
  const s = newTestStorage(peers);
  s.setHardState({ term, vote, commit: 0 });
  const c = newTestConfig(id, 5, 1, s);
  configure?.(c);
  const r = new Raft(c);
  r.reset(term);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Cluster of RawNodes through the Ready loop

export interface RawClusterOptions {
  // The bootstrap configuration, shared by every node (also nodes that join later).
  voters: number[];
  learners?: number[];
  // Nodes that exist (have a RawNode) but are not in the bootstrap configuration.
  extra?: number[];
  electionTick?: number;
  heartbeatTick?: number;
  seed?: number;
  configure?: (c: Config) => void;
  // Check the persistence-before-send rule on every Ready (default on).
  checkDurability?: boolean;
}

export interface SafetyViolation {
  rule: string;
  detail: string;
}

export class RawCluster {
  readonly nodes = new Map<number, RawNode>();
  readonly storages = new Map<number, PeerStorage>();
  readonly all: number[];
  // Entries each node applied, in order (its state machine).
  readonly applied = new Map<number, Entry[]>();
  // The ConfState each node got from its last applied conf change.
  readonly confStates = new Map<number, ConfState>();
  queue: Message[] = [];
  // Messages from or to a down node are dropped, and down nodes are neither ticked nor readied.
  readonly down = new Set<number>();
  // Directed links that drop everything: "from>to".
  private readonly cutLinks = new Set<string>();
  // dropIf sees every message about to be delivered; true drops it.
  dropIf: ((m: Message) => boolean) | null = null;
  // Every Ready handled, per node, for tests that inspect the loop.
  readonly readies = new Map<number, Ready[]>();
  recordReadies = false;
  private readonly bootCs: ConfState;
  private readonly opts: RawClusterOptions;
  readonly rng: Rng;
  // Safety bookkeeping (see checkSafety).
  readonly leaderOfTerm = new Map<number, number>();
  // index -> [term of the entry, lowest term in which it was seen committed]
  readonly committedAt = new Map<number, { term: number; data: string; commitTerm: number }>();
  readonly violations: SafetyViolation[] = [];
  private readonly commitChecked = new Map<number, number>();
  private readonly leadersChecked = new Set<string>();
  // index -> "term/data" of what some node applied there (State Machine Safety).
  private readonly appliedAt = new Map<number, string>();

  constructor(opts: RawClusterOptions) {
    this.opts = opts;
    this.bootCs = confState(opts.voters, opts.learners ?? []);
    this.all = [...new Set([...opts.voters, ...(opts.learners ?? []), ...(opts.extra ?? [])])].sort((a, b) => a - b);
    this.rng = new Rng(opts.seed ?? 1);
    for (const id of this.all) {
      const s = new PeerStorage(this.bootCs);
      this.storages.set(id, s);
      this.applied.set(id, []);
      this.nodes.set(id, this.makeNode(id, s, 0));
    }
  }

  private makeNode(id: number, storage: PeerStorage, applied: number): RawNode {
    const c: Config = {
      id,
      electionTick: this.opts.electionTick ?? 10,
      heartbeatTick: this.opts.heartbeatTick ?? 1,
      storage,
      maxSizePerMsg: 1024 * 1024,
      maxInflightMsgs: 256,
      applied,
      rng: this.rng.fork(id * 7919 + applied),
    };
    this.opts.configure?.(c);
    return new RawNode(c);
  }

  node(id: number): RawNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  raft(id: number): Raft {
    return this.node(id).raft;
  }

  leader(): number {
    let lead = 0;
    for (const id of this.all) {
      if (this.down.has(id)) continue;
      const r = this.raft(id);
      if (r.state === StateType.StateLeader && (lead === 0 || r.term > this.raft(lead).term)) lead = id;
    }
    return lead;
  }

  // processReady runs one iteration of the Ready loop: persist (snapshot, entries, hard state),
  // check that every durability-dependent message is backed by what is now durable, queue the
  // messages, apply committed entries (conf changes included), advance.
  processReady(id: number): Ready | null {
    if (this.down.has(id)) return null;
    const rn = this.node(id);
    if (!rn.hasReady()) return null;
    const rd = rn.ready();
    if (this.recordReadies) {
      let list = this.readies.get(id);
      if (list === undefined) this.readies.set(id, (list = []));
      list.push(rd);
    }
    const st = this.storages.get(id)!;
    if (rd.snapshot !== null && rd.snapshot.metadata.index > 0) {
      st.applySnapshot(rd.snapshot);
      // The state machine jumps to the snapshot: what it held before is replaced.
      this.applied.set(id, this.appliedFromSnapshot(rd.snapshot.metadata.index));
      this.confStates.set(id, rd.snapshot.metadata.confState);
    }
    if (rd.entries.length > 0) st.append(rd.entries);
    if (rd.hardState.term !== 0 || rd.hardState.vote !== 0 || rd.hardState.commit !== 0) st.setHardState(rd.hardState);
    if (this.opts.checkDurability !== false) checkDurableBeforeSend(id, st, rd.messages);
    for (const m of rd.messages) this.queue.push(m);
    this.apply(id, rd.committedEntries);
    rn.advance(rd);
    return rd;
  }

  // A snapshot's state machine: the entries some node applied up to its index (all nodes apply
  // the same prefix, which apply() verifies).
  private appliedFromSnapshot(index: number): Entry[] {
    for (const list of this.applied.values()) {
      if (list.length > 0 && list[list.length - 1]!.index >= index) return list.filter((e) => e.index <= index);
    }
    return [];
  }

  private apply(id: number, committed: Entry[]): void {
    const list = this.applied.get(id)!;
    const rn = this.node(id);
    for (const e of committed) {
      // State Machine Safety (§5.4.3): no two servers apply different entries at one index.
      const key = `${e.term}/${str(e.data)}`;
      const other = this.appliedAt.get(e.index);
      if (other === undefined) this.appliedAt.set(e.index, key);
      else if (other !== key) this.violate('state machine safety', `index ${e.index} applied as ${other} and as ${key} (node ${id})`);
      list.push(e);
      const cc = decodeCC(e);
      if (cc !== null) this.confStates.set(id, rn.applyConfChange(cc));
    }
  }

  // deliver steps one message into its recipient unless a filter drops it.
  deliver(m: Message): boolean {
    if (this.down.has(m.to) || this.down.has(m.from)) return false;
    if (this.cutLinks.has(`${m.from}>${m.to}`)) return false;
    if (this.dropIf !== null && this.dropIf(m)) return false;
    const rn = this.nodes.get(m.to);
    if (rn === undefined) return false;
    try {
      rn.step(m);
    } catch (err) {
      if (!(err instanceof RaftError)) throw err;
    }
    return true;
  }

  deliverAll(): number {
    const q = this.queue;
    this.queue = [];
    let n = 0;
    for (const m of q) if (this.deliver(m)) n++;
    return n;
  }

  // stabilize alternates Ready handling and delivery until nothing moves.
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      let moved = false;
      for (const id of this.all) if (this.processReady(id) !== null) moved = true;
      if (this.queue.length > 0) {
        this.deliverAll();
        moved = true;
      }
      if (!moved) return;
    }
    throw new Error(`cluster did not stabilize within ${maxRounds} rounds`);
  }

  tick(id: number, n = 1): void {
    for (let i = 0; i < n; i++) this.node(id).tick();
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) for (const id of this.all) if (!this.down.has(id)) this.node(id).tick();
  }

  campaign(id: number): void {
    this.node(id).campaign();
    this.stabilize();
  }

  propose(id: number, data: string): void {
    this.node(id).propose(bytes(data));
    this.stabilize();
  }

  proposeConfChange(id: number, cc: ConfChangeI): void {
    this.node(id).proposeConfChange(cc);
    this.stabilize();
  }

  cut(a: number, b: number): void {
    this.cutLinks.add(`${a}>${b}`);
    this.cutLinks.add(`${b}>${a}`);
  }

  isolate(id: number): void {
    for (const other of this.all) if (other !== id) this.cut(id, other);
  }

  heal(): void {
    this.cutLinks.clear();
    this.dropIf = null;
  }

  // crash loses everything that was not persisted; the node stays down until restart.
  crash(id: number): void {
    this.down.add(id);
    this.queue = this.queue.filter((m) => m.to !== id && m.from !== id);
  }

  // restart rebuilds the node from its storage; its state machine survives with what it applied.
  restart(id: number): void {
    const list = this.applied.get(id)!;
    const applied = list.length > 0 ? list[list.length - 1]!.index : 0;
    this.nodes.set(id, this.makeNode(id, this.storages.get(id)!, applied));
    this.down.delete(id);
    this.commitChecked.delete(id);
  }

  appliedData(id: number): string[] {
    return this.applied.get(id)!.filter((e) => e.type === EntryType.EntryNormal && e.data.length > 0).map((e) => str(e.data));
  }

  // checkSafety records what the cluster shows now and checks Raft's safety properties (Figure 3:
  // §5.2 Election Safety, §5.3 Log Matching, §5.4 Leader Completeness, §5.4.3 State Machine
  // Safety; the last one is checked as entries are applied). Violations are collected, not
  // thrown, so that a test can also assert that a broken rule is caught. The checks are
  // incremental; logMatching = false skips the one that compares whole logs pairwise.
  checkSafety(logMatching = true): void {
    const live = this.all.filter((id) => !this.down.has(id));
    // Election Safety: at most one leader per term.
    const leaders: Raft[] = [];
    for (const id of live) {
      const r = this.raft(id);
      if (r.state !== StateType.StateLeader) continue;
      leaders.push(r);
      const prev = this.leaderOfTerm.get(r.term);
      if (prev === undefined) this.leaderOfTerm.set(r.term, id);
      else if (prev !== id) this.violate('election safety', `term ${r.term} has two leaders: ${prev} and ${id}`);
    }
    // Record commits with the lowest term they were seen committed in. A leader sees its own
    // commits first, so that is the term of the commit; anyone seeing it later is at that term or
    // a higher one.
    const fresh: number[] = [];
    for (const id of live) {
      const r = this.raft(id);
      const log = r.raftLog;
      const from = Math.max(log.firstIndex(), (this.commitChecked.get(id) ?? 0) + 1, 1);
      for (let i = from; i <= log.committed; i++) {
        const t = log.tryTerm(i);
        if (t < 0) continue;
        const known = this.committedAt.get(i);
        if (known === undefined) {
          const e = log.slice(i, i + 1, Number.MAX_SAFE_INTEGER)[0]!;
          this.committedAt.set(i, { term: t, data: str(e.data), commitTerm: r.term });
          fresh.push(i);
        } else if (known.term !== t) {
          this.violate('state machine safety', `node ${id} committed index ${i} at term ${t}, another node at term ${known.term}`);
        } else if (r.term < known.commitTerm) {
          known.commitTerm = r.term;
          fresh.push(i);
        }
      }
      this.commitChecked.set(id, Math.max(this.commitChecked.get(id) ?? 0, log.committed));
    }
    // Leader Completeness: a leader of term T holds every entry committed in a term below T. A
    // leader only appends, so checking each leader once when it appears and then each new commit
    // against the current leaders covers everything.
    for (const r of leaders) {
      const key = `${r.id}/${r.term}`;
      if (this.leadersChecked.has(key)) continue;
      this.leadersChecked.add(key);
      for (const [i, c] of this.committedAt) this.checkHolds(r, i, c);
    }
    for (const i of fresh) for (const r of leaders) this.checkHolds(r, i, this.committedAt.get(i)!);
    // Log Matching: two logs with an entry of the same index and term are identical up to it.
    if (!logMatching) return;
    const logs = live.map((id) => ({ id, log: this.raft(id).raftLog.allEntries() }));
    for (let a = 0; a < logs.length; a++) {
      for (let b = a + 1; b < logs.length; b++) {
        const la = logs[a]!;
        const lb = logs[b]!;
        checkLogMatching(la.id, la.log, lb.id, lb.log, (d) => this.violate('log matching', d));
      }
    }
  }

  private checkHolds(r: Raft, i: number, c: { term: number; commitTerm: number }): void {
    if (c.commitTerm >= r.term) return;
    if (r.raftLog.tryTerm(i) !== c.term) {
      this.violate('leader completeness', `leader ${r.id} of term ${r.term} lacks index ${i} (term ${c.term}) committed in term ${c.commitTerm}`);
    }
  }

  private violate(rule: string, detail: string): void {
    if (this.violations.length < 20) this.violations.push({ rule, detail });
  }
}

function checkLogMatching(ida: number, a: Entry[], idb: number, b: Entry[], report: (d: string) => void): void {
  const byIndexB = new Map<number, Entry>();
  for (const e of b) byIndexB.set(e.index, e);
  // The highest index at which both logs hold an entry of the same term.
  let top = -1;
  for (let k = a.length - 1; k >= 0; k--) {
    const eb = byIndexB.get(a[k]!.index);
    if (eb !== undefined && eb.term === a[k]!.term) {
      top = k;
      break;
    }
  }
  for (let k = 0; k <= top; k++) {
    const ea = a[k]!;
    const eb = byIndexB.get(ea.index);
    if (eb === undefined) continue; // compacted on one side
    if (eb.term !== ea.term || str(eb.data) !== str(ea.data)) {
      report(`nodes ${ida} and ${idb} agree at index ${a[top]!.index} but differ at index ${ea.index}`);
      return;
    }
  }
}

export function decodeCC(e: Entry): ConfChangeI | null {
  if (e.type === EntryType.EntryConfChange) return decodeConfChange(e.data);
  if (e.type === EntryType.EntryConfChangeV2) return decodeConfChangeV2(e.data);
  return null;
}

export { asV2 };

// checkDurableBeforeSend asserts Raft's "persist before responding" rule (§5, Figure 2's
// persistent state; DESIGN.md's Ready loop) for the messages of one Ready, given what the node's
// storage holds now: an append ack only for entries that are durable, a granted vote only when
// the durable hard state records that vote.
export function checkDurableBeforeSend(id: number, st: MemoryStorage, msgs: readonly Message[]): void {
  for (const m of msgs) {
    if (isLocalMsgTarget(m.to) || m.to === id) continue;
    // An ack of an older term than the durable one is exempt: the node took it back when a leader
    // of a newer term overwrote its unstable tail before the Ready (etcd does the same). It cannot
    // complete a quorum: the newer leader was elected by a majority whose logs lacked those
    // entries, and every member of a quorum for them would have had to hold them before voting.
    if (m.type === MessageType.MsgAppResp && !m.reject && m.index > 0 && m.term >= st.hardState.term) {
      const last = st.lastIndex();
      assert.ok(
        last >= m.index || st.snapshot().metadata.index >= m.index || st.hardState.commit >= m.index,
        `node ${id} acks index ${m.index} to ${m.to} but only ${last} is durable`,
      );
    }
    if (m.type === MessageType.MsgVoteResp && !m.reject) {
      const hs: HardState = st.hardState;
      // A later durable term also binds: the node can never vote again in m.term.
      assert.ok(
        hs.term > m.term || (hs.term === m.term && hs.vote === m.to),
        `node ${id} grants its vote to ${m.to} at term ${m.term} but durable state is term ${hs.term} vote ${hs.vote}`,
      );
    }
  }
}
