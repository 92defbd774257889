// The write-ahead log in front of LMDB (lmdb-storage.ts): one preallocated file that records are
// written into at increasing offsets, each made durable by one fdatasync. It knows nothing of Raft:
// a record is a body of bytes with a log sequence number (LSN); the store decides what bodies mean.
//
// File layout. A header page, then records from HEADER_BYTES on, each at an 8-byte aligned offset:
//   header   magic "FRB-WAL\0" | format u32 | capacity f64 (the file's size when made) | nodeId f64 |
//            clusterId length u16 | clusterId utf-8 | crc u32 of the bytes before it; rest of the
//            page zero
//   record   magic u32 | body length u32 | lsn f64 | body | crc u32 of the bytes before it | zero
//            padding to a multiple of 8
// The file is filled with zeros and fsync'ed when it is made, and never changes size afterwards, so
// that writing a record changes no file metadata and fdatasync is one flush of the data written
// (appending to a growing file makes the file system journal the new size as well: measured in
// bench/storage). Records are never written across the end: when one does not fit, the store
// checkpoints first, which starts the file over at HEADER_BYTES.
//
// LSNs. Every record the store writes gets the next LSN, across the whole life of the store. A
// checkpoint records in LMDB the last LSN whose effects LMDB holds (`applied`) and starts writing
// again at HEADER_BYTES; older records further in the file are left as they are (stale: their LSNs
// are at most `applied`). The current records are therefore the run of records with consecutive LSNs
// starting at HEADER_BYTES; the ones with LSN > applied are to be replayed into LMDB.
//
// Recovery (recover()). The run ends at the first position that does not hold the next record: zeros
// (never written), a stale record (smaller LSN), or bytes that fail the checks. The last case is a
// write cut short by a crash (a torn record: it was never acknowledged, since a record is
// acknowledged only after its fdatasync, and the next one is written only after that), and it is
// discarded. It is refused as damage instead when anything shows that acknowledged records followed:
// a record with a valid checksum and an LSN past the run anywhere after the end (the LSNs a store
// writes are never reused, so such a record was written after the damaged one was made durable),
// or a run that does not reach `applied` + 1 although it holds newer records. A file shorter than
// its header says (truncated), a damaged header, or a header of another cluster or node is refused.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from './codec.js';
import { StorageCorruptError, StorageOpenError } from './errors.js';

export const WAL_FORMAT_VERSION = 1;
export const HEADER_BYTES = 4096;
const HEADER_MAGIC = Buffer.from('FRB-WAL\0', 'latin1');
const RECORD_MAGIC = 0x314c4157; // "WAL1" little-endian
const RECORD_MAGIC_BYTES = Buffer.from([0x57, 0x41, 0x4c, 0x31]);
const RECORD_HEADER_BYTES = 16;
const CRC_BYTES = 4;

export interface WalIdentity {
  clusterId: string;
  nodeId: number;
}

// A current record found by recovery, to be replayed.
export interface WalRecord {
  lsn: number;
  offset: number;
  body: Buffer;
}

export interface WalRecovery {
  // Records with LSN > applied, in order.
  records: WalRecord[];
  // The last LSN written before the crash or close (at least `applied`).
  lastLsn: number;
  // The torn record that ended the run and was discarded ("LSN n at offset N: problem"), or null
  // when the run ended cleanly (zeros, or what is left of an earlier pass).
  discarded: string | null;
}

export function walRecordBytes(bodyBytes: number): number {
  return (RECORD_HEADER_BYTES + bodyBytes + CRC_BYTES + 7) & ~7;
}

function errCode(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? (e instanceof Error ? e.message : String(err));
}

function encodeHeader(capacity: number, id: WalIdentity): Buffer {
  const buf = Buffer.alloc(HEADER_BYTES);
  HEADER_MAGIC.copy(buf, 0);
  buf.writeUInt32LE(WAL_FORMAT_VERSION, 8);
  buf.writeDoubleLE(capacity, 12);
  buf.writeDoubleLE(id.nodeId, 20);
  const name = Buffer.from(id.clusterId, 'utf8');
  buf.writeUInt16LE(name.length, 28);
  name.copy(buf, 30);
  const end = 30 + name.length;
  buf.writeUInt32LE(crc32(buf.subarray(0, end)), end);
  return buf;
}

function writeFully(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done, position + done);
}

// checkRecord returns the LSN and length of a valid record at `off`, or a description of what is
// wrong with it.
function checkRecord(buf: Buffer, off: number, limit: number): { lsn: number; bytes: number; bodyBytes: number } | string {
  if (off + RECORD_HEADER_BYTES + CRC_BYTES > limit) return 'record header cut by the end of the file';
  if (buf.readUInt32LE(off) !== RECORD_MAGIC) return 'no record magic';
  const bodyBytes = buf.readUInt32LE(off + 4);
  const bytes = walRecordBytes(bodyBytes);
  if (off + RECORD_HEADER_BYTES + bodyBytes + CRC_BYTES > limit) return `body length ${bodyBytes} overruns the file`;
  const end = off + RECORD_HEADER_BYTES + bodyBytes;
  const want = buf.readUInt32LE(end);
  const got = crc32(buf.subarray(off, end));
  if (want !== got) return `checksum mismatch (stored ${want.toString(16)}, computed ${got.toString(16)})`;
  const lsn = buf.readDoubleLE(off + 8);
  if (!Number.isSafeInteger(lsn) || lsn <= 0) return `bad LSN ${lsn}`;
  return { lsn, bytes, bodyBytes };
}

function isZero(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}

export class Wal {
  private tailOffset = HEADER_BYTES;

  private constructor(
    readonly file: string,
    private fd: number,
    readonly capacity: number,
    private readonly sync: boolean,
    // The whole file as read by open(), until recover() has used it.
    private image: Buffer | null,
  ) {}

  // create makes a new log of `capacity` bytes (header included), replacing any file of that name:
  // written to a temporary file, fsync'ed, renamed, and the folder fsync'ed.
  static create(file: string, capacity: number, id: WalIdentity, sync: boolean): Wal {
    if (capacity < HEADER_BYTES + 4096 || capacity % 4096 !== 0) throw new Error(`WAL capacity ${capacity} is not a multiple of 4096 above ${HEADER_BYTES}`);
    const tmp = `${file}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    try {
      writeFully(fd, encodeHeader(capacity, id), 0);
      const zeros = Buffer.alloc(1 << 20);
      for (let off = HEADER_BYTES; off < capacity; off += zeros.length) {
        writeFully(fd, zeros.subarray(0, Math.min(zeros.length, capacity - off)), off);
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    const dfd = fs.openSync(path.dirname(file), 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
    return new Wal(file, fs.openSync(file, 'r+'), capacity, sync, null);
  }

  // open reads an existing log and checks its header; recover() then finds its records.
  static open(file: string, id: WalIdentity, sync: boolean): Wal {
    let image: Buffer;
    try {
      image = fs.readFileSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new StorageCorruptError(file, 'missing: the write-ahead log of this store, which may hold acknowledged writes');
      throw new StorageOpenError(file, `cannot read (${errCode(err)})`);
    }
    const size = image.length;
    if (size < HEADER_BYTES) throw new StorageCorruptError(file, `is ${size} bytes, shorter than its ${HEADER_BYTES}-byte header: truncated`);
    if (!image.subarray(0, 8).equals(HEADER_MAGIC)) throw new StorageCorruptError(file, 'bad magic in the header (not a write-ahead log of this program, or damaged)');
    const nameLen = image.readUInt16LE(28);
    const hend = 30 + nameLen;
    if (hend + CRC_BYTES > HEADER_BYTES || image.readUInt32LE(hend) !== crc32(image.subarray(0, hend))) {
      throw new StorageCorruptError(file, 'header checksum mismatch: damaged');
    }
    const version = image.readUInt32LE(8);
    if (version !== WAL_FORMAT_VERSION) throw new StorageCorruptError(file, `format version ${version}, this code reads ${WAL_FORMAT_VERSION}`);
    const capacity = image.readDoubleLE(12);
    const nodeId = image.readDoubleLE(20);
    const clusterId = image.toString('utf8', 30, hend);
    if (clusterId !== id.clusterId || nodeId !== id.nodeId) {
      throw new StorageCorruptError(file, `belongs to cluster ${clusterId} node ${nodeId}, but the store to cluster ${id.clusterId} node ${id.nodeId}`);
    }
    if (!Number.isSafeInteger(capacity) || capacity < HEADER_BYTES) throw new StorageCorruptError(file, `header holds an impossible size ${capacity}`);
    if (size < capacity) throw new StorageCorruptError(file, `is ${size} bytes, but was made ${capacity} bytes long: truncated`);
    let fd: number;
    try {
      fd = fs.openSync(file, 'r+');
    } catch (err) {
      throw new StorageOpenError(file, `cannot open for writing (${errCode(err)})`);
    }
    return new Wal(file, fd, capacity, sync, image);
  }

  // recover finds the current records given the last LSN LMDB holds (see the file comment), or
  // throws StorageCorruptError naming the file and the offset of the damage. Writing starts over
  // at HEADER_BYTES afterwards: the caller checkpoints what it replays before writing anything.
  recover(applied: number): WalRecovery {
    const buf = this.image;
    if (buf === null) return { records: [], lastLsn: applied, discarded: null };
    this.image = null;
    const limit = buf.length;
    const run: WalRecord[] = [];
    let off = HEADER_BYTES;
    let prev = -1;
    let ended: string | null = null;
    let torn: string | null = null;
    for (;;) {
      if (off + RECORD_HEADER_BYTES > limit || isZero(buf, off, off + RECORD_HEADER_BYTES)) break;
      const r = checkRecord(buf, off, limit);
      if (typeof r === 'string') {
        ended = `offset ${off}: ${r}`;
        // A record whose header was written (magic, and the LSN that was due) but not the rest is
        // a torn write; anything else here is what is left of records of an earlier pass.
        const due = prev >= 0 ? prev + 1 : applied + 1;
        if (off + RECORD_HEADER_BYTES <= limit && buf.readUInt32LE(off) === RECORD_MAGIC && buf.readDoubleLE(off + 8) === due) {
          torn = `LSN ${due} at ${ended}`;
        }
        break;
      }
      if (prev >= 0 && r.lsn !== prev + 1) {
        // A stale record of an earlier pass (smaller LSN) is a clean end; a larger LSN is a gap,
        // refused below as a valid record past the end.
        ended = `offset ${off}: the record there has LSN ${r.lsn}, after LSN ${prev}`;
        break;
      }
      run.push({ lsn: r.lsn, offset: off, body: buf.subarray(off + RECORD_HEADER_BYTES, off + RECORD_HEADER_BYTES + r.bodyBytes) });
      prev = r.lsn;
      off += r.bytes;
    }
    const lastLsn = Math.max(applied, prev);
    // Nothing written after the end may be newer than what the run holds.
    const end = off;
    let at = end;
    for (;;) {
      const cand = buf.indexOf(RECORD_MAGIC_BYTES, at);
      if (cand < 0) break;
      if ((cand & 7) !== 0) {
        at = cand + 1;
        continue;
      }
      const r = checkRecord(buf, cand, limit);
      if (typeof r === 'string') {
        at = cand + 4;
        continue;
      }
      if (r.lsn > lastLsn) {
        const what = ended ?? `offset ${end}: no record`;
        throw new StorageCorruptError(
          this.file,
          `damaged before its end: the records break off at ${what}, but a valid later record (LSN ${r.lsn}) follows at offset ${cand}; acknowledged writes would be lost`,
        );
      }
      at = cand + r.bytes;
    }
    const records = run.filter((r) => r.lsn > applied);
    if (records.length > 0 && records[0]!.lsn !== applied + 1) {
      throw new StorageCorruptError(
        this.file,
        `the records after LSN ${applied} (what LMDB holds) start at LSN ${records[0]!.lsn}, offset ${records[0]!.offset}: records are missing`,
      );
    }
    this.tailOffset = HEADER_BYTES;
    return { records, lastLsn, discarded: torn };
  }

  // The bytes of records written since the last reset.
  get usedBytes(): number {
    return this.tailOffset - HEADER_BYTES;
  }

  fits(bodyBytes: number): boolean {
    return this.tailOffset + walRecordBytes(bodyBytes) <= this.capacity;
  }

  // The largest body a record may have in this file, once it is reset.
  get bodyBytesMax(): number {
    return this.capacity - HEADER_BYTES - RECORD_HEADER_BYTES - CRC_BYTES - 8;
  }

  // newRecord returns a buffer for a record with a body of bodyBytes, to be filled from
  // RECORD_BODY_OFFSET on and passed to append.
  static newRecord(bodyBytes: number): Buffer {
    const bytes = walRecordBytes(bodyBytes);
    const buf = Buffer.allocUnsafe(bytes);
    buf.writeUInt32LE(RECORD_MAGIC, 0);
    buf.writeUInt32LE(bodyBytes, 4);
    buf.fill(0, RECORD_HEADER_BYTES + bodyBytes + CRC_BYTES);
    return buf;
  }

  // append seals the record with its LSN and checksum, writes it at the tail and, with sync,
  // fdatasyncs it: when it returns the record is durable. On an error the file may hold a part of
  // the record; the caller must stop using the log (a failed fdatasync cannot be retried safely).
  append(lsn: number, rec: Buffer): void {
    if (this.tailOffset + rec.length > this.capacity) throw new Error(`WAL record of ${rec.length} bytes does not fit at offset ${this.tailOffset}`);
    rec.writeDoubleLE(lsn, 8);
    const end = RECORD_HEADER_BYTES + rec.readUInt32LE(4);
    rec.writeUInt32LE(crc32(rec.subarray(0, end)), end);
    writeFully(this.fd, rec, this.tailOffset);
    if (this.sync) fs.fdatasyncSync(this.fd);
    this.tailOffset += rec.length;
  }

  // reset starts writing over at the beginning; called once LMDB durably holds every record.
  reset(): void {
    this.tailOffset = HEADER_BYTES;
  }

  close(): void {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }
}

export const RECORD_BODY_OFFSET = RECORD_HEADER_BYTES;
