// etcd-io/raft tracker/inflights_test.go: the ring window of in-flight MsgApps, by count and bytes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Inflights } from '../../src/core/inflights.js';

// The live messages in window order, as [index, bytes].
function live(ins: Inflights): Array<[number, number]> {
  const s = ins.debugState();
  const out: Array<[number, number]> = [];
  for (let i = 0, at = s.start; i < s.count; i++) {
    out.push(s.buffer[at]!);
    if (++at >= ins.sizeMax) at -= ins.sizeMax;
  }
  return out;
}

function range(from: number, to: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = from; i < to; i++) out.push([i, 100 + i]);
  return out;
}

test('inflights add', () => {
  const ins = new Inflights(10, 0);
  for (let i = 0; i < 5; i++) ins.add(i, 100 + i);
  assert.deepEqual(live(ins), range(0, 5));
  assert.equal(ins.debugState().start, 0);
  assert.equal(ins.bytes(), 510);
  assert.equal(ins.full(), false);

  for (let i = 5; i < 10; i++) ins.add(i, 100 + i);
  assert.deepEqual(live(ins), range(0, 10));
  assert.equal(ins.bytes(), 1045);
  assert.equal(ins.full(), true);
  // The buffer grew by doubling, but never past the window size.
  assert.equal(ins.debugState().buffer.length, 10);
});

test('inflights add wraps around the ring', () => {
  const ins = new Inflights(10, 0);
  for (let i = 0; i < 10; i++) ins.add(i, 100 + i);
  ins.freeLE(4);
  for (let i = 10; i < 15; i++) ins.add(i, 100 + i);
  const s = ins.debugState();
  assert.equal(s.start, 5);
  assert.equal(s.count, 10);
  assert.deepEqual(s.buffer.map(([i]) => i), [10, 11, 12, 13, 14, 5, 6, 7, 8, 9]);
  assert.deepEqual(live(ins), range(5, 15));
});

test('inflights freeLE', () => {
  const ins = new Inflights(10, 0);
  for (let i = 0; i < 10; i++) ins.add(i, 100 + i);

  ins.freeLE(0);
  assert.deepEqual([ins.debugState().start, ins.count(), ins.bytes()], [1, 9, 945]);

  ins.freeLE(4);
  assert.deepEqual([ins.debugState().start, ins.count(), ins.bytes()], [5, 5, 535]);

  ins.freeLE(8);
  assert.deepEqual([ins.debugState().start, ins.count(), ins.bytes()], [9, 1, 109]);

  // rotating case
  for (let i = 10; i < 15; i++) ins.add(i, 100 + i);
  ins.freeLE(12);
  const s = ins.debugState();
  assert.deepEqual([s.start, s.count, s.bytes], [3, 2, 227]);
  assert.deepEqual(s.buffer.map(([i]) => i), [10, 11, 12, 13, 14, 5, 6, 7, 8, 9]);
  assert.deepEqual(live(ins), range(13, 15));

  // Emptying the window restarts it at slot 0.
  ins.freeLE(14);
  assert.deepEqual([ins.debugState().start, ins.count(), ins.bytes()], [0, 0, 0]);
});

test('inflights freeLE ignores stale acks', () => {
  const ins = new Inflights(10, 0);
  for (let i = 5; i < 8; i++) ins.add(i, 1);
  ins.freeLE(4);
  assert.equal(ins.count(), 3);
  ins.freeLE(100);
  assert.equal(ins.count(), 0);
  ins.freeLE(3); // on an empty window
  assert.equal(ins.count(), 0);
});

const fullCases = [
  { name: 'always-full', size: 0, maxBytes: 0, fullAt: 0, freeLE: 0, againAt: 0 },
  { name: 'single-entry', size: 1, maxBytes: 0, fullAt: 1, freeLE: 1, againAt: 2 },
  { name: 'single-entry-overflow', size: 1, maxBytes: 10, fullAt: 1, freeLE: 1, againAt: 2 },
  { name: 'multi-entry', size: 15, maxBytes: 0, fullAt: 15, freeLE: 6, againAt: 22 },
  { name: 'slight-overflow', size: 8, maxBytes: 400, fullAt: 4, freeLE: 2, againAt: 7 },
  { name: 'exact-max-bytes', size: 8, maxBytes: 406, fullAt: 4, freeLE: 3, againAt: 8 },
  { name: 'larger-overflow', size: 15, maxBytes: 408, fullAt: 5, freeLE: 1, againAt: 6 },
];

for (const tc of fullCases) {
  test(`inflights full: ${tc.name}`, () => {
    const ins = new Inflights(tc.size, tc.maxBytes);
    const addUntilFull = (begin: number, end: number): void => {
      for (let i = begin; i < end; i++) {
        assert.equal(ins.full(), false, `full at ${i}, want ${end}`);
        ins.add(i, 100 + i);
      }
      assert.equal(ins.full(), true, `not full at ${end}`);
    };
    addUntilFull(0, tc.fullAt);
    ins.freeLE(tc.freeLE);
    addUntilFull(tc.fullAt, tc.againAt);
    assert.throws(() => ins.add(100, 1024), /cannot add into a Full inflights/);
  });
}

test('inflights reset and clone', () => {
  const ins = new Inflights(4, 0);
  ins.add(1, 10);
  ins.add(2, 20);
  const c = ins.clone();
  ins.reset();
  assert.deepEqual([ins.count(), ins.bytes(), ins.full()], [0, 0, false]);
  assert.deepEqual(live(c), [[1, 10], [2, 20]]);
  c.add(3, 30);
  assert.equal(ins.count(), 0);
});
