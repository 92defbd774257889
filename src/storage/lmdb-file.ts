// Checks of an LMDB data file made before LMDB maps it. LMDB trusts its file: a truncated one is
// mapped anyway and the first read of a page past the end kills the process with SIGBUS, and only
// the first meta page's magic is checked, so a damaged second one can be chosen as the latest. Reading
// the two meta pages with plain file reads first turns these into an error naming what is wrong.
//
// Layout (64-bit LMDB as built by lmdb-js 3.x): page 0 and page 1 are meta pages. A page starts with a
// 24-byte header (pgno u64, txnid u64, pad u16, flags u16, lower u16, upper u16); the meta follows:
// magic u32, version u32, address u64, mapsize u64, two MDB_db records of 48 bytes (free pages, main:
// pad u32 (page size in the first), flags u16, depth u16, branch, leaf, overflow, entries, root: u64),
// last page u64, txnid u64.

import * as fs from 'node:fs';
import { StorageCorruptError } from './errors.js';

const PAGE_HEADER_BYTES = 24;
const P_META = 0x08;
const MDB_MAGIC = 0xbeefc0de;
const MDB_DATA_VERSION = 2;
const META_BYTES = 0xa8; // through txnid, plus the 8-byte boot id of lmdb-js
const OFF_MAGIC = PAGE_HEADER_BYTES;
const OFF_VERSION = PAGE_HEADER_BYTES + 4;
const OFF_DBS = PAGE_HEADER_BYTES + 24;
const DB_BYTES = 48;
const OFF_DB_ROOT = 40;
const OFF_LAST_PAGE = OFF_DBS + 2 * DB_BYTES;
const OFF_TXNID = OFF_LAST_PAGE + 8;
const P_INVALID = 0xffffffffffffffffn;
const PAGE_SIZE_MIN = 512;
const PAGE_SIZE_MAX = 65536;

export interface LmdbMeta {
  pageSizeBytes: number;
  lastPage: number;
  txnId: number;
}

function readMeta(path: string, buf: Buffer, which: number): LmdbMeta & { roots: bigint[] } {
  const flags = buf.readUInt16LE(18);
  if ((flags & P_META) === 0) throw new StorageCorruptError(path, `meta page ${which} is not a meta page (flags 0x${flags.toString(16)})`);
  const magic = buf.readUInt32LE(OFF_MAGIC);
  if (magic !== MDB_MAGIC) throw new StorageCorruptError(path, `meta page ${which} has a bad magic number 0x${magic.toString(16)} (not an LMDB file, or damaged)`);
  const version = buf.readUInt32LE(OFF_VERSION) & 0xffff;
  if (version !== MDB_DATA_VERSION) throw new StorageCorruptError(path, `meta page ${which} has data version ${version}, expected ${MDB_DATA_VERSION}`);
  const pageSizeBytes = buf.readUInt32LE(OFF_DBS);
  if (pageSizeBytes < PAGE_SIZE_MIN || pageSizeBytes > PAGE_SIZE_MAX || (pageSizeBytes & (pageSizeBytes - 1)) !== 0) {
    throw new StorageCorruptError(path, `meta page ${which} has an impossible page size ${pageSizeBytes}`);
  }
  const lastPage = buf.readBigUInt64LE(OFF_LAST_PAGE);
  const txnId = buf.readBigUInt64LE(OFF_TXNID);
  if (lastPage > BigInt(Number.MAX_SAFE_INTEGER) || txnId > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new StorageCorruptError(path, `meta page ${which} has an impossible last page ${lastPage} or transaction id ${txnId}`);
  }
  const roots = [buf.readBigUInt64LE(OFF_DBS + OFF_DB_ROOT), buf.readBigUInt64LE(OFF_DBS + DB_BYTES + OFF_DB_ROOT)];
  return { pageSizeBytes, lastPage: Number(lastPage), txnId: Number(txnId), roots };
}

// checkLmdbDataFile throws StorageCorruptError unless `path` looks like an intact LMDB data file:
// both meta pages valid and agreeing on the page size, the file a whole number of pages, and every
// page the latest meta can reach (up to its last page) inside the file.
export function checkLmdbDataFile(path: string): LmdbMeta {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    throw new StorageCorruptError(path, `cannot read the data file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  try {
    const sizeBytes = fs.fstatSync(fd).size;
    if (sizeBytes === 0) throw new StorageCorruptError(path, 'data file is empty (0 bytes): truncated');
    const head = Buffer.alloc(PAGE_HEADER_BYTES + META_BYTES);
    if (fs.readSync(fd, head, 0, head.length, 0) < head.length) {
      throw new StorageCorruptError(path, `data file is ${sizeBytes} bytes, too short for a meta page: truncated`);
    }
    const m0 = readMeta(path, head, 0);
    const psize = m0.pageSizeBytes;
    if (sizeBytes < 2 * psize) throw new StorageCorruptError(path, `data file is ${sizeBytes} bytes, shorter than its two meta pages of ${psize} bytes: truncated`);
    if (sizeBytes % psize !== 0) throw new StorageCorruptError(path, `data file is ${sizeBytes} bytes, not a whole number of ${psize}-byte pages: truncated or damaged`);
    if (fs.readSync(fd, head, 0, head.length, psize) < head.length) throw new StorageCorruptError(path, 'cannot read meta page 1');
    const m1 = readMeta(path, head, 1);
    if (m1.pageSizeBytes !== psize) throw new StorageCorruptError(path, `meta pages disagree on the page size (${psize} and ${m1.pageSizeBytes})`);
    const latest = m1.txnId > m0.txnId ? m1 : m0;
    const pages = sizeBytes / psize;
    for (const root of latest.roots) {
      if (root !== P_INVALID && root >= BigInt(pages)) {
        throw new StorageCorruptError(path, `a root page (${root}) lies past the end of the ${pages}-page file: truncated`);
      }
    }
    if (latest.lastPage >= pages) {
      throw new StorageCorruptError(path, `data file has ${pages} pages but its latest transaction (${latest.txnId}) uses ${latest.lastPage + 1}: truncated`);
    }
    return { pageSizeBytes: psize, lastPage: latest.lastPage, txnId: latest.txnId };
  } finally {
    fs.closeSync(fd);
  }
}
