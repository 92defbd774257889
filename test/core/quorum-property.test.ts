// Properties of the quorum math against naive definitions (etcd-io/raft quorum/quick_test.go and
// more), over random configurations and acks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  JointConfig,
  MajorityConfig,
  MapAckIndexer,
  VoteResult,
} from '../../src/core/quorum.js';

// Naive definition: the largest index that a majority of the config has acked (at or above);
// unknown voters have acked nothing. 0 when no index reaches a majority.
function naiveCommitted(ids: readonly number[], acks: ReadonlyMap<number, number>): number {
  if (ids.length === 0) return Infinity;
  const q = Math.floor(ids.length / 2) + 1;
  let best = 0;
  for (const cand of new Set(ids.map((id) => acks.get(id) ?? 0))) {
    const n = ids.filter((id) => (acks.get(id) ?? -1) >= cand).length;
    if (n >= q && cand > best) best = cand;
  }
  return best;
}

function naiveVote(ids: readonly number[], votes: ReadonlyMap<number, boolean>): VoteResult {
  if (ids.length === 0) return VoteResult.VoteWon;
  const q = Math.floor(ids.length / 2) + 1;
  const yes = ids.filter((id) => votes.get(id) === true).length;
  const missing = ids.filter((id) => !votes.has(id)).length;
  if (yes >= q) return VoteResult.VoteWon;
  // Lost as soon as a majority of yes is out of reach, even if every missing voter says yes.
  if (yes + missing < q) return VoteResult.VoteLost;
  return VoteResult.VotePending;
}

const idsArb = fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { maxLength: 20 });
const acksArb = fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 30 })), { maxLength: 40 })
  .map((pairs) => new Map(pairs));
const votesArb = fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.boolean()), { maxLength: 40 })
  .map((pairs) => new Map(pairs));

test('majority committedIndex equals the naive definition', () => {
  fc.assert(fc.property(idsArb, acksArb, (ids, acks) => {
    const c = new MajorityConfig(ids);
    assert.equal(c.committedIndex(new MapAckIndexer(acks)), naiveCommitted(ids, acks));
  }), { numRuns: 2000 });
});

test('joint committedIndex is the min of its halves and symmetric', () => {
  fc.assert(fc.property(idsArb, idsArb, acksArb, (a, b, acks) => {
    const l = new MapAckIndexer(acks);
    const j = new JointConfig(new MajorityConfig(a), new MajorityConfig(b));
    const want = Math.min(naiveCommitted(a, acks), naiveCommitted(b, acks));
    assert.equal(j.committedIndex(l), want);
    assert.equal(new JointConfig(new MajorityConfig(b), new MajorityConfig(a)).committedIndex(l), want);
  }), { numRuns: 1000 });
});

test('joining a majority config with itself or the empty config changes nothing', () => {
  fc.assert(fc.property(idsArb, acksArb, votesArb, (ids, acks, votes) => {
    const c = new MajorityConfig(ids);
    const l = new MapAckIndexer(acks);
    const idx = c.committedIndex(l);
    assert.equal(new JointConfig(c, c).committedIndex(l), idx);
    assert.equal(new JointConfig(c, new MajorityConfig()).committedIndex(l), idx);
    const r = c.voteResult(votes);
    assert.equal(new JointConfig(c, c).voteResult(votes), r);
    assert.equal(new JointConfig(c, new MajorityConfig()).voteResult(votes), r);
  }), { numRuns: 1000 });
});

test('majority voteResult equals naive counting', () => {
  fc.assert(fc.property(idsArb, votesArb, (ids, votes) => {
    assert.equal(new MajorityConfig(ids).voteResult(votes), naiveVote(ids, votes));
  }), { numRuns: 2000 });
});

test('joint voteResult: won needs both halves, lost needs one', () => {
  fc.assert(fc.property(idsArb, idsArb, votesArb, (a, b, votes) => {
    const ra = naiveVote(a, votes);
    const rb = naiveVote(b, votes);
    let want: VoteResult;
    if (ra === VoteResult.VoteWon && rb === VoteResult.VoteWon) want = VoteResult.VoteWon;
    else if (ra === VoteResult.VoteLost || rb === VoteResult.VoteLost) want = VoteResult.VoteLost;
    else want = VoteResult.VotePending;
    assert.equal(new JointConfig(new MajorityConfig(a), new MajorityConfig(b)).voteResult(votes), want);
    assert.equal(new JointConfig(new MajorityConfig(b), new MajorityConfig(a)).voteResult(votes), want);
  }), { numRuns: 1000 });
});

test('committedIndex is monotone in the acks', () => {
  fc.assert(fc.property(idsArb, acksArb, fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 10 }),
    (ids, acks, id, bump) => {
      const c = new MajorityConfig(ids);
      const before = c.committedIndex(new MapAckIndexer(acks));
      const more = new Map(acks);
      more.set(id, (acks.get(id) ?? 0) + bump);
      assert.ok(c.committedIndex(new MapAckIndexer(more)) >= before);
    }), { numRuns: 1000 });
});

test('config strings', () => {
  assert.equal(new MajorityConfig([3, 1, 2]).toString(), '(1 2 3)');
  assert.equal(new MajorityConfig().toString(), '()');
  assert.equal(new JointConfig(new MajorityConfig([2, 1]), new MajorityConfig([3])).toString(), '(1 2)&&(3)');
  assert.equal(new JointConfig(new MajorityConfig([1])).toString(), '(1)');
  const c = new MajorityConfig([1, 2]);
  assert.equal(c.toString(), '(1 2)');
  c.add(10);
  c.delete(1);
  assert.equal(c.toString(), '(2 10)');
  assert.deepEqual(c.slice(), [2, 10]);
});
