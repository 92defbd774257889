// Port of etcd-io/raft log_test.go.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Entry } from '../../src/core/types.js';
import { entriesSizeBytes, entrySizeBytes, newEntry } from '../../src/core/types.js';
import { LevelLogger, LogLevel, RaftInvariantError, silentLogger } from '../../src/core/logger.js';
import { ErrCompacted, ErrUnavailable } from '../../src/core/errors.js';
import type { EntryID } from '../../src/core/log-slice.js';
import { LogSlice, pbEntryID } from '../../src/core/log-slice.js';
import { newLog, newLogWithSize, noLimit } from '../../src/core/log.js';
import { MemoryStorage } from '../../src/core/storage.js';
import { snap, termRange, terms } from './helpers.js';

const logger = silentLogger;

function caught(f: () => unknown): unknown {
  try {
    f();
    return null;
  } catch (e) {
    return e;
  }
}

function storageWithSnap(index: number, term: number): MemoryStorage {
  const s = new MemoryStorage();
  s.applySnapshot(snap(index, term));
  return s;
}

test('FindConflict', () => {
  const previousEnts = terms(1, 1, 2, 3);
  const tests: [Entry[], number][] = [
    // no conflict, empty ent
    [[], 0],
    // no conflict
    [terms(1, 1, 2, 3), 0],
    [terms(2, 2, 3), 0],
    [terms(3, 3), 0],
    // no conflict, but has new entries
    [terms(1, 1, 2, 3, 4, 4), 4],
    [terms(2, 2, 3, 4, 5), 4],
    [terms(3, 3, 4, 4), 4],
    [terms(4, 4, 4), 4],
    // conflicts with existing entries
    [terms(1, 4, 4), 1],
    [terms(2, 1, 4, 4), 2],
    [terms(3, 1, 2, 4, 4), 3],
  ];
  tests.forEach(([ents, wconflict], i) => {
    const l = newLog(new MemoryStorage(), logger);
    l.append(previousEnts);
    assert.equal(l.findConflict(ents), wconflict, `#${i}`);
  });
});

test('FindConflict logs the conflict with etcd text', () => {
  const lines: string[] = [];
  const l = newLog(new MemoryStorage(), new LevelLogger(LogLevel.Debug, (_lv, m) => void lines.push(m)));
  l.append(terms(1, 1, 2, 3));
  assert.equal(l.findConflict(terms(2, 1, 4, 4)), 2);
  assert.deepEqual(lines, ['found conflict at index 2 [existing term: 2, conflicting term: 1]']);
});

test('FindConflictByTerm', () => {
  // ents[0] holds the (index, term) of the snapshot.
  const tests: [Entry[], number, number, number][] = [
    // Log starts from index 1.
    [terms(0, 0, 2, 2, 5, 5, 5), 100, 2, 100], // ErrUnavailable
    [terms(0, 0, 2, 2, 5, 5, 5), 5, 6, 5],
    [terms(0, 0, 2, 2, 5, 5, 5), 5, 5, 5],
    [terms(0, 0, 2, 2, 5, 5, 5), 5, 4, 2],
    [terms(0, 0, 2, 2, 5, 5, 5), 5, 2, 2],
    [terms(0, 0, 2, 2, 5, 5, 5), 5, 1, 0],
    [terms(0, 0, 2, 2, 5, 5, 5), 1, 2, 1],
    [terms(0, 0, 2, 2, 5, 5, 5), 1, 1, 0],
    [terms(0, 0, 2, 2, 5, 5, 5), 0, 0, 0],
    // Log with compacted entries.
    [terms(10, 3, 3, 3, 4, 4, 4), 30, 3, 30], // ErrUnavailable
    [terms(10, 3, 3, 3, 4, 4, 4), 14, 9, 14],
    [terms(10, 3, 3, 3, 4, 4, 4), 14, 4, 14],
    [terms(10, 3, 3, 3, 4, 4, 4), 14, 3, 12],
    [terms(10, 3, 3, 3, 4, 4, 4), 14, 2, 9],
    [terms(10, 3, 3, 3, 4, 4, 4), 11, 5, 11],
    [terms(10, 3, 3, 3, 4, 4, 4), 10, 5, 10],
    [terms(10, 3, 3, 3, 4, 4, 4), 10, 3, 10],
    [terms(10, 3, 3, 3, 4, 4, 4), 10, 2, 9],
    [terms(10, 3, 3, 3, 4, 4, 4), 9, 2, 9], // ErrCompacted
    [terms(10, 3, 3, 3, 4, 4, 4), 4, 2, 4], // ErrCompacted
    [terms(10, 3, 3, 3, 4, 4, 4), 0, 0, 0], // ErrCompacted
  ];
  tests.forEach(([ents, index, term, want], i) => {
    const st = new MemoryStorage();
    // The zero snapshot of the first group is not newer than the empty storage's: etcd ignores
    // that ApplySnapshot error too.
    caught(() => st.applySnapshot(snap(ents[0]!.index, ents[0]!.term)));
    const l = newLog(st, logger);
    l.append(ents.slice(1));
    const got = l.findConflictByTerm(index, term);
    assert.equal(got.index, want, `#${i}`);
    assert.equal(got.term, l.termOrZero(got.index), `#${i}`);
  });
});

test('IsUpToDate', () => {
  const l = newLog(new MemoryStorage(), logger);
  l.append(terms(1, 1, 2, 3));
  const li = l.lastIndex();
  const tests: [number, number, boolean][] = [
    // greater term, ignore lastIndex
    [li - 1, 4, true],
    [li, 4, true],
    [li + 1, 4, true],
    // smaller term, ignore lastIndex
    [li - 1, 2, false],
    [li, 2, false],
    [li + 1, 2, false],
    // equal term, equal or lager lastIndex wins
    [li - 1, 3, false],
    [li, 3, true],
    [li + 1, 3, true],
  ];
  tests.forEach(([lastIndex, term, w], i) => {
    assert.equal(l.isUpToDate({ term, index: lastIndex }), w, `#${i}`);
  });
});

test('Append', () => {
  const previousEnts = terms(1, 1, 2);
  const tests: [Entry[], number, Entry[], number][] = [
    [[], 2, terms(1, 1, 2), 3],
    [terms(3, 2), 3, terms(1, 1, 2, 2), 3],
    // conflicts with index 1
    [terms(1, 2), 1, terms(1, 2), 1],
    // conflicts with index 2
    [terms(2, 3, 3), 3, terms(1, 1, 3, 3), 2],
  ];
  tests.forEach(([ents, windex, wents, wunstable], i) => {
    const storage = new MemoryStorage();
    storage.append(previousEnts);
    const l = newLog(storage, logger);
    assert.equal(l.append(ents), windex, `#${i}`);
    assert.deepEqual(l.entries(1, noLimit), wents, `#${i}`);
    assert.equal(l.unstable.offset, wunstable, `#${i}`);
  });
});

// LogMaybeAppend ensures:
// If the given (index, term) matches with the existing log:
//  1. If an existing entry conflicts with a new one (same index but different terms), delete the
//     existing entry and all that follow it.
//  2. Append any new entries not already in the log.
// If the given (index, term) does not match with the existing log: return false (-1 here).
test('LogMaybeAppend', () => {
  const previousEnts = terms(1, 1, 2, 3);
  const lastindex = 3;
  const lastterm = 3;
  const commit = 1;
  const id = (term: number, index: number): EntryID => ({ term, index });
  // prev, committed, ents, wlasti, wappend, wcommit, wpanic
  const tests: [EntryID, number, Entry[], number, boolean, number, boolean][] = [
    // not match: term is different
    [id(lastterm - 1, lastindex), lastindex, terms(lastindex + 1, 4), 0, false, commit, false],
    // not match: index out of bound
    [id(lastterm, lastindex + 1), lastindex, terms(lastindex + 2, 4), 0, false, commit, false],
    // match with the last existing entry
    [id(lastterm, lastindex), lastindex, [], lastindex, true, lastindex, false],
    [id(lastterm, lastindex), lastindex + 1, [], lastindex, true, lastindex, false], // do not increase commit higher than lastnewi
    [id(lastterm, lastindex), lastindex - 1, [], lastindex, true, lastindex - 1, false], // commit up to the commit in the message
    [id(lastterm, lastindex), 0, [], lastindex, true, commit, false], // commit do not decrease
    [id(0, 0), lastindex, [], 0, true, commit, false], // commit do not decrease
    [id(lastterm, lastindex), lastindex, terms(lastindex + 1, 4), lastindex + 1, true, lastindex, false],
    [id(lastterm, lastindex), lastindex + 1, terms(lastindex + 1, 4), lastindex + 1, true, lastindex + 1, false],
    [id(lastterm, lastindex), lastindex + 2, terms(lastindex + 1, 4), lastindex + 1, true, lastindex + 1, false], // do not increase commit higher than lastnewi
    [id(lastterm, lastindex), lastindex + 2, terms(lastindex + 1, 4, 4), lastindex + 2, true, lastindex + 2, false],
    // match with the entry in the middle
    [id(lastterm - 1, lastindex - 1), lastindex, terms(lastindex, 4), lastindex, true, lastindex, false],
    [id(lastterm - 2, lastindex - 2), lastindex, terms(lastindex - 1, 4), lastindex - 1, true, lastindex - 1, false],
    [id(lastterm - 3, lastindex - 3), lastindex, terms(lastindex - 2, 4), lastindex - 2, true, lastindex - 2, true], // conflict with existing committed entry
    [id(lastterm - 2, lastindex - 2), lastindex, terms(lastindex - 1, 4, 4), lastindex, true, lastindex, false],
  ];
  tests.forEach(([prev, committed, ents, wlasti, wappend, wcommit, wpanic], i) => {
    // A term high enough for a valid append message; maybeAppend does not look at it yet.
    const app = new LogSlice(100, prev, ents);
    assert.equal(app.valid(), null, `#${i}`);
    const l = newLog(new MemoryStorage(), logger);
    l.append(previousEnts);
    l.committed = commit;
    let glasti = 0;
    const err = caught(() => (glasti = l.maybeAppend(app, committed)));
    if (wpanic) {
      assert.ok(err instanceof RaftInvariantError, `#${i}: want panic`);
      return;
    }
    assert.equal(err, null, `#${i}`);
    assert.equal(glasti >= 0 ? glasti : 0, wlasti, `#${i}`);
    assert.equal(glasti >= 0, wappend, `#${i}`);
    assert.equal(l.committed, wcommit, `#${i}`);
    if (wappend && ents.length !== 0) {
      const gents = l.slice(l.lastIndex() - ents.length + 1, l.lastIndex() + 1, noLimit);
      assert.deepEqual(gents, ents, `#${i}`);
    }
  });
});

// CompactionSideEffects ensures that all the log related functionality works correctly after a
// compaction.
test('CompactionSideEffects', () => {
  // Populate the log with 1000 entries; 750 in stable storage and 250 in unstable.
  const lastIndex = 1000;
  const unstableIndex = 750;
  const storage = new MemoryStorage();
  storage.append(termRange(1, 1, unstableIndex + 1));
  const l = newLog(storage, logger);
  l.append(termRange(unstableIndex + 1, unstableIndex + 1, lastIndex + 1));

  assert.ok(l.maybeCommit(l.lastEntryID()));
  l.appliedTo(l.committed, 0);

  const offset = 500;
  storage.compact(offset);
  assert.equal(l.lastIndex(), lastIndex);

  for (let j = offset; j <= l.lastIndex(); j++) assert.equal(l.term(j), j);
  for (let j = offset; j <= l.lastIndex(); j++) assert.ok(l.matchTerm({ term: j, index: j }));

  const unstableEnts = l.nextUnstableEnts();
  assert.equal(unstableEnts.length, 250);
  assert.equal(unstableEnts[0]!.index, 751);

  const prev = l.lastIndex();
  l.append([newEntry({ index: l.lastIndex() + 1, term: l.lastIndex() + 1 })]);
  assert.equal(l.lastIndex(), prev + 1);

  assert.equal(l.entries(l.lastIndex(), noLimit).length, 1);
});

// The raftLog of TestHasNextCommittedEnts, TestNextCommittedEnts, TestAcceptApplying and
// TestAppliedTo: snapshot at (3, 1), entry 4 stable, entries 5 and 6 unstable, commit at 5.
function applyLog(maxSize: number) {
  const ents = terms(4, 1, 1, 1);
  const storage = storageWithSnap(3, 1);
  storage.append(ents.slice(0, 1));
  const l = newLogWithSize(storage, logger, maxSize);
  l.append(ents);
  l.stableTo({ term: 1, index: 4 });
  l.maybeCommit({ term: 1, index: 5 });
  return { l, ents };
}

test('HasNextCommittedEnts', () => {
  // applied, applying, allowUnstable, paused, snap, whasNext
  const tests: [number, number, boolean, boolean, boolean, boolean][] = [
    [3, 3, true, false, false, true],
    [3, 4, true, false, false, true],
    [3, 5, true, false, false, false],
    [4, 4, true, false, false, true],
    [4, 5, true, false, false, false],
    [5, 5, true, false, false, false],
    // Don't allow unstable entries.
    [3, 3, false, false, false, true],
    [3, 4, false, false, false, false],
    [3, 5, false, false, false, false],
    [4, 4, false, false, false, false],
    [4, 5, false, false, false, false],
    [5, 5, false, false, false, false],
    // Paused.
    [3, 3, true, true, false, false],
    // With snapshot.
    [3, 3, true, false, true, false],
  ];
  tests.forEach(([applied, applying, allowUnstable, paused, withSnap, whasNext], i) => {
    const { l } = applyLog(noLimit);
    l.appliedTo(applied, 0);
    l.acceptApplying(applying, 0, allowUnstable);
    l.applyingEntsPaused = paused;
    if (withSnap) l.restore(snap(4, 1));
    assert.equal(l.hasNextCommittedEnts(allowUnstable), whasNext, `#${i}`);
  });
});

test('NextCommittedEnts', () => {
  const ents = terms(4, 1, 1, 1);
  // applied, applying, allowUnstable, paused, snap, wents
  const tests: [number, number, boolean, boolean, boolean, Entry[]][] = [
    [3, 3, true, false, false, ents.slice(0, 2)],
    [3, 4, true, false, false, ents.slice(1, 2)],
    [3, 5, true, false, false, []],
    [4, 4, true, false, false, ents.slice(1, 2)],
    [4, 5, true, false, false, []],
    [5, 5, true, false, false, []],
    // Don't allow unstable entries.
    [3, 3, false, false, false, ents.slice(0, 1)],
    [3, 4, false, false, false, []],
    [3, 5, false, false, false, []],
    [4, 4, false, false, false, []],
    [4, 5, false, false, false, []],
    [5, 5, false, false, false, []],
    // Paused.
    [3, 3, true, true, false, []],
    // With snapshot.
    [3, 3, true, false, true, []],
  ];
  tests.forEach(([applied, applying, allowUnstable, paused, withSnap, wents], i) => {
    const { l } = applyLog(noLimit);
    l.appliedTo(applied, 0);
    l.acceptApplying(applying, 0, allowUnstable);
    l.applyingEntsPaused = paused;
    if (withSnap) l.restore(snap(4, 1));
    assert.deepEqual(l.nextCommittedEnts(allowUnstable), wents, `#${i}`);
  });
});

test('AcceptApplying', () => {
  const maxSize = 100;
  // index, allowUnstable, size, wpaused
  const tests: [number, boolean, number, boolean][] = [
    [3, true, maxSize - 1, true],
    [3, true, maxSize, true],
    [3, true, maxSize + 1, true],
    [4, true, maxSize - 1, true],
    [4, true, maxSize, true],
    [4, true, maxSize + 1, true],
    [5, true, maxSize - 1, false],
    [5, true, maxSize, true],
    [5, true, maxSize + 1, true],
    // Don't allow unstable entries.
    [3, false, maxSize - 1, true],
    [3, false, maxSize, true],
    [3, false, maxSize + 1, true],
    [4, false, maxSize - 1, false],
    [4, false, maxSize, true],
    [4, false, maxSize + 1, true],
    [5, false, maxSize - 1, false],
    [5, false, maxSize, true],
    [5, false, maxSize + 1, true],
  ];
  tests.forEach(([index, allowUnstable, size, wpaused], i) => {
    const { l } = applyLog(maxSize);
    l.appliedTo(3, 0);
    l.acceptApplying(index, size, allowUnstable);
    assert.equal(l.applyingEntsPaused, wpaused, `#${i}`);
  });
});

test('AppliedTo', () => {
  const maxSize = 100;
  const overshoot = 5;
  // index, size, wapplyingSize, wpaused
  const tests: [number, number, number, boolean][] = [
    // Apply some of in-progress entries (applying = 5 below).
    [4, overshoot - 1, maxSize + 1, true],
    [4, overshoot, maxSize, true],
    [4, overshoot + 1, maxSize - 1, false],
    // Apply all of in-progress entries.
    [5, overshoot - 1, maxSize + 1, true],
    [5, overshoot, maxSize, true],
    [5, overshoot + 1, maxSize - 1, false],
    // Apply all of outstanding bytes.
    [4, maxSize + overshoot, 0, false],
    // Apply more than outstanding bytes. Incorrect accounting doesn't underflow applyingSize.
    [4, maxSize + overshoot + 1, 0, false],
  ];
  tests.forEach(([index, size, wapplyingSize, wpaused], i) => {
    const { l } = applyLog(maxSize);
    l.appliedTo(3, 0);
    l.acceptApplying(5, maxSize + overshoot, false);
    l.appliedTo(index, size);
    assert.equal(l.applied, index, `#${i}`);
    assert.equal(l.applying, 5, `#${i}`);
    assert.equal(l.applyingEntsSize, wapplyingSize, `#${i}`);
    assert.equal(l.applyingEntsPaused, wpaused, `#${i}`);
  });
});

test('AppliedTo and acceptApplying panic out of range', () => {
  const { l } = applyLog(noLimit);
  assert.throws(() => l.appliedTo(6, 0), /applied\(6\) is out of range \[prevApplied\(3\), committed\(5\)\]/);
  assert.throws(() => l.acceptApplying(6, 0, true), /applying\(6\) is out of range \[prevApplying\(3\), committed\(5\)\]/);
});

// NextUnstableEnts ensures unstableEntries returns the unstable part of the entries correctly.
test('NextUnstableEnts', () => {
  const previousEnts = terms(1, 1, 2);
  const tests: [number, Entry[]][] = [
    [3, []],
    [1, previousEnts],
  ];
  tests.forEach(([unstable, wents], i) => {
    // append stable entries to storage
    const storage = new MemoryStorage();
    storage.append(previousEnts.slice(0, unstable - 1));
    // append unstable entries to raftlog
    const l = newLog(storage, logger);
    l.append(previousEnts.slice(unstable - 1));
    const ents = l.nextUnstableEnts();
    if (ents.length > 0) l.stableTo(pbEntryID(ents[ents.length - 1]!));
    assert.deepEqual(ents, wents, `#${i}`);
    assert.equal(l.unstable.offset, previousEnts[previousEnts.length - 1]!.index + 1, `#${i}`);
  });
});

test('CommitTo', () => {
  const previousEnts = terms(1, 1, 2, 3);
  const commit = 2;
  // commit, wcommit, wpanic
  const tests: [number, number, boolean][] = [
    [3, 3, false],
    [1, 2, false], // never decrease
    [4, 2, true], // commit out of range -> panic
  ];
  tests.forEach(([c, wcommit, wpanic], i) => {
    const l = newLog(new MemoryStorage(), logger);
    l.append(previousEnts);
    l.committed = commit;
    const err = caught(() => l.commitTo(c));
    assert.equal(err instanceof RaftInvariantError, wpanic, `#${i}`);
    if (wpanic) {
      assert.match(String(err), /tocommit\(4\) is out of range \[lastIndex\(3\)\]\. Was the raft log corrupted, truncated, or lost\?/);
    }
    assert.equal(l.committed, wcommit, `#${i}`);
  });
});

test('StableTo', () => {
  // stablei, stablet, wunstable
  const tests: [number, number, number][] = [
    [1, 1, 2],
    [2, 2, 3],
    [2, 1, 1], // bad term
    [3, 1, 1], // bad index
  ];
  tests.forEach(([stablei, stablet, wunstable], i) => {
    const l = newLog(new MemoryStorage(), logger);
    l.append(terms(1, 1, 2));
    l.stableTo({ term: stablet, index: stablei });
    assert.equal(l.unstable.offset, wunstable, `#${i}`);
  });
});

test('StableToWithSnap', () => {
  const snapi = 5;
  const snapt = 2;
  // stablei, stablet, newEnts, wunstable
  const tests: [number, number, Entry[], number][] = [
    [snapi + 1, snapt, [], snapi + 1],
    [snapi, snapt, [], snapi + 1],
    [snapi - 1, snapt, [], snapi + 1],

    [snapi + 1, snapt + 1, [], snapi + 1],
    [snapi, snapt + 1, [], snapi + 1],
    [snapi - 1, snapt + 1, [], snapi + 1],

    [snapi + 1, snapt, terms(snapi + 1, snapt), snapi + 2],
    [snapi, snapt, terms(snapi + 1, snapt), snapi + 1],
    [snapi - 1, snapt, terms(snapi + 1, snapt), snapi + 1],

    [snapi + 1, snapt + 1, terms(snapi + 1, snapt), snapi + 1],
    [snapi, snapt + 1, terms(snapi + 1, snapt), snapi + 1],
    [snapi - 1, snapt + 1, terms(snapi + 1, snapt), snapi + 1],
  ];
  tests.forEach(([stablei, stablet, newEnts, wunstable], i) => {
    const l = newLog(storageWithSnap(snapi, snapt), logger);
    l.append(newEnts);
    l.stableTo({ term: stablet, index: stablei });
    assert.equal(l.unstable.offset, wunstable, `#${i}`);
  });
});

// Compaction ensures that the number of log entries is correct after compactions.
test('Compaction', () => {
  // lastIndex, compact, wleft, wallow
  const tests: [number, number[], number[], boolean][] = [
    // out of upper bound
    [1000, [1001], [-1], false],
    [1000, [300, 500, 800, 900], [700, 500, 200, 100], true],
    // out of lower bound
    [1000, [300, 299], [700, -1], false],
  ];
  tests.forEach(([lastIndex, compact, wleft, wallow], i) => {
    const storage = new MemoryStorage();
    storage.append(termRange(1, 1, lastIndex + 1));
    const l = newLog(storage, logger);
    l.maybeCommit({ term: 0, index: lastIndex }); // a no-op, as in etcd
    l.appliedTo(l.committed, 0);
    for (let j = 0; j < compact.length; j++) {
      const err = caught(() => storage.compact(compact[j]!));
      if (err instanceof RaftInvariantError) {
        // etcd recovers from the panic and ends the case.
        assert.equal(wallow, false, `#${i}`);
        return;
      }
      if (err !== null) {
        assert.equal(err, ErrCompacted, `#${i}`);
        assert.equal(wallow, false, `#${i}`);
        continue;
      }
      assert.equal(l.allEntries().length, wleft[j], `#${i}.${j}`);
    }
  });
});

test('LogRestore', () => {
  const index = 1000;
  const term = 1000;
  const l = newLog(storageWithSnap(index, term), logger);
  assert.equal(l.allEntries().length, 0);
  assert.equal(l.firstIndex(), index + 1);
  assert.equal(l.committed, index);
  assert.equal(l.unstable.offset, index + 1);
  assert.equal(l.term(index), term);
});

test('Restore logs with etcd text', () => {
  const lines: string[] = [];
  const l = newLog(new MemoryStorage(), new LevelLogger(LogLevel.Debug, (_lv, m) => void lines.push(m)));
  l.restore(snap(11, 1));
  assert.deepEqual(lines, [
    'log [committed=0, applied=0, applying=0, unstable.offset=1, unstable.offsetInProgress=1, len(unstable.Entries)=0] starts to restore snapshot [index: 11, term: 1]',
  ]);
  assert.equal(
    l.toString(),
    'committed=11, applied=0, applying=0, unstable.offset=12, unstable.offsetInProgress=12, len(unstable.Entries)=0',
  );
});

test('IsOutOfBounds', () => {
  const offset = 100;
  const num = 100;
  const l = newLog(storageWithSnap(offset, 0), logger);
  l.append(termRange(offset + 1, offset + 1, offset + num + 1));
  const first = offset + 1;
  // lo, hi, wpanic, wErrCompacted
  const tests: [number, number, boolean, boolean][] = [
    [first - 2, first + 1, false, true],
    [first - 1, first + 1, false, true],
    [first, first, false, false],
    [first + num / 2, first + num / 2, false, false],
    [first + num - 1, first + num - 1, false, false],
    [first + num, first + num, false, false],
    [first + num, first + num + 1, true, false],
    [first + num + 1, first + num + 1, true, false],
  ];
  tests.forEach(([lo, hi, wpanic, wErrCompacted], i) => {
    const err = caught(() => l.mustCheckOutOfBounds(lo, hi));
    assert.equal(err instanceof RaftInvariantError, wpanic, `#${i}`);
    if (!wpanic) assert.equal(err, wErrCompacted ? ErrCompacted : null, `#${i}`);
  });
});

test('Term', () => {
  const offset = 100;
  const num = 100;
  const l = newLog(storageWithSnap(offset, 1), logger);
  l.append(termRange(offset + 1, 1, num));
  // idx, term, err
  const tests: [number, number, Error | null][] = [
    [offset - 1, 0, ErrCompacted],
    [offset, 1, null],
    [offset + num / 2, num / 2, null],
    [offset + num - 1, num - 1, null],
    [offset + num, 0, ErrUnavailable],
  ];
  tests.forEach(([idx, wterm, werr], i) => {
    let term = 0;
    const err = caught(() => (term = l.term(idx)));
    assert.equal(term, wterm, `#${i}`);
    assert.equal(err, werr, `#${i}`);
    assert.equal(l.termOrZero(idx), wterm, `#${i}`);
  });
});

test('TermWithUnstableSnapshot', () => {
  const storagesnapi = 100;
  const unstablesnapi = storagesnapi + 5;
  const l = newLog(storageWithSnap(storagesnapi, 1), logger);
  l.restore(snap(unstablesnapi, 1));
  const tests: [number, number, Error | null][] = [
    // cannot get term from storage
    [storagesnapi, 0, ErrCompacted],
    // cannot get term from the gap between storage ents and unstable snapshot
    [storagesnapi + 1, 0, ErrCompacted],
    [unstablesnapi - 1, 0, ErrCompacted],
    // get term from unstable snapshot index
    [unstablesnapi, 1, null],
    // the log beyond the unstable snapshot is empty
    [unstablesnapi + 1, 0, ErrUnavailable],
  ];
  tests.forEach(([idx, wterm, werr], i) => {
    let term = 0;
    const err = caught(() => (term = l.term(idx)));
    assert.equal(term, wterm, `#${i}`);
    assert.equal(err, werr, `#${i}`);
  });
});

test('Slice', () => {
  const offset = 100;
  const num = 100;
  const last = offset + num;
  const half = offset + num / 2;
  const halfe = entrySizeBytes(newEntry({ index: half, term: half }));
  const entries = (from: number, to: number) => termRange(from, from, to);

  const storage = storageWithSnap(offset, 0);
  storage.append(entries(offset + 1, half));
  const l = newLog(storage, logger);
  l.append(entries(half, last));

  // lo, hi, lim, w, wpanic
  const tests: [number, number, number, Entry[], boolean][] = [
    // ErrCompacted.
    [offset - 1, offset + 1, noLimit, [], false],
    [offset, offset + 1, noLimit, [], false],
    // panics
    [half, half - 1, noLimit, [], true], // lo and hi inversion
    [last, last + 1, noLimit, [], true], // hi is out of bounds

    // No limit.
    [offset + 1, offset + 1, noLimit, [], false],
    [offset + 1, half - 1, noLimit, entries(offset + 1, half - 1), false],
    [offset + 1, half, noLimit, entries(offset + 1, half), false],
    [offset + 1, half + 1, noLimit, entries(offset + 1, half + 1), false],
    [offset + 1, last, noLimit, entries(offset + 1, last), false],
    [half - 1, half, noLimit, entries(half - 1, half), false],
    [half - 1, half + 1, noLimit, entries(half - 1, half + 1), false],
    [half - 1, last, noLimit, entries(half - 1, last), false],
    [half, half + 1, noLimit, entries(half, half + 1), false],
    [half, last, noLimit, entries(half, last), false],
    [last - 1, last, noLimit, entries(last - 1, last), false],

    // At least one entry is always returned.
    [offset + 1, last, 0, entries(offset + 1, offset + 2), false],
    [half - 1, half + 1, 0, entries(half - 1, half), false],
    [half, last, 0, entries(half, half + 1), false],
    [half + 1, last, 0, entries(half + 1, half + 2), false],
    // Low limit.
    [offset + 1, last, halfe - 1, entries(offset + 1, offset + 2), false],
    [half - 1, half + 1, halfe - 1, entries(half - 1, half), false],
    [half, last, halfe - 1, entries(half, half + 1), false],
    // Just enough for one limit.
    [offset + 1, last, halfe, entries(offset + 1, offset + 2), false],
    [half - 1, half + 1, halfe, entries(half - 1, half), false],
    [half, last, halfe, entries(half, half + 1), false],
    // Not enough for two limit.
    [offset + 1, last, halfe + 1, entries(offset + 1, offset + 2), false],
    [half - 1, half + 1, halfe + 1, entries(half - 1, half), false],
    [half, last, halfe + 1, entries(half, half + 1), false],
    // Enough for two limit.
    [offset + 1, last, halfe * 2, entries(offset + 1, offset + 3), false],
    [half - 2, half + 1, halfe * 2, entries(half - 2, half), false],
    [half - 1, half + 1, halfe * 2, entries(half - 1, half + 1), false],
    [half, last, halfe * 2, entries(half, half + 2), false],
    // Not enough for three.
    [half - 2, half + 1, halfe * 3 - 1, entries(half - 2, half), false],
    // Enough for three.
    [half - 1, half + 2, halfe * 3, entries(half - 1, half + 2), false],
  ];
  tests.forEach(([lo, hi, lim, w, wpanic], i) => {
    let g: Entry[] = [];
    const err = caught(() => (g = l.slice(lo, hi, lim)));
    if (wpanic) {
      assert.ok(err instanceof RaftInvariantError, `#${i}: want panic`);
      return;
    }
    assert.equal(err, lo <= offset ? ErrCompacted : null, `#${i}`);
    assert.deepEqual(g, w, `#${i}`);
  });
});

test('Slice results are owned by the caller', () => {
  const storage = storageWithSnap(100, 0);
  storage.append(termRange(101, 101, 150));
  const l = newLog(storage, logger);
  l.append(termRange(150, 150, 200));
  const across = l.slice(140, 160, noLimit);
  const unstableOnly = l.slice(160, 170, noLimit);
  across.push(...terms(500, 500));
  unstableOnly.push(...terms(500, 500));
  l.append(terms(155, 300)); // truncates the unstable tail in place
  assert.deepEqual(across.slice(0, 20), termRange(140, 140, 160));
  assert.deepEqual(unstableOnly.slice(0, 10), termRange(160, 160, 170));
  assert.deepEqual(l.slice(150, 156, noLimit), [...termRange(150, 150, 155), ...terms(155, 300)]);
});

test('Scan', () => {
  const offset = 47;
  const num = 20;
  const last = offset + num;
  const half = offset + num / 2;
  const entries = (from: number, to: number) => termRange(from, from, to);
  const entrySize = entriesSizeBytes(entries(half, half + 1));

  const storage = storageWithSnap(offset, 0);
  storage.append(entries(offset + 1, half));
  const l = newLog(storage, logger);
  l.append(entries(half, last));

  // scan() returns the same entries as slice(), on all inputs.
  for (const pageSize of [0, 1, 10, 100, entrySize, entrySize + 1]) {
    for (let lo = offset + 1; lo < last; lo++) {
      for (let hi = lo; hi <= last; hi++) {
        const got: Entry[] = [];
        l.scan(lo, hi, pageSize, (e) => {
          got.push(...e);
          assert.ok(e.length === 1 || entriesSizeBytes(e) <= pageSize);
        });
        assert.deepEqual(got, l.slice(lo, hi, noLimit), `scan() and slice() mismatch on [${lo}, ${hi}) @ ${pageSize}`);
      }
    }
  }

  // The callback's error is propagated to the caller.
  const errBreak = new Error('break');
  let iters = 0;
  const err = caught(() =>
    l.scan(offset + 1, half, 0, () => {
      iters++;
      if (iters === 2) throw errBreak;
    }),
  );
  assert.equal(err, errBreak);
  assert.equal(iters, 2);

  // Returning false stops the scan too, without an exception.
  iters = 0;
  l.scan(offset + 1, half, 0, () => ++iters < 2);
  assert.equal(iters, 2);

  // We max out the limit, and not just always return a single entry. This works only because
  // the requested range length is even.
  l.scan(offset + 1, offset + 11, entrySize * 2, (ents) => {
    assert.equal(ents.length, 2);
    assert.equal(entriesSizeBytes(ents), entrySize * 2);
  });
});

test('LogSlice valid', () => {
  assert.equal(new LogSlice(3, { term: 1, index: 4 }, terms(5, 1, 2, 3)).valid(), null);
  assert.equal(new LogSlice(0, { term: 0, index: 0 }, []).valid(), null);
  assert.equal(
    new LogSlice(3, { term: 1, index: 4 }, terms(6, 2)).valid()?.message,
    'leader term 3: entries {term:1 index:4} and {term:2 index:6} not consistent',
  );
  assert.equal(
    new LogSlice(3, { term: 2, index: 4 }, terms(5, 1)).valid()?.message,
    'leader term 3: entries {term:2 index:4} and {term:1 index:5} not consistent',
  );
  assert.equal(
    new LogSlice(2, { term: 1, index: 4 }, terms(5, 3)).valid()?.message,
    'leader term 2: entry {term:3 index:5} has a newer term',
  );
  const s = new LogSlice(3, { term: 1, index: 4 }, terms(5, 2, 3));
  assert.equal(s.lastIndex(), 6);
  assert.deepEqual(s.lastEntryID(), { term: 3, index: 6 });
  assert.deepEqual(new LogSlice(3, { term: 1, index: 4 }, []).lastEntryID(), { term: 1, index: 4 });
});
