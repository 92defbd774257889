// The RawNode facade and its Ready loop (DESIGN.md): what a Ready carries and when, the
// persistence-before-send rule (a vote or an append ack never leaves before the state it promises
// is durable), asynchronous storage writes, restarts, Status, the logger. Scenarios follow
// etcd-io/raft's rawnode_test.go where they exist, restated for this port.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawNode } from '../../src/core/raw-node.js';
import type { Config } from '../../src/core/raft.js';
import { MemoryStorage } from '../../src/core/storage.js';
import { ErrProposalDropped, ErrStepLocalMsg, ErrStepPeerNotFound } from '../../src/core/errors.js';
import { LevelLogger, LogLevel, RaftInvariantError, silentLogger } from '../../src/core/logger.js';
import { LocalAppendThread, LocalApplyThread, StateType, type Ready } from '../../src/core/ready.js';
import { Rng } from '../../src/core/rand.js';
import { StateType as PrState } from '../../src/core/progress.js';
import { statusJSON } from '../../src/core/status.js';
import {
  EntryType,
  MessageType,
  entrySizeBytes,
  messageTypeName,
  newEntry,
  newMessage,
  type Entry,
  type HardState,
  type Message,
} from '../../src/core/types.js';
import {
  PeerStorage,
  RawCluster,
  bytes,
  checkDurableBeforeSend,
  confState,
  decodeCC,
  ents,
  msg,
  newTestConfig,
  newTestStorage,
  str,
} from './helpers-raft.js';

function rawNode(id: number, storage: MemoryStorage, extra: Partial<Config> = {}): RawNode {
  return new RawNode(newTestConfig(id, 10, 1, storage, extra));
}

// handle runs one synchronous Ready iteration on a lone node: persist, apply, advance.
function handle(rn: RawNode, s: MemoryStorage): Ready {
  const rd = rn.ready();
  if (rd.snapshot !== null && rd.snapshot.metadata.index > 0) s.applySnapshot(rd.snapshot);
  s.append(rd.entries);
  if (rd.hardState.term !== 0 || rd.hardState.vote !== 0 || rd.hardState.commit !== 0) s.setHardState(rd.hardState);
  for (const e of rd.committedEntries) {
    const cc = decodeCC(e);
    if (cc !== null) rn.applyConfChange(cc);
  }
  rn.advance(rd);
  return rd;
}

function entryView(es: Entry[]): Array<[number, number, string]> {
  return es.map((e) => [e.index, e.term, str(e.data)]);
}

// ---------------------------------------------------------------------------------------------
// Stepping

test('RawNode.step refuses local message types coming from the network, and responses from unknown peers', () => {
  const s = new MemoryStorage();
  s.setHardState({ term: 1, vote: 0, commit: 1 });
  s.append(ents(1, 1));
  s.applySnapshot({ data: new Uint8Array(0), metadata: { index: 1, term: 1, confState: confState([1]) } });
  const local = new Set([
    MessageType.MsgHup,
    MessageType.MsgBeat,
    MessageType.MsgUnreachable,
    MessageType.MsgSnapStatus,
    MessageType.MsgCheckQuorum,
    MessageType.MsgStorageAppend,
    MessageType.MsgStorageAppendResp,
    MessageType.MsgStorageApply,
    MessageType.MsgStorageApplyResp,
  ]);
  for (let t = MessageType.MsgHup; t <= MessageType.MsgForgetLeader; t++) {
    const rn = rawNode(1, s);
    let err: unknown = null;
    try {
      rn.step(newMessage({ type: t, from: 7 }));
    } catch (e) {
      err = e;
    }
    if (local.has(t)) assert.equal(err, ErrStepLocalMsg, messageTypeName(t));
    else if (t === MessageType.MsgAppResp || t === MessageType.MsgVoteResp || t === MessageType.MsgHeartbeatResp || t === MessageType.MsgReadIndexResp || t === MessageType.MsgPreVoteResp) {
      assert.equal(err, ErrStepPeerNotFound, messageTypeName(t));
    } else {
      assert.ok(!(err instanceof RaftInvariantError), `${messageTypeName(t)}: ${String(err)}`);
    }
  }
});

test('proposals fail with ErrProposalDropped when no leader is known', () => {
  const rn = rawNode(1, newTestStorage([1, 2, 3]));
  assert.throws(() => rn.propose(bytes('x')), (e: unknown) => e === ErrProposalDropped);
});

// ---------------------------------------------------------------------------------------------
// Ready contents

test('a fresh node has no Ready; after a campaign and a proposal the Readies carry exactly the expected state', () => {
  const s = new MemoryStorage();
  // Bootstrap as etcd's TestRawNodeStart does: a ConfState at index 1 that followers must fetch.
  s.applySnapshot({ data: new Uint8Array(0), metadata: { index: 1, term: 0, confState: confState([1]) } });
  const rn = rawNode(1, s);
  assert.equal(rn.hasReady(), false);
  rn.campaign();
  let rd = rn.ready();
  // The vote is not yet durable: the node is still a candidate and holds no entry.
  assert.deepEqual(rd.softState, { lead: 0, raftState: StateType.StateCandidate });
  assert.deepEqual(rd.hardState, { term: 1, vote: 1, commit: 1 });
  assert.deepEqual(rd.entries, []);
  assert.equal(rd.mustSync, true);
  s.setHardState(rd.hardState);
  rn.advance(rd);
  rn.propose(bytes('foo'));
  assert.equal(rn.hasReady(), true);
  rd = rn.ready();
  assert.deepEqual(rd.softState, { lead: 1, raftState: StateType.StateLeader });
  assert.deepEqual(entryView(rd.entries), [[2, 1, ''], [3, 1, 'foo']]);
  assert.deepEqual(rd.committedEntries, [], 'nothing is committed before it is durable on the only voter');
  assert.equal(rd.mustSync, true);
  s.append(rd.entries);
  rn.advance(rd);
  assert.equal(rn.hasReady(), true);
  rd = rn.ready();
  assert.deepEqual(rd.entries, []);
  assert.equal(rd.softState, null, 'unchanged soft state is not repeated');
  assert.deepEqual(rd.hardState, { term: 1, vote: 1, commit: 3 });
  assert.deepEqual(entryView(rd.committedEntries), [[2, 1, ''], [3, 1, 'foo']]);
  assert.equal(rd.mustSync, false, 'a commit index change alone need not be synced');
  assert.deepEqual(rd.messages, []);
  s.setHardState(rd.hardState);
  rn.advance(rd);
  assert.equal(rn.hasReady(), false);
});

test('a restarted node hands out its committed, unapplied entries and no hard state', () => {
  const s = newTestStorage([1]);
  s.setHardState({ term: 1, vote: 0, commit: 1 });
  s.append([newEntry({ term: 1, index: 1 }), newEntry({ term: 1, index: 2, data: bytes('foo') })]);
  const rn = rawNode(1, s);
  const rd = rn.ready();
  assert.equal(rd.softState, null);
  assert.deepEqual(rd.hardState, { term: 0, vote: 0, commit: 0 }, 'empty: nothing changed');
  assert.deepEqual(entryView(rd.committedEntries), [[1, 1, '']]);
  assert.equal(rd.mustSync, false);
  rn.advance(rd);
  assert.equal(rn.hasReady(), false);
});

test('a node restarted from a snapshot hands out the committed entries after it', () => {
  const s = new MemoryStorage();
  s.setHardState({ term: 1, vote: 0, commit: 3 });
  s.applySnapshot({ data: new Uint8Array(0), metadata: { index: 2, term: 1, confState: confState([1, 2]) } });
  s.append([newEntry({ term: 1, index: 3, data: bytes('foo') })]);
  const rn = rawNode(1, s);
  const rd = rn.ready();
  assert.deepEqual(entryView(rd.committedEntries), [[3, 1, 'foo']]);
  assert.deepEqual(rd.hardState, { term: 0, vote: 0, commit: 0 });
  rn.advance(rd);
  assert.equal(rn.hasReady(), false);
});

test('applied entries are not handed out again after a restart with config.applied', () => {
  const s = newTestStorage([1]);
  s.setHardState({ term: 1, vote: 1, commit: 3 });
  s.append(ents(1, 1, 1, 1));
  const rn = rawNode(1, s, { applied: 2 });
  const rd = rn.ready();
  assert.deepEqual(rd.committedEntries.map((e) => e.index), [3]);
});

test('ReadStates are handed out in a Ready and then cleared', () => {
  const s = newTestStorage([1]);
  const rn = rawNode(1, s);
  rn.campaign();
  for (let i = 0; i < 5 && rn.raft.state !== StateType.StateLeader; i++) handle(rn, s);
  for (let i = 0; i < 5 && rn.hasReady(); i++) handle(rn, s);
  rn.readIndex(bytes('somedata'));
  assert.equal(rn.hasReady(), true);
  const rd = rn.ready();
  assert.deepEqual(rd.readStates.map((r) => [r.index, str(r.requestCtx)]), [[rn.raft.raftLog.committed, 'somedata']]);
  rn.advance(rd);
  assert.deepEqual(rn.raft.readStates, []);
  assert.equal(rn.hasReady(), false);
});

test('readyWithoutAccept leaves the messages in place; ready takes them; advance keeps later ones', () => {
  const s = newTestStorage([1]);
  const rn = rawNode(1, s);
  const m1 = newMessage({ type: MessageType.MsgHeartbeat, to: 2, context: bytes('foo') });
  const m2 = newMessage({ type: MessageType.MsgHeartbeat, to: 2, context: bytes('bar') });
  rn.raft.msgs.push(m1);
  let rd = rn.readyWithoutAccept();
  assert.deepEqual(rd.messages, [m1]);
  assert.deepEqual(rn.raft.msgs, [m1]);
  rd = rn.ready();
  assert.equal(rn.raft.msgs.length, 0);
  assert.deepEqual(rd.messages, [m1]);
  rn.raft.msgs.push(m2);
  rn.advance(rd);
  assert.deepEqual(rn.raft.msgs, [m2]);
});

test('taking a second Ready before advancing the first is refused loudly', () => {
  const s = newTestStorage([1]);
  const rn = rawNode(1, s);
  rn.campaign();
  rn.ready();
  rn.raft.msgsAfterAppend.push(newMessage({ type: MessageType.MsgVoteResp, to: 1, from: 1, term: 1 }));
  assert.throws(() => rn.ready(), RaftInvariantError);
});

test('committed entries in one Ready are limited by maxCommittedSizePerReady (at least one entry)', () => {
  const s = newTestStorage([1]);
  const big = Array.from({ length: 10 }, (_, i) => newEntry({ term: 1, index: i + 1, data: bytes('x'.repeat(100)) }));
  s.append(big);
  s.setHardState({ term: 1, vote: 1, commit: 10 });
  const limit = 2 * entrySizeBytes(big[0]!) + 10;
  const rn = rawNode(1, s, { maxCommittedSizePerReady: limit });
  const seen: number[] = [];
  for (let guard = 0; guard < 20 && rn.hasReady(); guard++) {
    const rd = handle(rn, s);
    assert.ok(rd.committedEntries.length <= 2, `a Ready of ${rd.committedEntries.length} entries`);
    seen.push(...rd.committedEntries.map((e) => e.index));
  }
  assert.deepEqual(seen, Array.from({ length: 10 }, (_, i) => i + 1), 'all applied, in order, without gaps');
});

test('commit pagination after a restart never skips an entry, even when storage ignores the size hint', () => {
  class IgnoreSizeHint extends PeerStorage {
    override entries(lo: number, hi: number): Entry[] {
      return super.entries(lo, hi, Number.MAX_SAFE_INTEGER);
    }
  }
  const s = new IgnoreSizeHint(confState([1]));
  const es = Array.from({ length: 10 }, (_, i) => newEntry({ term: 1, index: i + 1, data: bytes('a') }));
  const size = es.reduce((n, e) => n + entrySizeBytes(e), 0);
  s.append([...es, newEntry({ term: 1, index: 11, data: bytes('boom') })]);
  s.setHardState({ term: 1, vote: 1, commit: 10 });
  // A limit that suggests the last committed entry should not be in the first batch.
  const rn = rawNode(1, s, { maxSizePerMsg: size - entrySizeBytes(es[9]!) - 1 });
  let highest = 0;
  for (let guard = 0; highest !== 11; guard++) {
    assert.ok(guard < 20, `stopped applying at ${highest}`);
    const rd = rn.ready();
    assert.ok(rd.committedEntries.length > 0, `stopped applying entries at index ${highest}`);
    const next = rd.committedEntries[0]!.index;
    assert.ok(highest === 0 || next === highest + 1, `index ${next} after ${highest} leaves a gap`);
    highest = rd.committedEntries[rd.committedEntries.length - 1]!.index;
    rn.advance(rd);
    rn.step(msg({ type: MessageType.MsgHeartbeat, to: 1, from: 2, term: 1, commit: 11 }));
  }
});

test("a partitioned leader's uncommitted log stays bounded by maxUncommittedEntriesSize, and drains once committed", () => {
  const max = 16;
  const data = bytes('testdata');
  const s = newTestStorage([1]);
  const rn = rawNode(1, s, { maxUncommittedEntriesSize: max * data.length });
  rn.campaign();
  for (let guard = 0; guard < 10; guard++) {
    const rd = handle(rn, s);
    if (rd.committedEntries.length > 0) break;
  }
  for (let i = 0; i < 1024; i++) {
    try {
      rn.propose(data);
    } catch (e) {
      assert.equal(e, ErrProposalDropped);
    }
  }
  assert.equal(rn.raft.uncommittedSize, max * data.length);
  let rd = rn.ready();
  assert.equal(rd.entries.length, max);
  s.append(rd.entries);
  rn.advance(rd);
  assert.equal(rn.raft.uncommittedSize, max * data.length, 'appended but not applied');
  rd = rn.ready();
  assert.deepEqual(rd.entries, []);
  assert.equal(rd.committedEntries.length, max);
  rn.advance(rd);
  assert.equal(rn.raft.uncommittedSize, 0);
});

// ---------------------------------------------------------------------------------------------
// Persistence before send

test('persistence before send (sync): a vote response rides in the same Ready as the HardState recording that vote', () => {
  const s = newTestStorage([1, 2, 3]);
  const rn = rawNode(2, s);
  rn.step(msg({ type: MessageType.MsgVote, from: 1, to: 2, term: 1, logTerm: 0, index: 0 }));
  const rd = rn.ready();
  const resp = rd.messages.filter((m) => m.type === MessageType.MsgVoteResp);
  assert.deepEqual(resp.map((m) => [m.to, m.term, m.reject]), [[1, 1, false]]);
  assert.deepEqual(rd.hardState, { term: 1, vote: 1, commit: 0 }, 'the vote is in this Ready');
  assert.equal(rd.mustSync, true);
  // A caller following the loop persists first, then sends: the check below holds.
  s.setHardState(rd.hardState);
  checkDurableBeforeSend(2, s, rd.messages);
});

test('persistence before send (sync): an append ack rides in the same Ready as the entries it acknowledges', () => {
  const s = newTestStorage([1, 2, 3]);
  const rn = rawNode(2, s);
  rn.step(msg({ type: MessageType.MsgApp, from: 1, to: 2, term: 1, index: 0, logTerm: 0, entries: ents(1, 1, 1), commit: 0 }));
  const rd = rn.ready();
  assert.deepEqual(rd.messages.map((m) => [m.type, m.index]), [[MessageType.MsgAppResp, 2]]);
  assert.deepEqual(entryView(rd.entries), [[1, 1, ''], [2, 1, '']]);
  s.append(rd.entries);
  s.setHardState(rd.hardState);
  checkDurableBeforeSend(2, s, rd.messages);
});

test('persistence before send (sync): in every Ready of a cluster, no ack or granted vote precedes the state it promises', () => {
  const c = new RawCluster({ voters: [1, 2, 3], seed: 7 });
  c.recordReadies = true;
  c.campaign(1);
  for (let i = 0; i < 5; i++) c.propose(1 + (i % 3), `v${i}`);
  c.campaign(2);
  c.propose(2, 'after');
  // Replay each follower's Readies against the state persisted up to and including each one.
  let checked = 0;
  for (const id of c.all) {
    const replica = new MemoryStorage();
    for (const rd of c.readies.get(id) ?? []) {
      replica.append(rd.entries);
      if (rd.hardState.term !== 0 || rd.hardState.commit !== 0) replica.setHardState(rd.hardState);
      checkDurableBeforeSend(id, replica, rd.messages);
      checked += rd.messages.filter((m) => m.type === MessageType.MsgAppResp || m.type === MessageType.MsgVoteResp).length;
    }
  }
  assert.ok(checked > 10, `only ${checked} acks and votes seen`);
});

test("persistence before send (sync): the leader's own ack of its entries is counted only after advance", () => {
  const s = newTestStorage([1, 2, 3]);
  const rn = rawNode(1, s);
  rn.campaign();
  const r = rn.raft;
  r.step(msg({ type: MessageType.MsgVoteResp, from: 2, to: 1, term: 1 }));
  let rd = rn.ready();
  // Our own vote is not yet durable, but 2 of 3... our vote is counted only after advance.
  assert.equal(r.state, StateType.StateCandidate);
  s.setHardState(rd.hardState);
  rn.advance(rd);
  assert.equal(r.state, StateType.StateLeader);
  rn.propose(bytes('x'));
  rd = rn.ready();
  const before = r.trk.progress.get(1)!.match;
  assert.ok(rd.entries.length > 0);
  assert.equal(r.trk.progress.get(1)!.match, before, 'not yet durable');
  assert.ok(!rd.messages.some((m) => m.to === 1), 'self-addressed acks are never sent out');
  s.append(rd.entries);
  s.setHardState(rd.hardState);
  rn.advance(rd);
  assert.equal(r.trk.progress.get(1)!.match, r.raftLog.lastIndex());
});

// ---------------------------------------------------------------------------------------------
// Asynchronous storage writes

test('async storage writes: acks and votes leave only as responses of the append-thread message, never in the Ready itself', () => {
  const s = newTestStorage([1, 2, 3]);
  const rn = rawNode(2, s, { asyncStorageWrites: true });
  rn.step(msg({ type: MessageType.MsgVote, from: 1, to: 2, term: 1 }));
  rn.step(msg({ type: MessageType.MsgApp, from: 1, to: 2, term: 1, index: 0, logTerm: 0, entries: ents(1, 1), commit: 0 }));
  const rd = rn.ready();
  assert.deepEqual(rd.messages.map((m) => [m.type, m.to]), [[MessageType.MsgStorageAppend, LocalAppendThread]]);
  const app = rd.messages[0]!;
  assert.deepEqual(entryView(app.entries), [[1, 1, '']]);
  assert.deepEqual([app.term, app.vote, app.commit], [1, 1, 0], 'the hard state to persist');
  assert.deepEqual(
    app.responses.map((m) => [m.type, m.to]),
    [[MessageType.MsgVoteResp, 1], [MessageType.MsgAppResp, 1], [MessageType.MsgStorageAppendResp, 2]],
  );
  assert.throws(() => rn.advance(rd), RaftInvariantError, 'advance is not used with async writes');
});

test('async storage writes: committed entries go to the apply thread, and count as applied only when it answers', () => {
  const s = newTestStorage([1]);
  const rn = rawNode(1, s, { asyncStorageWrites: true });
  rn.campaign();
  const apply: Message[] = [];
  for (let guard = 0; guard < 10 && rn.hasReady(); guard++) {
    const rd = rn.ready();
    for (const m of rd.messages) {
      if (m.to === LocalAppendThread) {
        s.append(m.entries);
        if (m.term !== 0) s.setHardState({ term: m.term, vote: m.vote, commit: m.commit });
        for (const r of m.responses) rn.step(r);
      } else if (m.to === LocalApplyThread) {
        apply.push(m);
      }
    }
  }
  assert.equal(apply.length, 1);
  assert.equal(apply[0]!.type, MessageType.MsgStorageApply);
  assert.deepEqual(apply[0]!.entries.map((e) => e.index), [1]);
  assert.equal(rn.raft.raftLog.applied, 0, 'not applied until the apply thread says so');
  for (const r of apply[0]!.responses) rn.step(r);
  assert.equal(rn.raft.raftLog.applied, 1);
});

// An asynchronous-writes cluster with a seeded schedule: Readies, network delivery, append-thread
// work and apply-thread work interleave at random, so storage writes finish long after the
// Ready that asked for them. Every message that leaves a node is checked against what that node
// has durably stored at that moment.
class AsyncCluster {
  readonly nodes = new Map<number, RawNode>();
  readonly storages = new Map<number, PeerStorage>();
  readonly appendWork = new Map<number, Message[]>();
  readonly applyWork = new Map<number, Message[]>();
  readonly applied = new Map<number, string[]>();
  net: Message[] = [];
  sent = 0;

  constructor(readonly ids: number[], seed: number) {
    const rng = new Rng(seed);
    for (const id of ids) {
      const s = new PeerStorage(confState(ids));
      this.storages.set(id, s);
      this.nodes.set(id, new RawNode({ ...newTestConfig(id, 10, 1, s), asyncStorageWrites: true, rng: rng.fork(id) }));
      this.appendWork.set(id, []);
      this.applyWork.set(id, []);
      this.applied.set(id, []);
    }
  }

  private send(id: number, m: Message): void {
    if (m.to === id) {
      this.step(id, m);
      return;
    }
    checkDurableBeforeSend(id, this.storages.get(id)!, [m]);
    this.sent++;
    this.net.push(m);
  }

  private step(id: number, m: Message): void {
    try {
      this.nodes.get(id)!.step(m);
    } catch (e) {
      if (e !== ErrProposalDropped && e !== ErrStepPeerNotFound) throw e;
    }
  }

  ready(id: number): boolean {
    const rn = this.nodes.get(id)!;
    if (!rn.hasReady()) return false;
    const rd = rn.ready();
    for (const m of rd.messages) {
      if (m.to === LocalAppendThread) this.appendWork.get(id)!.push(m);
      else if (m.to === LocalApplyThread) this.applyWork.get(id)!.push(m);
      else this.send(id, m);
    }
    return true;
  }

  appendThread(id: number): boolean {
    const m = this.appendWork.get(id)!.shift();
    if (m === undefined) return false;
    const s = this.storages.get(id)!;
    if (m.snapshot !== null && m.snapshot.metadata.index > 0) s.applySnapshot(m.snapshot);
    s.append(m.entries);
    const hs: HardState = { term: m.term, vote: m.vote, commit: m.commit };
    if (hs.term !== 0 || hs.vote !== 0 || hs.commit !== 0) s.setHardState(hs);
    for (const r of m.responses) this.send(id, r);
    return true;
  }

  applyThread(id: number): boolean {
    const m = this.applyWork.get(id)!.shift();
    if (m === undefined) return false;
    for (const e of m.entries) {
      const cc = decodeCC(e);
      if (cc !== null) this.nodes.get(id)!.applyConfChange(cc);
      else if (e.type === EntryType.EntryNormal && e.data.length > 0) this.applied.get(id)!.push(str(e.data));
    }
    for (const r of m.responses) this.send(id, r);
    return true;
  }

  deliver(k: number): void {
    const [m] = this.net.splice(k, 1);
    this.step(m!.to, m!);
  }

  stabilize(): void {
    for (let round = 0; round < 10_000; round++) {
      let moved = false;
      for (const id of this.ids) {
        if (this.ready(id)) moved = true;
        while (this.appendThread(id)) moved = true;
        while (this.applyThread(id)) moved = true;
      }
      while (this.net.length > 0) {
        this.deliver(0);
        moved = true;
      }
      if (!moved) return;
    }
    throw new Error('async cluster did not stabilize');
  }
}

test('async storage writes: under a random interleaving of Readies, storage threads and delivery, nothing is acked before it is durable and all nodes apply the same log', () => {
  for (const seed of [1, 2, 3]) {
    const c = new AsyncCluster([1, 2, 3], seed);
    const rng = new Rng(seed * 31);
    c.nodes.get(1)!.campaign();
    let proposals = 0;
    for (let step = 0; step < 3000; step++) {
      const id = c.ids[rng.intn(c.ids.length)]!;
      const roll = rng.intn(100);
      if (roll < 25) c.ready(id);
      else if (roll < 45) c.appendThread(id);
      else if (roll < 55) c.applyThread(id);
      else if (roll < 85) {
        if (c.net.length > 0) c.deliver(rng.intn(c.net.length));
      } else if (roll < 93) {
        try {
          c.nodes.get(id)!.propose(bytes(`p${proposals++}`));
        } catch (e) {
          assert.equal(e, ErrProposalDropped);
        }
      } else {
        c.nodes.get(id)!.tick();
      }
    }
    c.stabilize();
    const ref = c.applied.get(1)!;
    assert.ok(ref.length > 20, `seed ${seed}: only ${ref.length} entries applied`);
    for (const id of c.ids) assert.deepEqual(c.applied.get(id), ref, `seed ${seed}: node ${id}`);
    assert.ok(c.sent > 100);
  }
});

// ---------------------------------------------------------------------------------------------
// Status, logger, bootstrap

test('Status: a follower reports no progress; a leader reports a copy of every progress and the configuration', () => {
  const s = newTestStorage([1]);
  const rn = rawNode(1, s);
  assert.equal(rn.status().progress.size, 0);
  rn.campaign();
  handle(rn, s);
  const st = rn.status();
  assert.equal(st.softState.lead, 1);
  assert.equal(st.softState.raftState, StateType.StateLeader);
  assert.deepEqual(st.hardState, { term: 1, vote: 1, commit: st.hardState.commit });
  const pr = st.progress.get(1)!;
  const live = rn.raft.trk.progress.get(1)!;
  assert.equal(pr.match, live.match);
  assert.equal(pr.next, live.next);
  assert.equal(pr.state, PrState.StateReplicate);
  assert.notEqual(pr, live, 'a copy, not the live object');
  assert.deepEqual(st.config.voters.incoming.slice(), [1]);
  assert.equal(st.config.voters.outgoing.size, 0);
  // The JSON view (/debug/raft) is plain data with hex ids, as etcd prints them.
  assert.deepEqual(JSON.parse(JSON.stringify(statusJSON(st))), {
    id: '1',
    term: 1,
    vote: '1',
    commit: st.hardState.commit,
    lead: '1',
    raftState: 'StateLeader',
    applied: st.applied,
    progress: { '1': { match: pr.match, next: pr.next, state: 'StateReplicate' } },
    leadtransferee: '0',
  });
  const basic = rn.basicStatus();
  assert.equal(basic.id, 1);
  assert.equal(basic.applied, rn.raft.raftLog.applied);
  const seen: number[] = [];
  rn.withProgress((id, isLearner) => {
    assert.equal(isLearner, false);
    seen.push(id);
  });
  assert.deepEqual(seen, [1]);
});

test('the logger is silent by default; a LevelLogger sees the election at Info and hides Debug', () => {
  const quiet = rawNode(1, newTestStorage([1]));
  assert.equal(quiet.raft.logger, silentLogger);
  assert.equal(silentLogger.enabled(LogLevel.Error), false);
  const lines: Array<[LogLevel, string]> = [];
  const logger = new LevelLogger(LogLevel.Info, (lv, m) => void lines.push([lv, m]));
  const s = newTestStorage([1]);
  const rn = rawNode(1, s, { logger });
  rn.campaign();
  handle(rn, s);
  assert.ok(lines.some(([, m]) => /became leader at term 1/.test(m)), lines.map(([, m]) => m).join('\n'));
  assert.ok(lines.every(([lv]) => lv >= LogLevel.Info));
  assert.equal(logger.enabled(LogLevel.Debug), false);
  // Broken invariants throw whatever the logger does.
  assert.throws(() => silentLogger.panic('boom'), RaftInvariantError);
});

test('bootstrap writes the initial configuration as committed entries; a non-empty storage cannot be bootstrapped', () => {
  const s = new MemoryStorage();
  const rn = rawNode(1, s);
  rn.bootstrap([{ id: 1 }, { id: 2 }, { id: 3 }]);
  assert.deepEqual(rn.raft.trk.voterNodes(), [1, 2, 3]);
  const rd = rn.ready();
  assert.deepEqual(rd.entries.map((e) => [e.index, e.term, e.type]), [[1, 1, EntryType.EntryConfChange], [2, 1, EntryType.EntryConfChange], [3, 1, EntryType.EntryConfChange]]);
  assert.equal(rd.hardState.commit, 3);
  s.append(rd.entries);
  s.setHardState(rd.hardState);
  const again = rawNode(1, s);
  assert.throws(() => again.bootstrap([{ id: 1 }]), /nonempty/);
});
