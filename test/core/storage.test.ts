// Port of etcd-io/raft storage_test.go.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Entry, Snapshot } from '../../src/core/types.js';
import { entrySizeBytes } from '../../src/core/types.js';
import { ErrCompacted, ErrSnapOutOfDate, ErrUnavailable } from '../../src/core/errors.js';
import { MemoryStorage } from '../../src/core/storage.js';
import { snap, terms } from './helpers.js';

// withEnts is etcd's &MemoryStorage{ents: ents}: a storage whose log (dummy entry first) is ents.
function withEnts(ents: Entry[]): MemoryStorage {
  const s = new MemoryStorage();
  s.ents = ents.slice();
  return s;
}

// caught runs f and returns what it threw, or null.
function caught(f: () => unknown): unknown {
  try {
    f();
    return null;
  } catch (e) {
    return e;
  }
}

test('StorageTerm', () => {
  const ents = terms(3, 3, 4, 5);
  const tests: [number, Error | null, number][] = [
    [2, ErrCompacted, 0],
    [3, null, 3],
    [4, null, 4],
    [5, null, 5],
    [6, ErrUnavailable, 0],
  ];
  for (const [i, werr, wterm] of tests) {
    const s = withEnts(ents);
    let term = 0;
    const err = caught(() => (term = s.term(i)));
    assert.equal(err, werr, `term(${i})`);
    assert.equal(term, wterm, `term(${i})`);
  }
});

test('StorageEntries', () => {
  const ents = terms(3, 3, 4, 5, 6);
  const size = (k: number) => entrySizeBytes(ents[k]!);
  const tests: [number, number, number, Error | null, Entry[]][] = [
    [2, 6, Infinity, ErrCompacted, []],
    [3, 4, Infinity, ErrCompacted, []],
    [4, 5, Infinity, null, terms(4, 4)],
    [4, 6, Infinity, null, terms(4, 4, 5)],
    [4, 7, Infinity, null, terms(4, 4, 5, 6)],
    // even if maxsize is zero, the first entry should be returned
    [4, 7, 0, null, terms(4, 4)],
    // limit to 2
    [4, 7, size(1) + size(2), null, terms(4, 4, 5)],
    // limit to 2
    [4, 7, size(1) + size(2) + Math.floor(size(3) / 2), null, terms(4, 4, 5)],
    [4, 7, size(1) + size(2) + size(3) - 1, null, terms(4, 4, 5)],
    // all
    [4, 7, size(1) + size(2) + size(3), null, terms(4, 4, 5, 6)],
  ];
  tests.forEach(([lo, hi, maxsize, werr, wentries], i) => {
    const s = withEnts(ents);
    let got: Entry[] = [];
    const err = caught(() => (got = s.entries(lo, hi, maxsize)));
    assert.equal(err, werr, `#${i}`);
    assert.deepEqual(got, wentries, `#${i}`);
  });
});

test('StorageEntries returns an array the caller owns', () => {
  const s = withEnts(terms(3, 3, 4, 5, 6));
  const got = s.entries(4, 6, Infinity);
  got.push(...terms(9, 9));
  assert.deepEqual(s.entries(4, 7, Infinity), terms(4, 4, 5, 6));
});

test('StorageEntries panics past the last index', () => {
  const s = withEnts(terms(3, 3, 4, 5));
  assert.throws(() => s.entries(4, 7, Infinity), /entries' hi\(7\) is out of bound lastindex\(5\)/);
});

test('StorageLastIndex', () => {
  const s = withEnts(terms(3, 3, 4, 5));
  assert.equal(s.lastIndex(), 5);
  s.append(terms(6, 5));
  assert.equal(s.lastIndex(), 6);
});

test('StorageFirstIndex', () => {
  const s = withEnts(terms(3, 3, 4, 5));
  assert.equal(s.firstIndex(), 4);
  s.compact(4);
  assert.equal(s.firstIndex(), 5);
});

test('StorageCompact', () => {
  const ents = terms(3, 3, 4, 5);
  const tests: [number, Error | null, number, number, number][] = [
    [2, ErrCompacted, 3, 3, 3],
    [3, ErrCompacted, 3, 3, 3],
    [4, null, 4, 4, 2],
    [5, null, 5, 5, 1],
  ];
  for (const [i, werr, windex, wterm, wlen] of tests) {
    const s = withEnts(ents);
    assert.equal(caught(() => s.compact(i)), werr, `compact(${i})`);
    assert.equal(s.ents[0]!.index, windex, `compact(${i})`);
    assert.equal(s.ents[0]!.term, wterm, `compact(${i})`);
    assert.equal(s.ents.length, wlen, `compact(${i})`);
  }
});

test('StorageCompact panics past the last index', () => {
  const s = withEnts(terms(3, 3, 4, 5));
  assert.throws(() => s.compact(6), /compact 6 is out of bound lastindex\(5\)/);
});

test('StorageCreateSnapshot', () => {
  const ents = terms(3, 3, 4, 5);
  const data = new TextEncoder().encode('data');
  const cs = snap(0, 0, [1, 2, 3]).metadata.confState;
  const tests: [number, Error | null, Snapshot | null][] = [
    [4, null, snap(4, 4, [1, 2, 3], data)],
    [5, null, snap(5, 5, [1, 2, 3], data)],
  ];
  for (const [i, werr, wsnap] of tests) {
    const s = withEnts(ents);
    let got: Snapshot | null = null;
    assert.equal(caught(() => (got = s.createSnapshot(i, cs, data))), werr);
    assert.deepEqual(got, wsnap);
    assert.deepEqual(s.snapshot(), wsnap);
  }
  // Not newer than the current snapshot.
  const s = withEnts(ents);
  s.createSnapshot(4, cs, data);
  assert.equal(caught(() => s.createSnapshot(4, cs, data)), ErrSnapOutOfDate);
  assert.throws(() => s.createSnapshot(6, cs, data), /snapshot 6 is out of bound lastindex\(5\)/);
});

test('StorageAppend', () => {
  const ents = terms(3, 3, 4, 5);
  const tests: [Entry[], Error | null, Entry[]][] = [
    [terms(1, 1, 2), null, terms(3, 3, 4, 5)],
    [terms(3, 3, 4, 5), null, terms(3, 3, 4, 5)],
    [terms(3, 3, 6, 6), null, terms(3, 3, 6, 6)],
    [terms(3, 3, 4, 5, 5), null, terms(3, 3, 4, 5, 5)],
    // Truncate incoming entries, truncate the existing entries and append.
    [terms(2, 3, 3, 5), null, terms(3, 3, 5)],
    // Truncate the existing entries and append.
    [terms(4, 5), null, terms(3, 3, 5)],
    // Direct append.
    [terms(6, 5), null, terms(3, 3, 4, 5, 5)],
  ];
  tests.forEach(([entries, werr, wentries], i) => {
    const s = withEnts(ents);
    assert.equal(caught(() => s.append(entries)), werr, `#${i}`);
    assert.deepEqual(s.ents, wentries, `#${i}`);
  });
});

test('StorageAppend panics on a gap', () => {
  const s = withEnts(terms(3, 3, 4, 5));
  assert.throws(() => s.append(terms(7, 5)), /missing log entry \[last: 5, append at: 7\]/);
});

test('StorageApplySnapshot', () => {
  const data = new TextEncoder().encode('data');
  const tests: [string, Snapshot[], Error | null][] = [
    ['normal case', [snap(4, 4, [1, 2, 3], data)], null],
    ['snapshot out of date', [snap(4, 4, [1, 2, 3], data), snap(3, 3, [1, 2, 3], data)], ErrSnapOutOfDate],
  ];
  for (const [name, snapshots, werr] of tests) {
    const s = new MemoryStorage();
    let err: unknown = null;
    for (const sn of snapshots) err = caught(() => s.applySnapshot(sn));
    assert.equal(err, werr, name);
  }
  const s = new MemoryStorage();
  const sn = snap(4, 4, [1, 2, 3], data);
  s.applySnapshot(sn);
  assert.deepEqual(s.ents, terms(4, 4));
  assert.equal(s.firstIndex(), 5);
  assert.equal(s.lastIndex(), 4);
  assert.equal(s.term(4), 4);
  assert.deepEqual(s.initialState().confState.voters, [1, 2, 3]);
});
