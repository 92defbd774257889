// Shared helpers of the storage tests: temporary folders under os.tmpdir() and random entries.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Rng } from '../../src/core/rand.js';
import { Approval, EntryType, type Entry } from '../../src/core/types.js';

// tempRoot makes a fresh folder for one test and returns it with a cleanup function.
export function tempRoot(name: string): { root: string; cleanup: () => void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `frb-storage-${name}-`));
  return { root, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}

// randomEntry covers every field: all entry types, classic and Fast Raft entries (self- and
// leader-approved, with 53-bit digests), empty and non-empty data.
export function randomEntry(rng: Rng, index: number, term: number): Entry {
  const n = rng.intn(4) === 0 ? 0 : 1 + rng.intn(200);
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.intn(256);
  const e: Entry = { term, index, type: rng.intn(5) === 0 ? (rng.intn(2) === 0 ? EntryType.EntryConfChange : EntryType.EntryConfChangeV2) : EntryType.EntryNormal, data };
  switch (rng.intn(3)) {
    case 0:
      break;
    case 1:
      e.approval = Approval.SelfApproved;
      e.digest = rng.intn(0x200000) * 0x100000000 + rng.nextU32();
      break;
    default:
      e.approval = rng.intn(2) === 0 ? Approval.LeaderApproved : Approval.Unknown;
      if (rng.intn(2) === 0) e.digest = rng.nextU32();
  }
  return e;
}

export function entriesFrom(rng: Rng, first: number, count: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let k = 0; k < count; k++) out.push(randomEntry(rng, first + k, term));
  return out;
}

// crashImage copies a store's files, as they are now, into a new folder: what a kill of the process
// at this moment would leave on disk (the page cache survives a process). The lock file is LMDB's
// reader table, rebuilt at every open.
export function crashImage(dir: string, to: string): string {
  fs.mkdirSync(to, { recursive: true });
  for (const f of fs.readdirSync(dir)) {
    if (f === 'lock.mdb') continue;
    fs.copyFileSync(path.join(dir, f), path.join(to, f));
  }
  return to;
}

// walRecordOffsets lists the offsets of the records of the current pass of a write-ahead log
// (wal.ts: a 4096-byte header, then records of magic u32, body length u32, lsn f64, body, crc u32,
// padded to 8 bytes).
export function walRecordOffsets(file: string): { offset: number; bytes: number; lsn: number }[] {
  const b = fs.readFileSync(file);
  const out: { offset: number; bytes: number; lsn: number }[] = [];
  let off = 4096;
  let prev = -1;
  while (off + 16 <= b.length && b.readUInt32LE(off) === 0x314c4157) {
    const lsn = b.readDoubleLE(off + 8);
    if (prev >= 0 && lsn !== prev + 1) break;
    const bytes = (16 + b.readUInt32LE(off + 4) + 4 + 7) & ~7;
    out.push({ offset: off, bytes, lsn });
    prev = lsn;
    off += bytes;
  }
  return out;
}
