// Port of etcd-io/raft log_unstable_test.go.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Entry, Snapshot } from '../../src/core/types.js';
import { LevelLogger, LogLevel, silentLogger } from '../../src/core/logger.js';
import { Unstable } from '../../src/core/log-unstable.js';
import { snap, terms } from './helpers.js';

interface UnstableInit {
  entries?: Entry[];
  offset?: number;
  offsetInProgress?: number;
  snapshot?: Snapshot | null;
  snapshotInProgress?: boolean;
}

function mk(init: UnstableInit): Unstable {
  const u = new Unstable(silentLogger);
  u.entries = init.entries ?? [];
  u.offset = init.offset ?? 0;
  u.offsetInProgress = init.offsetInProgress ?? 0;
  u.snapshot = init.snapshot ?? null;
  u.snapshotInProgress = init.snapshotInProgress ?? false;
  return u;
}

// Go's (value, ok) from the -1 sentinel.
function ok(v: number): [boolean, number] {
  return v >= 0 ? [true, v] : [false, 0];
}

test('UnstableMaybeFirstIndex', () => {
  const tests: [Entry[], number, Snapshot | null, boolean, number][] = [
    // no snapshot
    [terms(5, 1), 5, null, false, 0],
    [[], 0, null, false, 0],
    // has snapshot
    [terms(5, 1), 5, snap(4, 1), true, 5],
    [[], 5, snap(4, 1), true, 5],
  ];
  tests.forEach(([entries, offset, snapshot, wok, windex], i) => {
    const u = mk({ entries, offset, snapshot });
    assert.deepEqual(ok(u.maybeFirstIndex()), [wok, windex], `#${i}`);
  });
});

test('MaybeLastIndex', () => {
  const tests: [Entry[], number, Snapshot | null, boolean, number][] = [
    // last in entries
    [terms(5, 1), 5, null, true, 5],
    [terms(5, 1), 5, snap(4, 1), true, 5],
    // last in snapshot
    [[], 5, snap(4, 1), true, 4],
    // empty unstable
    [[], 0, null, false, 0],
  ];
  tests.forEach(([entries, offset, snapshot, wok, windex], i) => {
    const u = mk({ entries, offset, snapshot });
    assert.deepEqual(ok(u.maybeLastIndex()), [wok, windex], `#${i}`);
  });
});

test('UnstableMaybeTerm', () => {
  const tests: [Entry[], number, Snapshot | null, number, boolean, number][] = [
    // term from entries
    [terms(5, 1), 5, null, 5, true, 1],
    [terms(5, 1), 5, null, 6, false, 0],
    [terms(5, 1), 5, null, 4, false, 0],
    [terms(5, 1), 5, snap(4, 1), 5, true, 1],
    [terms(5, 1), 5, snap(4, 1), 6, false, 0],
    // term from snapshot
    [terms(5, 1), 5, snap(4, 1), 4, true, 1],
    [terms(5, 1), 5, snap(4, 1), 3, false, 0],
    [[], 5, snap(4, 1), 5, false, 0],
    [[], 5, snap(4, 1), 4, true, 1],
    [[], 0, null, 5, false, 0],
  ];
  tests.forEach(([entries, offset, snapshot, index, wok, wterm], i) => {
    const u = mk({ entries, offset, snapshot });
    assert.deepEqual(ok(u.maybeTerm(index)), [wok, wterm], `#${i}`);
  });
});

test('UnstableRestore', () => {
  const u = mk({ entries: terms(5, 1), offset: 5, offsetInProgress: 6, snapshot: snap(4, 1), snapshotInProgress: true });
  const s = snap(6, 2);
  u.restore(s);
  assert.equal(u.offset, s.metadata.index + 1);
  assert.equal(u.offsetInProgress, s.metadata.index + 1);
  assert.equal(u.entries.length, 0);
  assert.deepEqual(u.snapshot, s);
  assert.equal(u.snapshotInProgress, false);
});

test('UnstableNextEntries', () => {
  const tests: [Entry[], number, number, Entry[]][] = [
    // nothing in progress
    [terms(5, 1, 1), 5, 5, terms(5, 1, 1)],
    // partially in progress
    [terms(5, 1, 1), 5, 6, terms(6, 1)],
    // everything in progress
    [terms(5, 1, 1), 5, 7, []],
  ];
  tests.forEach(([entries, offset, offsetInProgress, wentries], i) => {
    const u = mk({ entries, offset, offsetInProgress });
    assert.deepEqual(u.nextEntries(), wentries, `#${i}`);
    assert.equal(u.hasNextEntries(), wentries.length > 0, `#${i}`);
  });
});

test('UnstableNextEntries returns a copy that later appends do not change', () => {
  const u = mk({ entries: terms(5, 1), offset: 5, offsetInProgress: 5 });
  const got = u.nextEntries();
  u.truncateAndAppend(terms(6, 1, 1));
  u.truncateAndAppend(terms(6, 2));
  assert.deepEqual(got, terms(5, 1));
});

test('UnstableNextSnapshot', () => {
  const s = snap(4, 1);
  const tests: [Snapshot | null, boolean, Snapshot | null][] = [
    // snapshot not unstable
    [null, false, null],
    // snapshot not in progress
    [s, false, s],
    // snapshot in progress
    [s, true, null],
  ];
  tests.forEach(([snapshot, snapshotInProgress, wsnapshot], i) => {
    const u = mk({ snapshot, snapshotInProgress });
    assert.deepEqual(u.nextSnapshot(), wsnapshot, `#${i}`);
  });
});

test('UnstableAcceptInProgress', () => {
  const s = snap(4, 1);
  const tests: [Entry[], Snapshot | null, number, boolean, number, boolean][] = [
    [[], null, 5, false, 5, false], // no entries
    [terms(5, 1), null, 5, false, 6, false], // entries not in progress
    [terms(5, 1, 1), null, 5, false, 7, false], // entries not in progress
    [terms(5, 1, 1), null, 6, false, 7, false], // in-progress to the first entry
    [terms(5, 1, 1), null, 7, false, 7, false], // in-progress to the second entry
    // with snapshot
    [[], s, 5, false, 5, true], // no entries
    [terms(5, 1), s, 5, false, 6, true], // entries not in progress
    [terms(5, 1, 1), s, 5, false, 7, true], // entries not in progress
    [terms(5, 1, 1), s, 6, false, 7, true], // in-progress to the first entry
    [terms(5, 1, 1), s, 7, false, 7, true], // in-progress to the second entry
    [[], s, 5, true, 5, true], // snapshot already in progress
    [terms(5, 1), s, 5, true, 6, true],
    [terms(5, 1, 1), s, 5, true, 7, true],
    [terms(5, 1, 1), s, 6, true, 7, true],
    [terms(5, 1, 1), s, 7, true, 7, true],
  ];
  tests.forEach(([entries, snapshot, offsetInProgress, snapshotInProgress, woip, wsip], i) => {
    const u = mk({ entries, snapshot, offsetInProgress, snapshotInProgress });
    u.acceptInProgress();
    assert.equal(u.offsetInProgress, woip, `#${i}`);
    assert.equal(u.snapshotInProgress, wsip, `#${i}`);
  });
});

test('UnstableStableTo', () => {
  const tests: [Entry[], number, number, Snapshot | null, number, number, number, number, number][] = [
    [[], 0, 0, null, 5, 1, 0, 0, 0],
    [terms(5, 1), 5, 6, null, 5, 1, 6, 6, 0], // stable to the first entry
    [terms(5, 1, 1), 5, 6, null, 5, 1, 6, 6, 1], // stable to the first entry
    [terms(5, 1, 1), 5, 7, null, 5, 1, 6, 7, 1], // stable to the first entry and in-progress ahead
    [terms(6, 2), 6, 7, null, 6, 1, 6, 7, 1], // stable to the first entry and term mismatch
    [terms(5, 1), 5, 6, null, 4, 1, 5, 6, 1], // stable to old entry
    [terms(5, 1), 5, 6, null, 4, 2, 5, 6, 1], // stable to old entry
    // with snapshot
    [terms(5, 1), 5, 6, snap(4, 1), 5, 1, 6, 6, 0], // stable to the first entry
    [terms(5, 1, 1), 5, 6, snap(4, 1), 5, 1, 6, 6, 1], // stable to the first entry
    [terms(5, 1, 1), 5, 7, snap(4, 1), 5, 1, 6, 7, 1], // stable to the first entry and in-progress ahead
    [terms(6, 2), 6, 7, snap(5, 1), 6, 1, 6, 7, 1], // stable to the first entry and term mismatch
    [terms(5, 1), 5, 6, snap(4, 1), 4, 1, 5, 6, 1], // stable to snapshot
    [terms(5, 2), 5, 6, snap(4, 2), 4, 1, 5, 6, 1], // stable to old entry
  ];
  tests.forEach(([entries, offset, offsetInProgress, snapshot, index, term, woffset, woip, wlen], i) => {
    const u = mk({ entries, offset, offsetInProgress, snapshot });
    u.stableTo({ term, index });
    assert.equal(u.offset, woffset, `#${i}`);
    assert.equal(u.offsetInProgress, woip, `#${i}`);
    assert.equal(u.entries.length, wlen, `#${i}`);
  });
});

test('UnstableStableTo logs what it ignores, with etcd text', () => {
  const lines: string[] = [];
  const u = mk({ entries: terms(6, 2), offset: 6, offsetInProgress: 7, snapshot: snap(5, 1) });
  u.logger = new LevelLogger(LogLevel.Debug, (_level, msg) => void lines.push(msg));
  u.stableTo({ term: 1, index: 6 });
  u.stableTo({ term: 1, index: 5 });
  u.stableTo({ term: 1, index: 9 });
  assert.deepEqual(lines, [
    'entry at (index,term)=(6,1) mismatched with entry at (6,2) in unstable log; ignoring',
    'entry at index 5 matched unstable snapshot; ignoring',
    'entry at index 9 missing from unstable log; ignoring',
  ]);
});

test('UnstableTruncateAndAppend', () => {
  const tests: [Entry[], number, number, Snapshot | null, Entry[], number, number, Entry[]][] = [
    // append to the end
    [terms(5, 1), 5, 5, null, terms(6, 1, 1), 5, 5, terms(5, 1, 1, 1)],
    [terms(5, 1), 5, 6, null, terms(6, 1, 1), 5, 6, terms(5, 1, 1, 1)],
    // replace the unstable entries
    [terms(5, 1), 5, 5, null, terms(5, 2, 2), 5, 5, terms(5, 2, 2)],
    [terms(5, 1), 5, 5, null, terms(4, 2, 2, 2), 4, 4, terms(4, 2, 2, 2)],
    [terms(5, 1), 5, 6, null, terms(5, 2, 2), 5, 5, terms(5, 2, 2)],
    // truncate the existing entries and append
    [terms(5, 1, 1, 1), 5, 5, null, terms(6, 2), 5, 5, terms(5, 1, 2)],
    [terms(5, 1, 1, 1), 5, 5, null, terms(7, 2, 2), 5, 5, terms(5, 1, 1, 2, 2)],
    [terms(5, 1, 1, 1), 5, 6, null, terms(6, 2), 5, 6, terms(5, 1, 2)],
    [terms(5, 1, 1, 1), 5, 7, null, terms(6, 2), 5, 6, terms(5, 1, 2)],
  ];
  tests.forEach(([entries, offset, offsetInProgress, snapshot, toappend, woffset, woip, wentries], i) => {
    const u = mk({ entries, offset, offsetInProgress, snapshot });
    const appended = toappend.slice();
    u.truncateAndAppend(toappend);
    assert.equal(u.offset, woffset, `#${i}`);
    assert.equal(u.offsetInProgress, woip, `#${i}`);
    assert.deepEqual(u.entries, wentries, `#${i}`);
    // The argument is never modified, whatever happens to the unstable log later.
    u.truncateAndAppend(terms(u.offset + u.entries.length, 9));
    assert.deepEqual(toappend, appended, `#${i}`);
  });
});

test('UnstableTruncateAndAppend panics on a gap', () => {
  const u = mk({ entries: terms(5, 1, 1), offset: 5, offsetInProgress: 5 });
  assert.throws(() => u.truncateAndAppend(terms(8, 2)), /unstable\.slice\[5,8\) out of bound \[5,7\]/);
});
