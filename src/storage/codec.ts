// Binary records of the LMDB store, and the bodies of its write-ahead log records (wal.ts). Every
// LMDB record starts with a kind byte and ends with a CRC-32 of everything before it: LMDB has no
// checksums of its own, and a flipped bit in an entry must stop the node loudly rather than be
// replayed to a state machine (a WAL record's checksum covers its whole body). Numbers are float64
// little-endian, exact for the integers the core uses (terms, indices, ids and 53-bit digests).

import * as zlib from 'node:zlib';
import type { Approval, ConfState, Entry, EntryType, HardState, Snapshot, SnapshotMetadata } from '../core/types.js';

// Record kinds; a new layout of a record gets a new kind, never a reinterpretation of an old one.
export const enum RecordKind {
  Identity = 0xa0,
  HardState = 0xa1,
  CompactionPoint = 0xa2,
  SnapshotMeta = 0xa3,
  SnapshotData = 0xa4,
  WalApplied = 0xa5,
  Entry = 0xe1,
}

// STORE_FORMAT_VERSION is recorded in the identity record; a store of another version is refused.
// 2: the write-ahead log (wal.log) and the walApplied record.
export const STORE_FORMAT_VERSION = 2;

const CRC_BYTES = 4;

type Crc32 = (data: Uint8Array, value?: number) => number;

// zlib.crc32 is native from Node 20.15 on; the table version keeps older 20.x working.
export const crc32: Crc32 =
  typeof (zlib as { crc32?: Crc32 }).crc32 === 'function' ? (zlib as { crc32: Crc32 }).crc32 : tableCrc32();

function tableCrc32(): Crc32 {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return (data: Uint8Array, value = 0): number => {
    let c = (value ^ 0xffffffff) >>> 0;
    for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
}

// RecordError carries what is wrong with a record; the store turns it into a StorageCorruptError
// naming its path and the record's key.
export class RecordError extends Error {
  override name = 'RecordError';
}

function seal(buf: Buffer): Buffer {
  const end = buf.length - CRC_BYTES;
  buf.writeUInt32LE(crc32(buf.subarray(0, end)), end);
  return buf;
}

// open checks the kind, the minimum length and the checksum of a record and returns it as a Buffer.
function open(buf: Uint8Array, kind: RecordKind, minBytes: number, what: string): Buffer {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < minBytes + CRC_BYTES) throw new RecordError(`${what}: record too short (${b.length} bytes)`);
  if (b[0] !== kind) throw new RecordError(`${what}: unknown record kind 0x${b[0]!.toString(16)}`);
  const end = b.length - CRC_BYTES;
  const want = b.readUInt32LE(end);
  const got = crc32(b.subarray(0, end));
  if (want !== got) throw new RecordError(`${what}: checksum mismatch (stored ${want.toString(16)}, computed ${got.toString(16)})`);
  return b;
}

function checkInt(x: number, what: string): number {
  if (!Number.isSafeInteger(x) || x < 0) throw new RecordError(`${what}: bad number ${x}`);
  return x;
}

// --- entries ---------------------------------------------------------------------------------------
// kind u8 | type u8 | flags u8 (1: approval, 2: digest) | approval u8 | term f64 | index f64 |
// digest f64 | dataLength u32 | data | crc u32
const ENTRY_HEADER_BYTES = 32;
const FLAG_APPROVAL = 1;
const FLAG_DIGEST = 2;

export function entryRecordBytes(e: Entry): number {
  return ENTRY_HEADER_BYTES + e.data.length + CRC_BYTES;
}

// writeEntryAt writes the entry's header and data at `off` (no checksum) and returns the offset
// after it: the layout of an LMDB entry record, and of each entry in a WAL record.
function writeEntryAt(buf: Buffer, off: number, e: Entry): number {
  buf[off] = RecordKind.Entry;
  buf[off + 1] = e.type;
  buf[off + 2] = (e.approval !== undefined ? FLAG_APPROVAL : 0) | (e.digest !== undefined ? FLAG_DIGEST : 0);
  buf[off + 3] = e.approval ?? 0;
  buf.writeDoubleLE(e.term, off + 4);
  buf.writeDoubleLE(e.index, off + 12);
  buf.writeDoubleLE(e.digest ?? 0, off + 20);
  buf.writeUInt32LE(e.data.length, off + 28);
  buf.set(e.data, off + ENTRY_HEADER_BYTES);
  return off + ENTRY_HEADER_BYTES + e.data.length;
}

export function encodeEntry(e: Entry): Buffer {
  const buf = Buffer.allocUnsafe(ENTRY_HEADER_BYTES + e.data.length + CRC_BYTES);
  writeEntryAt(buf, 0, e);
  return seal(buf);
}

// checkEntryRecord verifies a stored entry without building it (the open-time scan of old entries)
// and returns its index.
export function checkEntryRecord(raw: Uint8Array, what: string): number {
  const b = open(raw, RecordKind.Entry, ENTRY_HEADER_BYTES, what);
  const len = b.readUInt32LE(28);
  if (ENTRY_HEADER_BYTES + len + CRC_BYTES !== b.length) throw new RecordError(`${what}: data length ${len} does not match record length ${b.length}`);
  return checkInt(b.readDoubleLE(12), `${what}: index`);
}

// readEntryAt builds the entry whose header is at `off`; its data is a view of `b`.
function readEntryAt(b: Buffer, off: number, len: number, what: string): Entry {
  if (b[off] !== RecordKind.Entry) throw new RecordError(`${what}: unknown record kind 0x${b[off]!.toString(16)}`);
  const flags = b[off + 2]!;
  const type = b[off + 1]!;
  const e: Entry = {
    term: checkInt(b.readDoubleLE(off + 4), `${what}: term`),
    index: checkInt(b.readDoubleLE(off + 12), `${what}: index`),
    type: type as EntryType,
    // A plain Uint8Array (not a Buffer) so that a round trip gives back what was stored.
    data: new Uint8Array(b.buffer, b.byteOffset + off + ENTRY_HEADER_BYTES, len),
  };
  if (type > 2) throw new RecordError(`${what}: unknown entry type ${type}`);
  if (flags & FLAG_APPROVAL) {
    if (b[off + 3]! > 2) throw new RecordError(`${what}: unknown approval ${b[off + 3]}`);
    e.approval = b[off + 3]! as Approval;
  }
  if (flags & FLAG_DIGEST) e.digest = checkInt(b.readDoubleLE(off + 20), `${what}: digest`);
  return e;
}

// decodeEntry builds the entry; its data is a view of `raw`, which the caller must not reuse.
export function decodeEntry(raw: Uint8Array, what: string): Entry {
  const b = open(raw, RecordKind.Entry, ENTRY_HEADER_BYTES, what);
  const len = b.readUInt32LE(28);
  if (ENTRY_HEADER_BYTES + len + CRC_BYTES !== b.length) throw new RecordError(`${what}: data length ${len} does not match record length ${b.length}`);
  return readEntryAt(b, 0, len, what);
}

// --- identity --------------------------------------------------------------------------------------
// kind u8 | format u32 | nodeId f64 | clusterId length u16 | clusterId utf-8 | crc u32

export interface Identity {
  formatVersion: number;
  clusterId: string;
  nodeId: number;
}

export function encodeIdentity(id: Identity): Buffer {
  const name = Buffer.from(id.clusterId, 'utf8');
  const buf = Buffer.allocUnsafe(1 + 4 + 8 + 2 + name.length + CRC_BYTES);
  buf[0] = RecordKind.Identity;
  buf.writeUInt32LE(id.formatVersion, 1);
  buf.writeDoubleLE(id.nodeId, 5);
  buf.writeUInt16LE(name.length, 13);
  name.copy(buf, 15);
  return seal(buf);
}

export function decodeIdentity(raw: Uint8Array, what: string): Identity {
  const b = open(raw, RecordKind.Identity, 15, what);
  const len = b.readUInt16LE(13);
  if (15 + len + CRC_BYTES !== b.length) throw new RecordError(`${what}: cluster id length ${len} does not match record length ${b.length}`);
  return {
    formatVersion: b.readUInt32LE(1),
    nodeId: checkInt(b.readDoubleLE(5), `${what}: node id`),
    clusterId: b.toString('utf8', 15, 15 + len),
  };
}

// --- hard state and compaction point ---------------------------------------------------------------

export function encodeHardState(hs: HardState): Buffer {
  const buf = Buffer.allocUnsafe(1 + 24 + CRC_BYTES);
  buf[0] = RecordKind.HardState;
  buf.writeDoubleLE(hs.term, 1);
  buf.writeDoubleLE(hs.vote, 9);
  buf.writeDoubleLE(hs.commit, 17);
  return seal(buf);
}

export function decodeHardState(raw: Uint8Array, what: string): HardState {
  const b = open(raw, RecordKind.HardState, 25, what);
  return {
    term: checkInt(b.readDoubleLE(1), `${what}: term`),
    vote: checkInt(b.readDoubleLE(9), `${what}: vote`),
    commit: checkInt(b.readDoubleLE(17), `${what}: commit`),
  };
}

// The compaction point is the (index, term) of the last entry folded away: etcd's dummy entry.
export interface CompactionPoint {
  index: number;
  term: number;
}

export function encodeCompactionPoint(p: CompactionPoint): Buffer {
  const buf = Buffer.allocUnsafe(1 + 16 + CRC_BYTES);
  buf[0] = RecordKind.CompactionPoint;
  buf.writeDoubleLE(p.index, 1);
  buf.writeDoubleLE(p.term, 9);
  return seal(buf);
}

export function decodeCompactionPoint(raw: Uint8Array, what: string): CompactionPoint {
  const b = open(raw, RecordKind.CompactionPoint, 17, what);
  return { index: checkInt(b.readDoubleLE(1), `${what}: index`), term: checkInt(b.readDoubleLE(9), `${what}: term`) };
}

// --- snapshot ----------------------------------------------------------------------------------------
// Metadata and data are two records so that reading the metadata (every open) does not copy the data.
// meta: kind u8 | index f64 | term f64 | autoLeave u8 | 4 x (count u32, ids f64...) | crc u32

function idsBytes(ids: readonly number[]): number {
  return 4 + 8 * ids.length;
}

export function encodeSnapshotMeta(m: SnapshotMetadata): Buffer {
  const cs = m.confState;
  const lists = [cs.voters, cs.learners, cs.votersOutgoing, cs.learnersNext];
  let size = 1 + 16 + 1 + CRC_BYTES;
  for (const l of lists) size += idsBytes(l);
  const buf = Buffer.allocUnsafe(size);
  buf[0] = RecordKind.SnapshotMeta;
  buf.writeDoubleLE(m.index, 1);
  buf.writeDoubleLE(m.term, 9);
  buf[17] = cs.autoLeave ? 1 : 0;
  let off = 18;
  for (const l of lists) {
    buf.writeUInt32LE(l.length, off);
    off += 4;
    for (const id of l) {
      buf.writeDoubleLE(id, off);
      off += 8;
    }
  }
  return seal(buf);
}

export function decodeSnapshotMeta(raw: Uint8Array, what: string): SnapshotMetadata {
  const b = open(raw, RecordKind.SnapshotMeta, 18, what);
  const end = b.length - CRC_BYTES;
  let off = 18;
  const readIds = (): number[] => {
    if (off + 4 > end) throw new RecordError(`${what}: conf state truncated`);
    const n = b.readUInt32LE(off);
    off += 4;
    if (off + 8 * n > end) throw new RecordError(`${what}: conf state list of ${n} ids overruns the record`);
    const ids: number[] = new Array<number>(n);
    for (let i = 0; i < n; i++, off += 8) ids[i] = checkInt(b.readDoubleLE(off), `${what}: node id`);
    return ids;
  };
  const confState: ConfState = {
    voters: readIds(),
    learners: readIds(),
    votersOutgoing: readIds(),
    learnersNext: readIds(),
    autoLeave: b[17] === 1,
  };
  if (off !== end) throw new RecordError(`${what}: ${end - off} trailing bytes`);
  return { confState, index: checkInt(b.readDoubleLE(1), `${what}: index`), term: checkInt(b.readDoubleLE(9), `${what}: term`) };
}

export function encodeSnapshotData(data: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(1 + data.length + CRC_BYTES);
  buf[0] = RecordKind.SnapshotData;
  buf.set(data, 1);
  return seal(buf);
}

export function decodeSnapshotData(raw: Uint8Array, what: string): Uint8Array {
  const b = open(raw, RecordKind.SnapshotData, 1, what);
  return new Uint8Array(b.buffer, b.byteOffset + 1, b.length - 1 - CRC_BYTES);
}

// --- WAL applied point -------------------------------------------------------------------------------
// The last WAL record (LSN) whose effects LMDB holds, written in every checkpoint transaction.
// kind u8 | lsn f64 | crc u32

export function encodeWalApplied(lsn: number): Buffer {
  const buf = Buffer.allocUnsafe(1 + 8 + CRC_BYTES);
  buf[0] = RecordKind.WalApplied;
  buf.writeDoubleLE(lsn, 1);
  return seal(buf);
}

export function decodeWalApplied(raw: Uint8Array, what: string): number {
  const b = open(raw, RecordKind.WalApplied, 9, what);
  return checkInt(b.readDoubleLE(1), `${what}: lsn`);
}

// --- WAL record bodies --------------------------------------------------------------------------------
// One body per mutation of the store, holding what the mutation writes (so that replaying it needs
// nothing else):
//   ready     op u8 = 1 | flags u8 (1 snapshot, 2 entries, 4 hard state) | pad u16 | entry count u32 |
//             [hard state: term, vote, commit f64] |
//             [snapshot: metadata length u32 | metadata record | data length u32 | data] |
//             entries, each laid out as an LMDB entry record without its checksum
//   snapshot  op u8 = 2 | pad u8 x3 | metadata length u32 | metadata record | data length u32 | data
//             (createSnapshot: the log is kept)
//   compact   op u8 = 3 | pad u8 x7 | index f64 | term f64

export const enum WalOpKind {
  Ready = 1,
  Snapshot = 2,
  Compact = 3,
}

export type WalOp =
  // entries[start..] are written (none when start >= entries.length).
  | { k: WalOpKind.Ready; snapshot: Snapshot | null; entries: readonly Entry[]; start: number; hardState: HardState | null }
  | { k: WalOpKind.Snapshot; snapshot: Snapshot }
  | { k: WalOpKind.Compact; point: CompactionPoint };

const READY_FLAG_SNAPSHOT = 1;
const READY_FLAG_ENTRIES = 2;
const READY_FLAG_HARD_STATE = 4;

// An encoded op: its size first, so that the record buffer is allocated once.
export interface WalOpEncoder {
  bytes: number;
  write(buf: Buffer, off: number): void;
}

function snapshotBytes(meta: Buffer, data: Uint8Array): number {
  return 4 + meta.length + 4 + data.length;
}

function writeSnapshotAt(buf: Buffer, off: number, meta: Buffer, data: Uint8Array): number {
  buf.writeUInt32LE(meta.length, off);
  meta.copy(buf, off + 4);
  off += 4 + meta.length;
  buf.writeUInt32LE(data.length, off);
  buf.set(data, off + 4);
  return off + 4 + data.length;
}

// walOpEncoder measures the op and returns how to write it. It reads every field it will write,
// so a malformed op (an entry whose data is not bytes) throws here, before anything is written.
export function walOpEncoder(op: WalOp): WalOpEncoder {
  switch (op.k) {
    case WalOpKind.Ready: {
      let bytes = 8;
      let flags = 0;
      if (op.hardState !== null) {
        flags |= READY_FLAG_HARD_STATE;
        bytes += 24;
      }
      let meta: Buffer | null = null;
      if (op.snapshot !== null) {
        flags |= READY_FLAG_SNAPSHOT;
        meta = encodeSnapshotMeta(op.snapshot.metadata);
        bytes += snapshotBytes(meta, op.snapshot.data);
      }
      const count = Math.max(0, op.entries.length - op.start);
      if (count > 0) flags |= READY_FLAG_ENTRIES;
      for (let k = op.start; k < op.entries.length; k++) {
        const e = op.entries[k]!;
        if (!(e.data instanceof Uint8Array)) throw new TypeError(`entry ${e.index}: data is not a Uint8Array`);
        bytes += ENTRY_HEADER_BYTES + e.data.length;
      }
      return {
        bytes,
        write(buf: Buffer, off: number): void {
          buf[off] = WalOpKind.Ready;
          buf[off + 1] = flags;
          buf.writeUInt16LE(0, off + 2);
          buf.writeUInt32LE(count, off + 4);
          off += 8;
          if (op.hardState !== null) {
            buf.writeDoubleLE(op.hardState.term, off);
            buf.writeDoubleLE(op.hardState.vote, off + 8);
            buf.writeDoubleLE(op.hardState.commit, off + 16);
            off += 24;
          }
          if (meta !== null) off = writeSnapshotAt(buf, off, meta, op.snapshot!.data);
          for (let k = op.start; k < op.entries.length; k++) off = writeEntryAt(buf, off, op.entries[k]!);
        },
      };
    }
    case WalOpKind.Snapshot: {
      const meta = encodeSnapshotMeta(op.snapshot.metadata);
      return {
        bytes: 4 + snapshotBytes(meta, op.snapshot.data),
        write(buf: Buffer, off: number): void {
          buf.writeUInt32LE(WalOpKind.Snapshot, off);
          writeSnapshotAt(buf, off + 4, meta, op.snapshot.data);
        },
      };
    }
    case WalOpKind.Compact:
      return {
        bytes: 24,
        write(buf: Buffer, off: number): void {
          buf.writeDoubleLE(0, off);
          buf[off] = WalOpKind.Compact;
          buf.writeDoubleLE(op.point.index, off + 8);
          buf.writeDoubleLE(op.point.term, off + 16);
        },
      };
    default: {
      const never: never = op;
      throw new Error(`unknown WAL op ${JSON.stringify(never)}`);
    }
  }
}

// decodeWalOp reads a record body back. Entry data and snapshot data are copied out of `b` (the
// image of the whole log, which is not to be kept alive by them).
export function decodeWalOp(b: Buffer, what: string): WalOp {
  const end = b.length;
  let off = 0;
  const need = (n: number, of: string): void => {
    if (off + n > end) throw new RecordError(`${what}: ${of} overruns the record (${end} bytes)`);
  };
  const readSnapshot = (): Snapshot => {
    need(4, 'snapshot metadata length');
    const metaLen = b.readUInt32LE(off);
    off += 4;
    need(metaLen, 'snapshot metadata');
    const metadata = decodeSnapshotMeta(b.subarray(off, off + metaLen), `${what}: snapshot metadata`);
    off += metaLen;
    need(4, 'snapshot data length');
    const dataLen = b.readUInt32LE(off);
    off += 4;
    need(dataLen, 'snapshot data');
    const data = new Uint8Array(dataLen);
    data.set(b.subarray(off, off + dataLen));
    off += dataLen;
    return { data, metadata };
  };
  need(1, 'op');
  const kind = b[0]!;
  let op: WalOp;
  switch (kind) {
    case WalOpKind.Ready: {
      need(8, 'header');
      const flags = b[1]!;
      if ((flags & ~(READY_FLAG_SNAPSHOT | READY_FLAG_ENTRIES | READY_FLAG_HARD_STATE)) !== 0) throw new RecordError(`${what}: unknown flags 0x${flags.toString(16)}`);
      const count = b.readUInt32LE(4);
      if ((count > 0) !== ((flags & READY_FLAG_ENTRIES) !== 0)) throw new RecordError(`${what}: entry count ${count} disagrees with the flags`);
      off = 8;
      let hardState: HardState | null = null;
      if (flags & READY_FLAG_HARD_STATE) {
        need(24, 'hard state');
        hardState = {
          term: checkInt(b.readDoubleLE(off), `${what}: hard state term`),
          vote: checkInt(b.readDoubleLE(off + 8), `${what}: hard state vote`),
          commit: checkInt(b.readDoubleLE(off + 16), `${what}: hard state commit`),
        };
        off += 24;
      }
      const snapshot = flags & READY_FLAG_SNAPSHOT ? readSnapshot() : null;
      // Copy the entries' bytes once, and view each entry's data in the copy.
      const copy = Buffer.from(b.subarray(off));
      const base = off;
      const entries: Entry[] = [];
      for (let k = 0; k < count; k++) {
        need(ENTRY_HEADER_BYTES, `entry ${k}`);
        const len = b.readUInt32LE(off + 28);
        need(ENTRY_HEADER_BYTES + len, `entry ${k}`);
        const e = readEntryAt(copy, off - base, len, `${what}: entry ${k}`);
        if (k > 0 && e.index !== entries[k - 1]!.index + 1) throw new RecordError(`${what}: entries are not consecutive (${entries[k - 1]!.index} then ${e.index})`);
        entries.push(e);
        off += ENTRY_HEADER_BYTES + len;
      }
      op = { k: WalOpKind.Ready, snapshot, entries, start: 0, hardState };
      break;
    }
    case WalOpKind.Snapshot:
      off = 4;
      op = { k: WalOpKind.Snapshot, snapshot: readSnapshot() };
      break;
    case WalOpKind.Compact:
      off = 8;
      need(16, 'compaction point');
      op = { k: WalOpKind.Compact, point: { index: checkInt(b.readDoubleLE(8), `${what}: index`), term: checkInt(b.readDoubleLE(16), `${what}: term`) } };
      off = 24;
      break;
    default:
      throw new RecordError(`${what}: unknown op ${kind}`);
  }
  if (off !== end) throw new RecordError(`${what}: ${end - off} trailing bytes`);
  return op;
}
