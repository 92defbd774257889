// A damaged or truncated store is refused with an error naming the path and what is wrong, and is
// left as it was (never reset or recreated); a missing folder is created, an unwritable one is a
// clear error. The write-ahead log: a torn last record is discarded (it was never acknowledged),
// damage before the end, a truncated, missing or foreign log is refused.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { Rng } from '../../src/core/rand.js';
import { EntryType } from '../../src/core/types.js';
import { DATA_FILE, LmdbStorage, MARKER_FILE, StorageCorruptError, StorageOpenError, WAL_FILE } from '../../src/storage/index.js';
import { crashImage, entriesFrom, tempRoot, walRecordOffsets } from './helpers.js';

const PAYLOAD_MARK = Buffer.from('frb-damage-test-payload:');

// makeStore writes a store with a few hundred entries, one of them large enough for LMDB overflow
// pages (so its bytes sit in the file exactly once), and returns its folder.
async function makeStore(root: string, name: string): Promise<string> {
  const dir = path.join(root, name);
  const s = LmdbStorage.open({ dir, clusterId: 'dmg', nodeId: 1 });
  const rng = new Rng(4);
  for (let k = 0; k < 10; k++) s.saveReady(entriesFrom(rng, 1 + 40 * k, 40, 1), { term: 1, vote: 1, commit: 40 * k }, null);
  const big = Buffer.alloc(12_000, 0x5a);
  PAYLOAD_MARK.copy(big, 6000);
  s.append([{ term: 2, index: 401, type: EntryType.EntryNormal, data: new Uint8Array(big) }]);
  s.append(entriesFrom(rng, 402, 20, 2));
  await s.close();
  return dir;
}

function digestOf(dir: string): string {
  const h = createHash('sha256');
  for (const f of fs.readdirSync(dir).sort()) {
    if (f === 'lock.mdb') continue; // LMDB's reader table, rebuilt at every open
    h.update(f);
    h.update(fs.readFileSync(path.join(dir, f)));
  }
  return h.digest('hex');
}

// refused asserts that opening fails with a StorageCorruptError on a file of the store whose message
// matches `problem`, and that the folder was left untouched.
function refused(dir: string, problem: RegExp): void {
  const before = digestOf(dir);
  assert.throws(
    () => LmdbStorage.open({ dir, clusterId: 'dmg', nodeId: 1 }),
    (e: unknown) => {
      assert.ok(e instanceof StorageCorruptError, `expected StorageCorruptError, got ${String(e)}`);
      assert.ok([DATA_FILE, MARKER_FILE, WAL_FILE].some((f) => e.message.startsWith(`${path.join(dir, f)}: `)), e.message);
      assert.match(e.message, problem);
      return true;
    },
  );
  assert.equal(digestOf(dir), before, 'a refused store is left as it was');
}

test('truncated data files are refused, whatever the cut', async () => {
  const { root, cleanup } = tempRoot('trunc');
  try {
    const dir = await makeStore(root, 'n');
    const data = path.join(dir, DATA_FILE);
    const full = fs.readFileSync(data);
    const pageSize = 4096;
    const cuts: [number, RegExp][] = [
      [0, /empty \(0 bytes\): truncated/],
      [100, /too short for a meta page: truncated/],
      [pageSize + 10, /shorter than its two meta pages/],
      [full.length - 1000, /not a whole number of 4096-byte pages/],
      [Math.floor(full.length / pageSize / 2) * pageSize, /truncated/],
      [full.length - pageSize, /truncated/],
    ];
    for (const [size, problem] of cuts) {
      fs.writeFileSync(data, full.subarray(0, size));
      refused(dir, problem);
    }
    // Restored, it opens with everything in it.
    fs.writeFileSync(data, full);
    const s = LmdbStorage.open({ dir, clusterId: 'dmg', nodeId: 1 });
    assert.equal(s.lastIndex(), 421);
    await s.close();
  } finally {
    cleanup();
  }
});

test('damaged meta pages, damaged entries and foreign files are refused', async () => {
  const { root, cleanup } = tempRoot('damage');
  try {
    const dir = await makeStore(root, 'n');
    const data = path.join(dir, DATA_FILE);
    const full = fs.readFileSync(data);
    const damaged = (edit: (b: Buffer) => void, problem: RegExp): void => {
      const b = Buffer.from(full);
      edit(b);
      fs.writeFileSync(data, b);
      refused(dir, problem);
    };
    damaged((b) => b.writeUInt32LE(0x12345678, 24), /meta page 0 has a bad magic number/);
    damaged((b) => b.fill(0xee, 4096, 4096 + 200), /meta page 1/);
    damaged((b) => b.writeUInt32LE(3, 4096 + 28), /meta page 1 has data version 3/);
    damaged((b) => b.writeUInt32LE(8192, 4096 + 48), /disagree on the page size|truncated/);
    // One flipped byte in an entry's payload: LMDB cannot see it, the record's checksum does.
    damaged((b) => {
      const at = b.indexOf(PAYLOAD_MARK);
      assert.ok(at > 0 && b.indexOf(PAYLOAD_MARK, at + 1) < 0, 'the payload is in the file exactly once');
      b[at + 3] ^= 0x01;
    }, /entry 401: checksum mismatch/);
    damaged((b) => new Rng(7).nextU32() && b.fill(0x41), /not a meta page|bad magic/);
    fs.writeFileSync(data, full);
    // The marker file is checked too.
    const marker = path.join(dir, MARKER_FILE);
    const markerText = fs.readFileSync(marker, 'utf8');
    fs.writeFileSync(marker, '{ not json');
    refused(dir, /is not valid JSON/);
    fs.writeFileSync(marker, JSON.stringify({ format: 1, clusterId: 'other', nodeId: 1 }));
    refused(dir, /disagrees with the identity record/);
    fs.writeFileSync(marker, markerText);
    const s = LmdbStorage.open({ dir, clusterId: 'dmg', nodeId: 1 });
    assert.equal(s.lastIndex(), 421);
    await s.close();
  } finally {
    cleanup();
  }
});

test('a data file that disappeared is not recreated', async () => {
  const { root, cleanup } = tempRoot('missing');
  try {
    const dir = await makeStore(root, 'n');
    fs.rmSync(path.join(dir, DATA_FILE));
    refused(dir, /missing, but frb-store.json says this folder holds the store of cluster dmg node 1/);
    assert.ok(!fs.existsSync(path.join(dir, DATA_FILE)));
  } finally {
    cleanup();
  }
});

test('a store whose identity record is gone is refused', async () => {
  const { root, cleanup } = tempRoot('noident');
  try {
    const dir = await makeStore(root, 'n');
    fs.rmSync(path.join(dir, MARKER_FILE));
    // Without the marker, a store that holds records but no identity is still refused.
    const { open } = await import('lmdb');
    const env = open({ path: dir, overlappingSync: false, encoding: 'binary' });
    env.transactionSync(() => {
      void env.remove('identity');
    });
    await env.close();
    refused(dir, /identity record is missing from a store that holds records/);
  } finally {
    cleanup();
  }
});

test('a missing folder is created, nested', async () => {
  const { root, cleanup } = tempRoot('mkdir');
  try {
    const dir = path.join(root, 'a', 'b', 'cluster-node-1');
    const s = LmdbStorage.open({ dir, clusterId: 'cluster', nodeId: 1 });
    assert.ok(fs.statSync(path.join(dir, DATA_FILE)).isFile());
    await s.close();
  } finally {
    cleanup();
  }
});

test('an unwritable folder is a clear error', async (t) => {
  const { root, cleanup } = tempRoot('unwritable');
  try {
    // A path through a regular file cannot be created by anyone.
    const file = path.join(root, 'plain-file');
    fs.writeFileSync(file, 'x');
    assert.throws(
      () => LmdbStorage.open({ dir: path.join(file, 'n'), clusterId: 'u', nodeId: 1 }),
      (e: unknown) => e instanceof StorageOpenError && e.path === path.join(file, 'n') && /cannot create the folder \(ENOTDIR\)/.test(e.message),
    );
    assert.throws(() => LmdbStorage.open({ dir: file, clusterId: 'u', nodeId: 1 }), /is not a folder/);
    // A folder that exists but cannot be written: chmod for ordinary users; root ignores modes,
    // so there the immutable attribute is used where the file system has it.
    const dir = path.join(root, 'readonly');
    fs.mkdirSync(dir);
    let undo: () => void;
    if (process.getuid?.() !== 0) {
      fs.chmodSync(dir, 0o555);
      undo = () => fs.chmodSync(dir, 0o755);
    } else {
      try {
        execFileSync('chattr', ['+i', dir], { stdio: 'ignore' });
      } catch {
        t.skip('running as root without chattr +i: no way to make a folder unwritable');
        return;
      }
      undo = () => execFileSync('chattr', ['-i', dir], { stdio: 'ignore' });
    }
    try {
      assert.throws(
        () => LmdbStorage.open({ dir, clusterId: 'u', nodeId: 1 }),
        (e: unknown) => e instanceof StorageOpenError && e.path === dir && /folder is not writable \((EACCES|EPERM)\)/.test(e.message),
      );
    } finally {
      undo();
    }
  } finally {
    cleanup();
  }
});

// makeLogImage leaves a store whose log holds ten Readys (five entries and a hard state each) that
// LMDB does not hold yet: the files of a live store copied as a kill would leave them.
async function makeLogImage(root: string): Promise<string> {
  const live = path.join(root, 'live');
  const s = LmdbStorage.open({ dir: live, clusterId: 'dmg', nodeId: 1 });
  const rng = new Rng(8);
  for (let k = 0; k < 10; k++) s.saveReady(entriesFrom(rng, 1 + 5 * k, 5, 1), { term: 1, vote: 1, commit: 5 * k }, null);
  assert.equal(s.stats.walRecords, 10);
  assert.equal(s.stats.checkpoints, 0, 'nothing was checkpointed yet');
  const img = crashImage(live, path.join(root, 'image'));
  await s.close();
  return img;
}

test('a torn last record of the log is discarded; the acknowledged ones before it are replayed', async () => {
  const { root, cleanup } = tempRoot('waltorn');
  try {
    const img = await makeLogImage(root);
    const recs = walRecordOffsets(path.join(img, WAL_FILE));
    assert.deepEqual(recs.map((r) => r.lsn), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const lastRec = recs[9]!;
    let n = 0;
    const variant = (edit: (b: Buffer) => void): string => {
      const dir = crashImage(img, path.join(root, `v${n++}`));
      const file = path.join(dir, WAL_FILE);
      const b = fs.readFileSync(file);
      edit(b);
      fs.writeFileSync(file, b);
      return dir;
    };
    // Intact: everything is replayed.
    let s = LmdbStorage.open({ dir: variant(() => {}), clusterId: 'dmg', nodeId: 1 });
    assert.deepEqual(s.recovery, { replayedRecords: 10, discardedTail: null });
    assert.equal(s.lastIndex(), 50);
    assert.equal(s.initialState().hardState.commit, 45);
    await s.close();
    // A write cut short: the end of the record (body and checksum) never reached the disk; its
    // length field garbled; only its header written.
    const torn: [(b: Buffer) => void, RegExp][] = [
      [(b) => b.fill(0, lastRec.offset + lastRec.bytes - 40, lastRec.offset + lastRec.bytes), /checksum mismatch/],
      [(b) => b.writeUInt32LE(0x7fffffff, lastRec.offset + 4), /body length 2147483647 overruns the file/],
      [(b) => b.fill(0, lastRec.offset + 16, lastRec.offset + lastRec.bytes), /checksum mismatch/],
    ];
    for (const [edit, problem] of torn) {
      const dir = variant(edit);
      s = LmdbStorage.open({ dir, clusterId: 'dmg', nodeId: 1 });
      assert.equal(s.recovery.replayedRecords, 9);
      assert.match(s.recovery.discardedTail ?? '', new RegExp(`^LSN 10 at offset ${lastRec.offset}: `));
      assert.match(s.recovery.discardedTail ?? '', problem);
      assert.equal(s.lastIndex(), 45, 'the torn Ready is not there');
      assert.equal(s.initialState().hardState.commit, 40);
      // The store goes on: a new Ready, a reopen, nothing lost.
      s.saveReady(entriesFrom(new Rng(1), 46, 2, 2), { term: 2, vote: 1, commit: 45 }, null);
      await s.close();
      s = LmdbStorage.open({ dir, clusterId: 'dmg', nodeId: 1 });
      assert.deepEqual(s.recovery, { replayedRecords: 0, discardedTail: null });
      assert.equal(s.lastIndex(), 47);
      assert.equal(s.term(47), 2);
      await s.close();
    }
  } finally {
    cleanup();
  }
});

test('damage to the log before its end, and a truncated, missing or foreign log, are refused', async () => {
  const { root, cleanup } = tempRoot('waldamage');
  try {
    const img = await makeLogImage(root);
    const wal = path.join(img, WAL_FILE);
    const full = fs.readFileSync(wal);
    const recs = walRecordOffsets(wal);
    const damaged = (edit: (b: Buffer) => Buffer, problem: RegExp): void => {
      fs.writeFileSync(wal, edit(Buffer.from(full)));
      refused(img, problem);
    };
    const r5 = recs[4]!;
    const r3 = recs[2]!;
    // A flipped bit in the middle of the log: the records after it were acknowledged.
    damaged((b) => {
      b[r5.offset + 40] ^= 0x10;
      return b;
    }, new RegExp(`wal.log: damaged before its end: the records break off at offset ${r5.offset}: checksum mismatch .*, but a valid later record \\(LSN 6\\) follows at offset ${recs[5]!.offset}`));
    // A record wiped out: same.
    damaged((b) => b.fill(0, r3.offset, r3.offset + r3.bytes), new RegExp(`break off at offset ${r3.offset}: no record, but a valid later record \\(LSN 4\\)`));
    // A record cut out, the ones after it moved up: a gap in the sequence numbers.
    const r4 = recs[3]!;
    const endOfLog = recs[9]!.offset + recs[9]!.bytes;
    damaged((b) => {
      b.copy(b, r4.offset, r5.offset, endOfLog);
      b.fill(0, endOfLog - r4.bytes, endOfLog);
      return b;
    }, new RegExp(`break off at offset ${r4.offset}: the record there has LSN 5, after LSN 3, but a valid later record \\(LSN 5\\) follows at offset ${r4.offset}`));
    // The first record wiped out.
    damaged((b) => b.fill(0, 4096, 4096 + recs[0]!.bytes), /break off at offset 4096: no record, but a valid later record \(LSN 2\)/);
    // Truncated, anywhere.
    damaged((b) => b.subarray(0, recs[9]!.offset + recs[9]!.bytes), /is \d+ bytes, but was made \d+ bytes long: truncated/);
    damaged((b) => b.subarray(0, 100), /shorter than its 4096-byte header: truncated/);
    damaged((b) => b.subarray(0, 0), /shorter than its 4096-byte header: truncated/);
    // A damaged header.
    damaged((b) => {
      b[9] ^= 0x01;
      return b;
    }, /header checksum mismatch/);
    damaged((b) => {
      b[0] = 0x41;
      return b;
    }, /bad magic in the header/);
    // The log of another node.
    const other = path.join(root, 'other');
    await LmdbStorage.open({ dir: other, clusterId: 'dmg', nodeId: 2 }).close();
    damaged(() => fs.readFileSync(path.join(other, WAL_FILE)), /belongs to cluster dmg node 2, but the store to cluster dmg node 1/);
    // Missing.
    fs.rmSync(wal);
    refused(img, /wal.log: missing/);
    assert.ok(!fs.existsSync(wal), 'a missing log is not recreated');
    // Restored, it opens with everything in it.
    fs.writeFileSync(wal, full);
    const s = LmdbStorage.open({ dir: img, clusterId: 'dmg', nodeId: 1 });
    assert.equal(s.recovery.replayedRecords, 10);
    assert.equal(s.lastIndex(), 50);
    await s.close();
  } finally {
    cleanup();
  }
});
