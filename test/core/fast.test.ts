// Scenario tests of the Fast Raft extension (src/core/fast.ts), over the deterministic harness in
// fast-harness.ts. Each test drives an exact schedule: which message reaches whom, when, and who
// crashes. The harness checks safety continuously (no two nodes apply different entries at one
// index; no invariant panic), and every test ends with checkSafe().
//
// Index layout in every scenario: the first leader's empty entry is index 1, so the first
// proposal lands at index 2.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Approval,
  Cluster,
  MessageType,
  StateType,
  and,
  from,
  isType,
  not,
  or,
  to,
  str,
  bytes,
  type ClusterOptions,
} from './fast-harness.js';
import { ConfChangeTransition, ConfChangeType, EntryType, newMessage, type Message } from '../../src/core/types.js';
import { fastPathRatio } from '../../src/core/fast.js';
import { fastQuorumSize } from '../../src/core/fast-config.js';
import type { Mutation } from '../../src/core/mutations.js';

const { MsgFastProp, MsgFastVote, MsgApp, MsgAppResp, MsgVote, MsgVoteResp, MsgHeartbeat, MsgHeartbeatResp, MsgSnap } = {
  MsgFastProp: MessageType.MsgFastProp,
  MsgFastVote: MessageType.MsgFastVote,
  MsgApp: MessageType.MsgApp,
  MsgAppResp: MessageType.MsgAppResp,
  MsgVote: MessageType.MsgVote,
  MsgVoteResp: MessageType.MsgVoteResp,
  MsgHeartbeat: MessageType.MsgHeartbeat,
  MsgHeartbeatResp: MessageType.MsgHeartbeatResp,
  MsgSnap: MessageType.MsgSnap,
};

// A cluster with node 1 elected in term 1 and its empty entry committed and applied everywhere.
function started(opts: ClusterOptions = {}): Cluster {
  const c = new Cluster({ n: 5, ...opts });
  c.elect(1);
  for (const id of c.ids) assert.equal(c.committed(id), 1);
  c.trace.length = 0;
  return c;
}

// props: fast proposals carrying the given data; votesFor: fast votes for an index.
const props = (data: string) => (m: Message) => m.type === MsgFastProp && m.entries.some((e) => str(e.data) === data);
const votesFor = (index: number) => (m: Message) => m.type === MsgFastVote && m.entries.some((e) => e.index === index);

function approvals(c: Cluster, id: number): string[] {
  return c.log(id).map((e) => `${e.index}:${str(e.data)}:${e.approval === Approval.SelfApproved ? 'SA' : e.approval === Approval.LeaderApproved ? 'LA' : '-'}:t${e.term}`);
}

// ---------------------------------------------------------------------------------------------
// The fast track and its classic fallback

test('uncontended fast commit: two message delays from proposer to leader commit', () => {
  const c = started();
  assert.ok(c.propose(2, 'x'));
  // The proposer holds its entry as self-approved and broadcasts it to the other four voters.
  assert.deepEqual(approvals(c, 2).slice(1), ['2:x:SA:t1']);
  assert.equal(c.count(isType(MsgFastProp)), 4);
  // Round 1: proposer -> all.
  assert.equal(c.deliver(isType(MsgFastProp)), 4);
  for (const id of [3, 4, 5]) assert.deepEqual(approvals(c, id).slice(1), ['2:x:SA:t1']);
  assert.equal(c.committed(1), 1, 'the leader holds only a tally until the votes arrive');
  // Round 2: all -> leader. Four votes (2..5) plus the leader's own = 5 >= ceil(15/4) = 4.
  assert.equal(c.count(isType(MsgFastVote)), 4);
  c.deliver(isType(MsgFastVote));
  assert.equal(c.committed(1), 2, 'committed at once on the fast quorum');
  assert.equal(c.appliedData(1, 2), 'x');
  assert.deepEqual(approvals(c, 1).slice(1), ['2:x:LA:t1']);
  const s = c.fast(1).stats;
  assert.equal(s.fastCommits, 1);
  assert.equal(s.classicCommits, 0);
  assert.equal(s.conflicts, 0);
  assert.equal(s.fallbacks, 0);
  assert.equal(fastPathRatio(s), 1);
  // The decision reaches the followers, which turn their copy into the leader's.
  c.settle();
  for (const id of c.ids) {
    assert.deepEqual(approvals(c, id).slice(1), ['2:x:LA:t1']);
    assert.equal(c.appliedData(id, 2), 'x');
  }
  assert.equal(c.fast(2).pendingCount(), 0, 'the proposer saw its entry committed');
  assert.equal(c.fast(2).stats.reproposals, 0);
  c.checkSafe();
});

test('contention: no fast quorum falls back to the classic track; the loser is proposed again', () => {
  const c = started();
  c.propose(2, 'x');
  c.propose(3, 'y');
  // Both chose index 2. The leader and node 4 see x first, node 5 sees y first.
  c.deliver(and(props('x'), to(1, 4)));
  c.deliver(and(props('y'), to(1, 5, 4)));
  c.deliver(props('x'));
  c.deliver(props('y'));
  assert.deepEqual(
    c.ids.map((id) => c.dataAt(id, 2)),
    [undefined, 'x', 'y', 'x', 'y'],
    'each voter holds what it saw first (the leader holds only its tally)',
  );
  // x: leader, 2, 4 (3 votes); y: 3, 5 (2 votes). Fast quorum is 4: neither. Every voter has
  // answered, so the leader decides at once on the classic track, for the most held entry.
  c.deliver(isType(MsgFastVote));
  const s = c.fast(1).stats;
  assert.equal(s.conflicts, 1);
  assert.equal(s.fallbacks, 1);
  assert.deepEqual(approvals(c, 1).slice(1), ['2:x:LA:t1']);
  assert.equal(c.committed(1), 1, 'a classic decision waits for replication');
  // Replicate: a majority's acks commit x.
  c.deliver(isType(MsgApp));
  for (const id of [3, 5]) assert.equal(c.dataAt(id, 2), 'x', 'the SA entry was overwritten by the decision');
  c.deliver(isType(MsgAppResp));
  assert.equal(c.committed(1), 2);
  c.settle();
  // y lost index 2: its proposer sees x committed there and proposes it again at 3 (fast).
  assert.equal(c.fast(3).stats.reproposals, 1);
  c.settle();
  for (const id of c.ids) {
    assert.equal(c.appliedData(id, 2), 'x');
    assert.equal(c.appliedData(id, 3), 'y');
  }
  assert.equal(s.classicCommits, 1);
  assert.equal(s.fastCommits, 1);
  assert.equal(fastPathRatio(s), 0.5);
  c.checkSafe();
});

test('the decision ships the chosen entry to voters that hold another one or none', () => {
  const c = started();
  c.propose(2, 'x');
  c.propose(5, 'y');
  c.drop(and(props('x'), to(5)));
  c.drop(and(props('y'), not(to(4))));
  c.deliver(props('y'));
  c.deliver(props('x'));
  // x: 1, 2, 3 (node 4 saw y first and votes y, node 5 holds y): no fast quorum.
  c.deliver(isType(MsgFastVote));
  assert.equal(c.fast(1).stats.fallbacks, 1);
  const apps = c.pool.filter(isType(MsgApp));
  assert.equal(apps.length, 4);
  for (const m of apps) {
    assert.equal(m.entries.length, 1);
    const e = m.entries[0]!;
    assert.equal(e.index, 2);
    assert.equal(str(e.data), 'x', 'the data travels with the decision');
    assert.equal(e.approval, Approval.LeaderApproved);
    assert.equal(e.digest, c.entry(2, 2)!.digest, 'and the digest of the proposal it decides');
  }
  c.deliver(isType(MsgApp));
  assert.deepEqual(approvals(c, 4).slice(1), ['2:x:LA:t1']);
  assert.deepEqual(approvals(c, 5).slice(1), ['2:x:LA:t1']);
  c.settle();
  c.checkSafe();
});

test('a lost proposal does not stall the log: the leader closes the hole with an empty entry', () => {
  const c = started();
  // w for index 2 reaches node 2 only (its vote is lost) and its proposer crashes.
  c.propose(5, 'w');
  c.deliver(and(props('w'), to(2)));
  c.drop();
  c.crash(5);
  // x, proposed by node 2 for 3, waits behind the hole at 2: the other voters buffer it.
  c.propose(2, 'x');
  c.settle();
  assert.equal(c.fast(1).openIndexCount(), 1);
  assert.equal(c.lastIndex(1), 1);
  for (let i = 0; i < 6 && c.committed(1) < 3; i++) {
    c.tick([1, 2, 3, 4], 1);
    c.settle();
  }
  assert.deepEqual(approvals(c, 1).slice(1), ['2::LA:t1', '3:x:LA:t1']);
  assert.equal(c.committed(1), 3);
  assert.equal(c.fast(1).stats.noopDecisions, 1);
  for (const id of [2, 3, 4]) assert.equal(c.appliedData(id, 3), 'x');
  c.checkSafe();
});

test('votes for an entry the leader never saw: the index is closed with an empty entry after the timeout, and x goes again', () => {
  const c = started();
  // x for index 2 reaches every voter but the leader; their votes name a digest the leader cannot
  // ship, so it waits for the decision timeout and closes 2 with an empty entry. The decision
  // crosses the transport's codec (the harness sends every message through it): an entry of this
  // decision once carried `digest: undefined`, which receivers rightly refused, and the leader
  // resent it forever.
  c.propose(2, 'x');
  c.drop(and(isType(MsgFastProp), to(1)));
  c.deliver(isType(MsgFastProp));
  c.deliver(isType(MsgFastVote));
  assert.equal(c.lastIndex(1), 1, 'undecided: the leader holds no copy of x');
  for (let i = 0; i < 10 && c.committed(1) < 3; i++) {
    c.tick([1, 2, 3, 4, 5], 1);
    c.settle();
  }
  assert.equal(c.fast(1).stats.noopDecisions, 1);
  assert.equal(c.dataAt(1, 2), '');
  assert.equal(c.entry(1, 2)!.digest, undefined);
  assert.equal('digest' in c.entry(1, 2)!, false, 'no digest key at all on an entry without one');
  // x lost index 2 and was proposed again at 3.
  assert.equal(c.fast(2).stats.reproposals, 1);
  for (const id of [1, 2, 3, 4, 5]) assert.equal(c.appliedData(id, 3), 'x');
  c.checkSafe();
});

// ---------------------------------------------------------------------------------------------
// Voter-side log shape

test('sparse log: an out-of-order proposal waits in the side buffer, the log has no gap', () => {
  const c = started();
  c.propose(2, 'x'); // index 2
  c.propose(2, 'z'); // index 3
  assert.deepEqual(approvals(c, 2).slice(1), ['2:x:SA:t1', '3:z:SA:t1']);
  // Node 3 sees index 3 before index 2.
  c.deliver(and(props('z'), to(3)));
  assert.equal(c.lastIndex(3), 1, 'nothing put in the log above a missing index');
  assert.equal(c.fast(3).sideBufferCount(), 1);
  assert.equal(c.count(and(from(3), isType(MsgFastVote))), 0, 'no vote for what it does not hold');
  c.deliver(and(props('x'), to(3)));
  assert.deepEqual(approvals(c, 3).slice(1), ['2:x:SA:t1', '3:z:SA:t1']);
  assert.equal(c.fast(3).sideBufferCount(), 0);
  const v = c.pool.filter(and(from(3), isType(MsgFastVote)));
  assert.equal(v.length, 1, 'one vote message for both');
  assert.deepEqual(
    v[0]!.entries.map((e) => e.index),
    [2, 3],
  );
  c.settle();
  for (const id of c.ids) assert.deepEqual([c.appliedData(id, 2), c.appliedData(id, 3)], ['x', 'z']);
  assert.equal(c.fast(1).stats.fastCommits, 2);
  c.checkSafe();
});

test('side-buffer flush: the leader filling the prefix releases a buffered proposal and its vote', () => {
  const c = started();
  c.propose(2, 'x'); // index 2, never reaches node 5
  c.propose(2, 'z'); // index 3, never reaches node 4
  c.drop(and(props('x'), to(5)));
  c.drop(and(props('z'), to(4)));
  c.deliver(isType(MsgFastProp));
  assert.equal(c.fast(5).sideBufferCount(), 1);
  assert.equal(c.lastIndex(5), 1);
  c.deliver(isType(MsgFastVote));
  // Index 2: x from 1, 2, 3, 4 - fast. Index 3: z from 1, 2, 3 only - pending.
  assert.equal(c.committed(1), 2);
  assert.equal(c.lastIndex(1), 2);
  // The decision at 2 reaches node 5: it appends x, then flushes z from its buffer and votes.
  c.deliver(and(isType(MsgApp), to(5)));
  assert.deepEqual(approvals(c, 5).slice(1), ['2:x:LA:t1', '3:z:SA:t1']);
  assert.equal(c.fast(5).sideBufferCount(), 0);
  const v = c.pool.filter(and(from(5), votesFor(3)));
  assert.equal(v.length, 1);
  c.deliver(votesFor(3));
  assert.equal(c.committed(1), 3, "node 5's flushed vote completed the fast quorum at 3");
  assert.equal(c.fast(1).stats.fallbacks, 0);
  c.settle();
  assert.equal(c.fast(1).stats.fastCommits, 2);
  c.checkSafe();
});

test('never overwriting a committed entry: a proposal for a committed index is ignored', () => {
  const c = started();
  c.block(or(to(5), from(5)));
  c.propose(2, 'x');
  c.settle();
  assert.equal(c.committed(1), 2);
  c.unblock();
  // Node 5 missed index 2 and proposes for it.
  assert.equal(c.lastIndex(5), 1);
  c.propose(5, 'w');
  assert.equal(c.entry(5, 2)?.approval, Approval.SelfApproved);
  c.deliver(isType(MsgFastProp));
  assert.equal(c.count(and(isType(MsgFastVote), not(from(5)))), 0, 'nobody votes for an index it has committed');
  c.deliver(isType(MsgFastVote)); // node 5's vote for its own entry
  assert.equal(c.fast(1).openIndexCount(), 0, 'the leader opens no tally below its log');
  for (const id of [1, 2, 3, 4]) assert.deepEqual(approvals(c, id).slice(1), ['2:x:LA:t1']);
  // An append from below the commit index changes nothing either.
  const stale = newMessage({ type: MsgApp, from: 1, to: 3, term: 1, index: 1, logTerm: 1, entries: [{ term: 1, index: 2, type: EntryType.EntryNormal, data: bytes('w'), approval: Approval.LeaderApproved }], commit: 2 });
  c.inject([stale]);
  c.deliver(and(isType(MsgApp), to(3)));
  assert.deepEqual(approvals(c, 3).slice(1), ['2:x:LA:t1']);
  // Node 5 catches up; its own entry at 2 is replaced by the committed one and w moves on.
  c.tick([1], 1);
  c.settle();
  c.tick(c.ids, 3);
  c.settle();
  for (const id of c.ids) assert.deepEqual([c.appliedData(id, 2), c.appliedData(id, 3)], ['x', 'w']);
  assert.equal(c.fast(5).stats.reproposals, 1);
  c.checkSafe();
});

test('overwriting only at the decided index: later self-approved entries stay', () => {
  const c = started();
  // Node 5 proposes p, q, r for indices 2, 3, 4; nobody else hears of them.
  c.block(and(from(5), isType(MsgFastProp)));
  for (const d of ['p', 'q', 'r']) c.propose(5, d);
  c.unblock();
  c.drop(from(5));
  assert.deepEqual(approvals(c, 5).slice(1), ['2:p:SA:t1', '3:q:SA:t1', '4:r:SA:t1']);
  // x is fast-committed at 2 by 1..4.
  c.propose(2, 'x');
  c.deliver(isType(MsgFastProp));
  c.deliver(isType(MsgFastVote));
  assert.equal(c.committed(1), 2);
  const app = c.pool.filter(and(isType(MsgApp), to(5)));
  assert.equal(app.length, 1);
  c.deliver(and(isType(MsgApp), to(5)));
  // Index 2 is replaced, 3 and 4 are untouched; p, having lost 2 (committed: the append carried
  // the commit index), is proposed again at the next free index.
  assert.deepEqual(approvals(c, 5).slice(1), ['2:x:LA:t1', '3:q:SA:t1', '4:r:SA:t1', '5:p:SA:t1']);
  assert.equal(c.fast(5).stats.reproposals, 1);
  const resp = c.pool.filter(and(isType(MsgAppResp), from(5)));
  assert.equal(resp.length, 1);
  assert.equal(resp[0]!.index, 2, 'the ack covers the leader-approved prefix only');
  assert.equal(c.committed(5), 2);
  c.checkSafe();
});

// ---------------------------------------------------------------------------------------------
// Elections and recovery

test('election with self-approved entries: the new leader carries them over as leader-approved', () => {
  const c = started();
  // x (index 2) and z (index 3) reach every follower but not the leader, which then crashes.
  c.propose(2, 'x');
  c.propose(2, 'z');
  c.drop(to(1));
  c.deliver(isType(MsgFastProp));
  c.crash(1);
  c.drop(from(1));
  for (const id of [2, 3, 4, 5]) assert.deepEqual(approvals(c, id).slice(1), ['2:x:SA:t1', '3:z:SA:t1']);
  c.trace.length = 0;
  c.campaign(3);
  // Vote requests carry the candidate's leader-approved prefix, not its self-approved suffix.
  for (const m of c.pool.filter(isType(MsgVote))) assert.deepEqual([m.index, m.logTerm], [1, 1]);
  c.deliver(isType(MsgVote));
  // Each granted vote carries the voter's entries above that prefix as hints.
  for (const m of c.pool.filter(isType(MsgVoteResp))) {
    assert.equal(m.reject, false);
    assert.deepEqual(m.entries.map((e) => str(e.data)), ['x', 'z']);
  }
  c.deliver(isType(MsgVoteResp));
  assert.equal(c.node(3).raft.state, StateType.StateLeader);
  assert.deepEqual(approvals(c, 3).slice(1), ['2:x:LA:t2', '3:z:LA:t2', '4::-:t2']);
  assert.equal(c.fast(3).stats.recoveredEntries, 2);
  c.settle();
  for (const id of [2, 3, 4, 5]) assert.deepEqual([c.appliedData(id, 2), c.appliedData(id, 3)], ['x', 'z']);
  assert.equal(c.fast(2).pendingCount(), 0, 'the proposer saw both committed where it proposed them');
  assert.equal(c.fast(2).stats.reproposals, 0);
  c.checkSafe();
});

test('several hints for one index: the most held entry among the electors wins', () => {
  const c = started();
  // Index 2: node 2 holds a, nodes 3 and 4 hold b, node 5 holds c. The leader saw none.
  c.propose(2, 'a');
  c.propose(3, 'b');
  c.propose(5, 'c');
  c.deliver(and(props('b'), to(4)));
  c.drop();
  c.crash(1);
  assert.deepEqual([2, 3, 4, 5].map((id) => c.dataAt(id, 2)), ['a', 'b', 'b', 'c']);
  // Node 2 is elected by 3, 4 and 5: a once (its own), b twice, c once.
  c.campaign(2);
  c.deliver(isType(MsgVote));
  const hints = c.pool.filter(isType(MsgVoteResp)).map((m) => m.entries.map((e) => str(e.data)).join(''));
  assert.deepEqual(hints.sort(), ['b', 'b', 'c']);
  c.deliver(isType(MsgVoteResp));
  assert.equal(c.node(2).raft.state, StateType.StateLeader);
  assert.equal(c.dataAt(2, 2), 'b');
  assert.equal(c.approvalAt(2, 2), Approval.LeaderApproved);
  c.settle();
  for (const id of [2, 3, 4, 5]) assert.equal(c.appliedData(id, 2), 'b');
  // a and c lost index 2 and are proposed again; everything commits exactly once.
  c.tick([2, 3, 4, 5], 6);
  c.settle();
  const applied = [4, 5].map((i) => c.appliedData(3, i)).sort();
  assert.deepEqual(applied, ['a', 'c']);
  assert.equal(c.fast(2).stats.reproposals + c.fast(5).stats.reproposals, 2);
  c.checkSafe();
});

// The leader fast-commits x and applies it, and crashes before any decision leaves it. Node 5,
// which holds a different entry there, is elected by voters that hold x.
function crashAfterFastCommit(): Cluster {
  const c = started();
  c.block(and(from(5), isType(MsgFastProp)));
  c.propose(5, 'y'); // node 5 holds y at 2 and nobody else does
  c.unblock();
  c.propose(2, 'x');
  c.deliver(isType(MsgFastProp));
  c.deliver(and(isType(MsgFastVote), not(from(5))));
  assert.equal(c.committed(1), 2, 'x fast-committed by 1, 2, 3, 4');
  assert.equal(c.appliedData(1, 2), 'x', 'and applied by the leader');
  c.crash(1);
  c.drop();
  c.campaign(5);
  c.settle(not(to(4)));
  c.drop(to(4));
  return c;
}

test('recovery of an entry fast-committed by a leader that crashed before anyone learned of the commit', () => {
  const c = crashAfterFastCommit();
  assert.equal(c.node(5).raft.state, StateType.StateLeader);
  assert.equal(c.dataAt(5, 2), 'x', "the new leader's own self-approved y gave way to x");
  assert.equal(c.approvalAt(5, 2), Approval.LeaderApproved);
  c.tick([5], 1);
  c.settle();
  for (const id of [2, 3, 4, 5]) assert.equal(c.appliedData(id, 2), 'x');
  // y lost its index and is proposed again.
  c.tick([2, 3, 4, 5], 4);
  c.settle();
  assert.equal(c.appliedData(3, 4), 'y');
  c.checkSafe();
});

test('recovery: the crashed leader that applied the fast-committed entry rejoins', () => {
  const c = crashAfterFastCommit();
  c.restart(1);
  assert.equal(c.committed(1), 2);
  for (let i = 0; i < 5; i++) {
    c.tick([5], 1);
    // Bounded: with the bug, leader and node 1 exchange appends and rejections without end.
    c.deliver(undefined, 20);
  }
  assert.equal(c.committed(1), c.committed(5), 'the old leader catches up');
  assert.equal(c.appliedData(1, 3), c.appliedData(5, 3));
  c.checkSafe();
});

test('an entry committed and compacted before a recovery is not replaced by a later election', () => {
  const c = started({ maxSizePerMsg: 1 }); // one entry per append
  // Node 5 holds v and y at 2 and 3, which nobody else sees.
  c.block(and(from(5), isType(MsgFastProp)));
  c.propose(5, 'v');
  c.propose(5, 'y');
  c.unblock();
  c.drop();
  // w and x are fast-committed at 2 and 3 (votes 1..4); the decisions reach node 4 only. The
  // leader and node 4 apply them and compact their logs through 3.
  c.propose(2, 'w');
  c.propose(2, 'x');
  c.deliver(isType(MsgFastProp));
  c.deliver(isType(MsgFastVote));
  c.deliver(and(isType(MsgApp), to(4)), 3);
  c.drop();
  for (const id of [1, 4]) {
    assert.equal(c.appliedData(id, 3), 'x');
    c.compact(id, 3);
  }
  c.crash(1);
  // Node 2 is elected by 3 and 5 and recovers w and x, re-stamped with term 2; node 5 receives
  // the first of them only, then node 2 crashes.
  c.campaign(2);
  c.deliver(and(isType(MsgVote), to(3, 5)));
  c.drop(isType(MsgVote));
  c.deliver(isType(MsgVoteResp));
  assert.deepEqual(approvals(c, 2).slice(1), ['2:w:LA:t2', '3:x:LA:t2', '4::-:t2']);
  c.deliver(and(isType(MsgApp), to(5)));
  c.deliver(and(isType(MsgAppResp), from(5)));
  c.deliver(and(isType(MsgApp), to(5)));
  c.drop();
  assert.deepEqual(approvals(c, 5).slice(1), ['2:w:LA:t2', '3:y:SA:t1']);
  c.crash(2);
  c.restart(1);
  // Node 5 (prefix ending at term 2, index 2) asks 1 and 4 (prefix ending at term 1, index 3,
  // committed, then compacted: they could not hint x). Both refuse: a candidate whose
  // leader-approved prefix stops short of a voter's commit index never gets its vote.
  c.campaign(5);
  c.deliver(and(isType(MsgVote), to(1, 4)));
  c.drop(isType(MsgVote));
  const answers = c.take(isType(MsgVoteResp));
  assert.equal(answers.length, 2);
  for (const a of answers) assert.equal(a.reject, true, `node ${a.from} refuses node 5`);
  c.inject(answers);
  c.deliver(isType(MsgVoteResp));
  assert.notEqual(c.leader(), 5);
  c.deliver(undefined, 12);
  c.checkSafe();
  // Whoever leads next, index 3 stays x.
  const lead = c.leader();
  if (lead !== 0) assert.equal(c.dataAt(lead, 3) ?? 'x', 'x');
});

// ---------------------------------------------------------------------------------------------
// Snapshots

// Node 5 misses index 2 (a), which commits; the leader compacts its log through 2. Then x is
// proposed for 3: node 4 never hears of it, node 5 (no index 2 yet) buffers it. The leader can
// reach node 5 only through its snapshot at 2.
function snapshotAcrossPending(): Cluster {
  const c = started({ n: 5 });
  c.block(or(to(5), from(5)));
  c.propose(2, 'a');
  c.settle();
  assert.equal(c.committed(1), 2);
  c.compact(1);
  c.unblock();
  c.propose(2, 'x');
  c.drop(and(props('x'), to(4)));
  c.deliver(isType(MsgFastProp));
  assert.equal(c.fast(5).sideBufferCount(), 1);
  c.deliver(isType(MsgFastVote));
  assert.equal(c.committed(1), 2, 'x pending: 3 votes of the 4 needed');
  assert.equal(c.fast(1).openIndexCount(), 1);
  c.tick([1], 1);
  c.deliver(isType(MsgHeartbeat));
  c.deliver(isType(MsgHeartbeatResp));
  c.settle(not(isType(MsgFastVote)));
  assert.ok(c.trace.some((t) => t.startsWith('1->5 MsgSnap')), 'a snapshot was sent');
  assert.equal(c.appliedData(5, 2), 'a', 'node 5 restored index 2 from the snapshot');
  // The buffered x follows the snapshot's last index: it goes into the log at once.
  assert.equal(c.lastIndex(5), 3);
  return c;
}

test('snapshot across a pending fast decision: the decision completes and reaches the restored voter', () => {
  const c = snapshotAcrossPending();
  assert.equal(c.fast(1).openIndexCount(), 1, 'the tally at 3 survived the snapshot');
  // The pending index is decided (x, the only candidate) and reaches node 5 on top of the snapshot.
  c.tick([1], 2);
  c.settle();
  assert.equal(c.committed(1), 3);
  for (const id of c.ids) assert.equal(c.appliedData(id, 3), 'x');
  assert.deepEqual(approvals(c, 5), ['3:x:LA:t1']);
  assert.equal(c.fast(5).sideBufferCount(), 0);
  c.checkSafe();
});

test('snapshot across a pending fast decision: the restored voter votes for what it buffered', () => {
  const c = snapshotAcrossPending();
  assert.equal(c.fast(5).sideBufferCount(), 0, 'the snapshot filled the prefix of the buffered x');
  assert.deepEqual(approvals(c, 5), ['3:x:SA:t1']);
  c.deliver(votesFor(3));
  assert.equal(c.committed(1), 3, "node 5's vote completes the fast quorum");
  assert.equal(c.fast(1).stats.fallbacks, 0);
  c.checkSafe();
});

test('a snapshot never commits a self-approved entry that differs from the committed one', () => {
  const c = new Cluster({ n: 3 });
  c.elect(1);
  c.propose(2, 'x');
  c.propose(3, 'y');
  c.deliver(isType(MsgFastProp));
  // x: 1, 2; y: 3. All voted, no fast quorum (3 of 3): x is decided on the classic track.
  c.deliver(isType(MsgFastVote));
  assert.equal(c.dataAt(3, 2), 'y');
  c.block(to(3));
  c.settle();
  assert.equal(c.appliedData(1, 2), 'x');
  c.compact(1);
  c.unblock();
  for (let i = 0; i < 3; i++) {
    c.tick([1], 1);
    c.settle();
  }
  assert.ok(c.trace.some((t) => t.startsWith('1->3 MsgSnap')));
  c.checkSafe();
  assert.notEqual(c.appliedData(3, 2), 'y', 'node 3 must not apply its own self-approved y at 2');
});

test('a snapshot does not erase a self-approved entry whose vote counted toward a fast commit', () => {
  const c = started();
  // Term 1: node 5 proposes a, b, c (2, 3, 4) and nobody else hears of them.
  c.block(and(from(5), isType(MsgFastProp)));
  for (const d of ['a', 'b', 'c']) c.propose(5, d);
  c.unblock();
  c.drop();
  // Term 2: node 2 is elected by 1, 3, 4; its empty entry takes index 2 on node 5 too, which
  // keeps b and c (term 1, self-approved) above it. Nothing else reaches node 5 from node 2.
  c.campaign(2);
  c.deliver(and(isType(MsgVote), to(1, 3, 4)));
  c.drop(isType(MsgVote));
  c.deliver(isType(MsgVoteResp));
  c.deliver(isType(MsgApp));
  c.block(and(from(2), to(5), isType(MsgApp, MsgHeartbeat)));
  c.settle();
  assert.deepEqual(approvals(c, 5).slice(1), ['2::-:t2', '3:b:SA:t1', '4:c:SA:t1']);
  // d and e are fast-committed at 3 and 4 without node 5.
  c.propose(3, 'd');
  c.settle();
  c.propose(3, 'e');
  c.settle();
  const probe = c.lost.filter((m) => m.type === MsgApp && m.to === 5 && m.entries.some((e) => str(e.data) === 'e'));
  assert.equal(probe.length, 1);
  // x for 5: node 5's log ends at 4, so it takes x and votes (its prefix ends in term 2: rule 1
  // holds). Votes 2, 3, 4, 5: fast commit, applied by the leader.
  c.propose(3, 'x');
  c.drop(and(props('x'), to(1)));
  c.deliver(isType(MsgFastProp));
  assert.equal(c.entry(5, 5)?.approval, Approval.SelfApproved);
  c.deliver(isType(MsgFastVote));
  assert.equal(c.committed(2), 5);
  assert.equal(c.appliedData(2, 5), 'x');
  c.drop(from(2));
  // The leader compacts through 4 and reaches node 5 with its snapshot; then it crashes.
  c.compact(2, 4);
  c.unblock();
  c.inject(probe);
  c.deliver(and(isType(MsgApp), to(5)));
  c.deliver(and(isType(MsgAppResp), to(2)));
  c.drop(not(isType(MsgSnap)));
  c.crash(2);
  c.deliver(isType(MsgSnap));
  const heldAt5 = c.dataAt(5, 5);
  // Node 5's pending a, b, c (at 2..4, below the snapshot) are proposed again from 5; node 1,
  // which never saw x, takes a. Node 5 is elected by 1 and 3: x is held by 3 only.
  c.deliver(and(isType(MsgFastProp), to(1)));
  c.drop();
  c.campaign(5);
  c.deliver(and(isType(MsgVote), to(1, 3)));
  c.drop(isType(MsgVote));
  c.deliver(isType(MsgVoteResp));
  c.settle();
  c.checkSafe();
  assert.equal(heldAt5, 'x', 'node 5 still holds x, which it voted for and which was committed');
});

test('an append response after a snapshot acknowledges only what the leader sent', () => {
  const c = new Cluster({ n: 3 });
  c.elect(1);
  // Node 3 is cut off with a pending proposal p at 2; a and b commit at 2 and 3 without it.
  c.block(or(to(3), from(3)));
  c.propose(3, 'p');
  for (const d of ['a', 'b']) {
    c.propose(2, d);
    c.settle();
    c.tick([1], 2); // no fast quorum without node 3: classic after the timeout
    c.settle();
  }
  assert.equal(c.committed(1), 3);
  c.compact(1, 3);
  // The leader decides its own L at 4, which reaches nobody.
  c.block(and(from(1), to(2)));
  c.propose(1, 'L');
  c.settle();
  c.tick([1], 2);
  c.settle();
  assert.deepEqual(approvals(c, 1), ['4:L:LA:t1']);
  // Node 3 returns and gets the snapshot at 3. Its pending p (at 2, now covered by the snapshot)
  // has an outcome the log no longer shows: it is settled as unknown, not proposed again (that
  // could commit it twice); the client's retry goes through the KV session table.
  c.unblock();
  c.block(or(to(2), from(2), isType(MsgFastProp)));
  c.trace.length = 0;
  c.tick([1], 1);
  c.settle();
  assert.ok(c.trace.some((t) => t.startsWith('1->3 MsgSnap')));
  assert.equal(c.fast(3).stats.unknownOutcomes, 1);
  assert.equal(c.fast(3).pendingCount(), 0);
  // The ack of the snapshot covers index 3 only; L then reaches node 3 by an ordinary append and
  // commits with node 3's ack of it.
  const snapAcks = c.trace.filter((t) => t.startsWith('3->1 MsgAppResp') && !t.includes('rej'));
  assert.ok(snapAcks.length > 0 && snapAcks[0]!.includes(' i3 '), `first ack after the snapshot is for index 3: ${snapAcks.join(' | ')}`);
  c.tick([1], 1);
  c.settle();
  c.checkSafe();
  assert.deepEqual(approvals(c, 3), ['4:L:LA:t1']);
  assert.equal(c.committed(1), 4);
  assert.equal(c.appliedData(3, 4), 'L');
});

// ---------------------------------------------------------------------------------------------
// Configurations

// Node 1 leads {1..5} into the joint configuration {1,2,3} & {1,2,3,4,5} and stays there.
function joint(): Cluster {
  const c = started();
  c.proposeConfChange(1, {
    transition: ConfChangeTransition.JointExplicit,
    changes: [
      { type: ConfChangeType.ConfChangeRemoveNode, nodeId: 4 },
      { type: ConfChangeType.ConfChangeRemoveNode, nodeId: 5 },
    ],
    context: new Uint8Array(0),
  });
  c.settle();
  for (const id of c.ids) assert.equal(c.slot(id).applied, 2);
  const v = c.node(1).raft.trk.config.voters;
  assert.deepEqual([...v.incoming.ids()].sort(), [1, 2, 3]);
  assert.deepEqual([...v.outgoing.ids()].sort(), [1, 2, 3, 4, 5]);
  return c;
}

test('fast quorum in a joint configuration: ceil(3n/4) in each half', () => {
  const c = joint();
  assert.equal(fastQuorumSize(3), 3);
  assert.equal(fastQuorumSize(5), 4);
  c.propose(2, 'x');
  assert.equal(c.count(isType(MsgFastProp)), 4, 'proposals go to the voters of both halves');
  c.drop(and(isType(MsgFastProp), to(5)));
  c.deliver(isType(MsgFastProp));
  // Votes 1, 2, 3, 4: 3 of {1,2,3} and 4 of {1,..,5}.
  c.deliver(isType(MsgFastVote));
  assert.equal(c.committed(1), 3);
  c.settle();
  assert.equal(c.fast(1).stats.fastCommits, 1);
  c.checkSafe();
});

test('no fast commit on the larger half only', () => {
  const c = joint();
  c.propose(2, 'x');
  c.drop(and(isType(MsgFastProp), to(3)));
  c.deliver(isType(MsgFastProp));
  // Votes 1, 2, 4, 5: 4 of {1,..,5} but 2 of {1,2,3}.
  c.deliver(isType(MsgFastVote));
  assert.equal(c.lastIndex(1), 2, 'undecided while node 3 may still vote');
  c.tick([1], 2);
  assert.equal(c.fast(1).stats.fallbacks, 1, 'decided on the classic track after the timeout');
  assert.equal(c.committed(1), 2);
  c.settle();
  assert.equal(c.committed(1), 3);
  assert.equal(c.fast(1).stats.fastCommits, 0);
  assert.equal(c.fast(1).stats.classicCommits, 1);
  c.checkSafe();
});

// ---------------------------------------------------------------------------------------------
// Rule 1: a vote counts only if the voter's leader-approved prefix ended in an entry of the
// leader's term. Without it, node 5's vote (prefix ending in a stale term-1 entry) counts, the
// leader fast-commits x, and node 5 then loses x when the leader's first append truncates its
// stale suffix; the next election picks y over x.
function rule1Scenario(mutations: Mutation[]): { c: Cluster; committedX: boolean } {
  const c = started({ mutations });
  // A classic entry of term 1 at index 2 reaches node 5 only; then leader 1 crashes.
  c.proposeClassic(1, 'z', 3);
  c.deliver(and(isType(MsgApp), to(5)));
  c.crash(1);
  c.drop();
  // Node 2 is elected in term 2 by 3 and 4 (node 5's prefix is longer and it refuses).
  c.campaign(2);
  c.deliver(isType(MsgVote));
  c.deliver(isType(MsgVoteResp));
  assert.equal(c.node(2).raft.state, StateType.StateLeader);
  const staleApp = c.take(and(isType(MsgApp), to(5)));
  c.settle(not(to(5)));
  assert.equal(c.committed(2), 2);
  // Node 5 learns who leads from a heartbeat (which carries no commit index for it).
  c.tick([2], 1);
  c.deliver(and(isType(MsgHeartbeat), to(5)));
  c.drop(or(to(5), from(5)));
  c.settle();
  assert.equal(c.node(5).raft.lead, 2);
  assert.deepEqual(approvals(c, 5).slice(1), ['2:z:-:t1']);
  // x for index 3: node 5's log ends at its stale entry 2, so it takes x at 3 and votes.
  c.propose(3, 'x');
  c.deliver(and(isType(MsgFastProp), not(to(5))));
  c.deliver(and(isType(MsgFastProp), to(5)));
  const v5 = c.pool.find(and(isType(MsgFastVote), from(5)))!;
  assert.equal(v5.logTerm, 1, "node 5's prefix ends in term 1");
  c.deliver(isType(MsgFastVote));
  const committedX = c.committed(2) === 3;
  // Leader 2 crashes before its decision leaves it; node 5 then gets the stale append.
  c.crash(2);
  c.drop();
  c.inject(staleApp);
  c.deliver();
  // Node 5 proposes y for 3; node 1 restarts and takes it.
  c.restart(1);
  c.propose(5, 'y');
  c.deliver(and(isType(MsgFastProp), to(1)));
  c.drop();
  // Node 5 is elected by 1 and 3.
  c.campaign(5);
  c.deliver(and(isType(MsgVote), to(1, 3)));
  c.drop(isType(MsgVote));
  c.deliver(isType(MsgVoteResp));
  assert.equal(c.node(5).raft.state, StateType.StateLeader);
  c.settle();
  c.tick([5], 1);
  c.settle();
  return { c, committedX };
}

test('rule 1: a vote from a voter whose prefix ends in an older term does not count', () => {
  const { c, committedX } = rule1Scenario([]);
  assert.equal(committedX, false, 'x was not fast-committed with node 5 counted');
  assert.equal(c.appliedData(2, 3), undefined);
  assert.equal(c.appliedData(5, 3), 'y');
  c.checkSafe();
});

test('rule 1 switched off (fast-any-round): the scenario loses a committed entry', () => {
  const { c, committedX } = rule1Scenario(['fast-any-round']);
  assert.equal(committedX, true);
  assert.equal(c.appliedData(2, 3), 'x');
  assert.equal(c.appliedData(5, 3), 'y');
  assert.ok(c.violations.length > 0, 'the harness sees two entries applied at index 3');
});

// Rule 2: a fast quorum must be one in every configuration in force during the term. Leader 1
// starts term 1 in {1..5} and removes node 5; nodes 4 and 5 never learn that the removal
// committed, and node 4 is later elected in {1..5} by 2 and 5.
function rule2Scenario(mutations: Mutation[]): { c: Cluster; committedX: boolean } {
  const c = started({ mutations });
  c.proposeConfChange(1, { id: 0, type: ConfChangeType.ConfChangeRemoveNode, nodeId: 5, context: new Uint8Array(0) });
  c.deliver(isType(MsgApp));
  c.block(and(from(1), to(4, 5)));
  c.settle(not(from(4, 5)));
  c.drop();
  for (const id of [1, 2, 3]) assert.deepEqual([...c.node(id).raft.trk.config.voters.incoming.ids()].sort(), [1, 2, 3, 4]);
  for (const id of [4, 5]) assert.equal(c.node(id).raft.trk.config.voters.incoming.size, 5);
  // Node 5 proposes y for 3 (reaching node 4 only), then node 2 proposes x for 3.
  c.propose(5, 'y');
  c.deliver(and(isType(MsgFastProp), to(4)));
  c.drop(isType(MsgFastProp));
  c.deliver(isType(MsgFastVote));
  c.propose(2, 'x');
  c.deliver(isType(MsgFastProp));
  c.deliver(isType(MsgFastVote));
  // x: 1, 2, 3 - a fast quorum of {1,2,3,4} (3) but not of {1..5} (4).
  const committedX = c.committed(1) === 3;
  c.crash(1);
  c.drop();
  c.unblock();
  c.campaign(4);
  c.deliver(and(isType(MsgVote), to(2, 5)));
  c.drop(isType(MsgVote));
  c.deliver(isType(MsgVoteResp));
  assert.equal(c.node(4).raft.state, StateType.StateLeader);
  c.settle();
  c.tick([4], 1);
  c.settle();
  return { c, committedX };
}

test('rule 2: a fast quorum of the new configuration alone does not commit', () => {
  const { c, committedX } = rule2Scenario([]);
  assert.equal(committedX, false);
  assert.equal(c.appliedData(4, 3), 'y');
  c.checkSafe();
});

test('rule 2 switched off (fast-any-config): the scenario loses a committed entry', () => {
  const { c, committedX } = rule2Scenario(['fast-any-config']);
  assert.equal(committedX, true);
  assert.equal(c.appliedData(1, 3), 'x');
  assert.equal(c.appliedData(4, 3), 'y');
  assert.ok(c.violations.length > 0);
});

test('rule 2: no fast commit while a configuration change is in the log but unapplied', () => {
  const c = started();
  c.proposeConfChange(1, { id: 0, type: ConfChangeType.ConfChangeUpdateNode, nodeId: 2, context: new Uint8Array(0) });
  // The change reaches everyone but its acks are held, so it stays uncommitted.
  c.deliver(isType(MsgApp));
  const acks = c.take(isType(MsgAppResp));
  c.propose(2, 'x');
  c.deliver(isType(MsgFastProp));
  c.deliver(isType(MsgFastVote));
  // Every voter voted x, but the fast track is closed: the leader decides x on the classic track.
  assert.equal(c.fast(1).stats.fallbacks, 1);
  assert.equal(c.entry(1, 2)!.type, EntryType.EntryConfChange);
  assert.deepEqual(approvals(c, 1).slice(2), ['3:x:LA:t1']);
  c.inject(acks);
  c.settle();
  assert.equal(c.committed(1), 3);
  assert.equal(c.fast(1).stats.fastCommits, 0);
  assert.equal(c.fast(1).stats.classicCommits, 1);
  c.checkSafe();
});

// ---------------------------------------------------------------------------------------------
// Rule 3: only entries of the leader's term, only after it committed an entry of its own term.

test('rule 3: no fast commit before the new leader has committed an entry of its term', () => {
  const c = started();
  c.crash(1);
  c.drop();
  c.campaign(2);
  c.deliver(isType(MsgVote));
  c.deliver(isType(MsgVoteResp));
  // The followers take the empty entry of term 2 but their acks are held.
  c.deliver(isType(MsgApp));
  const acks = c.take(isType(MsgAppResp));
  assert.equal(c.committed(2), 1);
  c.propose(3, 'x');
  c.deliver(isType(MsgFastProp));
  const votes = c.pool.filter(isType(MsgFastVote));
  assert.equal(votes.length, 3);
  for (const v of votes) assert.equal(v.logTerm, 2, 'every voter is in the round of term 2');
  c.deliver(isType(MsgFastVote));
  assert.equal(c.fast(2).stats.fallbacks, 1, 'decided on the classic track');
  c.inject(acks);
  c.settle();
  assert.equal(c.committed(2), 3);
  assert.equal(c.fast(2).stats.fastCommits, 0);
  assert.equal(c.fast(2).stats.classicCommits, 1);
  c.checkSafe();
});

test('rule 3: no fast commit of an old-term entry', () => {
  const c = started();
  // Node 4 proposes w (index 2) and x (index 3) in term 1; only node 5 hears of them.
  c.block(and(from(4), isType(MsgFastProp), not(to(5))));
  c.propose(4, 'w');
  c.propose(4, 'x');
  c.deliver(isType(MsgFastProp));
  c.drop();
  c.unblock();
  // Node 2 is elected in term 2 by 1 and 3; its empty entry lands on index 2.
  c.campaign(2);
  c.deliver(and(isType(MsgVote), to(1, 3)));
  c.drop(isType(MsgVote));
  c.deliver(isType(MsgVoteResp));
  assert.equal(c.node(2).raft.state, StateType.StateLeader);
  c.settle(not(isType(MsgFastProp)));
  c.drop();
  assert.deepEqual(approvals(c, 5).slice(1), ['2::-:t2', '3:x:SA:t1']);
  assert.equal(c.committed(2), 2);
  // Node 4 resends x, re-stamped with term 2, to the leader and node 1 only.
  c.block(and(from(4), isType(MsgFastProp), to(3, 5)));
  c.tick([4], 1);
  c.deliver(isType(MsgFastProp));
  c.unblock();
  c.deliver(isType(MsgFastVote));
  assert.equal(c.committed(2), 2, 'x(term 2): leader, 1, 4 - three of four');
  // Node 3 proposes z for 3 and node 5, reached first, answers with what it holds: x of term 1.
  c.propose(3, 'z');
  c.deliver(and(isType(MsgFastProp), to(5)));
  const v5 = c.pool.find(and(isType(MsgFastVote), from(5)))!;
  assert.equal(v5.entries[0]!.term, 1);
  assert.equal(v5.logTerm, 2, "node 5's prefix ends in term 2: rule 1 does not exclude it");
  c.deliver(isType(MsgFastVote));
  // x is held by four voters, but only three hold it in term 2: not a fast quorum. Every voter
  // has answered (node 3 for z), so it is decided at once on the classic track.
  assert.equal(c.fast(2).stats.fallbacks, 1);
  assert.equal(c.fast(2).stats.conflicts, 1);
  assert.deepEqual(approvals(c, 2).slice(2), ['3:x:LA:t2']);
  assert.equal(c.committed(2), 2, 'not committed before replication');
  c.deliver(isType(MsgApp));
  c.deliver(isType(MsgAppResp));
  assert.equal(c.committed(2), 3);
  assert.equal(c.appliedData(2, 3), 'x');
  assert.equal(c.fast(2).stats.fastCommits, 0);
  assert.equal(c.fast(2).stats.classicCommits, 1);
  c.settle();
  for (const id of c.ids) assert.equal(c.appliedData(id, 3), 'x');
  c.checkSafe();
});

// ---------------------------------------------------------------------------------------------
// Rule 4: bounded state, backpressure

test('backpressure: a proposer refuses proposals beyond its pending limit and window', () => {
  const c = started({ fast: { maxPendingProposals: 2, windowSize: 8 } });
  c.block(isType(MsgFastProp));
  assert.ok(c.propose(2, 'a'));
  assert.ok(c.propose(2, 'b'));
  assert.equal(c.propose(2, 'c'), false, 'ErrProposalDropped at the pending limit');
  assert.equal(c.fast(2).pendingCount(), 2);
  assert.equal(c.fast(2).stats.backpressureDrops, 1);
  c.unblock();
  c.tick([2], 3); // retransmission
  c.settle();
  assert.equal(c.fast(2).pendingCount(), 0);
  assert.ok(c.propose(2, 'c'), 'accepted again once the pending ones committed');
  c.settle();
  for (const id of c.ids) assert.deepEqual([2, 3, 4].map((i) => c.appliedData(id, i)), ['a', 'b', 'c']);
  // The window: no proposal beyond the leader-approved prefix plus the window.
  const w = started({ fast: { maxPendingProposals: 100, windowSize: 3 } });
  w.block(isType(MsgFastProp));
  for (const d of ['a', 'b', 'c']) assert.ok(w.propose(2, d));
  assert.equal(w.propose(2, 'd'), false, 'index 5 is beyond 1 + 3');
  assert.equal(w.fast(2).stats.backpressureDrops, 1);
  c.checkSafe();
});

test('bounded state when nothing commits', () => {
  const W = 8;
  const c = started({ fast: { windowSize: W, sideBufferSize: 2, maxPendingProposals: 3 } });
  // Proposals and heartbeats get through; votes, appends and acks do not.
  c.block(isType(MsgFastVote, MsgApp, MsgAppResp));
  let refused = 0;
  for (let i = 0; i < 20; i++) {
    if (!c.propose(2, `p${i}`)) refused++;
    c.propose(3, `q${i}`);
    c.tick(c.ids, 1);
    c.settle();
  }
  assert.equal(refused, 17);
  for (const id of c.ids) {
    const f = c.fast(id);
    assert.ok(f.pendingCount() <= 3, `node ${id} pending ${f.pendingCount()}`);
    assert.ok(f.sideBufferCount() <= 2);
    assert.ok(f.openIndexCount() <= W);
  }
  assert.equal(c.committed(1), 1, 'nothing committed');
  assert.ok(c.lastIndex(1) - c.committed(1) <= 3 + 3, 'the leader decides only what pending proposals fill');
  assert.equal(c.leader(), 1);
  assert.equal(c.node(5).raft.term, 1);
  // A voter flooded with proposals far ahead keeps at most sideBufferSize of them.
  const flood: Message[] = [];
  for (let i = 19; i >= 0; i--) {
    flood.push(newMessage({ type: MsgFastProp, from: 4, to: 5, term: 1, entries: [{ term: 1, index: 3 + i, type: EntryType.EntryNormal, data: bytes(`f${i}`), approval: Approval.SelfApproved, digest: 1000 + i }] }));
  }
  c.unblock();
  c.inject(flood);
  const dropped0 = c.fast(5).stats.droppedProposals;
  const last0 = c.lastIndex(5);
  c.deliver(and(isType(MsgFastProp), from(4), to(5)));
  // Descending: 22..10 lie beyond the window (1 + 8); 9 and 8 fill the side buffer; 7 and 6 find
  // it full; 5 goes into the log; 4 and 3 are already held.
  assert.equal(last0, 4);
  assert.equal(c.lastIndex(5), 5);
  assert.equal(c.fast(5).sideBufferCount(), 2);
  assert.equal(c.fast(5).stats.droppedProposals - dropped0, 15);
  // Filling 6 and 7 flushes the buffered 8 and 9: the buffer held the entries inside the window.
  for (const i of [6, 7]) {
    c.inject([newMessage({ type: MsgFastProp, from: 4, to: 5, term: 1, entries: [{ term: 1, index: i, type: EntryType.EntryNormal, data: bytes(`g${i}`), approval: Approval.SelfApproved, digest: 2000 + i }] })]);
  }
  c.deliver(and(isType(MsgFastProp), from(4), to(5)));
  assert.equal(c.lastIndex(5), 1 + W);
  assert.equal(c.fast(5).sideBufferCount(), 0);
  assert.equal(c.fast(5).saCount, W, 'the self-approved suffix never outgrows the window');
  // A leader sent votes for indices far ahead opens at most windowSize tallies.
  const votes: Message[] = [];
  for (let i = 0; i < 20; i++) {
    votes.push(newMessage({ type: MsgFastVote, from: 3, to: 1, term: 1, logTerm: 1, index: 1, entries: [{ term: 1, index: 2 + i, type: EntryType.EntryNormal, data: new Uint8Array(0), digest: 5000 + i }] }));
  }
  c.block(not(isType(MsgFastVote)));
  c.inject(votes);
  c.deliver(and(isType(MsgFastVote), to(1)));
  assert.ok(c.fast(1).openIndexCount() <= W, `open tallies ${c.fast(1).openIndexCount()}`);
  // Vote hints: at most a window of entries above the candidate's prefix.
  assert.equal(c.fast(5).hintsFor(0).length, W);
  c.checkSafe();
});

// ---------------------------------------------------------------------------------------------
// fastraft with the fast path off is raft

function tracedRun(protocol: 'raft' | 'fastraft', fast?: { enabled: boolean }): string[] {
  const c = new Cluster({ n: 5, protocol, seed: 7, ...(fast !== undefined ? { fast } : {}) });
  for (let t = 0; t < 40 && c.leader() === 0; t++) {
    c.tick();
    c.settle();
  }
  const lead = c.leader();
  assert.notEqual(lead, 0);
  for (let i = 0; i < 6; i++) {
    const at = c.ids[i % c.ids.length]!;
    c.propose(at, `v${i}`);
    if (i % 2 === 0) c.settle();
    c.tick();
    c.settle();
  }
  // A leader crash and a new election.
  c.crash(lead);
  for (let t = 0; t < 60 && (c.leader() === 0 || c.leader() === lead); t++) {
    c.tick();
    c.settle();
  }
  c.propose(c.leader(), 'after');
  c.tick();
  c.settle();
  c.checkSafe();
  return c.trace;
}

test('fastraft with the fast path disabled sends exactly the messages of raft for the same seed', () => {
  const classic = tracedRun('raft');
  const disabled = tracedRun('fastraft', { enabled: false });
  assert.ok(classic.length > 50);
  assert.deepEqual(disabled, classic);
  const enabled = tracedRun('fastraft');
  assert.ok(enabled.some((t) => t.includes('MsgFastProp')), 'the comparison has teeth: the fast path changes the trace');
  assert.ok(!classic.some((t) => t.includes('MsgFast')));
});
