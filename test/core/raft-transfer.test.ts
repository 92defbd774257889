// Leadership transfer (Raft thesis §3.10: MsgTransferLeader, then MsgTimeoutNow once the
// transferee is up to date) and forget-leader. Scenarios follow etcd-io/raft's raft_test.go,
// restated for this port.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Raft, type Config } from '../../src/core/raft.js';
import { RawNode } from '../../src/core/raw-node.js';
import { ReadOnlyOption } from '../../src/core/read-only.js';
import { StateType } from '../../src/core/ready.js';
import { ErrProposalDropped } from '../../src/core/errors.js';
import { ConfChangeTransition, ConfChangeType, MessageType, None, newEntry } from '../../src/core/types.js';
import {
  Network,
  hup,
  msg,
  newTestRaft,
  newTestStorage,
  nextEnts,
  confState,
  readMessages,
  stepErr,
} from './helpers-raft.js';

function transfer(from: number, to: number): ReturnType<typeof msg> {
  // MsgTransferLeader names the transferee in `from`.
  return msg({ type: MessageType.MsgTransferLeader, from, to });
}

function emptyProp(id: number): ReturnType<typeof msg> {
  return msg({ type: MessageType.MsgProp, from: id, to: id, entries: [newEntry({})] });
}

function checkTransferState(r: Raft, state: StateType, lead: number): void {
  assert.equal(r.state, state, 'state');
  assert.equal(r.lead, lead, 'lead');
  assert.equal(r.leadTransferee, None, 'no transfer pending');
}

function elected(configure?: (c: Config) => void): [Network, Raft] {
  const n = new Network([null, null, null], configure);
  n.send(hup(1));
  const lead = n.raft(1);
  assert.equal(lead.lead, 1);
  return [n, lead];
}

test('transfer to an up-to-date follower: the leader sends MsgTimeoutNow at once and the follower takes over', () => {
  const [n, lead] = elected();
  n.send(transfer(2, 1));
  checkTransferState(lead, StateType.StateFollower, 2);
  n.send(emptyProp(1));
  n.send(transfer(1, 2));
  checkTransferState(lead, StateType.StateLeader, 1);
});

test('a transfer request sent to a follower is forwarded to the leader', () => {
  const [n, lead] = elected();
  n.send(transfer(2, 2));
  checkTransferState(lead, StateType.StateFollower, 2);
  n.send(emptyProp(1));
  n.send(transfer(1, 1));
  checkTransferState(lead, StateType.StateLeader, 1);
});

test('a transfer works under CheckQuorum: the transfer campaign overrides the followers lease', () => {
  const [n] = [new Network([null, null, null], (c) => { c.checkQuorum = true; })];
  for (const id of [1, 2, 3]) n.raft(id).randomizedElectionTimeout = n.raft(id).electionTimeout + id;
  const f = n.raft(2);
  for (let i = 0; i < f.electionTimeout; i++) f.tick();
  n.send(hup(1));
  const lead = n.raft(1);
  assert.equal(lead.state, StateType.StateLeader);
  n.send(transfer(2, 1));
  checkTransferState(lead, StateType.StateFollower, 2);
  n.send(emptyProp(1));
  n.send(transfer(1, 2));
  checkTransferState(lead, StateType.StateLeader, 1);
});

test('a transfer to a lagging follower first catches it up, then hands over', () => {
  const [n, lead] = elected();
  n.isolate(3);
  n.send(emptyProp(1));
  n.recover();
  assert.equal(lead.trk.progress.get(3)!.match, 1);
  n.send(transfer(3, 1));
  checkTransferState(lead, StateType.StateFollower, 3);
});

test('a transfer to a follower that needs a snapshot completes only after the snapshot is applied', () => {
  const [n, lead] = elected();
  n.isolate(3);
  n.send(emptyProp(1));
  const s1 = n.storage.get(1)!;
  nextEnts(lead, s1);
  s1.createSnapshot(lead.raftLog.applied, confState(lead.trk.voterNodes()), new Uint8Array(0));
  s1.compact(lead.raftLog.applied);
  n.recover();
  assert.equal(lead.trk.progress.get(3)!.match, 1);
  let held: ReturnType<typeof msg> | null = null;
  // Hold back node 3's ack of the snapshot until it has applied it.
  n.msgHook = (m) => {
    if (m.type !== MessageType.MsgAppResp || m.from !== 3 || m.reject) return true;
    held = m;
    return false;
  };
  n.send(transfer(3, 1));
  assert.equal(lead.state, StateType.StateLeader);
  assert.notEqual(held, null);
  const f = n.raft(3);
  const snap = f.raftLog.nextUnstableSnapshot()!;
  n.storage.get(3)!.applySnapshot(snap);
  f.appliedSnap(snap);
  n.msgHook = null;
  n.send(held!);
  checkTransferState(lead, StateType.StateFollower, 3);
});

test('a transfer to the leader itself, or to a node outside the group, does nothing', () => {
  const [n, lead] = elected();
  n.send(transfer(1, 1));
  checkTransferState(lead, StateType.StateLeader, 1);
  n.send(transfer(4, 1));
  checkTransferState(lead, StateType.StateLeader, 1);
});

test('a transfer to a learner is ignored', () => {
  const r = newTestRaft(1, 10, 1, newTestStorage([1, 2], [3]));
  r.becomeCandidate();
  r.becomeLeader();
  r.step(transfer(3, 1));
  assert.equal(r.leadTransferee, None);
  assert.deepEqual(readMessages(r).filter((m) => m.type === MessageType.MsgTimeoutNow), []);
});

test('a transfer that does not finish within an election timeout is abandoned', () => {
  const [n, lead] = elected();
  n.isolate(3);
  n.send(transfer(3, 1));
  assert.equal(lead.leadTransferee, 3);
  for (let i = 0; i < lead.heartbeatTimeout; i++) lead.tick();
  assert.equal(lead.leadTransferee, 3);
  for (let i = 0; i < lead.electionTimeout - lead.heartbeatTimeout; i++) lead.tick();
  checkTransferState(lead, StateType.StateLeader, 1);
});

test('during a transfer the leader drops proposals', () => {
  const s = newTestStorage([1, 2, 3]);
  const r = newTestRaft(1, 10, 1, s);
  const n = new Network([r, null, null]);
  n.send(hup(1));
  n.isolate(3);
  nextEnts(r, s);
  n.send(transfer(3, 1));
  assert.equal(r.leadTransferee, 3);
  n.send(emptyProp(1));
  assert.equal(stepErr(r, emptyProp(1)), ErrProposalDropped);
  assert.equal(r.trk.progress.get(1)!.match, 1);
});

test('a higher-term vote during a transfer deposes the leader and clears the transfer', () => {
  const [n, lead] = elected();
  n.isolate(3);
  n.send(transfer(3, 1));
  assert.equal(lead.leadTransferee, 3);
  n.send(msg({ type: MessageType.MsgHup, from: 2, to: 2, index: 1, term: 2 }));
  checkTransferState(lead, StateType.StateFollower, 2);
});

test('removing the transferee aborts the transfer; demoting it aborts once the joint state is left', () => {
  const [n, lead] = elected();
  n.ignore(MessageType.MsgTimeoutNow);
  n.send(transfer(3, 1));
  assert.equal(lead.leadTransferee, 3);
  lead.applyConfChange({ transition: ConfChangeTransition.Auto, changes: [{ type: ConfChangeType.ConfChangeRemoveNode, nodeId: 3 }], context: new Uint8Array(0) });
  checkTransferState(lead, StateType.StateLeader, 1);

  const [m, lead2] = elected();
  m.ignore(MessageType.MsgTimeoutNow);
  m.send(transfer(3, 1));
  lead2.applyConfChange({
    transition: ConfChangeTransition.Auto,
    changes: [
      { type: ConfChangeType.ConfChangeRemoveNode, nodeId: 3 },
      { type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 3 },
    ],
    context: new Uint8Array(0),
  });
  assert.equal(lead2.leadTransferee, 3, 'still a voter of the outgoing half');
  lead2.applyConfChange({ transition: ConfChangeTransition.Auto, changes: [], context: new Uint8Array(0) });
  checkTransferState(lead2, StateType.StateLeader, 1);
});

test('a pending transfer can be taken back (transfer to self) or redirected to another node', () => {
  const [n, lead] = elected();
  n.isolate(3);
  n.send(transfer(3, 1));
  assert.equal(lead.leadTransferee, 3);
  n.send(transfer(1, 1));
  checkTransferState(lead, StateType.StateLeader, 1);

  const [m, lead2] = elected();
  m.isolate(3);
  m.send(transfer(3, 1));
  m.send(transfer(2, 1));
  checkTransferState(lead2, StateType.StateFollower, 2);
});

test('repeating a pending transfer to the same node does not extend its deadline', () => {
  const [n, lead] = elected();
  n.isolate(3);
  n.send(transfer(3, 1));
  for (let i = 0; i < lead.heartbeatTimeout; i++) lead.tick();
  n.send(transfer(3, 1));
  for (let i = 0; i < lead.electionTimeout - lead.heartbeatTimeout; i++) lead.tick();
  checkTransferState(lead, StateType.StateLeader, 1);
});

test('MsgTimeoutNow makes a follower campaign at once at a higher term, skipping PreVote', () => {
  const r = newTestRaft(2, 10, 1, newTestStorage([1, 2, 3]), { preVote: true });
  r.becomeFollower(1, 1);
  r.step(msg({ type: MessageType.MsgTimeoutNow, from: 1, to: 2, term: 1 }));
  assert.equal(r.state, StateType.StateCandidate);
  assert.equal(r.term, 2);
  const votes = readMessages(r).filter((m) => m.type === MessageType.MsgVote);
  assert.deepEqual(votes.map((m) => m.to), [1, 3]);
  assert.ok(votes.every((m) => m.context.length > 0), 'the vote requests say they come from a transfer');
});

test('MsgTimeoutNow to a node that was removed from the group does nothing', () => {
  const r = newTestRaft(1, 5, 1, newTestStorage([2, 3, 4]));
  r.step(msg({ type: MessageType.MsgTimeoutNow, from: 2, to: 1 }));
  r.step(msg({ type: MessageType.MsgVoteResp, from: 2, to: 1 }));
  r.step(msg({ type: MessageType.MsgVoteResp, from: 3, to: 1 }));
  assert.equal(r.state, StateType.StateFollower);
});

// ---------------------------------------------------------------------------------------------
// Forget leader

test('forget-leader: a follower drops its leader, its vote of the term still binds, and leaders ignore it', () => {
  const [n, lead] = elected();
  const f = n.raft(2);
  assert.equal(f.lead, 1);
  n.send(msg({ type: MessageType.MsgForgetLeader, from: 2, to: 2 }));
  assert.equal(f.lead, None);
  assert.equal(f.term, lead.term);
  // Node 2 voted for 1 in this term: forgetting the leader does not free its vote.
  f.step(msg({ type: MessageType.MsgVote, from: 3, to: 2, term: f.term, logTerm: 9, index: 9 }));
  assert.deepEqual(readMessages(f).filter((m) => m.type === MessageType.MsgVoteResp).map((m) => m.reject), [true]);
  lead.step(msg({ type: MessageType.MsgForgetLeader }));
  assert.equal(lead.state, StateType.StateLeader);
  assert.equal(lead.lead, 1);
});

test('forget-leader under CheckQuorum: the follower leaves the leader lease and grants a new election at once', () => {
  const [n] = elected((c) => { c.checkQuorum = true; });
  const f = n.raft(2);
  const ask = (): boolean[] => {
    f.step(msg({ type: MessageType.MsgVote, from: 3, to: 2, term: f.term + 1, logTerm: 9, index: 9 }));
    return readMessages(f).filter((m) => m.type === MessageType.MsgVoteResp).map((m) => m.reject);
  };
  assert.deepEqual(ask(), [], 'ignored within the lease');
  f.step(msg({ type: MessageType.MsgForgetLeader }));
  assert.deepEqual(ask(), [false], 'granted once the leader is forgotten');
});

test('forget-leader is refused with lease-based reads: the lease must hold', () => {
  const r = newTestRaft(2, 10, 1, newTestStorage([1, 2, 3]), { readOnlyOption: ReadOnlyOption.ReadOnlyLeaseBased, checkQuorum: true });
  r.becomeFollower(1, 1);
  r.step(msg({ type: MessageType.MsgForgetLeader }));
  assert.equal(r.lead, 1);
});

test('forget-leader through the RawNode API', () => {
  const s = newTestStorage([1, 2, 3]);
  const rn = new RawNode({ id: 2, electionTick: 10, heartbeatTick: 1, storage: s, maxInflightMsgs: 256 });
  rn.step(msg({ type: MessageType.MsgHeartbeat, from: 1, to: 2, term: 1 }));
  assert.equal(rn.basicStatus().softState.lead, 1);
  const first = rn.ready();
  assert.deepEqual(first.softState, { lead: 1, raftState: StateType.StateFollower });
  s.setHardState(first.hardState);
  rn.advance(first);
  rn.forgetLeader();
  assert.equal(rn.basicStatus().softState.lead, None);
  const rd = rn.ready();
  assert.deepEqual(rd.softState, { lead: None, raftState: StateType.StateFollower });
});
