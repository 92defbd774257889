// etcd-io/raft tracker/progress_test.go, plus the tracker's ProgressMap string.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Inflights } from '../../src/core/inflights.js';
import { Progress, progressMapString, StateType } from '../../src/core/progress.js';
import { ProgressTracker } from '../../src/core/tracker.js';
import { VoteResult } from '../../src/core/quorum.js';
import { Changer } from '../../src/core/confchange.js';
import { confChangesFromString } from '../../src/core/confchange.js';

const ins = (): Inflights => new Inflights(256, 0);

test('progress string', () => {
  const inflights = new Inflights(1, 0);
  inflights.add(123, 1);
  const pr = new Progress({
    match: 2,
    next: 3,
    state: StateType.StateSnapshot,
    pendingSnapshot: 123,
    recentActive: false,
    msgAppFlowPaused: true,
    isLearner: true,
    inflights,
  });
  assert.equal(pr.toString(), 'StateSnapshot match=2 next=3 learner paused pendingSnap=123 inactive inflight=1[full]');

  const full = new Inflights(3, 0);
  for (const i of [12, 13, 14]) full.add(i, 1);
  const rep = new Progress({ match: 11, next: 15, state: StateType.StateReplicate, recentActive: true, msgAppFlowPaused: true, inflights: full });
  assert.equal(rep.toString(), 'StateReplicate match=11 next=15 paused inflight=3[full]');
});

test('progress isPaused', () => {
  const cases: Array<[StateType, boolean, boolean]> = [
    [StateType.StateProbe, false, false],
    [StateType.StateProbe, true, true],
    [StateType.StateReplicate, false, false],
    [StateType.StateReplicate, true, true],
    [StateType.StateSnapshot, false, true],
    [StateType.StateSnapshot, true, true],
  ];
  cases.forEach(([state, paused, w], i) => {
    const p = new Progress({ state, msgAppFlowPaused: paused, inflights: ins() });
    assert.equal(p.isPaused(), w, `#${i}`);
  });
  const full = new Inflights(1, 0);
  full.add(1, 1);
  assert.equal(new Progress({ state: StateType.StateReplicate, msgAppFlowPaused: true, inflights: full }).isPaused(), true);
});

test('progress maybeDecrTo resumes probes', () => {
  const p = new Progress({ next: 2, msgAppFlowPaused: true, inflights: ins() });
  p.maybeDecrTo(1, 1);
  assert.equal(p.msgAppFlowPaused, false);
});

test('progress becomeProbe', () => {
  const match = 1;
  const cases: Array<[Progress, number]> = [
    [new Progress({ state: StateType.StateReplicate, match, next: 5, inflights: ins() }), 2],
    // snapshot finish: probe from after the snapshot
    [new Progress({ state: StateType.StateSnapshot, match, next: 5, pendingSnapshot: 10, inflights: ins() }), 11],
    // snapshot failure
    [new Progress({ state: StateType.StateSnapshot, match, next: 5, pendingSnapshot: 0, inflights: ins() }), 2],
  ];
  cases.forEach(([p, wnext], i) => {
    p.becomeProbe();
    assert.equal(p.state, StateType.StateProbe, `#${i}`);
    assert.equal(p.match, match, `#${i}`);
    assert.equal(p.next, wnext, `#${i}`);
  });
});

test('progress becomeReplicate', () => {
  const p = new Progress({ state: StateType.StateProbe, match: 1, next: 5, inflights: ins() });
  p.becomeReplicate();
  assert.equal(p.state, StateType.StateReplicate);
  assert.equal(p.match, 1);
  assert.equal(p.next, 2);
});

test('progress becomeSnapshot', () => {
  const p = new Progress({ state: StateType.StateProbe, match: 1, next: 5, inflights: ins() });
  p.becomeSnapshot(10);
  assert.equal(p.state, StateType.StateSnapshot);
  assert.equal(p.match, 1);
  assert.equal(p.pendingSnapshot, 10);
});

test('progress maybeUpdate', () => {
  const prevM = 3;
  const prevN = 5;
  const cases: Array<[number, number, number, boolean]> = [
    [prevM - 1, prevM, prevN, false], // do not decrease match, next
    [prevM, prevM, prevN, false], // do not decrease next
    [prevM + 1, prevM + 1, prevN, true], // increase match, do not decrease next
    [prevM + 2, prevM + 2, prevN + 1, true], // increase match, next
  ];
  cases.forEach(([update, wm, wn, wok], i) => {
    const p = new Progress({ match: prevM, next: prevN, inflights: ins() });
    assert.equal(p.maybeUpdate(update), wok, `#${i}`);
    assert.equal(p.match, wm, `#${i}`);
    assert.equal(p.next, wn, `#${i}`);
  });
});

test('progress maybeDecrTo', () => {
  const cases: Array<[StateType, number, number, number, number, boolean, number]> = [
    // state replicate and rejected is not greater than match
    [StateType.StateReplicate, 5, 10, 5, 5, false, 10],
    [StateType.StateReplicate, 5, 10, 4, 4, false, 10],
    // state replicate and rejected is greater than match: directly decrease to match+1
    [StateType.StateReplicate, 5, 10, 9, 9, true, 6],
    // next-1 != rejected is always false
    [StateType.StateProbe, 0, 0, 0, 0, false, 0],
    [StateType.StateProbe, 0, 10, 5, 5, false, 10],
    // next>1 = decremented by 1
    [StateType.StateProbe, 0, 10, 9, 9, true, 9],
    [StateType.StateProbe, 0, 2, 1, 1, true, 1],
    // next<=1 = reset to 1
    [StateType.StateProbe, 0, 1, 0, 0, true, 1],
    // decrease to min(rejected, last+1)
    [StateType.StateProbe, 0, 10, 9, 2, true, 3],
    // rejected < 1, reset to 1
    [StateType.StateProbe, 0, 10, 9, 0, true, 1],
  ];
  cases.forEach(([state, m, n, rejected, last, w, wn], i) => {
    const p = new Progress({ state, match: m, next: n, inflights: ins() });
    assert.equal(p.maybeDecrTo(rejected, last), w, `#${i}`);
    assert.equal(p.match, m, `#${i}`);
    assert.equal(p.next, wn, `#${i}`);
  });
});

test('progress sentEntries and flow control in StateReplicate', () => {
  const p = new Progress({ state: StateType.StateReplicate, match: 4, next: 5, inflights: new Inflights(2, 0) });
  p.sentEntries(3, 30);
  assert.equal(p.next, 8);
  // One slot left: the flow is not paused yet.
  assert.equal(p.msgAppFlowPaused, false);
  assert.equal(p.isPaused(), false);
  p.sentEntries(2, 20);
  assert.equal(p.next, 10);
  assert.equal(p.inflights.full(), true);
  // A full window pauses the flow, and the progress says so.
  assert.equal(p.isPaused(), true);
  assert.equal(p.toString(), "StateReplicate match=4 next=10 paused inactive inflight=2[full]");
  // An ack frees the window and resumes the flow.
  p.inflights.freeLE(7);
  assert.equal(p.maybeUpdate(7), true);
  assert.equal(p.isPaused(), false);
  // A rejection in StateReplicate falls back to match+1.
  assert.equal(p.maybeDecrTo(9, 8), true);
  assert.equal(p.next, 8);
});

test('progress canBumpCommit tracks the commit index sent', () => {
  const p = new Progress({ state: StateType.StateReplicate, match: 4, next: 10, inflights: ins() });
  assert.equal(p.canBumpCommit(6), true);
  p.sentCommit(6);
  assert.equal(p.canBumpCommit(6), false);
  assert.equal(p.canBumpCommit(7), true);
  // Once the follower was sent a commit index reaching next-1, nothing more can bump it eagerly.
  p.sentCommit(9);
  assert.equal(p.canBumpCommit(12), false);
  // Probing again regresses what we assume the follower got to next-1.
  p.becomeProbe();
  assert.equal(p.next, 5);
  assert.equal(p.sentCommitIndex, 4);
  // A snapshot sends its index as the commit.
  p.becomeSnapshot(20);
  assert.equal(p.next, 21);
  assert.equal(p.sentCommitIndex, 20);
});

test('progress sentEntries in StateProbe only pauses', () => {
  const p = new Progress({ state: StateType.StateProbe, match: 0, next: 5, inflights: ins() });
  assert.equal(p.isPaused(), false);
  p.sentEntries(0, 0);
  // An empty probe does not pause (etcd keeps this behaviour).
  assert.equal(p.isPaused(), false);
  p.sentEntries(3, 30);
  assert.equal(p.next, 5);
  assert.equal(p.inflights.count(), 0);
  assert.equal(p.isPaused(), true);
  assert.equal(new Progress({ state: StateType.StateSnapshot, inflights: ins() }).isPaused(), true);
});

test('progress map string and tracker', () => {
  const trk = new ProgressTracker(10, 0);
  const c = new Changer(trk, 5);
  [trk.config, trk.progress] = c.simple(confChangesFromString('v3 l2'));
  [trk.config, trk.progress] = new Changer(trk, 5).simple(confChangesFromString('v1'));
  assert.equal(trk.config.toString(), 'voters=(1 3) learners=(2)');
  assert.equal(progressMapString(trk.progress),
    '1: StateProbe match=0 next=5\n2: StateProbe match=0 next=5 learner\n3: StateProbe match=0 next=5\n');
  const seen: number[] = [];
  trk.visit((id) => seen.push(id));
  assert.deepEqual(seen, [1, 2, 3]);
  assert.deepEqual(trk.voterNodes(), [1, 3]);
  assert.deepEqual(trk.learnerNodes(), [2]);
  assert.deepEqual(trk.confState(), { voters: [1, 3], votersOutgoing: [], learners: [2], learnersNext: [], autoLeave: false });
  assert.equal(trk.isSingleton(), false);

  trk.progress.get(1)!.match = 7;
  assert.equal(trk.committed(), 0);
  trk.progress.get(3)!.match = 6;
  assert.equal(trk.committed(), 6);
  trk.progress.get(2)!.match = 9; // learners do not count
  assert.equal(trk.committed(), 6);

  trk.recordVote(1, true);
  trk.recordVote(2, true);
  trk.recordVote(1, false); // the first answer sticks
  assert.deepEqual(trk.tallyVotes(), { granted: 1, rejected: 0, result: VoteResult.VotePending });
  trk.recordVote(3, false);
  assert.deepEqual(trk.tallyVotes(), { granted: 1, rejected: 1, result: VoteResult.VoteLost });
  trk.resetVotes();
  assert.equal(trk.votes.size, 0);

  for (const pr of trk.progress.values()) pr.recentActive = false;
  assert.equal(trk.quorumActive(), false);
  trk.progress.get(1)!.recentActive = true;
  trk.progress.get(3)!.recentActive = true;
  assert.equal(trk.quorumActive(), true);
});
