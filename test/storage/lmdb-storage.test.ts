// LmdbStorage: round trips of every field across reopens, MemoryStorage's semantics (a differential
// test over random operations, with reopens, crash images replayed from the write-ahead log,
// checkpoints from every few records to the defaults, and a cache small enough to make reads reach
// LMDB), one transaction and one flush per mutator, and the errors a user can cause.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import nodeFs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import * as path from 'node:path';
import { Rng } from '../../src/core/rand.js';
import { MemoryStorage } from '../../src/core/storage.js';
import { ErrCompacted, ErrSnapOutOfDate, ErrUnavailable } from '../../src/core/errors.js';
import { Approval, EntryType, type ConfState, type Entry, type HardState, type Snapshot } from '../../src/core/types.js';
import { LmdbStorage, MARKER_FILE, StorageError, StorageOpenError, WAL_FILE, storageDirFor, type LmdbStorageOptions } from '../../src/storage/index.js';
import { crashImage, entriesFrom, randomEntry, tempRoot } from './helpers.js';

function caught(f: () => unknown): unknown {
  try {
    f();
    return null;
  } catch (e) {
    return e;
  }
}

const cs3: ConfState = { voters: [1, 2, 3], learners: [4], votersOutgoing: [1, 2, 5], learnersNext: [6], autoLeave: true };

test('every field round-trips through a reopen', async () => {
  const { root, cleanup } = tempRoot('roundtrip');
  try {
    const opts: LmdbStorageOptions = { dir: path.join(root, 'n1'), clusterId: 'rt', nodeId: 1 };
    let s = LmdbStorage.open(opts);
    const big = new Uint8Array(1 << 20).map((_, i) => (i * 7) & 0xff);
    const ents: Entry[] = [
      { term: 1, index: 11, type: EntryType.EntryNormal, data: new Uint8Array(0) },
      { term: 2, index: 12, type: EntryType.EntryConfChange, data: new Uint8Array([1, 2, 3]) },
      { term: 2, index: 13, type: EntryType.EntryConfChangeV2, data: new Uint8Array([9]), approval: Approval.LeaderApproved },
      { term: 3, index: 14, type: EntryType.EntryNormal, data: big, approval: Approval.SelfApproved, digest: Number.MAX_SAFE_INTEGER },
      { term: 2 ** 40, index: 15, type: EntryType.EntryNormal, data: new Uint8Array([0]), approval: Approval.Unknown, digest: 0 },
      { term: 2 ** 40, index: 16, type: EntryType.EntryNormal, data: new Uint8Array([5]), digest: 123456789 },
    ];
    const snapData = new Uint8Array([7, 7, 7]);
    const snap: Snapshot = { data: snapData, metadata: { index: 10, term: 1, confState: cs3 } };
    const hs: HardState = { term: 2 ** 40, vote: 3, commit: 13 };
    s.saveReady(ents, hs, snap);
    const check = (st: LmdbStorage): void => {
      assert.equal(st.firstIndex(), 11);
      assert.equal(st.lastIndex(), 16);
      assert.equal(st.term(10), 1, 'the compaction point keeps the term of the entry before the first');
      assert.deepEqual(st.entries(11, 17, Infinity), ents);
      assert.deepEqual(st.initialState(), { hardState: hs, confState: cs3 });
      assert.deepEqual(st.snapshot(), snap);
    };
    check(s);
    await s.close();
    s = LmdbStorage.open(opts);
    check(s);
    // Compaction point after compact, and snapshot created from the log.
    s.compact(13);
    const created = s.createSnapshot(14, null, new Uint8Array([1]));
    assert.deepEqual(created.metadata, { index: 14, term: 3, confState: cs3 });
    await s.close();
    s = LmdbStorage.open(opts);
    assert.equal(s.firstIndex(), 14);
    assert.equal(s.term(13), 2);
    assert.equal(caught(() => s.term(12)), ErrCompacted);
    assert.deepEqual(s.snapshot(), created);
    assert.deepEqual(s.entries(14, 17, Infinity), ents.slice(3));
    await s.close();
  } finally {
    cleanup();
  }
});

// Observable state compared between the two storages after every operation.
function observe(s: MemoryStorage | LmdbStorage, rng: Rng): unknown[] {
  const out: unknown[] = [];
  const first = s.firstIndex();
  const last = s.lastIndex();
  out.push(first, last, s.initialState(), s.snapshot());
  for (let i = Math.max(0, first - 2); i <= last + 1; i++) {
    try {
      out.push(s.term(i));
    } catch (e) {
      out.push(e);
    }
  }
  for (let k = 0; k < 4; k++) {
    const lo = Math.max(1, first - 1 + rng.intn(last - first + 3));
    const hi = Math.min(last + 1, lo + rng.intn(12));
    const maxSize = rng.intn(3) === 0 ? 0 : rng.intn(2) === 0 ? Infinity : rng.intn(2000);
    try {
      out.push(s.entries(lo, hi, maxSize));
    } catch (e) {
      out.push(e);
    }
  }
  return out;
}

interface Checkpoints {
  walCheckpointBytes?: number;
  checkpointEntries?: number;
}

async function differential(seed: number, steps: number, cacheEntriesMax: number, cacheBytesMax: number, ck: Checkpoints = {}): Promise<void> {
  const { root, cleanup } = tempRoot(`diff${seed}`);
  // Semantics only: durability is the crash test's business, and flushes would only slow this down.
  const opts: LmdbStorageOptions = { dir: path.join(root, 'n'), clusterId: 'diff', nodeId: 7, cacheEntriesMax, cacheBytesMax, sync: false, ...ck };
  let images = 0;
  let replayed = 0;
  const rng = new Rng(seed);
  const mem = new MemoryStorage();
  let lm = LmdbStorage.open(opts);
  let term = 1;
  try {
    for (let step = 0; step < steps; step++) {
      const first = mem.firstIndex();
      const last = mem.lastIndex();
      const snapIndex = mem.snapshot().metadata.index;
      // Raft's rules that the store relies on: a committed entry is never truncated, and a
      // snapshot is only applied past the commit index.
      const commit = mem.initialState().hardState.commit;
      const op = rng.intn(20);
      const both = (f: (s: MemoryStorage | LmdbStorage) => unknown): void => {
        const a = caught(() => f(mem));
        const b = caught(() => f(lm));
        assert.equal(b, a, `step ${step} op ${op}: errors differ`);
      };
      if (op < 8) {
        // Append, often over a suffix (a conflict) and sometimes over the compacted prefix.
        if (rng.intn(4) === 0) term++;
        const from = Math.max(1, commit + 1, last + 1 - rng.intn(Math.min(6, last - first + 3)));
        const ents = entriesFrom(rng, from, 1 + rng.intn(8), term);
        both((s) => s.append(ents));
      } else if (op < 10) {
        const hs = { term, vote: rng.intn(4), commit: commit + rng.intn(last - commit + 1) };
        both((s) => s.setHardState(hs));
      } else if (op < 12 && last >= first) {
        const i = first - 1 + rng.intn(last - first + 2);
        both((s) => s.compact(i));
      } else if (op < 14 && last >= Math.max(first - 1, snapIndex)) {
        const lo = Math.max(first - 1, snapIndex);
        const i = lo + rng.intn(last - lo + 1);
        const data = new Uint8Array([step & 0xff, 1]);
        const cs = rng.intn(2) === 0 ? null : { ...cs3, voters: [1, 2, rng.intn(9)] };
        both((s) => s.createSnapshot(i, cs, data));
      } else if (op < 15) {
        const idx = Math.max(commit + 1, snapIndex - 1 + rng.intn(last - snapIndex + 6));
        const sn: Snapshot = { data: new Uint8Array([step & 0xff]), metadata: { index: idx, term: term, confState: cs3 } };
        both((s) => s.applySnapshot(sn));
      } else if (op < 18) {
        // A whole Ready: snapshot (sometimes), entries following it, hard state.
        if (rng.intn(3) === 0) term++;
        const sn: Snapshot | null =
          rng.intn(4) === 0 ? { data: new Uint8Array([1, 2]), metadata: { index: Math.max(commit + 1, last + rng.intn(3)), term, confState: cs3 } } : null;
        const base = sn !== null ? sn.metadata.index : last;
        const from = Math.max(1, commit + 1, base + 1 - (sn !== null ? 0 : rng.intn(3)));
        const ents = rng.intn(4) === 0 ? [] : entriesFrom(rng, from, 1 + rng.intn(5), term);
        const lastAfter = ents.length > 0 ? ents[ents.length - 1]!.index : base;
        const hs = rng.intn(3) === 0 ? { term: 0, vote: 0, commit: 0 } : { term, vote: 1, commit: Math.max(commit, Math.min(lastAfter, commit + rng.intn(4))) };
        const memReady = (): void => {
          if (sn !== null && sn.metadata.index > 0) mem.applySnapshot(sn);
          mem.append(ents);
          if (hs.term !== 0 || hs.vote !== 0 || hs.commit !== 0) mem.setHardState(hs);
        };
        const a = caught(memReady);
        const b = caught(() => lm.saveReady(ents, hs, sn));
        assert.equal(b, a, `step ${step}: saveReady errors differ`);
      } else if (rng.intn(2) === 0) {
        await lm.close();
        lm = LmdbStorage.open(opts);
      } else {
        // What a kill now would leave: LMDB as of the last checkpoint and the log after it.
        const dir = crashImage(opts.dir, path.join(root, `image-${images++}`));
        const img = LmdbStorage.open({ ...opts, dir });
        replayed += img.recovery.replayedRecords;
        assert.equal(img.recovery.discardedTail, null);
        assert.deepEqual(observe(img, new Rng(step)), observe(mem, new Rng(step)), `step ${step}: crash image`);
        await img.close();
        fs.rmSync(dir, { recursive: true });
      }
      assert.deepEqual(observe(lm, new Rng(step)), observe(mem, new Rng(step)), `step ${step} op ${op}`);
    }
    await lm.close();
    lm = LmdbStorage.open(opts);
    assert.deepEqual(observe(lm, new Rng(1)), observe(mem, new Rng(1)), 'after the last reopen');
    await lm.close();
    assert.ok(images === 0 || replayed > 0, 'crash images replayed log records');
  } finally {
    await lm.close();
    cleanup();
  }
}

test('behaves as MemoryStorage over random operations, reopens and crash images (small cache)', async () => {
  await differential(1, 300, 7, 600);
  await differential(2, 300, 7, 600, { walCheckpointBytes: 4096, checkpointEntries: 3 });
  await differential(3, 300, 7, 600, { walCheckpointBytes: 8192, checkpointEntries: 50 });
});

test('behaves as MemoryStorage over random operations, reopens and crash images (default cache)', async () => {
  await differential(11, 300, 16_384, 64 << 20);
  await differential(12, 300, 16_384, 64 << 20, { walCheckpointBytes: 4096, checkpointEntries: 1 });
  await differential(13, 300, 16_384, 64 << 20, { checkpointEntries: 20 });
});

// countLogFlushes counts fdatasync calls (the log's flushes; LMDB's own are native) until
// restore() puts the real one back.
function countLogFlushes(): { n: number; restore: () => void } {
  const real = nodeFs.fdatasyncSync;
  const c = {
    n: 0,
    restore: (): void => {
      nodeFs.fdatasyncSync = real;
      syncBuiltinESMExports();
    },
  };
  nodeFs.fdatasyncSync = (fd: number): void => {
    c.n++;
    real(fd);
  };
  syncBuiltinESMExports();
  return c;
}

test('a durable mutation is one log write and one fdatasync, and LMDB is written only at checkpoints', async () => {
  const { root, cleanup } = tempRoot('flushes.n');
  // Count the flushes.n of the log; LMDB's own are native, its transactions are counted by the store.
  const flushes = countLogFlushes();
  try {
    const rng = new Rng(6);
    const dir = path.join(root, 'n');
    const s = LmdbStorage.open({ dir, clusterId: 'f', nodeId: 1, checkpointEntries: 100 });
    flushes.n = 0;
    for (let i = 1; i <= 10; i++) s.saveReady(entriesFrom(rng, i, 1, 1), { term: 1, vote: 1, commit: i - 1 }, null);
    assert.equal(flushes.n, 10, 'one flush per Ready');
    s.saveReady(entriesFrom(rng, 11, 64, 1), { term: 1, vote: 1, commit: 10 }, null);
    s.compact(5);
    s.createSnapshot(6, null, new Uint8Array([1]));
    s.append(entriesFrom(rng, 70, 3, 2)); // overwrites 70..74 with 70..72
    s.setHardState({ term: 2, vote: 1, commit: 20 });
    assert.equal(flushes.n, 15);
    assert.deepEqual({ ...s.stats, cacheMisses: 0 }, { transactions: 15, walRecords: 15, checkpoints: 0, cacheMisses: 0, lazyCommits: 0 });
    // LMDB lacks [6, 72]; with the 100th entry it lacks, a Ready checkpoints (an LMDB transaction,
    // durable with its own flushes.n) after its record.
    s.saveReady(entriesFrom(rng, 73, 32, 2), null, null);
    assert.equal(s.stats.checkpoints, 0);
    s.saveReady(entriesFrom(rng, 105, 1, 2), null, null);
    assert.equal(s.stats.checkpoints, 1);
    assert.equal(flushes.n, 17);
    // A record larger than walCheckpointBytes skips the log: it is a checkpoint of its own.
    s.createSnapshot(50, null, new Uint8Array(2 << 20));
    assert.deepEqual({ walRecords: s.stats.walRecords, checkpoints: s.stats.checkpoints, flushes: flushes.n }, { walRecords: 17, checkpoints: 2, flushes: 17 });
    await s.close();
    const again = LmdbStorage.open({ dir, clusterId: 'f', nodeId: 1 });
    assert.equal(again.lastIndex(), 105);
    assert.equal(again.snapshot().metadata.index, 50);
    assert.equal(again.snapshot().data.length, 2 << 20);
    assert.equal(again.firstIndex(), 6);
    assert.deepEqual(again.initialState().hardState, { term: 2, vote: 1, commit: 20 });
    await again.close();
  } finally {
    flushes.restore();
    cleanup();
  }
});

test('a Ready that only moves the commit index (commitMayLag) is not written; the next record or a snapshot carries it', async () => {
  const { root, cleanup } = tempRoot('lazy-commit');
  const flushes = countLogFlushes();
  try {
    const rng = new Rng(8);
    const dir = path.join(root, 'n');
    const s = LmdbStorage.open({ dir, clusterId: 'f', nodeId: 1, checkpointEntries: 1000 });
    s.saveReady(entriesFrom(rng, 1, 10, 1), { term: 1, vote: 1, commit: 0 }, null, true);
    flushes.n = 0;
    const records = s.stats.walRecords;
    // Commit-only: kept in memory, nothing written, visible to the node.
    s.saveReady([], { term: 1, vote: 1, commit: 4 }, null, true);
    s.saveReady([], { term: 1, vote: 1, commit: 6 }, null, true);
    assert.equal(flushes.n, 0);
    assert.equal(s.stats.walRecords, records);
    assert.equal(s.stats.lazyCommits, 2);
    assert.deepEqual(s.initialState().hardState, { term: 1, vote: 1, commit: 6 });
    // A kill now loses the commit index, which Raft allows: the leader sends it again.
    const lost = LmdbStorage.open({ dir: crashImage(dir, path.join(root, 'kill1')), clusterId: 'f', nodeId: 1 });
    assert.deepEqual(lost.initialState().hardState, { term: 1, vote: 1, commit: 0 });
    await lost.close();
    // A vote change is never lazy, and an entry record carries the lagging commit with it.
    s.saveReady([], { term: 2, vote: 2, commit: 6 }, null, true);
    assert.equal(flushes.n, 1);
    s.saveReady([], { term: 2, vote: 2, commit: 8 }, null, true);
    s.saveReady(entriesFrom(rng, 11, 1, 2), null, null, true);
    assert.equal(flushes.n, 2);
    const kept = LmdbStorage.open({ dir: crashImage(dir, path.join(root, 'kill2')), clusterId: 'f', nodeId: 1 });
    assert.deepEqual(kept.initialState().hardState, { term: 2, vote: 2, commit: 8 });
    await kept.close();
    // A snapshot is never above the durable commit index (a restart would refuse it).
    s.saveReady([], { term: 2, vote: 2, commit: 10 }, null, true);
    s.createSnapshot(10, null, new Uint8Array([7]));
    s.saveReady([], { term: 2, vote: 2, commit: 11 }, null, true);
    s.compact(9);
    const snap = LmdbStorage.open({ dir: crashImage(dir, path.join(root, 'kill3')), clusterId: 'f', nodeId: 1 });
    assert.equal(snap.snapshot().metadata.index, 10);
    assert.deepEqual(snap.initialState().hardState, { term: 2, vote: 2, commit: 11 });
    await snap.close();
    // Without commitMayLag (the default) every change is flushed, as before.
    const before = flushes.n;
    s.saveReady([], { term: 2, vote: 2, commit: 11 }, null);
    assert.equal(flushes.n, before, 'an unchanged hard state writes nothing');
    await s.close();
    const again = LmdbStorage.open({ dir, clusterId: 'f', nodeId: 1 });
    assert.deepEqual(again.initialState().hardState, { term: 2, vote: 2, commit: 11 });
    again.saveReady([], { term: 2, vote: 2, commit: 11 }, null);
    // A clean close writes a commit index that waits in memory.
    again.saveReady(entriesFrom(rng, 12, 1, 2), null, null, true);
    again.saveReady([], { term: 2, vote: 2, commit: 12 }, null, true);
    await again.close();
    const closed = LmdbStorage.open({ dir, clusterId: 'f', nodeId: 1 });
    assert.deepEqual(closed.initialState().hardState, { term: 2, vote: 2, commit: 12 });
    await closed.close();
  } finally {
    flushes.restore();
    cleanup();
  }
});

test('a failed flush of the log stops the store until it is reopened', async () => {
  const { root, cleanup } = tempRoot('eio');
  const real = nodeFs.fdatasyncSync;
  try {
    const rng = new Rng(2);
    const dir = path.join(root, 'n');
    const s = LmdbStorage.open({ dir, clusterId: 'e', nodeId: 1 });
    s.saveReady(entriesFrom(rng, 1, 3, 1), { term: 1, vote: 1, commit: 1 }, null);
    nodeFs.fdatasyncSync = (): void => {
      throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    };
    syncBuiltinESMExports();
    assert.throws(
      () => s.saveReady(entriesFrom(rng, 4, 2, 1), { term: 1, vote: 1, commit: 3 }, null),
      (e: unknown) => e instanceof StorageError && e.message.startsWith(`${path.join(dir, WAL_FILE)}: writing the record failed: EIO`),
    );
    nodeFs.fdatasyncSync = real;
    syncBuiltinESMExports();
    // Memory was not changed, and nothing more is written (a failed fdatasync cannot be retried).
    assert.equal(s.lastIndex(), 3);
    assert.throws(() => s.setHardState({ term: 1, vote: 1, commit: 2 }), /a write failed earlier .*EIO.*; the store must be reopened/);
    await s.close();
    // The record reached the page cache: the reopened store has it (its outcome was unknown).
    const again = LmdbStorage.open({ dir, clusterId: 'e', nodeId: 1 });
    assert.equal(again.lastIndex(), 5);
    assert.equal(again.initialState().hardState.commit, 3);
    await again.close();
  } finally {
    nodeFs.fdatasyncSync = real;
    syncBuiltinESMExports();
    cleanup();
  }
});

test('saveReady is one transaction: a failure in it changes nothing, in memory or on disk', async () => {
  const { root, cleanup } = tempRoot('atomic');
  try {
    const opts = { dir: path.join(root, 'n'), clusterId: 'a', nodeId: 1 };
    const rng = new Rng(5);
    let s = LmdbStorage.open(opts);
    const ents = entriesFrom(rng, 1, 5, 1);
    s.saveReady(ents, { term: 1, vote: 1, commit: 2 }, null);
    const tx = s.stats.transactions;
    // The conflicting suffix from 3 is replaced; the second new entry cannot be encoded.
    const bad = [randomEntry(rng, 3, 2), { term: 2, index: 4, type: EntryType.EntryNormal, data: 42 as unknown as Uint8Array }];
    assert.throws(() => s.saveReady(bad, { term: 2, vote: 2, commit: 3 }, null));
    assert.equal(s.stats.transactions, tx);
    const before = { last: s.lastIndex(), ents: s.entries(1, 6, Infinity), init: s.initialState() };
    assert.deepEqual(before, { last: 5, ents, init: { hardState: { term: 1, vote: 1, commit: 2 }, confState: s.initialState().confState } });
    await s.close();
    s = LmdbStorage.open(opts);
    assert.deepEqual({ last: s.lastIndex(), ents: s.entries(1, 6, Infinity), init: s.initialState() }, before);
    // An unchanged hard state and nothing new write nothing.
    const tx2 = s.stats.transactions;
    s.saveReady([], { term: 1, vote: 1, commit: 2 }, null);
    s.saveReady(ents.slice(0, 2).filter(() => false), { term: 0, vote: 0, commit: 0 }, null);
    assert.equal(s.stats.transactions, tx2);
    await s.close();
  } finally {
    cleanup();
  }
});

test('reads below the cache come from LMDB and are the same entries', async () => {
  const { root, cleanup } = tempRoot('cache');
  try {
    const rng = new Rng(9);
    const s = LmdbStorage.open({ dir: path.join(root, 'n'), clusterId: 'c', nodeId: 1, cacheEntriesMax: 10, cacheBytesMax: 1 << 20 });
    const ents = entriesFrom(rng, 1, 100, 1);
    for (let k = 0; k < 100; k += 10) s.append(ents.slice(k, k + 10));
    const misses = s.stats.cacheMisses;
    assert.deepEqual(s.entries(91, 101, Infinity), ents.slice(90));
    assert.equal(s.stats.cacheMisses, misses, 'the newest entries are served from memory');
    assert.deepEqual(s.entries(1, 101, Infinity), ents);
    assert.equal(s.term(3), 1);
    assert.ok(s.stats.cacheMisses > misses);
    await s.close();
  } finally {
    cleanup();
  }
});

test('refuses another cluster or node, a second open, and use after close', async () => {
  const { root, cleanup } = tempRoot('identity');
  try {
    const dir = path.join(root, 'n');
    const s = LmdbStorage.open({ dir, clusterId: 'alpha', nodeId: 2 });
    assert.throws(() => LmdbStorage.open({ dir, clusterId: 'alpha', nodeId: 2 }), (e: unknown) => e instanceof StorageOpenError && /already open in this process/.test(e.message));
    await s.close();
    assert.throws(() => s.setHardState({ term: 1, vote: 0, commit: 0 }), /store is closed/);
    assert.throws(
      () => LmdbStorage.open({ dir, clusterId: 'beta', nodeId: 2 }),
      (e: unknown) => e instanceof StorageOpenError && e.path === dir && /belongs to cluster alpha node 2, not cluster beta node 2/.test(e.message),
    );
    assert.throws(() => LmdbStorage.open({ dir, clusterId: 'alpha', nodeId: 3 }), /belongs to cluster alpha node 2, not cluster alpha node 3/);
    assert.throws(() => LmdbStorage.open({ dir, clusterId: '', nodeId: 3 }), /clusterId/);
    assert.throws(() => LmdbStorage.open({ dir, clusterId: 'alpha', nodeId: 0 }), /nodeId/);
    const again = LmdbStorage.open({ dir, clusterId: 'alpha', nodeId: 2 });
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, MARKER_FILE), 'utf8')), { format: 2, clusterId: 'alpha', nodeId: 2 });
    await again.close();
  } finally {
    cleanup();
  }
});

test('misuse is loud: holes, hi past the last index, old snapshots', async () => {
  const { root, cleanup } = tempRoot('misuse');
  try {
    const rng = new Rng(3);
    const s = LmdbStorage.open({ dir: path.join(root, 'n'), clusterId: 'm', nodeId: 1 });
    assert.equal(caught(() => s.entries(1, 1, Infinity)), ErrUnavailable);
    s.append(entriesFrom(rng, 1, 3, 1));
    assert.throws(() => s.append(entriesFrom(rng, 5, 1, 1)), /missing log entry \[last: 3, append at: 5\]/);
    assert.throws(() => s.append([randomEntry(rng, 4, 1), randomEntry(rng, 6, 1)]), /not consecutive/);
    assert.throws(() => s.entries(1, 5, Infinity), /out of bound lastindex\(3\)/);
    s.createSnapshot(2, null, new Uint8Array(0));
    assert.equal(caught(() => s.applySnapshot({ data: new Uint8Array(0), metadata: { index: 2, term: 1, confState: cs3 } })), ErrSnapOutOfDate);
    assert.equal(caught(() => s.saveReady([], null, { data: new Uint8Array(0), metadata: { index: 1, term: 1, confState: cs3 } })), ErrSnapOutOfDate);
    assert.equal(s.lastIndex(), 3);
    await s.close();
  } finally {
    cleanup();
  }
});

test('sync: false runs without flushes and says so', async () => {
  const { root, cleanup } = tempRoot('nosync');
  try {
    const dir = path.join(root, 'n');
    let s = LmdbStorage.open({ dir, clusterId: 'ns', nodeId: 1, sync: false });
    assert.equal(s.durability, 'none');
    assert.equal(s.describe().durability, 'none');
    assert.match(s.describe().lmdbVersion, /^3\./);
    const ents = entriesFrom(new Rng(1), 1, 50, 1);
    s.append(ents);
    await s.close();
    s = LmdbStorage.open({ dir, clusterId: 'ns', nodeId: 1 });
    assert.equal(s.durability, 'fsync');
    assert.deepEqual(s.entries(1, 51, Infinity), ents);
    await s.close();
  } finally {
    cleanup();
  }
});

test('storageDirFor names the folder by the node configuration', () => {
  assert.equal(storageDirFor('/data', 'bench-5', 3), path.join('/data', 'bench-5-node-3'));
  assert.throws(() => storageDirFor('/data', '../x y', 3), /not usable in a folder name/);
});
