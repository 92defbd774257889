// confchange restore (etcd-io/raft confchange/restore_test.go), the raftpb conf change helpers and
// the entry encoding of conf changes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  asV2,
  Changer,
  confChangesFromString,
  confChangesToString,
  confChangeV2EnterJoint,
  confChangeV2LeaveJoint,
  confStateEquivalent,
  decodeConfChange,
  decodeConfChangeV2,
  describeConfChanges,
  encodeConfChange,
  encodeConfChangeV2,
  formatConfChangeProto,
  marshalConfChange,
  restore,
} from '../../src/core/confchange.js';
import { ProgressTracker } from '../../src/core/tracker.js';
import {
  type ConfChange,
  ConfChangeTransition,
  ConfChangeType,
  type ConfChangeV2,
  type ConfState,
  EntryType,
} from '../../src/core/types.js';

function cs(p: Partial<ConfState>): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false, ...p };
}

function restoreAndCheck(want: ConfState): void {
  const tracker = new ProgressTracker(20, 0);
  const chg = new Changer(tracker, 10);
  const [config, progress] = restore(chg, want);
  // restore leaves the changer's tracker alone.
  assert.equal(tracker.progress.size, 0);
  tracker.config = config;
  tracker.progress = progress;
  assert.equal(confStateEquivalent(want, tracker.confState()), null);
}

test('restore: fixed cases', () => {
  for (const c of [
    cs({}),
    cs({ voters: [1, 2, 3] }),
    cs({ voters: [1, 2, 3], learners: [4, 5, 6] }),
    cs({ voters: [1, 2, 3], learners: [5], votersOutgoing: [1, 2, 4, 6], learnersNext: [4] }),
  ]) restoreAndCheck(c);
});

// Random valid ConfStates as restore_test.go generates them: disjoint voters, learners and
// "removed voters" (outgoing only), some incoming voters retained in the outgoing half, and a
// subset of the removed voters demoted to learnersNext.
const confStateArb = fc.record({
  nVoters: fc.integer({ min: 1, max: 5 }),
  nLearners: fc.integer({ min: 0, max: 4 }),
  nRemoved: fc.integer({ min: 0, max: 2 }),
  retainedFrac: fc.double({ min: 0, max: 1, noNaN: true }),
  nextFrac: fc.double({ min: 0, max: 1, noNaN: true }),
  autoLeave: fc.boolean(),
  seed: fc.integer(),
}).chain((p) => {
  const total = 2 * (p.nVoters + p.nLearners + p.nRemoved);
  return fc.shuffledSubarray(Array.from({ length: total }, (_, i) => i + 1), { minLength: total, maxLength: total })
    .map((ids) => {
      const voters = ids.slice(0, p.nVoters);
      let rest = ids.slice(p.nVoters);
      const learners = rest.slice(0, p.nLearners);
      rest = rest.slice(p.nLearners);
      const nRetained = Math.floor(p.retainedFrac * (p.nVoters + 1)) % (p.nVoters + 1);
      const votersOutgoing = nRetained > 0 || p.nRemoved > 0
        ? [...voters.slice(0, nRetained), ...rest.slice(0, p.nRemoved)] : [];
      const nNext = p.nRemoved > 0 ? Math.floor(p.nextFrac * (p.nRemoved + 1)) % (p.nRemoved + 1) : 0;
      const learnersNext = rest.slice(0, nNext);
      return cs({ voters, learners, votersOutgoing, learnersNext, autoLeave: votersOutgoing.length > 0 && p.autoLeave });
    });
});

test('restore: random ConfStates round-trip', () => {
  fc.assert(fc.property(confStateArb, (c) => restoreAndCheck(c)), { numRuns: 1000 });
});

test('confStateEquivalent ignores order only', () => {
  assert.equal(confStateEquivalent(cs({ voters: [3, 1, 2] }), cs({ voters: [1, 2, 3] })), null);
  assert.match(confStateEquivalent(cs({ voters: [1] }), cs({ voters: [1], autoLeave: true })) ?? '',
    /^ConfStates not equivalent after sorting:/);
  assert.notEqual(confStateEquivalent(cs({ voters: [1], learners: [2] }), cs({ voters: [1], learnersNext: [2] })), null);
});

test('confChangesFromString / ToString', () => {
  const ccs = confChangesFromString(' v1 l2 r3 u4 ');
  assert.deepEqual(ccs, [
    { type: ConfChangeType.ConfChangeAddNode, nodeId: 1 },
    { type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 2 },
    { type: ConfChangeType.ConfChangeRemoveNode, nodeId: 3 },
    { type: ConfChangeType.ConfChangeUpdateNode, nodeId: 4 },
  ]);
  assert.equal(confChangesToString(ccs), 'v1 l2 r3 u4');
  assert.deepEqual(confChangesFromString(''), []);
  assert.throws(() => confChangesFromString('v'), /^Error: unknown token v$/);
  assert.throws(() => confChangesFromString('x1'), /^Error: unknown input: x1$/);
  assert.throws(() => confChangesFromString('vx'), /strconv.ParseUint: parsing "x": invalid syntax/);
  assert.equal(describeConfChanges(ccs.slice(0, 2)), 'ConfChangeAddNode(1) ConfChangeAddLearnerNode(2)');
});

test('asV2, enterJoint, leaveJoint', () => {
  const v1: ConfChange = { id: 7, type: ConfChangeType.ConfChangeRemoveNode, nodeId: 3, context: new Uint8Array([1]) };
  assert.deepEqual(asV2(v1), {
    transition: ConfChangeTransition.Auto,
    changes: [{ type: ConfChangeType.ConfChangeRemoveNode, nodeId: 3 }],
    context: new Uint8Array([1]),
  });
  const mk = (transition: ConfChangeTransition, s: string): ConfChangeV2 =>
    ({ transition, changes: confChangesFromString(s), context: new Uint8Array(0) });
  assert.deepEqual(confChangeV2EnterJoint(mk(ConfChangeTransition.Auto, 'v1')), { autoLeave: false, ok: false });
  assert.deepEqual(confChangeV2EnterJoint(mk(ConfChangeTransition.Auto, 'v1 v2')), { autoLeave: true, ok: true });
  assert.deepEqual(confChangeV2EnterJoint(mk(ConfChangeTransition.JointImplicit, 'v1')), { autoLeave: true, ok: true });
  assert.deepEqual(confChangeV2EnterJoint(mk(ConfChangeTransition.JointExplicit, 'v1')), { autoLeave: false, ok: true });
  assert.equal(confChangeV2LeaveJoint(mk(ConfChangeTransition.Auto, '')), true);
  assert.equal(confChangeV2LeaveJoint(mk(ConfChangeTransition.JointExplicit, '')), false);
  assert.equal(confChangeV2LeaveJoint(mk(ConfChangeTransition.Auto, 'v1')), false);
});

const u53 = fc.maxSafeNat();
const ccTypeArb = fc.constantFrom(
  ConfChangeType.ConfChangeAddNode, ConfChangeType.ConfChangeRemoveNode,
  ConfChangeType.ConfChangeUpdateNode, ConfChangeType.ConfChangeAddLearnerNode);
const bytesArb = fc.uint8Array({ maxLength: 40 });

test('conf change encoding round-trips', () => {
  fc.assert(fc.property(u53, ccTypeArb, u53, bytesArb, (id, type, nodeId, context) => {
    const cc: ConfChange = { id, type, nodeId, context };
    assert.deepEqual(decodeConfChange(encodeConfChange(cc)), cc);
  }), { numRuns: 500 });
  const v2Arb = fc.record({
    transition: fc.constantFrom(ConfChangeTransition.Auto, ConfChangeTransition.JointImplicit, ConfChangeTransition.JointExplicit),
    // Plain objects: fc.record builds null-prototype ones, which strict deepEqual tells apart.
    changes: fc.array(fc.tuple(ccTypeArb, u53).map(([type, nodeId]) => ({ type, nodeId })), { maxLength: 10 }),
    context: bytesArb,
  });
  fc.assert(fc.property(v2Arb, (cc) => {
    assert.deepEqual(decodeConfChangeV2(encodeConfChangeV2(cc)), { ...cc });
  }), { numRuns: 500 });
});

test('zero conf changes encode to no bytes', () => {
  const zero2: ConfChangeV2 = { transition: ConfChangeTransition.Auto, changes: [], context: new Uint8Array(0) };
  assert.equal(encodeConfChangeV2(zero2).length, 0);
  assert.deepEqual(decodeConfChangeV2(new Uint8Array(0)), zero2);
  assert.deepEqual(marshalConfChange(null), { type: EntryType.EntryConfChangeV2, data: new Uint8Array(0) });
  const zero1: ConfChange = { id: 0, type: ConfChangeType.ConfChangeAddNode, nodeId: 0, context: new Uint8Array(0) };
  assert.equal(encodeConfChange(zero1).length, 0);
  assert.deepEqual(decodeConfChange(new Uint8Array(0)), zero1);
  assert.equal(marshalConfChange({ ...zero1, nodeId: 2 }).type, EntryType.EntryConfChange);
});

test('decoding bad bytes throws a clear error', () => {
  const good = encodeConfChangeV2({ transition: ConfChangeTransition.JointExplicit, changes: confChangesFromString('v1 l300'), context: new Uint8Array([9, 9]) });
  assert.throws(() => decodeConfChange(good), /decodeConfChange: bad tag 0xc2 .*ConfChangeV2/);
  assert.throws(() => decodeConfChangeV2(encodeConfChange({ id: 1, type: 0, nodeId: 1, context: new Uint8Array(0) })), /bad tag 0xc1/);
  for (let n = 1; n < good.length; n++) {
    assert.throws(() => decodeConfChangeV2(good.subarray(0, n)), /^Error: decodeConfChangeV2: /, `truncated at ${n}`);
  }
  assert.throws(() => decodeConfChangeV2(new Uint8Array([...good, 0])), /trailing bytes/);
  assert.throws(() => decodeConfChangeV2(new Uint8Array([0xc2, 7, 0, 0])), /unknown transition 7/);
  assert.throws(() => decodeConfChangeV2(new Uint8Array([0xc2, 0, 1, 9, 1, 0])), /unknown conf change type 9/);
  assert.throws(() => decodeConfChangeV2(new Uint8Array([0xc2, 0, 0xff, 0xff, 0xff, 0x7f, 0])), /change count .* exceeds the data/);
  assert.throws(() => decodeConfChange(new Uint8Array([0xc1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])), /varint too long/);
  assert.throws(() => encodeConfChange({ id: -1, type: 0, nodeId: 1, context: new Uint8Array(0) }), /not a safe unsigned integer/);
});

test('formatConfChangeProto prints etcd log text', () => {
  const v2 = (s: string): ConfChangeV2 =>
    ({ transition: ConfChangeTransition.Auto, changes: confChangesFromString(s), context: new Uint8Array(0) });
  assert.equal(formatConfChangeProto(v2('v3 v4 v5')),
    'transition:ConfChangeTransitionAuto changes:{type:ConfChangeAddNode node_id:3} ' +
    'changes:{type:ConfChangeAddNode node_id:4} changes:{type:ConfChangeAddNode node_id:5}');
  assert.equal(formatConfChangeProto(v2('')), 'transition:ConfChangeTransitionAuto');
  assert.equal(formatConfChangeProto({ id: 0, type: ConfChangeType.ConfChangeRemoveNode, nodeId: 2, context: new Uint8Array([0x61, 0x22, 0]) }),
    'type:ConfChangeRemoveNode node_id:2 context:"a\\"\\000"');
});
