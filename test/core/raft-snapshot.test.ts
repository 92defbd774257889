// Log compaction and snapshots (Raft §7): a leader that compacted its log sends a snapshot,
// pauses replication while it is in flight, and resumes on the status report or the follower's
// ack; a follower restores a snapshot (configuration included) and catches up from the log.
// Scenarios follow etcd-io/raft's raft_snap_test.go and raft_test.go, restated for this port.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Raft } from '../../src/core/raft.js';
import { RawNode } from '../../src/core/raw-node.js';
import { StateType as PrState } from '../../src/core/progress.js';
import { SnapshotStatus, StateType } from '../../src/core/ready.js';
import { ErrSnapshotTemporarilyUnavailable } from '../../src/core/errors.js';
import { MessageType, emptyConfState, type ConfState, type Snapshot } from '../../src/core/types.js';
import {
  Network,
  PeerStorage,
  RawCluster,
  beat,
  confState,
  ents,
  hup,
  msg,
  newTestRaft,
  newTestStorage,
  nextEnts,
  prop,
  readMessages,
  str,
} from './helpers-raft.js';

function snapshot(index: number, term: number, cs: Partial<ConfState>): Snapshot {
  return { data: new Uint8Array(0), metadata: { index, term, confState: { ...emptyConfState(), ...cs } } };
}

const testingSnap = snapshot(11, 11, { voters: [1, 2] });

// A leader at term 12 whose log starts after testingSnap.
function leaderAfterSnap(peers: number[]): Raft {
  const r = newTestRaft(1, 10, 1, newTestStorage(peers));
  r.becomeFollower(testingSnap.metadata.term, 0);
  assert.equal(r.restore(testingSnap), true);
  r.becomeCandidate();
  r.becomeLeader();
  return r;
}

// ---------------------------------------------------------------------------------------------
// Leader side

test('a follower whose next entry was compacted away gets a snapshot, and its progress records it as pending', () => {
  const r = leaderAfterSnap([1]);
  const p = r.trk.progress.get(2)!;
  p.next = r.raftLog.firstIndex();
  r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, index: p.next - 1, reject: true }));
  assert.equal(p.state, PrState.StateSnapshot);
  assert.equal(p.pendingSnapshot, 11);
  const ms = readMessages(r);
  assert.deepEqual(ms.map((m) => [m.type, m.to, m.snapshot?.metadata.index]), [[MessageType.MsgSnap, 2, 11]]);
});

test('a follower that is not recently active gets no snapshot', () => {
  const r = leaderAfterSnap([1]);
  const p = r.trk.progress.get(2)!;
  p.next = r.raftLog.firstIndex() - 1;
  p.recentActive = false;
  r.step(prop(1, 'somedata'));
  assert.deepEqual(readMessages(r), []);
});

test('while a snapshot is in flight, nothing is appended to that follower', () => {
  const r = leaderAfterSnap([1, 2]);
  r.trk.progress.get(2)!.becomeSnapshot(11);
  r.step(prop(1, 'somedata'));
  assert.deepEqual(readMessages(r), []);
});

test('a failed snapshot report: back to probing from the old position, paused until the next heartbeat', () => {
  const r = leaderAfterSnap([1, 2]);
  const p = r.trk.progress.get(2)!;
  p.next = 1;
  p.becomeSnapshot(11);
  r.step(msg({ type: MessageType.MsgSnapStatus, from: 2, to: 1, reject: true }));
  assert.equal(p.state, PrState.StateProbe);
  assert.equal(p.pendingSnapshot, 0);
  assert.equal(p.next, 1);
  assert.equal(p.msgAppFlowPaused, true);
});

test('a successful snapshot report: probing resumes after the snapshot, paused until the follower answers', () => {
  const r = leaderAfterSnap([1, 2]);
  const p = r.trk.progress.get(2)!;
  p.next = 1;
  p.becomeSnapshot(11);
  r.step(msg({ type: MessageType.MsgSnapStatus, from: 2, to: 1, reject: false }));
  assert.equal(p.state, PrState.StateProbe);
  assert.equal(p.pendingSnapshot, 0);
  assert.equal(p.next, 12);
  assert.equal(p.msgAppFlowPaused, true);
});

test('an append ack at or past the pending snapshot ends the snapshot state and replication resumes', () => {
  const r = leaderAfterSnap([1, 2]);
  const p = r.trk.progress.get(2)!;
  p.next = 1;
  p.becomeSnapshot(11);
  r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, index: 11 }));
  assert.equal(p.pendingSnapshot, 0);
  assert.equal(p.state, PrState.StateReplicate);
  // The leader's empty entry at 12 went out at once.
  assert.equal(p.next, 13);
  assert.equal(p.inflights.count(), 1);
});

test('snapshot status reports reach the leader through RawNode.reportSnapshot', () => {
  for (const [status, next] of [[SnapshotStatus.SnapshotFinish, 12], [SnapshotStatus.SnapshotFailure, 1]] as const) {
    const s = newTestStorage([1]);
    const rn = new RawNode({ id: 1, electionTick: 10, heartbeatTick: 1, storage: s, maxInflightMsgs: 256 });
    const r = rn.raft;
    r.becomeFollower(11, 0);
    r.restore(testingSnap);
    r.becomeCandidate();
    r.becomeLeader();
    const p = r.trk.progress.get(2)!;
    p.next = 1;
    p.becomeSnapshot(11);
    rn.reportSnapshot(2, status);
    assert.equal(p.state, PrState.StateProbe);
    assert.equal(p.next, next);
  }
});

test('a snapshot temporarily unavailable from storage is not sent now, and is sent once it is available', () => {
  class SlowSnapStorage extends PeerStorage {
    ready = false;
    override snapshot(): Snapshot {
      if (!this.ready && super.snapshot().metadata.index > 0) throw ErrSnapshotTemporarilyUnavailable;
      return super.snapshot();
    }
  }
  const s = new SlowSnapStorage(confState([1, 2]));
  s.append(ents(1, 1, 1, 1, 1));
  s.setHardState({ term: 1, vote: 0, commit: 4 });
  const r = newTestRaft(1, 10, 1, s, { applied: 4 });
  s.createSnapshot(4, confState([1, 2]), new Uint8Array(0));
  s.compact(4);
  r.becomeCandidate();
  r.becomeLeader();
  readMessages(r);
  const p = r.trk.progress.get(2)!;
  p.recentActive = true;
  p.next = 1;
  r.sendAppend(2);
  assert.deepEqual(readMessages(r), []);
  assert.equal(p.state, PrState.StateProbe);
  s.ready = true;
  r.sendAppend(2);
  assert.deepEqual(readMessages(r).map((m) => [m.type, m.snapshot?.metadata.index]), [[MessageType.MsgSnap, 4]]);
  assert.equal(p.state, PrState.StateSnapshot);
});

// ---------------------------------------------------------------------------------------------
// Follower side

test('restoring a snapshot installs its last index, term and configuration; the same snapshot twice is ignored', () => {
  const s = snapshot(11, 11, { voters: [1, 2, 3] });
  const r = newTestRaft(1, 10, 1, newTestStorage([1, 2]));
  assert.equal(r.restore(s), true);
  assert.equal(r.raftLog.lastIndex(), 11);
  assert.equal(r.raftLog.term(11), 11);
  assert.deepEqual(r.trk.voterNodes(), [1, 2, 3]);
  assert.equal(r.raftLog.committed, 11);
  assert.equal(r.restore(s), false);
  // Not promotable until the snapshot is applied: no campaign.
  assert.equal(r.promotable(), false);
  for (let i = 0; i < r.randomizedElectionTimeout; i++) r.tick();
  assert.equal(r.state, StateType.StateFollower);
});

test('restoring a snapshot with learners, or with an outgoing half, restores that configuration', () => {
  const withLearner = snapshot(11, 11, { voters: [1, 2], learners: [3] });
  const l = newTestRaft(3, 8, 2, newTestStorage([1, 2], [3]));
  assert.equal(l.restore(withLearner), true);
  assert.deepEqual(l.trk.voterNodes(), [1, 2]);
  assert.deepEqual(l.trk.learnerNodes(), [3]);
  for (const id of [1, 2]) assert.equal(l.trk.progress.get(id)!.isLearner, false);
  assert.equal(l.trk.progress.get(3)!.isLearner, true);
  assert.equal(l.restore(withLearner), false);

  const joint = snapshot(11, 11, { voters: [2, 3, 4], votersOutgoing: [1, 2, 3] });
  const j = newTestRaft(1, 10, 1, newTestStorage([1, 2]));
  assert.equal(j.restore(joint), true);
  assert.deepEqual(j.trk.voterNodes(), [1, 2, 3, 4]);
  assert.equal(j.restore(joint), false);
  for (let i = 0; i < j.randomizedElectionTimeout; i++) j.tick();
  assert.equal(j.state, StateType.StateFollower);
});

test('a snapshot may turn a voter into a learner, and a learner into a voter', () => {
  const v = newTestRaft(3, 10, 1, newTestStorage([1, 2, 3]));
  assert.equal(v.isLearner, false);
  assert.equal(v.restore(snapshot(11, 11, { voters: [1, 2], learners: [3] })), true);
  assert.equal(v.isLearner, true);
  const l = newTestRaft(3, 10, 1, newTestStorage([1, 2], [3]));
  assert.equal(l.isLearner, true);
  assert.equal(l.restore(snapshot(11, 11, { voters: [1, 2, 3] })), true);
  assert.equal(l.isLearner, false);
});

test('a snapshot at or below the commit index is ignored; one the log already holds only fast-forwards the commit index', () => {
  const r = newTestRaft(1, 10, 1, newTestStorage([1, 2]));
  r.raftLog.append(ents(1, 1, 1, 1));
  r.raftLog.commitTo(1);
  assert.equal(r.restore(snapshot(1, 1, { voters: [1, 2] })), false);
  assert.equal(r.raftLog.committed, 1);
  assert.equal(r.restore(snapshot(2, 1, { voters: [1, 2] })), false);
  assert.equal(r.raftLog.committed, 2);
  assert.equal(r.raftLog.lastIndex(), 3, 'the log is kept');
});

test('a node that is not in the snapshot configuration refuses it', () => {
  const r = newTestRaft(4, 10, 1, newTestStorage([1, 2, 3]));
  assert.equal(r.restore(snapshot(11, 11, { voters: [1, 2, 3] })), false);
  assert.equal(r.raftLog.lastIndex(), 0);
});

test('a snapshot message comes from the leader: the receiver follows it and acks the snapshot index', () => {
  const r = newTestRaft(2, 10, 1, newTestStorage([1, 2]));
  r.step(msg({ type: MessageType.MsgSnap, from: 1, to: 2, term: 2, snapshot: testingSnap }));
  assert.equal(r.lead, 1);
  assert.equal(r.term, 2);
  assert.deepEqual(readMessages(r).map((m) => [m.type, m.to, m.index, m.reject]), [[MessageType.MsgAppResp, 1, 11, false]]);
});

test('a learner receives a snapshot from the leader and catches up', () => {
  const s = snapshot(11, 11, { voters: [1], learners: [2] });
  const store = newTestStorage([1], [2]);
  const n1 = newTestRaft(1, 10, 1, store);
  const n2 = newTestRaft(2, 10, 1, newTestStorage([1], [2]));
  n1.restore(s);
  const snap = n1.raftLog.nextUnstableSnapshot()!;
  store.applySnapshot(snap);
  n1.appliedSnap(snap);
  const n = new Network([n1, n2]);
  n1.randomizedElectionTimeout = n1.electionTimeout;
  for (let i = 0; i < n1.electionTimeout; i++) n1.tick();
  n.send(beat(1));
  assert.equal(n1.state, StateType.StateLeader);
  assert.equal(n2.raftLog.committed, n1.raftLog.committed);
  assert.ok(n2.raftLog.committed > 11);
});

// ---------------------------------------------------------------------------------------------
// End to end

test('a follower that fell behind a compacted log is restored from a snapshot and catches up', () => {
  const n = new Network([null, null, null]);
  n.send(hup(1));
  n.isolate(3);
  for (let j = 0; j <= 100; j++) n.send(msg({ type: MessageType.MsgProp, from: 1, to: 1, entries: [{ term: 0, index: 0, type: 0, data: new Uint8Array(0) }] }));
  const lead = n.raft(1);
  const ls = n.storage.get(1)!;
  nextEnts(lead, ls);
  ls.createSnapshot(lead.raftLog.applied, confState(lead.trk.voterNodes()), new Uint8Array(0));
  ls.compact(lead.raftLog.applied);
  n.recover();
  // Heartbeats until the leader knows node 3 is active (it only sends snapshots to active nodes).
  for (let i = 0; i < 10 && !lead.trk.progress.get(3)!.recentActive; i++) n.send(beat(1));
  assert.equal(lead.trk.progress.get(3)!.recentActive, true);
  n.send(prop(1, 'x'));
  const follower = n.raft(3);
  assert.ok(follower.raftLog.firstIndex() > 1, 'node 3 restored from the snapshot');
  n.send(prop(1, 'y'));
  assert.equal(follower.raftLog.committed, lead.raftLog.committed);
});

test('Ready loop: a crashed follower restarts behind a compacted log, installs the snapshot, and its state machine matches', () => {
  const c = new RawCluster({ voters: [1, 2, 3] });
  c.campaign(1);
  c.propose(1, 'a');
  c.crash(3);
  for (let i = 0; i < 20; i++) c.propose(1, `v${i}`);
  // The leader compacts its log up to what it applied.
  const st = c.storages.get(1)!;
  const applied = c.raft(1).raftLog.applied;
  st.createSnapshot(applied, c.raft(1).trk.confState(), new Uint8Array(0));
  st.compact(applied);
  c.restart(3);
  c.recordReadies = true;
  for (let i = 0; i < 5; i++) {
    c.tickAll();
    c.stabilize();
  }
  const readies = c.readies.get(3) ?? [];
  const withSnap = readies.findIndex((rd) => rd.snapshot !== null && rd.snapshot.metadata.index > 0);
  assert.ok(withSnap >= 0, 'node 3 got a snapshot');
  assert.equal(readies[withSnap]!.snapshot!.metadata.index, applied);
  assert.deepEqual(readies[withSnap]!.committedEntries, [], 'committed entries wait until the snapshot is applied');
  assert.equal(c.storages.get(3)!.firstIndex(), applied + 1);
  c.propose(1, 'z');
  assert.deepEqual(c.appliedData(3), c.appliedData(1));
  assert.equal(str(c.applied.get(3)!.at(-1)!.data), 'z');
});
