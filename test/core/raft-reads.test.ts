// Linearizable reads without writing to the log (Raft thesis §6.4): ReadIndex confirmed by a
// round of heartbeats (ReadOnlySafe) or by the leader lease (ReadOnlyLeaseBased, which needs
// CheckQuorum). Scenarios follow etcd-io/raft's raft_test.go, restated for this port.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Raft, type Config } from '../../src/core/raft.js';
import { ReadOnlyOption } from '../../src/core/read-only.js';
import { StateType } from '../../src/core/ready.js';
import { RaftError } from '../../src/core/errors.js';
import { MessageType, newEntry } from '../../src/core/types.js';
import {
  Network,
  bytes,
  ents,
  hup,
  msg,
  newTestConfig,
  newTestRaft,
  newTestStorage,
  nextEnts,
  prop,
  readMessages,
  str,
} from './helpers-raft.js';

function readIndex(id: number, ctx: string, from = id): ReturnType<typeof msg> {
  return msg({ type: MessageType.MsgReadIndex, from, to: id, entries: [newEntry({ data: bytes(ctx) })] });
}

function emptyProp(id: number): ReturnType<typeof msg> {
  return msg({ type: MessageType.MsgProp, from: id, to: id, entries: [newEntry({})] });
}

// A cluster of three where node 1 is the leader. Node 2's clock is set so that it does not
// campaign by itself during the test.
function electedTrio(configure?: (c: Config) => void): [Network, Raft, Raft, Raft] {
  const n = new Network([null, null, null], configure);
  const [a, b, c] = [n.raft(1), n.raft(2), n.raft(3)];
  b.randomizedElectionTimeout = b.electionTimeout + 1;
  for (let i = 0; i < b.electionTimeout; i++) b.tick();
  n.send(hup(1));
  assert.equal(a.state, StateType.StateLeader);
  return [n, a, b, c];
}

function checkReads(n: Network, nodes: Raft[]): void {
  const cases: Array<[Raft, number, string]> = [
    [nodes[0]!, 11, 'ctx1'],
    [nodes[1]!, 21, 'ctx2'],
    [nodes[2]!, 31, 'ctx3'],
    [nodes[0]!, 41, 'ctx4'],
    [nodes[1]!, 51, 'ctx5'],
    [nodes[2]!, 61, 'ctx6'],
  ];
  for (const [r, wri, ctx] of cases) {
    for (let j = 0; j < 10; j++) n.send(emptyProp(1));
    n.send(readIndex(r.id, ctx));
    assert.ok(r.readStates.length > 0, `node ${r.id}: no read state for ${ctx}`);
    assert.equal(r.readStates[0]!.index, wri, `node ${r.id} ${ctx}`);
    assert.equal(str(r.readStates[0]!.requestCtx), ctx);
    r.readStates = [];
  }
}

test('ReadOnlySafe: a read on the leader or a follower returns the commit index at the time of the request', () => {
  const [n, a, b, c] = electedTrio();
  checkReads(n, [a, b, c]);
});

test('ReadOnlyLeaseBased: reads return the same indices, without a heartbeat round', () => {
  const lease = (cfg: Config): void => {
    cfg.readOnlyOption = ReadOnlyOption.ReadOnlyLeaseBased;
    cfg.checkQuorum = true;
  };
  const [n, a, b, c] = electedTrio(lease);
  checkReads(n, [a, b, c]);
  // The leader answers from its lease: no heartbeat goes out for the read.
  for (let j = 0; j < 3; j++) n.send(emptyProp(1));
  a.step(readIndex(1, 'lease'));
  assert.deepEqual(readMessages(a).filter((m) => m.type === MessageType.MsgHeartbeat), []);
  assert.equal(a.readStates.length, 1);
});

test('ReadOnlyLeaseBased without CheckQuorum is refused by the configuration', () => {
  assert.throws(
    () => new Raft(newTestConfig(1, 10, 1, newTestStorage([1, 2, 3]), { readOnlyOption: ReadOnlyOption.ReadOnlyLeaseBased })),
    (err: unknown) => err instanceof RaftError && /CheckQuorum/.test(err.message),
  );
});

test('ReadOnlySafe: the leader answers only once a quorum acknowledged the heartbeat that carried the request', () => {
  const r = newTestRaft(1, 5, 1, newTestStorage([1, 2, 3, 4, 5]));
  r.becomeCandidate();
  r.becomeLeader();
  r.raftLog.commitTo(r.raftLog.lastIndex());
  r.step(readIndex(1, 'ctx'));
  const hbs = readMessages(r).filter((m) => m.type === MessageType.MsgHeartbeat);
  assert.deepEqual(hbs.map((m) => [m.to, str(m.context)]), [[2, 'ctx'], [3, 'ctx'], [4, 'ctx'], [5, 'ctx']]);
  assert.equal(r.readStates.length, 0, 'not before any ack');
  // An ack without the context, or for another context, does not count.
  r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 2, to: 1, term: r.term }));
  r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 3, to: 1, term: r.term, context: bytes('other') }));
  assert.equal(r.readStates.length, 0);
  // The leader and one follower are two of five: not yet.
  r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 2, to: 1, term: r.term, context: bytes('ctx') }));
  r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 2, to: 1, term: r.term, context: bytes('ctx') }));
  assert.equal(r.readStates.length, 0, 'a repeated ack counts once');
  r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 3, to: 1, term: r.term, context: bytes('ctx') }));
  assert.deepEqual(r.readStates.map((s) => [s.index, str(s.requestCtx)]), [[1, 'ctx']]);
});

test('ReadOnlySafe: answering a request frees it, and an ack for a later request answers the earlier ones too', () => {
  const r = newTestRaft(1, 5, 1, newTestStorage([1, 2]));
  r.becomeCandidate();
  r.becomeLeader();
  r.raftLog.commitTo(r.raftLog.lastIndex());
  r.step(readIndex(1, 'ctx', 2));
  const ms = readMessages(r);
  assert.deepEqual(ms.map((m) => [m.type, str(m.context)]), [[MessageType.MsgHeartbeat, 'ctx']]);
  assert.equal(r.readOnly.readIndexQueue.length, 1);
  assert.equal(r.readOnly.pendingReadIndex.size, 1);
  r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 2, to: 1, context: bytes('ctx') }));
  assert.equal(r.readOnly.readIndexQueue.length, 0);
  assert.equal(r.readOnly.pendingReadIndex.size, 0);

  // Two requests; the ack of the second confirms both.
  const q = newTestRaft(1, 5, 1, newTestStorage([1, 2, 3]));
  q.becomeCandidate();
  q.becomeLeader();
  q.raftLog.commitTo(q.raftLog.lastIndex());
  q.step(readIndex(1, 'first'));
  q.step(readIndex(1, 'second'));
  q.step(msg({ type: MessageType.MsgHeartbeatResp, from: 2, to: 1, context: bytes('second') }));
  assert.deepEqual(q.readStates.map((s) => str(s.requestCtx)), ['first', 'second']);
  assert.equal(q.readOnly.pendingReadIndex.size, 0);
});

test('a single voter answers a read at once', () => {
  const r = newTestRaft(1, 5, 1, newTestStorage([1]));
  r.becomeCandidate();
  r.becomeLeader();
  r.step(readIndex(1, 'ctx'));
  assert.deepEqual(r.readStates.map((s) => str(s.requestCtx)), ['ctx']);
  assert.deepEqual(readMessages(r).filter((m) => m.type === MessageType.MsgHeartbeat), []);
});

test('reads through a learner are forwarded to the leader and answered', () => {
  const s = newTestStorage([1], [2]);
  const a = newTestRaft(1, 10, 1, s);
  const b = newTestRaft(2, 10, 1, newTestStorage([1], [2]));
  const n = new Network([a, b]);
  b.randomizedElectionTimeout = b.electionTimeout + 1;
  for (let i = 0; i < b.electionTimeout; i++) b.tick();
  n.send(hup(1));
  assert.equal(a.state, StateType.StateLeader);
  const cases: Array<[Raft, number, string]> = [
    [a, 11, 'ctx1'],
    [b, 21, 'ctx2'],
    [a, 31, 'ctx3'],
    [b, 41, 'ctx4'],
  ];
  for (const [r, wri, ctx] of cases) {
    for (let j = 0; j < 10; j++) {
      n.send(emptyProp(1));
      nextEnts(a, s);
    }
    n.send(readIndex(r.id, ctx));
    assert.ok(r.readStates.length > 0, ctx);
    assert.equal(r.readStates[0]!.index, wri, ctx);
    assert.equal(str(r.readStates[0]!.requestCtx), ctx);
    r.readStates = [];
  }
});

test('a follower without a leader drops a read request', () => {
  const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]));
  r.step(readIndex(1, 'ctx'));
  assert.deepEqual(readMessages(r), []);
  assert.equal(r.readStates.length, 0);
});

test('a new leader postpones reads until it has committed an entry of its own term (it does not know the commit index before)', () => {
  // Node 1 knows index 1 committed; nodes 2 and 3 know index 2 committed (and compacted it).
  const nodes: Array<[number, number, number]> = [
    [1, 1, 0],
    [2, 2, 2],
    [3, 2, 2],
  ];
  const peers = nodes.map(([id, committed, compact]) => {
    const s = newTestStorage([1, 2, 3]);
    s.append(ents(1, 1, 1));
    s.setHardState({ term: 1, vote: 0, commit: committed });
    if (compact !== 0) s.compact(compact);
    return new Raft(newTestConfig(id, 10, 1, s, { applied: committed }));
  });
  const n = new Network(peers);
  // No appends: the new leader cannot commit anything of its term.
  n.ignore(MessageType.MsgApp);
  n.send(hup(1));
  const a = n.raft(1);
  assert.equal(a.state, StateType.StateLeader);
  n.send(readIndex(1, 'ctx'));
  assert.equal(a.readStates.length, 0, 'a read now could miss index 2, committed by others');
  n.recover();
  for (let i = 0; i < a.heartbeatTimeout; i++) a.tick();
  n.send(emptyProp(1));
  assert.equal(a.raftLog.committed, 4);
  assert.equal(a.raftLog.termOrZero(a.raftLog.committed), a.term);
  // The postponed read is answered now, at the commit index of the current term.
  assert.deepEqual(a.readStates.map((s) => [s.index, str(s.requestCtx)]), [[4, 'ctx']]);
  n.send(readIndex(1, 'ctx'));
  assert.deepEqual(a.readStates.map((s) => [s.index, str(s.requestCtx)]), [[4, 'ctx'], [4, 'ctx']]);
});

test('linearizability: a deposed leader cut off from the majority never answers a read, so it cannot serve a stale value', () => {
  const n = new Network([null, null, null, null, null]);
  n.send(hup(1));
  const old = n.raft(1);
  n.send(prop(1, 'v1'));
  // {1, 2} | {3, 4, 5}: 3 takes over and commits a newer value.
  for (const a of [1, 2]) for (const b of [3, 4, 5]) n.cut(a, b);
  n.send(hup(3));
  const lead = n.raft(3);
  assert.equal(lead.state, StateType.StateLeader);
  n.send(prop(3, 'v2'));
  const newWrite = lead.raftLog.lastIndex();
  assert.equal(lead.raftLog.committed, newWrite);
  // The old leader still believes it leads: a read would return its stale commit index.
  assert.equal(old.state, StateType.StateLeader);
  n.send(readIndex(1, 'stale?'));
  assert.equal(old.readStates.length, 0, 'only 2 of 5 acknowledged');
  // Healed, its heartbeats meet nodes of a higher term; still no answer at the old index.
  n.recover();
  n.send(msg({ type: MessageType.MsgBeat, from: 1, to: 1 }));
  for (const s of old.readStates) assert.ok(s.index >= newWrite, `read at ${s.index} misses the write at ${newWrite}`);
  // The current leader answers reads at or after the write.
  n.send(readIndex(3, 'fresh'));
  assert.ok(lead.readStates.length === 1 && lead.readStates[0]!.index >= newWrite);
});

test('linearizability: a read issued after a write was acknowledged returns an index at or after it, from any node', () => {
  const n = new Network([null, null, null]);
  n.send(hup(1));
  for (let k = 0; k < 5; k++) {
    n.send(prop(1, `w${k}`));
    const w = n.raft(1).raftLog.committed;
    for (const id of [1, 2, 3]) {
      const r = n.raft(id);
      n.send(readIndex(id, `r${k}.${id}`));
      assert.equal(r.readStates.length, 1, `node ${id}`);
      assert.ok(r.readStates[0]!.index >= w, `node ${id}: read at ${r.readStates[0]!.index} < write at ${w}`);
      r.readStates = [];
    }
  }
});
