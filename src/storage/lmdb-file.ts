// Checks of an LMDB data file made before LMDB maps it. LMDB trusts its file: a truncated one is
// mapped anyway and the first read of a page past the end kills the process with SIGBUS, and only
// the first meta page's magic is checked, so a damaged second one can be chosen as the latest. Reading
// the two meta pages and the latest transaction's trees with plain file reads first turns these into
// an error naming what is wrong.
//
// Layout (64-bit LMDB as built by lmdb-js 3.x): page 0 and page 1 are meta pages. A page starts with a
// 24-byte header (pgno u64, txnid u64, pad u16, flags u16, lower u16, upper u16; an overflow page has
// its page count u32 in place of lower and upper); the meta follows: magic u32, version u32, address
// u64, mapsize u64, two MDB_db records of 48 bytes (free pages, main: pad u32 (page size in the
// first), flags u16, depth u16, branch, leaf, overflow, entries, root: u64), last page u64, txnid u64.
// Branch and leaf pages hold `lower / 2` node offsets (u16, from byte 24, relative to byte 24); a node
// is lo u16, hi u16, flags u16, key size u16, key, data. A branch node's child page is
// lo | hi << 16 | flags << 32; a leaf node's data size is lo | hi << 16, and with F_BIGDATA its data
// is the number (u64) of the first of its overflow pages, with F_SUBDATA an MDB_db record.
//
// The file may legitimately end before the meta's last page: LMDB does not write the pages a
// transaction allocated and freed again (loose pages), and only writing a page extends the file. So
// truncation is judged by what the latest transaction references: every page of its two trees
// (and every overflow page) must lie inside the file.

import * as fs from 'node:fs';
import { StorageCorruptError } from './errors.js';

const PAGE_HEADER_BYTES = 24;
const P_BRANCH = 0x01;
const P_LEAF = 0x02;
const P_OVERFLOW = 0x04;
const P_META = 0x08;
const P_LEAF2 = 0x20;
const F_BIGDATA = 0x01;
const F_SUBDATA = 0x02;
const NODE_HEADER_BYTES = 8;
const DEPTH_MAX = 64;
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
// page the latest transaction references (tree pages and overflow pages) inside the file and sound.
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
    const walk = new TreeWalk(path, fd, psize, pages, latest.txnId);
    for (const root of latest.roots) if (root !== P_INVALID) walk.tree(Number(root));
    return { pageSizeBytes: psize, lastPage: latest.lastPage, txnId: latest.txnId };
  } finally {
    fs.closeSync(fd);
  }
}

// TreeWalk visits every page the latest transaction references, reading each with a plain read.
class TreeWalk {
  private readonly seen = new Set<number>();

  constructor(
    private readonly path: string,
    private readonly fd: number,
    private readonly psize: number,
    private readonly pages: number,
    private readonly txnId: number,
  ) {}

  private fail(problem: string): never {
    throw new StorageCorruptError(this.path, problem);
  }

  private read(pgno: number, from: string): Buffer {
    if (pgno < 2 || pgno >= this.pages) {
      if (pgno >= this.pages) this.fail(`page ${pgno}, ${from} of the latest transaction (${this.txnId}), lies past the end of the ${this.pages}-page file: truncated`);
      this.fail(`${from} points at meta page ${pgno}: damaged`);
    }
    if (this.seen.has(pgno)) this.fail(`page ${pgno} is reached twice in the trees of the latest transaction: damaged`);
    this.seen.add(pgno);
    const buf = Buffer.alloc(this.psize);
    if (fs.readSync(this.fd, buf, 0, this.psize, pgno * this.psize) < this.psize) this.fail(`cannot read page ${pgno}`);
    const stored = buf.readBigUInt64LE(0);
    if (stored !== BigInt(pgno)) this.fail(`page ${pgno} holds the header of page ${stored}: damaged`);
    return buf;
  }

  tree(root: number): void {
    this.visit(root, 'a root', 0);
  }

  private visit(pgno: number, from: string, depth: number): void {
    if (depth > DEPTH_MAX) this.fail(`the tree through page ${pgno} is deeper than ${DEPTH_MAX}: damaged`);
    const p = this.read(pgno, from);
    const flags = p.readUInt16LE(18);
    if (flags & P_LEAF2) return; // fixed-size keys only (MDB_DUPFIXED), nothing referenced
    const isBranch = (flags & P_BRANCH) !== 0;
    if (!isBranch && (flags & P_LEAF) === 0) this.fail(`page ${pgno}, ${from}, is neither a branch nor a leaf page (flags 0x${flags.toString(16)}): damaged`);
    const lower = p.readUInt16LE(20);
    const n = lower >> 1;
    if (PAGE_HEADER_BYTES + lower > this.psize) this.fail(`page ${pgno} claims ${n} nodes, more than fit: damaged`);
    for (let i = 0; i < n; i++) {
      const off = PAGE_HEADER_BYTES + p.readUInt16LE(PAGE_HEADER_BYTES + 2 * i);
      if (off + NODE_HEADER_BYTES > this.psize) this.fail(`page ${pgno}: node ${i} lies outside the page: damaged`);
      const lo = p.readUInt16LE(off);
      const hi = p.readUInt16LE(off + 2);
      const nflags = p.readUInt16LE(off + 4);
      const ksize = p.readUInt16LE(off + 6);
      const data = off + NODE_HEADER_BYTES + ksize;
      if (isBranch) {
        this.visit(lo + hi * 0x10000 + nflags * 0x100000000, `a child of page ${pgno}`, depth + 1);
      } else if (nflags & F_BIGDATA) {
        if (data + 8 > this.psize) this.fail(`page ${pgno}: node ${i} lies outside the page: damaged`);
        const first = Number(p.readBigUInt64LE(data));
        const ov = this.read(first, `an overflow page of page ${pgno}`);
        if ((ov.readUInt16LE(18) & P_OVERFLOW) === 0) this.fail(`page ${first}, data of a node of page ${pgno}, is not an overflow page: damaged`);
        const count = ov.readUInt32LE(20);
        if (first + count > this.pages) {
          this.fail(`overflow pages ${first}..${first + count - 1}, data of a node of page ${pgno}, run past the end of the ${this.pages}-page file: truncated`);
        }
      } else if (nflags & F_SUBDATA) {
        if (data + 48 > this.psize) this.fail(`page ${pgno}: node ${i} lies outside the page: damaged`);
        const root = p.readBigUInt64LE(data + 40);
        if (root !== P_INVALID) this.visit(Number(root), `the root of a database named in page ${pgno}`, depth + 1);
      }
    }
  }
}
