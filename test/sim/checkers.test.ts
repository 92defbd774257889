// Each safety checker catches a hand-made violation (and accepts the legal case next to it).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Checkers, SafetyViolation, type CheckerName, type LogTermView } from '../../src/sim/checkers.js';
import { Approval, EntryType, type Entry } from '../../src/core/types.js';
import { History } from '../../src/sim/history.js';
import { checkLinearizable } from '../../src/sim/linearizability.js';

const enc = new TextEncoder();

function entry(index: number, term: number, data = `e${index}t${term}`, approval?: Approval): Entry {
  const e: Entry = { index, term, type: EntryType.EntryNormal, data: enc.encode(data) };
  if (approval !== undefined) e.approval = approval;
  return e;
}

// A log given as the terms of indices 1..n.
function log(terms: readonly number[]): LogTermView {
  return {
    tryTerm: (i) => (i >= 1 && i <= terms.length ? terms[i - 1]! : i === 0 ? 0 : -2),
    lastIndex: () => terms.length,
    slice: (lo, hi) => terms.slice(lo - 1, hi - 1).map((t, k) => entry(lo + k, t)),
  };
}

function violates(checker: CheckerName, fn: () => void): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SafetyViolation, `expected a SafetyViolation, got ${String(err)}`);
    assert.equal(err.checker, checker, err.message);
    return true;
  });
}

test('election safety: two leaders in one term', () => {
  const c = new Checkers();
  c.observeLeader(1, 5, log([1, 5]));
  c.observeLeader(1, 5, log([1, 5])); // the same leader seen again is fine
  c.observeLeader(2, 6, log([1, 5, 6]));
  violates('election-safety', () => c.observeLeader(3, 5, log([1, 5])));
  assert.equal(c.counters.elections, 2);
});

test('one vote per term: a node grants its vote twice', () => {
  const c = new Checkers();
  c.observeVoteGranted(1, 3, 2);
  c.observeVoteGranted(1, 3, 2); // repeating the same vote is allowed (a retransmitted answer)
  c.observeVoteGranted(1, 4, 3);
  violates('one-vote-per-term', () => c.observeVoteGranted(1, 3, 3));
});

test('log matching: different entries, or different predecessors, at the same (index, term)', () => {
  const c = new Checkers();
  c.observePersisted(1, entry(1, 1, 'a'), 0);
  c.observePersisted(2, entry(1, 1, 'a'), 0);
  c.observePersisted(3, entry(1, 2, 'b'), 0); // another term at the same index is fine
  violates('log-matching', () => c.observePersisted(4, entry(1, 1, 'zzz'), 0));
  const d = new Checkers();
  d.observePersisted(1, entry(5, 3, 'x'), 2);
  violates('log-matching', () => d.observePersisted(2, entry(5, 3, 'x'), 1));
});

test('log matching ignores Fast Raft self-approved entries', () => {
  const c = new Checkers();
  c.observePersisted(1, entry(4, 2, 'a', Approval.SelfApproved), 2);
  c.observePersisted(2, entry(4, 2, 'b', Approval.SelfApproved), 2);
  c.observePersisted(3, entry(4, 2, 'c', Approval.LeaderApproved), 2);
  violates('log-matching', () => c.observePersisted(4, entry(4, 2, 'd', Approval.LeaderApproved), 2));
});

test('committed overwrite: a node replaces or truncates a committed entry it held', () => {
  const c = new Checkers();
  c.observeCommit(1, 3, 2, 2);
  c.observeOverwrite(2, 4, 2, 3); // index 4 is not known committed: replacing it is fine
  c.observeOverwrite(2, 3, 1, 2); // the node held a term-1 entry there, not the committed one
  violates('committed-overwrite', () => c.observeOverwrite(2, 3, 2, 4));
  violates('committed-overwrite', () => c.observeOverwrite(3, 3, 2, -1));
});

test('leader completeness: a new leader lacks an entry committed in an earlier term', () => {
  const c = new Checkers();
  // Node 1, at term 4, commits index 3 whose entry has term 2 (Figure 8's forbidden commit).
  c.observeCommit(1, 3, 2, 4);
  c.observeLeader(1, 4, log([1, 2, 2, 4]));
  // A leader of term 4 itself is not held to it (the commit was made in its own term)...
  // ...but a leader of term 5 must hold (3, term 2).
  c.observeLeader(2, 5, log([1, 2, 2]));
  violates('leader-completeness', () => c.observeLeader(3, 6, log([1, 2, 3])));
  violates('leader-completeness', () => c.observeLeader(4, 7, log([1, 2])));
  // An index the leader has compacted into its snapshot is not held against it.
  const compacted: LogTermView = { tryTerm: (i) => (i < 5 ? -1 : 5), lastIndex: () => 6, slice: () => [] };
  c.observeLeader(5, 8, compacted);
});

test('state machine safety: two nodes apply different entries at one index', () => {
  const c = new Checkers();
  c.observeCommit(1, 2, 1, 1);
  c.observeApply(1, entry(1, 1, 'a'), 2);
  c.observeApply(1, entry(2, 1, 'b'), 2);
  c.observeApply(2, entry(1, 1, 'a'), 2);
  violates('state-machine-safety', () => c.observeApply(2, entry(2, 1, 'not b'), 2));
  const d = new Checkers();
  d.observeCommit(1, 1, 1, 1);
  violates('state-machine-safety', () => d.observeCommit(2, 1, 2, 2));
});

test('commit index monotonic, in memory and durably across a restart', () => {
  const c = new Checkers();
  c.observeCommit(1, 5, 1, 1);
  violates('commit-monotonic', () => c.observeCommit(1, 4, 1, 1));
  const d = new Checkers();
  d.observeDurableCommit(1, 7);
  violates('commit-monotonic', () => d.observeDurableCommit(1, 6));
  violates('commit-monotonic', () => d.observeRestart(1, 1, 6, 0));
  d.observeRestart(1, 1, 7, 0);
  d.observeCommit(1, 7, 1, 1);
});

test('applied <= committed, and entries applied once, in order', () => {
  const c = new Checkers();
  violates('applied-le-committed', () => c.observeApply(1, entry(1, 1), 0));
  const d = new Checkers();
  d.observeApply(1, entry(1, 1), 3);
  violates('apply-order', () => d.observeApply(1, entry(3, 1), 3));
  violates('apply-order', () => d.observeApply(1, entry(1, 1), 3));
  // After a snapshot at 10 the next entry to apply is 11.
  d.observeSnapshotApplied(1, 10);
  d.observeApply(1, entry(11, 1), 11);
});

test('linearizability: a history with a stale read is illegal, with a minimal counterexample', () => {
  const h = new History();
  const w1 = h.invokePut(1, 'k', 'a', 0);
  h.complete(w1, null, 10);
  const w2 = h.invokePut(1, 'k', 'b', 20);
  h.complete(w2, null, 30);
  const r = h.invokeGet(2, 'k', 40);
  h.complete(r, 'a', 50);
  const res = checkLinearizable(h.operations());
  assert.equal(res.outcome, 'illegal');
  assert.ok(res.counterexample !== undefined);
  assert.equal(res.counterexample.minimal, true);
  assert.equal(res.counterexample.operations.length, 3, 'put(a), put(b), then get -> a');
});
