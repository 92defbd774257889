// A damaged or truncated store is refused with an error naming the path and what is wrong, and is
// left as it was (never reset or recreated); a missing folder is created, an unwritable one is a
// clear error.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { Rng } from '../../src/core/rand.js';
import { EntryType } from '../../src/core/types.js';
import { DATA_FILE, LmdbStorage, MARKER_FILE, StorageCorruptError, StorageOpenError } from '../../src/storage/index.js';
import { entriesFrom, tempRoot } from './helpers.js';

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

// refused asserts that opening fails with a StorageCorruptError on the data file whose message
// matches `problem`, and that the folder was left untouched.
function refused(dir: string, problem: RegExp): void {
  const before = digestOf(dir);
  assert.throws(
    () => LmdbStorage.open({ dir, clusterId: 'dmg', nodeId: 1 }),
    (e: unknown) => {
      assert.ok(e instanceof StorageCorruptError, `expected StorageCorruptError, got ${String(e)}`);
      assert.ok(e.message.startsWith(path.join(dir, DATA_FILE)) || e.message.startsWith(path.join(dir, MARKER_FILE)), e.message);
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
