// Membership: single-node changes (ConfChange v1, and v2 without joint consensus), joint consensus
// (Raft thesis §4.3: enter joint, leave joint explicitly or automatically), learners, and the rule
// of one pending change at a time. Scenarios follow etcd-io/raft's raft_test.go and
// rawnode_test.go, restated for this port; the end-to-end ones run the whole Ready loop.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Raft } from '../../src/core/raft.js';
import { RawNode } from '../../src/core/raw-node.js';
import { StateType } from '../../src/core/ready.js';
import { ErrProposalDropped } from '../../src/core/errors.js';
import { encodeConfChange, encodeConfChangeV2 } from '../../src/core/confchange.js';
import {
  ConfChangeTransition,
  ConfChangeType,
  EntryType,
  MessageType,
  None,
  emptyConfState,
  newEntry,
  type ConfChange,
  type ConfChangeI,
  type ConfChangeSingle,
  type ConfChangeV2,
  type ConfState,
} from '../../src/core/types.js';
import {
  Network,
  RawCluster,
  advanceMessagesAfterAppend,
  asV2,
  beat,
  decodeCC,
  hup,
  msg,
  mustAppendEntry,
  newTestRaft,
  newTestStorage,
  nextEnts,
  prop,
  readMessages,
  stepErr,
} from './helpers-raft.js';

const EMPTY = new Uint8Array(0);
const add = (nodeId: number): ConfChangeSingle => ({ type: ConfChangeType.ConfChangeAddNode, nodeId });
const addLearner = (nodeId: number): ConfChangeSingle => ({ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId });
const remove = (nodeId: number): ConfChangeSingle => ({ type: ConfChangeType.ConfChangeRemoveNode, nodeId });
const v1 = (c: ConfChangeSingle): ConfChange => ({ id: 0, type: c.type, nodeId: c.nodeId, context: EMPTY });
const v2 = (changes: ConfChangeSingle[], transition = ConfChangeTransition.Auto, context = EMPTY): ConfChangeV2 => ({ transition, changes, context });
const leaveJoint = (): ConfChangeV2 => v2([]);

function cs(p: Partial<ConfState>): ConfState {
  return { ...emptyConfState(), ...p };
}

function ccEntry(cc: ConfChangeI): ReturnType<typeof newEntry> {
  return 'changes' in cc
    ? newEntry({ type: EntryType.EntryConfChangeV2, data: encodeConfChangeV2(cc) })
    : newEntry({ type: EntryType.EntryConfChange, data: encodeConfChange(cc) });
}

function leaderOf(peers: number[], learners: number[] = []): Raft {
  const r = newTestRaft(1, 10, 1, newTestStorage(peers, learners));
  r.becomeCandidate();
  r.becomeLeader();
  return r;
}

// ---------------------------------------------------------------------------------------------
// Single-node changes, end to end

test('ConfChange v1: an added node catches up from the log, counts toward the quorum and can lead', () => {
  const c = new RawCluster({ voters: [1, 2, 3], extra: [4] });
  c.campaign(1);
  c.propose(1, 'a');
  c.proposeConfChange(1, v1(add(4)));
  for (const id of [1, 2, 3, 4]) assert.deepEqual(c.confStates.get(id)?.voters, [1, 2, 3, 4], `node ${id}`);
  assert.deepEqual(c.appliedData(4), ['a'], 'the new node replayed the log');
  // With four voters, two are no longer a quorum.
  c.isolate(3);
  c.isolate(4);
  c.propose(1, 'b');
  assert.deepEqual(c.appliedData(1), ['a'], 'not committed by 2 of 4');
  c.heal();
  c.node(1).tick();
  c.stabilize();
  assert.deepEqual(c.appliedData(4), ['a', 'b']);
  c.campaign(4);
  assert.equal(c.raft(4).state, StateType.StateLeader);
  c.propose(4, 'c');
  for (const id of [1, 2, 3, 4]) assert.deepEqual(c.appliedData(id), ['a', 'b', 'c'], `node ${id}`);
});

test('ConfChange v1: after a removal the rest of the cluster commits without the removed node', () => {
  const c = new RawCluster({ voters: [1, 2, 3] });
  c.campaign(1);
  c.proposeConfChange(1, v1(remove(3)));
  for (const id of [1, 2]) assert.deepEqual(c.confStates.get(id)?.voters, [1, 2], `node ${id}`);
  c.crash(3);
  c.propose(1, 'x');
  assert.deepEqual(c.appliedData(2), ['x']);
});

test('removing a node shrinks the quorum: a pending proposal commits once the removal is applied', () => {
  const s = newTestStorage([1, 2]);
  const r = newTestRaft(1, 5, 1, s);
  r.becomeCandidate();
  r.becomeLeader();
  const cc = v1(remove(2));
  r.step(msg({ type: MessageType.MsgProp, entries: [ccEntry(cc)] }));
  assert.deepEqual(nextEnts(r, s), [], 'nothing committed without node 2');
  const ccIndex = r.raftLog.lastIndex();
  r.step(msg({ type: MessageType.MsgProp, entries: [newEntry({ data: new TextEncoder().encode('hello') })] }));
  // Node 2 acks up to the conf change, committing it (and the empty entry).
  r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, index: ccIndex }));
  let es = nextEnts(r, s);
  assert.deepEqual(es.map((e) => e.type), [EntryType.EntryNormal, EntryType.EntryConfChange]);
  assert.equal(es[0]!.data.length, 0);
  // Applying it leaves node 1 alone, which commits "hello" by itself.
  r.applyConfChange(asV2(cc));
  es = nextEnts(r, s);
  assert.deepEqual(es.map((e) => new TextDecoder().decode(e.data)), ['hello']);
});

test('ConfChange v2 with one change applies directly, without a joint configuration', () => {
  const c = new RawCluster({ voters: [1, 2, 3], extra: [4] });
  c.campaign(1);
  c.proposeConfChange(1, v2([add(4)]));
  for (const id of [1, 2, 3, 4]) assert.deepEqual(c.confStates.get(id), cs({ voters: [1, 2, 3, 4] }), `node ${id}`);
});

test('removing the last voter is refused loudly', () => {
  const r = newTestRaft(1, 10, 1, newTestStorage([1, 2]));
  r.applyConfChange(asV2(v1(remove(2))));
  assert.deepEqual(r.trk.voterNodes(), [1]);
  assert.throws(() => r.applyConfChange(asV2(v1(remove(1)))), /removed all voters/);
  const l = newTestRaft(1, 10, 1, newTestStorage([1], [2]));
  l.applyConfChange(asV2(v1(remove(2))));
  assert.deepEqual(l.trk.voterNodes(), [1]);
  assert.deepEqual(l.trk.learnerNodes(), []);
  assert.throws(() => l.applyConfChange(asV2(v1(remove(1)))), /removed all voters/);
});

test('adding, promoting and demoting nodes updates voters, learners and our own learner flag', () => {
  const r = newTestRaft(1, 10, 1, newTestStorage([1]));
  r.applyConfChange(asV2(v1(add(2))));
  assert.deepEqual(r.trk.voterNodes(), [1, 2]);
  r.applyConfChange(asV2(v1(addLearner(3))));
  assert.deepEqual(r.trk.learnerNodes(), [3]);
  assert.equal(r.trk.progress.get(3)!.isLearner, true);
  assert.equal(r.isLearner, false);
  r.applyConfChange(asV2(v1(add(3))));
  assert.equal(r.trk.progress.get(3)!.isLearner, false, 'promoted');
  r.applyConfChange(asV2(v1(addLearner(1))));
  assert.equal(r.isLearner, true, 'demoted ourselves');
  r.applyConfChange(asV2(v1(add(1))));
  assert.equal(r.isLearner, false, 'promoted again');
});

test('only a voter of the configuration can campaign (promotable)', () => {
  const cases: Array<[number[], boolean]> = [
    [[1], true],
    [[1, 2, 3], true],
    [[], false],
    [[2, 3], false],
  ];
  for (const [peers, want] of cases) assert.equal(newTestRaft(1, 5, 1, newTestStorage(peers)).promotable(), want, `${peers}`);
  assert.deepEqual(newTestRaft(1, 10, 1, newTestStorage([3, 2, 1])).trk.voterNodes(), [1, 2, 3], 'voters are listed in order');
});

// ---------------------------------------------------------------------------------------------
// Joint consensus

// A leader of {1,2,3} that entered the joint configuration {1,4,5} && {1,2,3}.
function jointLeader(): Raft {
  const r = leaderOf([1, 2, 3]);
  advanceMessagesAfterAppend(r);
  readMessages(r);
  r.applyConfChange(v2([add(4), add(5), remove(2), remove(3)], ConfChangeTransition.JointExplicit));
  readMessages(r);
  assert.deepEqual(r.trk.confState(), cs({ voters: [1, 4, 5], votersOutgoing: [1, 2, 3] }));
  return r;
}

test('joint consensus: a commit needs a majority of the old voters and a majority of the new ones', () => {
  const cases: Array<[acked: number[], committed: boolean]> = [
    [[2, 3], false], // the old configuration alone
    [[4, 5], false], // the new configuration alone
    [[2, 4], true], // a majority of both (with the leader)
    [[3, 5], true],
  ];
  for (const [acked, want] of cases) {
    const r = jointLeader();
    r.step(prop(1, 'x'));
    advanceMessagesAfterAppend(r);
    const last = r.raftLog.lastIndex();
    for (const id of acked) r.step(msg({ type: MessageType.MsgAppResp, from: id, to: 1, term: r.term, index: last }));
    assert.equal(r.raftLog.committed === last, want, `acks from ${acked}`);
  }
});

test('joint consensus: an election needs a majority of the old voters and a majority of the new ones', () => {
  const cases: Array<[granted: number[], leader: boolean]> = [
    [[2, 3], false],
    [[4, 5], false],
    [[2, 4], true],
  ];
  for (const [granted, want] of cases) {
    const s = newTestStorage([1, 2, 3]);
    const r = newTestRaft(1, 10, 1, s);
    r.applyConfChange(v2([add(4), add(5), remove(2), remove(3)], ConfChangeTransition.JointExplicit));
    r.step(hup(1));
    advanceMessagesAfterAppend(r);
    const voters = readMessages(r).filter((m) => m.type === MessageType.MsgVote).map((m) => m.to);
    assert.deepEqual(voters, [2, 3, 4, 5], 'both halves are asked');
    for (const id of granted) r.step(msg({ type: MessageType.MsgVoteResp, from: id, to: 1, term: r.term }));
    assert.equal(r.state === StateType.StateLeader, want, `votes from ${granted}`);
  }
});

test('joint consensus end to end: enter joint explicitly, stay there, leave on an explicit empty change', () => {
  const c = new RawCluster({ voters: [1, 2, 3], extra: [4, 5] });
  c.campaign(1);
  c.proposeConfChange(1, v2([add(4), add(5), remove(2), remove(3)], ConfChangeTransition.JointExplicit));
  for (const id of [1, 4, 5]) assert.deepEqual(c.confStates.get(id), cs({ voters: [1, 4, 5], votersOutgoing: [1, 2, 3] }), `node ${id}`);
  c.tickAll(3);
  c.stabilize();
  assert.deepEqual(c.raft(1).trk.confState().votersOutgoing, [1, 2, 3], 'an explicit joint state is not left by itself');
  c.proposeConfChange(1, leaveJoint());
  for (const id of [1, 4, 5]) assert.deepEqual(c.confStates.get(id), cs({ voters: [1, 4, 5] }), `node ${id}`);
  // The old members are gone: the new configuration commits without them.
  c.crash(2);
  c.crash(3);
  c.propose(1, 'x');
  for (const id of [4, 5]) assert.deepEqual(c.appliedData(id), ['x'], `node ${id}`);
});

test('joint consensus end to end: an automatic transition leaves the joint state by itself', () => {
  for (const transition of [ConfChangeTransition.Auto, ConfChangeTransition.JointImplicit]) {
    const c = new RawCluster({ voters: [1, 2, 3], extra: [4] });
    c.campaign(1);
    c.proposeConfChange(1, v2([add(4), remove(3)], transition));
    for (const id of [1, 2, 4]) assert.deepEqual(c.confStates.get(id), cs({ voters: [1, 2, 4] }), `transition ${transition}, node ${id}`);
    // The leader proposed the empty leave-joint change itself: it sits in every log.
    const leaves = c.applied.get(2)!.filter((e) => e.type === EntryType.EntryConfChangeV2 && (decodeCC(e) as ConfChangeV2).changes.length === 0);
    assert.equal(leaves.length, 1);
  }
});

test('joint consensus: a demoted voter of the outgoing half becomes a learner when the joint state is left', () => {
  const c = new RawCluster({ voters: [1, 2, 3] });
  c.campaign(1);
  c.proposeConfChange(1, v2([addLearner(3)], ConfChangeTransition.JointExplicit));
  assert.deepEqual(c.confStates.get(1), cs({ voters: [1, 2], votersOutgoing: [1, 2, 3], learnersNext: [3] }));
  c.proposeConfChange(1, leaveJoint());
  assert.deepEqual(c.confStates.get(1), cs({ voters: [1, 2], learners: [3] }));
  assert.equal(c.raft(3).isLearner, true);
});

// ---------------------------------------------------------------------------------------------
// One pending change at a time

test('a conf change proposal records its index as pending', () => {
  const r = leaderOf([1, 2]);
  const index = r.raftLog.lastIndex();
  r.step(msg({ type: MessageType.MsgProp, from: 1, to: 1, entries: [ccEntry(v1(add(3)))] }));
  assert.equal(r.raftLog.lastIndex(), index + 1);
  assert.equal(r.pendingConfIndex, index + 1);
});

test('a second conf change proposed while one is pending becomes an empty normal entry', () => {
  const r = leaderOf([1, 2]);
  r.step(msg({ type: MessageType.MsgProp, from: 1, to: 1, entries: [ccEntry(v1(add(3)))] }));
  const index = r.raftLog.lastIndex();
  const pending = r.pendingConfIndex;
  r.step(msg({ type: MessageType.MsgProp, from: 1, to: 1, entries: [ccEntry(v1(add(4)))] }));
  const es = r.raftLog.entries(index + 1, Number.MAX_SAFE_INTEGER);
  assert.deepEqual(es.map((e) => [e.index, e.term, e.type, e.data.length]), [[index + 1, 1, EntryType.EntryNormal, 0]]);
  assert.equal(r.pendingConfIndex, pending);
});

test('once the pending change is applied, the next one is accepted', () => {
  const s = newTestStorage([1, 2]);
  const r = newTestRaft(1, 10, 1, s);
  r.becomeCandidate();
  r.becomeLeader();
  r.step(msg({ type: MessageType.MsgProp, from: 1, to: 1, entries: [ccEntry(v1(add(3)))] }));
  nextEnts(r, s);
  r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, index: r.raftLog.lastIndex() }));
  nextEnts(r, s);
  assert.equal(r.raftLog.applied, r.pendingConfIndex);
  r.step(msg({ type: MessageType.MsgProp, from: 1, to: 1, entries: [ccEntry(v1(add(4)))] }));
  assert.equal(r.raftLog.entries(r.raftLog.lastIndex(), 1e9)[0]!.type, EntryType.EntryConfChange);
});

test('a new leader treats its whole unapplied log as a possibly pending conf change', () => {
  for (const [addEntry, want] of [[false, 0], [true, 1]] as const) {
    const r = newTestRaft(1, 10, 1, newTestStorage([1, 2]));
    if (addEntry) mustAppendEntry(r, newEntry({}));
    r.becomeCandidate();
    r.becomeLeader();
    assert.equal(r.pendingConfIndex, want);
  }
});

test('in a joint configuration only the leave-joint change is accepted; outside one, an empty change is refused', () => {
  const r = jointLeader();
  r.pendingConfIndex = 0;
  r.step(msg({ type: MessageType.MsgProp, from: 1, to: 1, entries: [ccEntry(v1(add(6)))] }));
  assert.equal(r.raftLog.entries(r.raftLog.lastIndex(), 1e9)[0]!.type, EntryType.EntryNormal, 'refused: must leave joint first');
  r.step(msg({ type: MessageType.MsgProp, from: 1, to: 1, entries: [ccEntry(leaveJoint())] }));
  assert.equal(r.raftLog.entries(r.raftLog.lastIndex(), 1e9)[0]!.type, EntryType.EntryConfChangeV2, 'leaving is accepted');

  const q = leaderOf([1, 2]);
  q.step(msg({ type: MessageType.MsgProp, from: 1, to: 1, entries: [ccEntry(leaveJoint())] }));
  assert.equal(q.raftLog.entries(q.raftLog.lastIndex(), 1e9)[0]!.type, EntryType.EntryNormal, 'refused: not joint');
});

for (const [name, cc] of [['v1', v1(remove(2))], ['v2', asV2(v1(remove(2)))]] as const) {
  test(`a node with a committed but unapplied conf change (${name}) does not campaign, even when asked to take over`, () => {
    const n = new Network([null, null, null]);
    const n1 = n.raft(1);
    const n2 = n.raft(2);
    n.send(hup(1));
    assert.equal(n1.state, StateType.StateLeader);
    n.send(msg({ type: MessageType.MsgProp, from: 1, to: 1, entries: [ccEntry(cc)] }));
    for (let i = 0; i < n2.randomizedElectionTimeout; i++) n2.tick();
    assert.equal(n2.state, StateType.StateFollower, 'still a follower: the change is not applied');
    n.send(msg({ type: MessageType.MsgTransferLeader, from: 2, to: 1 }));
    assert.equal(n1.state, StateType.StateLeader);
    assert.equal(n2.state, StateType.StateFollower);
    // Abort the transfer, apply on node 2, and transfer again.
    for (let i = 0; i < n1.electionTimeout; i++) n1.tick();
    nextEnts(n2, n.storage.get(2)!);
    n.send(msg({ type: MessageType.MsgTransferLeader, from: 2, to: 1 }));
    assert.equal(n1.state, StateType.StateFollower);
    assert.equal(n2.state, StateType.StateLeader);
    nextEnts(n1, n.storage.get(1)!);
    for (let i = 0; i < n1.randomizedElectionTimeout; i++) n1.tick();
    assert.equal(n1.state, StateType.StateCandidate);
  });
}

// ---------------------------------------------------------------------------------------------
// Learners

test('a learner never campaigns: not on an election timeout, nor on MsgHup, nor on MsgTimeoutNow', () => {
  const n2 = newTestRaft(2, 10, 1, newTestStorage([1], [2]));
  n2.becomeFollower(1, None);
  n2.randomizedElectionTimeout = n2.electionTimeout;
  for (let i = 0; i < 2 * n2.electionTimeout; i++) n2.tick();
  assert.equal(n2.state, StateType.StateFollower);
  const n = new Network([newTestRaft(1, 10, 1, newTestStorage([1], [2])), newTestRaft(2, 10, 1, newTestStorage([1], [2]))]);
  n.send(hup(2));
  assert.equal(n.raft(2).state, StateType.StateFollower);
  n.send(hup(1));
  assert.equal(n.raft(1).state, StateType.StateLeader);
  n.send(msg({ type: MessageType.MsgTimeoutNow, from: 1, to: 2 }));
  assert.equal(n.raft(2).state, StateType.StateFollower);
});

test('a learner receives and commits the log but does not count toward the quorum', () => {
  const n1 = newTestRaft(1, 10, 1, newTestStorage([1], [2]));
  const n2 = newTestRaft(2, 10, 1, newTestStorage([1], [2]));
  const n = new Network([n1, n2]);
  n1.becomeFollower(1, None);
  n2.becomeFollower(1, None);
  n1.randomizedElectionTimeout = n1.electionTimeout;
  for (let i = 0; i < n1.electionTimeout; i++) n1.tick();
  advanceMessagesAfterAppend(n1);
  n.send(beat(1));
  assert.equal(n1.state, StateType.StateLeader);
  assert.equal(n2.isLearner, true);
  n.send(prop(1, 'somedata'));
  assert.equal(n1.raftLog.committed, 2);
  assert.equal(n2.raftLog.committed, 2);
  assert.equal(n1.trk.progress.get(2)!.match, n2.raftLog.committed);

  // With voters {1,2} and learner 3, the learner's ack does not commit.
  const r = leaderOf([1, 2], [3]);
  r.step(prop(1, 'x'));
  advanceMessagesAfterAppend(r);
  r.step(msg({ type: MessageType.MsgAppResp, from: 3, to: 1, term: r.term, index: r.raftLog.lastIndex() }));
  assert.equal(r.raftLog.committed, 0);
  r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, term: r.term, index: r.raftLog.lastIndex() }));
  assert.equal(r.raftLog.committed, r.raftLog.lastIndex());
});

test('a learner grants a vote when asked: it may be a voter that has not applied its promotion yet', () => {
  const n2 = newTestRaft(2, 10, 1, newTestStorage([1], [2]));
  n2.becomeFollower(1, None);
  n2.step(msg({ type: MessageType.MsgVote, from: 1, to: 2, term: 2, logTerm: 11, index: 11 }));
  const ms = readMessages(n2);
  assert.deepEqual(ms.map((m) => [m.type, m.reject]), [[MessageType.MsgVoteResp, false]]);
});

test('a promoted learner can campaign and win', () => {
  const n1 = newTestRaft(1, 10, 1, newTestStorage([1], [2]));
  const n2 = newTestRaft(2, 10, 1, newTestStorage([1], [2]));
  n1.becomeFollower(1, None);
  n2.becomeFollower(1, None);
  const n = new Network([n1, n2]);
  n1.randomizedElectionTimeout = n1.electionTimeout;
  for (let i = 0; i < n1.electionTimeout; i++) n1.tick();
  advanceMessagesAfterAppend(n1);
  assert.equal(n1.state, StateType.StateLeader);
  assert.equal(n2.state, StateType.StateFollower);
  n.send(beat(1));
  n1.applyConfChange(asV2(v1(add(2))));
  n2.applyConfChange(asV2(v1(add(2))));
  assert.equal(n2.isLearner, false);
  n2.randomizedElectionTimeout = n2.electionTimeout;
  for (let i = 0; i < n2.electionTimeout; i++) n2.tick();
  advanceMessagesAfterAppend(n2);
  n.send(beat(2));
  assert.equal(n1.state, StateType.StateFollower);
  assert.equal(n2.state, StateType.StateLeader);
});

test('adding a node under CheckQuorum does not depose the leader at once; a silent new node eventually does', () => {
  const r = newTestRaft(1, 10, 1, newTestStorage([1]), { checkQuorum: true });
  r.becomeCandidate();
  r.becomeLeader();
  for (let i = 0; i < r.electionTimeout - 1; i++) r.tick();
  r.applyConfChange(asV2(v1(add(2))));
  r.tick();
  assert.equal(r.state, StateType.StateLeader, 'the new node counts as recently active');
  for (let i = 0; i < r.electionTimeout; i++) r.tick();
  assert.equal(r.state, StateType.StateFollower);
});

test('a leader removed from the configuration steps down with stepDownOnRemoval; otherwise it stays but takes no proposals', () => {
  for (const stepDown of [true, false]) {
    const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]), { stepDownOnRemoval: stepDown });
    r.becomeCandidate();
    r.becomeLeader();
    r.applyConfChange(asV2(v1(remove(1))));
    if (stepDown) {
      assert.equal(r.state, StateType.StateFollower);
    } else {
      assert.equal(r.state, StateType.StateLeader);
      assert.equal(stepErr(r, prop(1, 'x')), ErrProposalDropped);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Through the RawNode API (etcd's TestRawNodeProposeAndConfChange)

function singleNode(): [RawNode, ReturnType<typeof newTestStorage>] {
  const s = newTestStorage([1]);
  return [new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage: s, maxSizePerMsg: Number.MAX_SAFE_INTEGER, maxInflightMsgs: 256 }), s];
}

test('RawNode: v1, v2, learner and joint changes apply with the expected ConfState, and joint states are left', () => {
  const cases: Array<[ConfChangeI, ConfState, ConfState | null]> = [
    [v1(add(2)), cs({ voters: [1, 2] }), null],
    [v2([add(2)]), cs({ voters: [1, 2] }), null],
    [v2([addLearner(2)]), cs({ voters: [1], learners: [2] }), null],
    [v2([addLearner(2)], ConfChangeTransition.JointExplicit), cs({ voters: [1], votersOutgoing: [1], learners: [2] }), cs({ voters: [1], learners: [2] })],
    [v2([addLearner(2)], ConfChangeTransition.JointImplicit), cs({ voters: [1], votersOutgoing: [1], learners: [2], autoLeave: true }), cs({ voters: [1], learners: [2] })],
    // Add 2 and demote 1: needs joint consensus and a staged learner.
    [v2([add(2), addLearner(1), addLearner(3)]), cs({ voters: [2], votersOutgoing: [1], learners: [3], learnersNext: [1], autoLeave: true }), cs({ voters: [2], learners: [1, 3] })],
    [v2([add(2), addLearner(1), addLearner(3)], ConfChangeTransition.JointExplicit), cs({ voters: [2], votersOutgoing: [1], learners: [3], learnersNext: [1] }), cs({ voters: [2], learners: [1, 3] })],
    [v2([add(2), addLearner(1), addLearner(3)], ConfChangeTransition.JointImplicit), cs({ voters: [2], votersOutgoing: [1], learners: [3], learnersNext: [1], autoLeave: true }), cs({ voters: [2], learners: [1, 3] })],
  ];
  cases.forEach(([cc, exp, exp2], i) => {
    const [rn, s] = singleNode();
    rn.campaign();
    let proposed = false;
    let got: ConfState | null = null;
    for (let guard = 0; got === null; guard++) {
      assert.ok(guard < 50, `#${i}: the change never applied`);
      const rd = rn.ready();
      s.append(rd.entries);
      for (const e of rd.committedEntries) {
        const c = decodeCC(e);
        if (c !== null) got = rn.applyConfChange(c);
      }
      rn.advance(rd);
      if (!proposed && rd.softState?.lead === 1) {
        rn.propose(new TextEncoder().encode('somedata'));
        rn.proposeConfChange(cc);
        proposed = true;
      }
    }
    // The last two stable entries are the command and the change, down to the bits.
    const last = s.lastIndex();
    const es = s.entries(last - 1, last + 1, Number.MAX_SAFE_INTEGER);
    assert.equal(new TextDecoder().decode(es[0]!.data), 'somedata', `#${i}`);
    assert.equal(es[1]!.type, 'changes' in cc ? EntryType.EntryConfChangeV2 : EntryType.EntryConfChange, `#${i}`);
    assert.deepEqual(es[1]!.data, ccEntry(cc).data, `#${i}`);
    assert.deepEqual(got, exp, `#${i}`);
    // An auto-leaving joint change has already appended the leave entry.
    assert.equal(rn.raft.pendingConfIndex, last + (exp.autoLeave ? 1 : 0), `#${i}: pending conf index`);
    let rd = rn.ready();
    if (!exp.autoLeave) {
      assert.deepEqual(rd.entries, [], `#${i}`);
      rn.advance(rd);
      if (exp2 === null) return;
      rn.proposeConfChange(v2([], ConfChangeTransition.Auto, new TextEncoder().encode('manual')));
      rd = rn.ready();
    }
    assert.equal(rd.entries.length, 1, `#${i}`);
    assert.equal(rd.entries[0]!.type, EntryType.EntryConfChangeV2);
    const leave = decodeCC(rd.entries[0]!) as ConfChangeV2;
    assert.deepEqual(leave.changes, [], `#${i}: the leave-joint change`);
    assert.deepEqual(rn.applyConfChange(leave), exp2, `#${i}`);
    rn.advance(rd);
  });
});

test('RawNode: a leader that lost leadership before applying an auto-leave change leaves joint when it leads again', () => {
  const [rn, s] = singleNode();
  rn.campaign();
  let proposed = false;
  let got: ConfState | null = null;
  for (let guard = 0; got === null; guard++) {
    assert.ok(guard < 50);
    const rd = rn.ready();
    s.append(rd.entries);
    for (const e of rd.committedEntries) {
      const c = decodeCC(e);
      if (c !== null) {
        // Force a step-down just before applying.
        rn.step(msg({ type: MessageType.MsgHeartbeatResp, from: 1, term: rn.raft.term + 1 }));
        got = rn.applyConfChange(c);
      }
    }
    rn.advance(rd);
    if (!proposed && rd.softState?.lead === 1) {
      rn.propose(new TextEncoder().encode('somedata'));
      rn.proposeConfChange(v2([addLearner(2)], ConfChangeTransition.JointImplicit));
      proposed = true;
    }
  }
  assert.deepEqual(got, cs({ voters: [1], votersOutgoing: [1], learners: [2], autoLeave: true }));
  assert.equal(rn.raft.pendingConfIndex, 0);
  assert.deepEqual(rn.readyWithoutAccept().entries, [], 'a follower does not leave joint');
  rn.campaign();
  let leave: ConfChangeV2 | null = null;
  for (let guard = 0; guard < 10 && leave === null; guard++) {
    const rd = rn.ready();
    s.append(rd.entries);
    for (const e of rd.entries) if (e.type === EntryType.EntryConfChangeV2) leave = decodeCC(e) as ConfChangeV2;
    rn.advance(rd);
  }
  assert.notEqual(leave, null, 'the new leader proposed the leave-joint change');
  assert.deepEqual(leave!.changes, []);
  assert.deepEqual(rn.applyConfChange(leave!), cs({ voters: [1], learners: [2] }));
});

test('RawNode: proposing to add an existing node twice does not block a later change', () => {
  const [rn, s] = singleNode();
  let rd = rn.ready();
  s.append(rd.entries);
  rn.advance(rd);
  rn.campaign();
  for (let guard = 0; ; guard++) {
    assert.ok(guard < 10);
    rd = rn.ready();
    s.append(rd.entries);
    rn.advance(rd);
    if (rd.softState?.lead === 1) break;
  }
  const proposeAndApply = (cc: ConfChange): void => {
    rn.proposeConfChange(cc);
    const r = rn.ready();
    s.append(r.entries);
    for (const e of r.committedEntries) {
      const c = decodeCC(e);
      if (c !== null) rn.applyConfChange(c);
    }
    rn.advance(r);
  };
  proposeAndApply(v1(add(1)));
  proposeAndApply(v1(add(1)));
  proposeAndApply(v1(add(2)));
  const last = s.lastIndex();
  const es = s.entries(last - 2, last + 1, Number.MAX_SAFE_INTEGER);
  // The duplicate was proposed while the first was pending: it became an empty entry.
  assert.deepEqual(es.map((e) => e.type), [EntryType.EntryConfChange, EntryType.EntryNormal, EntryType.EntryConfChange]);
  assert.deepEqual(es[0]!.data, encodeConfChange(v1(add(1))));
  assert.deepEqual(es[2]!.data, encodeConfChange(v1(add(2))));
  for (let guard = 0; guard < 5 && rn.hasReady(); guard++) {
    const r = rn.ready();
    s.append(r.entries);
    for (const e of r.committedEntries) {
      const c = decodeCC(e);
      if (c !== null) rn.applyConfChange(c);
    }
    rn.advance(r);
  }
  assert.deepEqual(rn.raft.trk.voterNodes(), [1, 2]);
});
