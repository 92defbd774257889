// Log replication as etcd/raft does it: per-follower Progress in Probe / Replicate / Snapshot,
// Inflights flow control (messages and bytes in flight), the message size limit, the uncommitted
// size limit, reject hints for fast backtracking, heartbeats that carry min(match, committed),
// and stale or reordered replies that must change nothing. Scenarios follow etcd-io/raft's
// raft_test.go and raft_flow_control_test.go, restated for this port.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Raft } from '../../src/core/raft.js';
import { StateType } from '../../src/core/ready.js';
import { StateType as PrState } from '../../src/core/progress.js';
import { ErrProposalDropped } from '../../src/core/errors.js';
import { MemoryStorage } from '../../src/core/storage.js';
import { MessageType, None, entrySizeBytes, newEntry, payloadsSizeBytes, type Entry, type Message } from '../../src/core/types.js';
import {
  Network,
  advanceMessagesAfterAppend,
  beat,
  blackHole,
  bytes,
  confState,
  ents,
  hup,
  logView,
  msg,
  mustAppendEntry,
  newTestRaft,
  newTestStorage,
  nextEnts,
  prop,
  readMessages,
  stepErr,
  stepOrSend,
  str,
  takeMessagesAfterAppend,
  type NetPeer,
} from './helpers-raft.js';

function leader(peers: number[], extra: Parameters<typeof newTestRaft>[4] = {}, storage: MemoryStorage = newTestStorage(peers)): Raft {
  const r = newTestRaft(1, 5, 1, storage, extra);
  r.becomeCandidate();
  r.becomeLeader();
  return r;
}

function expectOne(r: Raft): Message {
  const ms = readMessages(r);
  assert.equal(ms.length, 1, `expected one message, got ${ms.length}`);
  return ms[0]!;
}

function pr(r: Raft, id: number) {
  return r.trk.progress.get(id)!;
}

// ---------------------------------------------------------------------------------------------
// Replication over a network

test('a committed proposal reaches every state machine in order, also across a change of leader', () => {
  const cases: Array<[Message[], number]> = [
    [[prop(1, 'somedata')], 2],
    [[prop(1, 'somedata'), hup(2), prop(2, 'somedata')], 4],
  ];
  cases.forEach(([msgs, wcommitted], i) => {
    const n = new Network([null, null, null]);
    n.send(hup(1));
    for (const m of msgs) n.send(m);
    for (const id of [1, 2, 3]) {
      const r = n.raft(id);
      assert.equal(r.raftLog.committed, wcommitted, `#${i} node ${id}`);
      const applied = nextEnts(r, n.storage.get(id)!).filter((e) => e.data.length > 0).map((e) => str(e.data));
      assert.deepEqual(applied, msgs.filter((m) => m.type === MessageType.MsgProp).map(() => 'somedata'), `#${i} node ${id}`);
    }
  });
});

test('a single voter commits each proposal by itself', () => {
  const n = new Network([null]);
  n.send(hup(1));
  n.send(prop(1, 'some data'));
  n.send(prop(1, 'some data'));
  assert.equal(n.raft(1).raftLog.committed, 3);
});

test('a proposal is appended only when there is a leader with a quorum; otherwise it is dropped', () => {
  const cases: Array<[NetPeer[], boolean]> = [
    [[null, null, null], true],
    [[null, null, blackHole], true],
    [[null, blackHole, blackHole], false],
    [[null, blackHole, blackHole, null], false],
    [[null, blackHole, blackHole, null, null], true],
  ];
  cases.forEach(([peers, success], i) => {
    const n = new Network(peers);
    n.send(hup(1));
    n.send(prop(1, 'somedata'));
    const want = success ? [[1, 1, ''], [2, 1, 'somedata']] : [];
    for (const [id, p] of n.peers) if (p !== blackHole) assert.deepEqual(logView(p), want, `#${i} node ${id}`);
    assert.equal(n.raft(1).term, 1);
  });
});

test('a follower forwards a proposal to the leader', () => {
  for (const peers of [[null, null, null], [null, null, blackHole]] as NetPeer[][]) {
    const n = new Network(peers);
    n.send(hup(1));
    n.send(prop(2, 'somedata'));
    for (const [id, p] of n.peers) if (p !== blackHole) assert.deepEqual(logView(p), [[1, 1, ''], [2, 1, 'somedata']], `node ${id}`);
  }
});

test('proposals are dropped by a follower without a leader, by a candidate, and by a follower with forwarding disabled', () => {
  const f = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]));
  assert.equal(stepErr(f, prop(1, 'x')), ErrProposalDropped);
  f.becomeCandidate();
  assert.equal(stepErr(f, prop(1, 'x')), ErrProposalDropped);
  const g = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]), { disableProposalForwarding: true });
  g.becomeFollower(1, 2);
  assert.equal(stepErr(g, prop(1, 'x')), ErrProposalDropped);
  assert.deepEqual(readMessages(g), []);
  const h = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]));
  h.becomeFollower(1, 2);
  assert.equal(stepErr(h, prop(1, 'x')), null);
  assert.deepEqual(readMessages(h).map((m) => [m.type, m.to]), [[MessageType.MsgProp, 2]]);
});

test('a new leader does not commit entries of earlier terms until an entry of its own term commits', () => {
  const n = new Network([null, null, null, null, null]);
  n.send(hup(1));
  n.cut(1, 3);
  n.cut(1, 4);
  n.cut(1, 5);
  n.send(prop(1, 'some data'));
  n.send(prop(1, 'some data'));
  assert.equal(n.raft(1).raftLog.committed, 1);
  n.recover();
  // Keep the new leader's empty entry from being replicated.
  n.ignore(MessageType.MsgApp);
  n.send(hup(2));
  const r2 = n.raft(2);
  assert.equal(r2.state, StateType.StateLeader);
  assert.equal(r2.raftLog.committed, 1, 'the term 1 entries on a majority are not committed');
  n.recover();
  n.send(beat(2));
  n.send(prop(2, 'some data'));
  assert.equal(r2.raftLog.committed, 5);
});

test("a new leader's empty entry commits the earlier terms' entries without any new proposal", () => {
  const n = new Network([null, null, null, null, null]);
  n.send(hup(1));
  n.cut(1, 3);
  n.cut(1, 4);
  n.cut(1, 5);
  n.send(prop(1, 'some data'));
  n.send(prop(1, 'some data'));
  assert.equal(n.raft(1).raftLog.committed, 1);
  n.recover();
  n.send(hup(2));
  assert.equal(n.raft(1).raftLog.committed, 4);
});

test('appends from a deposed leader (lower term) are ignored', () => {
  const n = new Network([null, null, null]);
  n.send(hup(1));
  n.send(hup(2));
  n.send(hup(1));
  // An old leader of term 2 tries to append at index 3.
  n.send(msg({ type: MessageType.MsgApp, from: 2, to: 1, term: 2, entries: ents(3, 2) }));
  n.send(prop(1, 'somedata'));
  for (const id of [1, 2, 3]) {
    assert.deepEqual(logView(n.raft(id)), [[1, 1, ''], [2, 2, ''], [3, 3, ''], [4, 3, 'somedata']], `node ${id}`);
  }
});

// ---------------------------------------------------------------------------------------------
// Progress: Probe / Replicate / Snapshot

test("the leader's own progress follows its durable log", () => {
  const r = leader([1, 2]);
  pr(r, 2).becomeReplicate();
  for (let i = 0; i < 5; i++) r.step(prop(1, 'foo'));
  assert.equal(pr(r, 1).match, 0, 'nothing is durable yet');
  const es = r.raftLog.nextUnstableEnts();
  assert.equal(es.length, 6);
  assert.equal(es[0]!.data.length, 0);
  assert.equal(str(es[5]!.data), 'foo');
  advanceMessagesAfterAppend(r);
  assert.equal(pr(r, 1).match, 6);
  assert.equal(pr(r, 1).next, 7);
});

test('Probe: at most one append per heartbeat interval until the follower answers', () => {
  const r = leader([1, 2], { electionTick: 10 });
  readMessages(r);
  pr(r, 2).becomeProbe();
  for (let round = 0; round < 3; round++) {
    if (round === 0) {
      mustAppendEntry(r, newEntry({ data: bytes('somedata') }));
      r.sendAppend(2);
      const ms = readMessages(r);
      assert.equal(ms.length, 1);
      assert.equal(ms[0]!.index, 0);
    }
    assert.equal(pr(r, 2).msgAppFlowPaused, true);
    for (let j = 0; j < 10; j++) {
      mustAppendEntry(r, newEntry({ data: bytes('somedata') }));
      r.sendAppend(2);
      assert.deepEqual(readMessages(r), []);
    }
    r.step(beat(1));
    assert.equal(pr(r, 2).msgAppFlowPaused, true, 'a heartbeat alone does not unpause');
    assert.deepEqual(readMessages(r).map((m) => m.type), [MessageType.MsgHeartbeat]);
  }
  // A heartbeat response lets one more probe go out.
  r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 2, to: 1 }));
  const ms = readMessages(r);
  assert.equal(ms.length, 1);
  assert.equal(ms[0]!.index, 0);
  assert.equal(pr(r, 2).msgAppFlowPaused, true);
});

test('Probe: while paused, further proposals send nothing to the follower', () => {
  const r = leader([1, 2]);
  for (let i = 0; i < 3; i++) r.step(prop(1, 'somedata'));
  assert.equal(readMessages(r).length, 1);
});

test('Probe -> Replicate on an accepted append; then appends are pipelined', () => {
  const r = leader([1, 2]);
  readMessages(r);
  assert.equal(pr(r, 2).state, PrState.StateProbe);
  r.step(prop(1, 'a'));
  const m = expectOne(r);
  r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, term: r.term, index: m.index + m.entries.length }));
  assert.equal(pr(r, 2).state, PrState.StateReplicate);
  readMessages(r);
  for (let i = 0; i < 10; i++) {
    mustAppendEntry(r, newEntry({ data: bytes('somedata') }));
    r.sendAppend(2);
    assert.equal(readMessages(r).length, 1, `#${i}: sent without waiting for the previous ack`);
  }
  assert.equal(pr(r, 2).inflights.count(), 10);
});

test('Replicate -> Probe on a rejected append, and on an unreachable report', () => {
  const s = newTestStorage([1, 2]);
  s.append(ents(1, 1, 2, 3));
  const r = leader([1, 2], {}, s);
  readMessages(r);
  const p = pr(r, 2);
  p.match = 3;
  p.becomeReplicate();
  p.next = 6;
  r.step(msg({ type: MessageType.MsgUnreachable, from: 2, to: 1 }));
  assert.equal(p.state, PrState.StateProbe);
  assert.equal(p.next, p.match + 1);

  p.becomeReplicate();
  r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, term: r.term, index: 4, reject: true, rejectHint: 3, logTerm: 3 }));
  assert.equal(p.state, PrState.StateProbe);
  assert.equal(p.next, 4);
});

test('Snapshot: nothing is appended to a follower waiting for a snapshot', () => {
  const r = leader([1, 2]);
  readMessages(r);
  pr(r, 2).becomeSnapshot(10);
  for (let i = 0; i < 10; i++) {
    mustAppendEntry(r, newEntry({ data: bytes('somedata') }));
    r.sendAppend(2);
    assert.deepEqual(readMessages(r), []);
  }
});

test('next advances optimistically in Replicate, and stays in Probe', () => {
  const cases: Array<[PrState, number, number]> = [
    // previous entries + the empty entry + the proposal + 1
    [PrState.StateReplicate, 2, 3 + 1 + 1 + 1],
    [PrState.StateProbe, 2, 2],
  ];
  for (const [state, next, wnext] of cases) {
    const r = newTestRaft(1, 10, 1, newTestStorage([1, 2]));
    r.raftLog.append(ents(1, 1, 2, 3));
    r.becomeCandidate();
    r.becomeLeader();
    pr(r, 2).state = state;
    pr(r, 2).next = next;
    r.step(prop(1, 'somedata'));
    assert.equal(pr(r, 2).next, wnext, `state ${state}`);
  }
});

test('a heartbeat response unpauses the follower and resends what it lacks, until it is caught up', () => {
  const s = newTestStorage([1, 2]);
  s.append(ents(1, 1, 2, 3));
  const r = newTestRaft(1, 5, 1, s);
  r.becomeCandidate();
  r.becomeLeader();
  r.raftLog.commitTo(r.raftLog.lastIndex());
  r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 2, to: 1 }));
  let ms = readMessages(r);
  assert.deepEqual(ms.map((m) => m.type), [MessageType.MsgApp]);
  r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 2, to: 1 }));
  ms = readMessages(r);
  assert.deepEqual(ms.map((m) => m.type), [MessageType.MsgApp]);
  r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, index: ms[0]!.index + ms[0]!.entries.length }));
  readMessages(r);
  r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 2, to: 1 }));
  assert.deepEqual(readMessages(r), [], 'a caught-up follower gets no append on a heartbeat response');
});

test('a follower leaves the wait state when it acks; one that has not acked stays paused', () => {
  const s = newTestStorage([1, 2, 3]);
  const r = newTestRaft(1, 5, 1, s);
  r.becomeCandidate();
  r.becomeLeader();
  nextEnts(r, s);
  r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, index: 1 }));
  assert.equal(r.raftLog.committed, 1);
  readMessages(r);
  r.step(msg({ type: MessageType.MsgProp, from: 1, to: 1, entries: [newEntry({})] }));
  let ms = readMessages(r);
  assert.deepEqual(ms.map((m) => [m.type, m.to, m.entries.map((e) => e.index)]), [[MessageType.MsgApp, 2, [2]]]);
  r.step(msg({ type: MessageType.MsgAppResp, from: 3, to: 1, index: 1 }));
  ms = readMessages(r);
  assert.deepEqual(ms.map((m) => [m.type, m.to, m.entries.map((e) => e.index)]), [[MessageType.MsgApp, 3, [2]]]);
});

test('leader handling of append responses: stale, rejected, accepted, and a probe that confirms its match', () => {
  // The leader's log is [1:t1, 2:t1, 3:t1 (its empty entry)]; follower 2 starts at match 0, next 3.
  const cases: Array<[index: number, reject: boolean, wmatch: number, wnext: number, wmsgs: number, windex: number, wcommit: number]> = [
    [3, true, 0, 3, 0, 0, 0], // stale rejection: nothing happens
    [2, true, 0, 2, 1, 1, 0], // rejection: back off next and probe again
    [2, false, 2, 4, 2, 2, 2], // accepted: commit, and broadcast the new commit index
    [0, false, 0, 4, 1, 0, 0], // a probe confirming match 0: Replicate, and send everything
  ];
  cases.forEach(([index, reject, wmatch, wnext, wmsgs, windex, wcommit], i) => {
    const s = newTestStorage([1, 2, 3]);
    s.append(ents(1, 1, 1));
    const r = newTestRaft(1, 10, 1, s);
    r.becomeCandidate();
    r.becomeLeader();
    readMessages(r);
    r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, term: r.term, index, reject, rejectHint: index }));
    assert.equal(pr(r, 2).match, wmatch, `#${i} match`);
    assert.equal(pr(r, 2).next, wnext, `#${i} next`);
    const ms = readMessages(r);
    assert.equal(ms.length, wmsgs, `#${i} messages`);
    for (const m of ms) {
      assert.equal(m.index, windex, `#${i} index`);
      assert.equal(m.commit, wcommit, `#${i} commit`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Inflights flow control

test('Inflights: appends fill the window, and a full window sends nothing more', () => {
  const r = leader([1, 2], { maxInflightMsgs: 32 });
  const p = pr(r, 2);
  p.becomeReplicate();
  for (let i = 0; i < r.trk.maxInflight; i++) {
    r.step(prop(1, 'somedata'));
    const ms = readMessages(r);
    assert.deepEqual(ms.map((m) => m.type), [MessageType.MsgApp], `#${i}`);
  }
  assert.equal(p.isPaused(), true);
  for (let i = 0; i < 10; i++) {
    r.step(prop(1, 'somedata'));
    assert.deepEqual(readMessages(r), []);
  }
});

test('Inflights: an ack slides the window past every message it covers; outdated acks change nothing', () => {
  const r = leader([1, 2], { maxInflightMsgs: 32 });
  const p = pr(r, 2);
  p.becomeReplicate();
  for (let i = 0; i < r.trk.maxInflight; i++) {
    r.step(prop(1, 'somedata'));
    readMessages(r);
  }
  // Index 1 is the empty entry, 2 the first proposal.
  for (let tt = 2; tt < r.trk.maxInflight; tt++) {
    r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, index: tt }));
    readMessages(r);
    r.step(prop(1, 'somedata'));
    assert.deepEqual(readMessages(r).map((m) => m.type), [MessageType.MsgApp], `#${tt}: one slot freed, one message`);
    assert.equal(p.isPaused(), true);
    for (let i = 0; i < tt; i++) {
      r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, index: i }));
      assert.equal(p.isPaused(), true, `#${tt}: stale ack ${i} freed nothing`);
    }
  }
});

test('Inflights: a heartbeat response on a full window lets one empty append out, to find out where the follower is', () => {
  const r = leader([1, 2], { maxInflightMsgs: 32 });
  const p = pr(r, 2);
  p.becomeReplicate();
  for (let i = 0; i < r.trk.maxInflight; i++) {
    r.step(prop(1, 'somedata'));
    readMessages(r);
  }
  for (let tt = 1; tt < 5; tt++) {
    for (let i = 0; i < tt; i++) {
      assert.equal(p.isPaused(), true);
      r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 2, to: 1 }));
      const ms = readMessages(r);
      assert.equal(ms.length, 1);
      assert.equal(ms[0]!.type, MessageType.MsgApp);
      assert.equal(ms[0]!.entries.length, 0);
    }
    for (let i = 0; i < 10; i++) {
      assert.equal(p.isPaused(), true);
      r.step(prop(1, 'somedata'));
      assert.deepEqual(readMessages(r), []);
    }
    r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 2, to: 1 }));
    readMessages(r);
  }
});

test('Inflights: the window limits messages and bytes in flight; the message size limit cuts batches', () => {
  const r = leader([1, 2], { maxInflightMsgs: 3, maxSizePerMsg: 2048, maxInflightBytes: 9000 });
  readMessages(r);
  pr(r, 2).becomeProbe();
  const small = 'a'.repeat(1000);
  const large = 'b'.repeat(5000);
  for (let i = 0; i < 22; i++) r.step(prop(1, i >= 10 && i < 16 ? large : small));
  const first = readMessages(r);
  // The probe carries the empty entry and the first proposal; then the flow pauses.
  assert.equal(first.length, 1);
  assert.deepEqual(first[0]!.entries.map((e) => e.data.length), [0, 1000]);
  const ackAndVerify = (index: number, ...expEntries: number[]): number => {
    r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, index }));
    const ms = readMessages(r);
    assert.deepEqual(ms.map((m) => m.entries.length), expEntries, `after ack ${index}`);
    for (const m of ms) assert.equal(m.type, MessageType.MsgApp);
    const last = ms[ms.length - 1]!.entries;
    return last.length === 0 ? index : last[last.length - 1]!.index;
  };
  // Replicate: three messages at once (two small entries fit in 2048 bytes).
  let index = ackAndVerify(first[0]!.entries[1]!.index, 2, 2, 2);
  // The third message holds one large entry.
  index = ackAndVerify(index, 2, 1, 1);
  // Large entries: two messages overflow the 9000 in-flight bytes.
  index = ackAndVerify(index, 1, 1);
  index = ackAndVerify(index, 1, 1);
  // Small entries again.
  index = ackAndVerify(index, 1, 2, 2);
  ackAndVerify(index, 2);
});

test('the message size limit: a batch never exceeds maxSizePerMsg, except a single entry larger than it', () => {
  const limit = 250;
  const r = leader([1, 2], { maxSizePerMsg: limit });
  readMessages(r);
  pr(r, 2).becomeReplicate();
  const sizes = [100, 100, 100, 100, 1000, 100];
  for (const n of sizes) mustAppendEntry(r, newEntry({ data: bytes('x'.repeat(n)) }));
  const batches: Entry[][] = [];
  for (let guard = 0; guard < 20 && r.maybeSendAppend(2, false); guard++) batches.push(expectOne(r).entries);
  // The empty entry and all six proposals went out, in order.
  assert.deepEqual(batches.flat().map((e) => e.data.length), [0, ...sizes]);
  for (const b of batches) {
    const size = b.reduce((n, e) => n + entrySizeBytes(e), 0);
    assert.ok(b.length === 1 || size <= limit, `batch of ${b.length} entries is ${size} bytes`);
  }
  assert.ok(batches.some((b) => b.length === 1 && b[0]!.data.length === 1000), 'the large entry goes alone');
});

test('the uncommitted size limit drops proposals with ErrProposalDropped; empty entries always pass', () => {
  const maxEntries = 1024;
  const data = 'testdata';
  const cap = maxEntries * data.length;
  const r = newTestRaft(1, 5, 1, newTestStorage([1, 2, 3]), { maxUncommittedEntriesSize: cap, maxInflightMsgs: 2 * 1024 });
  r.becomeCandidate();
  r.becomeLeader();
  assert.equal(r.uncommittedSize, 0, "the leader's empty entry costs nothing");
  pr(r, 2).becomeReplicate();
  pr(r, 3).becomeReplicate();
  r.uncommittedSize = 0;
  for (let i = 0; i < maxEntries; i++) assert.equal(stepErr(r, prop(1, data)), null, `#${i}`);
  assert.equal(stepErr(r, prop(1, data)), ErrProposalDropped, 'one more is over the limit');
  assert.equal(readMessages(r).length, maxEntries * 2);
  r.reduceUncommittedSize(maxEntries * data.length);
  assert.equal(r.uncommittedSize, 0);
  // Below the limit, one large proposal may overshoot it...
  const large = msg({ type: MessageType.MsgProp, from: 1, to: 1, entries: Array.from({ length: 2 * maxEntries }, () => newEntry({ data: bytes(data) })) });
  assert.equal(stepErr(r, large), null);
  // ...but then the next one is refused, except an empty one (the leader's entry, leaving joint).
  assert.equal(stepErr(r, prop(1, data)), ErrProposalDropped);
  assert.equal(stepErr(r, msg({ type: MessageType.MsgProp, from: 1, to: 1, entries: [newEntry({})] })), null);
  assert.equal(readMessages(r).length, 2 * 2);
  r.reduceUncommittedSize(payloadsSizeBytes(large.entries));
  assert.equal(r.uncommittedSize, 0);
});

// ---------------------------------------------------------------------------------------------
// Reject hints and fast backtracking

test('reject hints: the follower and the leader each skip whole divergent terms (one round trip per side)', () => {
  const cases: Array<{
    leader: number[];
    follower: number[];
    compact?: number;
    hintTerm: number;
    hintIndex: number;
    nextTerm: number;
    nextIndex: number;
  }> = [
    // The leader finds the conflict quickly.
    { leader: [1, 2, 2, 4, 4, 4, 4], follower: [1, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3], hintTerm: 3, hintIndex: 7, nextTerm: 2, nextIndex: 3 },
    { leader: [1, 2, 2, 3, 4, 4, 4, 5], follower: [1, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3], hintTerm: 3, hintIndex: 8, nextTerm: 3, nextIndex: 4 },
    // The follower finds it quickly.
    { leader: [1, 1, 1, 1], follower: [1, 2, 2, 4], hintTerm: 1, hintIndex: 1, nextTerm: 1, nextIndex: 1 },
    { leader: [1, 1, 1, 1, 1, 1], follower: [1, 2, 2, 4], hintTerm: 1, hintIndex: 1, nextTerm: 1, nextIndex: 1 },
    { leader: [1, 1, 1, 1], follower: [1, 2, 2, 4, 4, 4], hintTerm: 1, hintIndex: 1, nextTerm: 1, nextIndex: 1 },
    // No conflict, the follower is just behind.
    { leader: [1, 1, 1, 4, 5], follower: [1, 1, 1, 4], hintTerm: 4, hintIndex: 4, nextTerm: 4, nextIndex: 4 },
    // etcd's examples from stepLeader and handleAppendEntries.
    { leader: [2, 5, 5, 5, 5, 5, 5, 5, 5], follower: [2, 4, 4, 4, 4, 4], hintTerm: 4, hintIndex: 6, nextTerm: 2, nextIndex: 1 },
    { leader: [2, 2, 2, 2, 2], follower: [2, 4, 4, 4, 4, 4, 4, 4], hintTerm: 2, hintIndex: 1, nextTerm: 2, nextIndex: 1 },
    // A stale append reaching a follower that compacted past it: it hints the same index with an
    // unknown term, and the leader steps back one entry.
    { leader: [1, 1, 3], follower: [1, 1, 3, 3, 3], compact: 5, hintTerm: 0, hintIndex: 3, nextTerm: 1, nextIndex: 2 },
  ];
  cases.forEach((c, i) => {
    const s1 = newTestStorage([1, 2, 3]);
    s1.append(ents(1, ...c.leader));
    const lastTerm = c.leader[c.leader.length - 1]!;
    s1.setHardState({ term: lastTerm - 1, vote: 0, commit: c.leader.length });
    const n1 = newTestRaft(1, 10, 1, s1);
    n1.becomeCandidate();
    n1.becomeLeader();
    const s2 = newTestStorage([1, 2, 3]);
    s2.append(ents(1, ...c.follower));
    s2.setHardState({ term: lastTerm, vote: 1, commit: 0 });
    const n2 = newTestRaft(2, 10, 1, s2);
    if (c.compact !== undefined) s2.compact(c.compact);

    n2.step(msg({ type: MessageType.MsgHeartbeat, from: 1, to: 2 }));
    let ms = readMessages(n2);
    assert.deepEqual(ms.map((m) => m.type), [MessageType.MsgHeartbeatResp], `#${i}`);
    n1.step(ms[0]!);
    ms = readMessages(n1);
    assert.deepEqual(ms.map((m) => m.type), [MessageType.MsgApp], `#${i}`);
    n2.step(ms[0]!);
    ms = readMessages(n2);
    assert.equal(ms.length, 1, `#${i}`);
    assert.equal(ms[0]!.type, MessageType.MsgAppResp);
    assert.equal(ms[0]!.reject, true, `#${i}: rejected`);
    assert.equal(ms[0]!.logTerm, c.hintTerm, `#${i}: hint term`);
    assert.equal(ms[0]!.rejectHint, c.hintIndex, `#${i}: hint index`);
    n1.step(ms[0]!);
    ms = readMessages(n1);
    assert.equal(ms[0]!.logTerm, c.nextTerm, `#${i}: next append term`);
    assert.equal(ms[0]!.index, c.nextIndex, `#${i}: next append index`);
  });
});

test('a reordered rejection that arrives after the follower caught up does not move the leader below its match', () => {
  const r1 = newTestRaft(1, 10, 1, newTestStorage([1, 2]));
  r1.becomeCandidate();
  r1.becomeLeader();
  readMessages(r1);
  pr(r1, 2).becomeReplicate();
  const r2 = newTestRaft(2, 10, 1, newTestStorage([1, 2]));
  mustAppendEntry(r1, newEntry({ data: bytes('somedata') }));
  r1.sendAppend(2);
  const req1 = expectOne(r1);
  mustAppendEntry(r1, newEntry({ data: bytes('somedata') }));
  r1.sendAppend(2);
  const req2 = expectOne(r1);
  // r2 gets the second append first and rejects it.
  r2.step(req2);
  const resp2 = expectOne(r2);
  assert.equal(resp2.reject, true);
  assert.equal(resp2.rejectHint, 0);
  assert.equal(resp2.index, 2);
  // Then the first, which it accepts.
  r2.step(req1);
  const ok = expectOne(r2);
  assert.equal(ok.reject, false);
  assert.equal(ok.index, 2);
  r1.step(ok);
  expectOne(r1);
  assert.equal(pr(r1, 2).match, 2);
  // A transient failure sends r1 back to probing; then the delayed rejection arrives.
  r1.step(msg({ type: MessageType.MsgUnreachable, from: 2, to: 1 }));
  assert.equal(pr(r1, 2).state, PrState.StateProbe);
  r1.step(resp2);
  const m = expectOne(r1);
  assert.equal(m.index, pr(r1, 2).match, 'probing resumes at the match, not at the stale hint');
});

test('stale replies: an append response of an older term changes no progress', () => {
  const r = leader([1, 2, 3]);
  readMessages(r);
  r.becomeFollower(r.term + 1, None);
  r.becomeCandidate();
  r.becomeLeader();
  readMessages(r);
  const before = { ...pr(r, 2) };
  r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, term: r.term - 1, index: 1 }));
  assert.equal(pr(r, 2).match, before.match);
  assert.equal(pr(r, 2).state, before.state);
  assert.equal(r.raftLog.committed, 0);
  assert.deepEqual(readMessages(r), []);
});

test("stale replies: a leader's own ack from before it lost leadership is ignored", () => {
  const r = leader([1, 2, 3]);
  r.step(prop(1, 'somedata'));
  const steps = takeMessagesAfterAppend(r);
  r.step(msg({ type: MessageType.MsgHeartbeat, from: 2, to: 1, term: r.term + 1 }));
  assert.equal(r.state, StateType.StateFollower);
  stepOrSend(r, steps);
  assert.equal(r.state, StateType.StateFollower);
  assert.equal(r.raftLog.committed, 0);
});

test('stale replies: in Replicate, a rejection at or below the match is ignored', () => {
  const r = leader([1, 2]);
  readMessages(r);
  const p = pr(r, 2);
  r.step(prop(1, 'a'));
  r.step(prop(1, 'b'));
  readMessages(r);
  r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, term: r.term, index: 3 }));
  readMessages(r);
  assert.equal(p.state, PrState.StateReplicate);
  assert.equal(p.match, 3);
  r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, term: r.term, index: 2, reject: true, rejectHint: 1, logTerm: 1 }));
  assert.equal(p.state, PrState.StateReplicate);
  assert.equal(p.match, 3);
  assert.equal(p.next, 4);
  assert.deepEqual(readMessages(r), []);
});

// ---------------------------------------------------------------------------------------------
// Heartbeats

test('a heartbeat carries commit = min(match, committed), and no log position or entries', () => {
  // A log at offset 1000 (after a snapshot), 10 entries past it.
  const s = new MemoryStorage();
  s.applySnapshot({ data: new Uint8Array(0), metadata: { index: 1000, term: 1, confState: confState([1, 2, 3]) } });
  const r = newTestRaft(1, 10, 1, s);
  r.term = 1;
  r.becomeCandidate();
  r.becomeLeader();
  for (let i = 0; i < 10; i++) mustAppendEntry(r, newEntry({ index: i + 1 }));
  advanceMessagesAfterAppend(r);
  // A slow follower and an up-to-date one.
  pr(r, 2).match = 5;
  pr(r, 2).next = 6;
  pr(r, 3).match = r.raftLog.lastIndex();
  pr(r, 3).next = r.raftLog.lastIndex() + 1;
  r.step(msg({ type: MessageType.MsgBeat }));
  const ms = readMessages(r);
  assert.equal(ms.length, 2);
  const want = new Map([
    [2, Math.min(r.raftLog.committed, 5)],
    [3, Math.min(r.raftLog.committed, r.raftLog.lastIndex())],
  ]);
  assert.deepEqual([...want.values()], [5, 1000]);
  for (const m of ms) {
    assert.equal(m.type, MessageType.MsgHeartbeat);
    assert.equal(m.index, 0);
    assert.equal(m.logTerm, 0);
    assert.equal(m.entries.length, 0);
    assert.equal(m.commit, want.get(m.to), `to ${m.to}`);
  }
});

test('heartbeat commit: a follower with a divergent tail is never told to commit past what it shares with the leader', () => {
  // Leader (term 3): [1:t1, 2:t3], committed 2. Follower 2: [1:t1, 2:t2], known to match at 1.
  const ls = newTestStorage([1, 2, 3]);
  ls.append(ents(1, 1, 3));
  ls.setHardState({ term: 3, vote: 1, commit: 2 });
  const l = newTestRaft(1, 10, 1, ls);
  l.becomeCandidate();
  l.becomeLeader();
  readMessages(l);
  pr(l, 2).match = 1;
  pr(l, 2).next = 2;
  const fs = newTestStorage([1, 2, 3]);
  fs.append(ents(1, 1, 2));
  const f = newTestRaft(2, 10, 1, fs);
  f.becomeFollower(l.term, 1);
  l.step(beat(1));
  const hb = readMessages(l).find((m) => m.to === 2)!;
  assert.equal(hb.commit, 1);
  f.step(hb);
  assert.equal(f.raftLog.committed, 1, "the follower's own entry 2 (term 2) is not committed");
});

test('a follower commits what a heartbeat tells it, but never moves its commit index back', () => {
  const cases: Array<[number, number]> = [
    [3, 3],
    [1, 2],
  ];
  for (const [commit, want] of cases) {
    const s = newTestStorage([1, 2]);
    s.append(ents(1, 1, 2, 3));
    const r = newTestRaft(1, 5, 1, s);
    r.becomeFollower(2, 2);
    r.raftLog.commitTo(2);
    r.handleHeartbeat(msg({ type: MessageType.MsgHeartbeat, from: 2, to: 1, term: 2, commit }));
    assert.equal(r.raftLog.committed, want);
    assert.deepEqual(readMessages(r).map((m) => m.type), [MessageType.MsgHeartbeatResp]);
  }
});

test('only a leader answers MsgBeat with heartbeats', () => {
  const cases: Array<[StateType, number]> = [
    [StateType.StateLeader, 2],
    [StateType.StateCandidate, 0],
    [StateType.StateFollower, 0],
  ];
  for (const [state, want] of cases) {
    const s = newTestStorage([1, 2, 3]);
    s.append(ents(1, 1, 1));
    const r = newTestRaft(1, 10, 1, s);
    r.term = 1;
    r.state = state;
    r.step(beat(1));
    const ms = readMessages(r);
    assert.equal(ms.length, want, `state ${state}`);
    for (const m of ms) assert.equal(m.type, MessageType.MsgHeartbeat);
  }
});
