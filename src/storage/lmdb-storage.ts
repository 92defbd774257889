// LmdbStorage: the core's Storage on a write-ahead log in front of an LMDB environment (lmdb-js),
// one store per node, the way etcd puts its WAL in front of bbolt.
//
// What LMDB holds, in the environment's main database (no named databases: a commit then rewrites
// one B-tree path instead of three, since a named database's root lives in the main one):
//   number keys  index -> entry record (term, index, type, data, Fast Raft approval and digest);
//                numbers sort before strings, so the log is one contiguous key range
//   string keys  identity (format, cluster id, node id), hard state, compaction point (etcd's
//                dummy entry), snapshot metadata (with the configuration, ConfState), snapshot data,
//                and walApplied: the last write-ahead log record whose effects LMDB holds
// Every record carries a CRC-32 (codec.ts): LMDB checks none.
//
// Durability: one flush per mutation (but a Ready that only moves the commit index may skip it:
// saveReady's commitMayLag, etcd's MustSync rule). Every mutator (saveReady, append, setHardState,
// applySnapshot, createSnapshot, compact) is one write-ahead log record (wal.ts) that holds all it
// writes: a Ready's snapshot, its entries with the truncation of the conflicting suffix they
// replace (an overwrite at a decided index is the same), its hard state; a compaction point; a
// snapshot. The record carries a checksum and is written into a preallocated file and fdatasync'ed:
// that one flush is the durability point, and all or nothing of the record counts after a crash
// (a record cut short is discarded at the next open, and it was never acknowledged). When a mutator
// returns, what it wrote survives a crash of the process or of the machine, so a node may send
// the messages of the Ready it saved (DESIGN.md, "The Ready loop"). Its effects are then in memory
// only: the newest entries (the cache below) and the hard state, snapshot and compaction point.
//
// Checkpoints put them into LMDB: one LMDB write transaction with everything written since the last
// checkpoint (net: entries put, entries of truncated suffixes and compacted prefixes removed, the
// other records replaced) and walApplied, committed durably (transactionSync with overlappingSync:
// false: data pages fdatasync'ed, then the meta page written through an O_DSYNC descriptor); after
// it the log starts over at the beginning of its file. A checkpoint runs when the log holds
// walCheckpointBytes, or checkpointEntries entries LMDB lacks, or more than the cache may hold, or
// a record would not fit, and on close; a record larger than walCheckpointBytes (a big snapshot)
// skips the log and is a checkpoint of its own. Between checkpoints LMDB is not written at all. The
// other way to run a log in front of LMDB, committing each mutation to LMDB without a flush
// (MDB_NOSYNC) and syncing at checkpoints, was not taken: LMDB then reuses the pages of the last
// durable tree and overwrites its meta pages before they are durable again, so a machine crash can
// leave a data file no log can repair (LMDB's documentation of MDB_NOSYNC says as much), and it
// costs an LMDB transaction per Ready besides. bench/storage measures both against the raw floor
// (64-byte pwrite + fdatasync) in one run; on a quiet disk (floor p50 167 us): a single append p50
// 160 us, 0.96x the floor (the previous path, one durable LMDB transaction per Ready: 2.17x; the
// log plus an unsynced LMDB transaction: 1.4x), batches of 64 127,724 entries/s with checkpoints
// counted (previous path 71,739). On a busy disk (floor 3.3 ms) the ratios hold (0.98x, 1.85x) and
// batches are bound by the floor.
//
// Opening verifies LMDB (data file, every record's checksum, a log without holes), then reads the
// log: records after walApplied are applied again, in order, and checkpointed. A torn last record
// is discarded; damage before the end (a record that fails its checks followed by a valid newer
// one, a gap in the sequence numbers, a log file shorter than it was made) is refused.
// `sync: false` skips every flush (the log's fdatasync and LMDB's, MDB_NOSYNC): a killed process
// loses nothing (the page cache survives it) but a machine crash may, and may leave the store
// damaged; it is for experiments that want to leave the disk out, and `durability` says which one
// a store runs with.
//
// Reads. The core reads recent entries and terms all the time (appends to followers, term checks),
// so the newest entries stay in memory, bounded by count and bytes; older ones are read from LMDB
// and checked. Entries written since the last checkpoint are always in the cache (a checkpoint
// runs before the bounds would push them out), so a read that reaches LMDB finds what the log held
// at the checkpoint, unchanged since. Memory is changed only after the record that changes it is
// durable: a mutation refused before its record is written (a malformed entry, a hole) changes
// nothing. A failure in the durable path itself (a log write or fdatasync that fails, which cannot
// be retried safely, or a checkpoint that fails) leaves the store unusable until it is reopened,
// which replays the log.
//
// Opening refuses, with a StorageCorruptError naming the path and the problem, a store whose files
// are damaged or truncated, whose records fail their checksums, whose log has holes, or whose data
// file or write-ahead log disappeared from a folder that held a store: it never resets or recreates
// one. A folder that does not exist is created; one that cannot be written, or that belongs to
// another cluster or node, is a StorageOpenError.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { open as lmdbOpen, type RootDatabase } from 'lmdb';
import type { InitialState, Storage } from '../core/storage.js';
import {
  emptyConfState,
  emptyHardState,
  entrySizeBytes,
  hardStateEqual,
  isEmptyHardState,
  type ConfState,
  type Entry,
  type HardState,
  type Snapshot,
  type SnapshotMetadata,
} from '../core/types.js';
import { ErrCompacted, ErrSnapOutOfDate, ErrUnavailable } from '../core/errors.js';
import {
  STORE_FORMAT_VERSION,
  RecordError,
  WalOpKind,
  checkEntryRecord,
  decodeCompactionPoint,
  decodeEntry,
  decodeHardState,
  decodeIdentity,
  decodeSnapshotData,
  decodeSnapshotMeta,
  decodeWalApplied,
  decodeWalOp,
  encodeCompactionPoint,
  encodeEntry,
  encodeHardState,
  encodeIdentity,
  encodeSnapshotData,
  encodeSnapshotMeta,
  encodeWalApplied,
  walOpEncoder,
  type CompactionPoint,
  type WalOp,
} from './codec.js';
import { StorageCorruptError, StorageError, StorageOpenError } from './errors.js';
import { checkLmdbDataFile } from './lmdb-file.js';
import { HEADER_BYTES as WAL_HEADER_BYTES, RECORD_BODY_OFFSET, Wal } from './wal.js';

// Moments a store reports to opts.trace (the crash test prints them, to tell where a kill landed).
export type StorageTraceEvent = 'wal-write' | 'wal-written' | 'checkpoint' | 'checkpointed';

export interface LmdbStorageOptions {
  // dir is the node's own folder (see storageDirFor); created if missing.
  dir: string;
  // The cluster and node the store belongs to: recorded at creation, checked at every open.
  clusterId: string;
  nodeId: number;
  // sync: false skips the flushes (no durability against a machine crash). Default true.
  sync?: boolean;
  // Bounds of the in-memory cache of the newest entries.
  cacheEntriesMax?: number;
  cacheBytesMax?: number;
  // mapSizeBytes: address space LMDB maps; the file grows only as data is written.
  mapSizeBytes?: number;
  // Checkpoint when the write-ahead log holds this many bytes (default 1 MiB); a record larger than
  // this goes to LMDB directly. The log's file is made twice this size (plus a header page) when
  // the store is created, and keeps that size.
  walCheckpointBytes?: number;
  // Checkpoint when this many entries are not in LMDB yet (default 2048).
  checkpointEntries?: number;
  // Called at the moments named by StorageTraceEvent; for tests and instrumentation.
  trace?: (event: StorageTraceEvent) => void;
}

// What a results manifest records about the store a run used.
export interface StorageDescription {
  engine: 'lmdb';
  path: string;
  durability: 'fsync' | 'none';
  lmdbVersion: string;
  // The durable path: a preallocated write-ahead log, one fdatasync per mutation, checkpointed
  // into LMDB.
  wal: { file: string; capacityBytes: number; checkpointBytes: number; checkpointEntries: number };
}

// What the last open found in the write-ahead log.
export interface StorageRecovery {
  // Records applied again (they were durable, LMDB did not hold them yet).
  replayedRecords: number;
  // A torn last record that was discarded ("LSN n at offset N: problem"), or null.
  discardedTail: string | null;
}

export const DATA_FILE = 'data.mdb';
export const LOCK_FILE = 'lock.mdb';
export const WAL_FILE = 'wal.log';
// MARKER_FILE says "this folder holds a store" outside LMDB, so that a data file that went missing
// is noticed instead of being recreated empty.
export const MARKER_FILE = 'frb-store.json';

// The log's keys: every number key (the records' keys are strings, which sort after numbers). A
// fresh object each time: lmdb-js keeps state in the options object of a range.
function logRange(): { start: number; end: number } {
  return { start: 0, end: Number.MAX_SAFE_INTEGER };
}

const KEY_IDENTITY = 'identity';
const KEY_HARD_STATE = 'hardState';
const KEY_COMPACTION = 'compaction';
const KEY_SNAPSHOT_META = 'snapshotMeta';
const KEY_SNAPSHOT_DATA = 'snapshotData';
const KEY_WAL_APPLIED = 'walApplied';

const CACHE_ENTRIES_MAX_DEFAULT = 16_384;
const CACHE_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
const MAP_SIZE_BYTES_DEFAULT = 64 * 1024 * 1024 * 1024;
// A checkpoint of 2048 small entries is one LMDB transaction of a few milliseconds (about 3 us an
// entry, most of it spent whatever the batching); larger ones save little and make the Ready that
// runs them wait longer.
const WAL_CHECKPOINT_BYTES_DEFAULT = 1 << 20;
const CHECKPOINT_ENTRIES_DEFAULT = 2048;

// storageDirFor names a node's folder after its configuration: one environment per node.
export function storageDirFor(root: string, clusterId: string, nodeId: number): string {
  if (!/^[A-Za-z0-9._-]+$/.test(clusterId)) throw new Error(`cluster id "${clusterId}" is not usable in a folder name`);
  return path.join(root, `${clusterId}-node-${nodeId}`);
}

// Folders open in this process: lmdb-js would hand a second open the same environment, and two
// stores writing one log would each believe they own it.
const openDirs = new Set<string>();

function errCode(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? (e instanceof Error ? e.message : String(err));
}

interface Marker {
  format: number;
  clusterId: string;
  nodeId: number;
}

function writeFileDurably(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, text);
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
}

export class LmdbStorage implements Storage {
  readonly path: string;
  readonly clusterId: string;
  readonly nodeId: number;
  readonly sync: boolean;

  private readonly env: RootDatabase<Buffer, number | string>;
  // Two typed views of the one main database: the log's number keys and the records' string keys.
  private readonly log: RootDatabase<Buffer, number>;
  private readonly meta: RootDatabase<Buffer, string>;
  private closed = false;
  // Set when a write failed after its record was durable or its memory changed: the store must be
  // reopened (which replays the log).
  private failed: string | null = null;

  // The state as the mutators left it (durable in the log, LMDB or both).
  private hardState: HardState;
  private compacted: CompactionPoint;
  private last: number;
  private snapMeta: SnapshotMetadata;
  private snapData: Uint8Array | null = null; // loaded on first snapshot()
  private snap: Snapshot | null = null;

  // cache[cacheHead + k] is the entry at index cacheStart + k; the cache is always a suffix of the
  // log ending at `last` (empty when cacheStart === last + 1).
  private cache: Entry[] = [];
  private cacheHead = 0;
  private cacheStart: number;
  private cacheBytes = 0;
  private readonly cacheEntriesMax: number;
  private readonly cacheBytesMax: number;

  // The write-ahead log and what LMDB holds of it. LMDB holds the state as of the last checkpoint:
  // its log is [lmdbCompacted + 1, lmdbLast]; of the entries in memory, those from dirtyFrom on
  // (Infinity: none) were written since, and the flags say which other records changed.
  private wal: Wal | null = null;
  private readonly walPath: string;
  private readonly walCheckpointBytes: number;
  private readonly checkpointEntries: number;
  private readonly trace: ((event: StorageTraceEvent) => void) | undefined;
  private nextLsn = 1;
  private walApplied = 0;
  private lmdbCompacted = 0;
  private lmdbLast = 0;
  private dirty = false;
  private dirtyFrom = Infinity;
  private hardStateDirty = false;
  // The hard state in memory has a commit index the log and LMDB lack (saveReady, commitMayLag).
  private commitLagging = false;
  // The commit index a crash now would leave (what the log or LMDB holds).
  private durableCommit = 0;
  private compactionDirty = false;
  private snapshotDirty = false;

  // Counters for tests and benchmarks: durable mutations (each one transaction: a log record or a
  // checkpoint of its own), log records, checkpoints, reads that missed the cache, commit-only
  // hard states kept in memory (saveReady with commitMayLag).
  readonly stats = { transactions: 0, walRecords: 0, checkpoints: 0, cacheMisses: 0, lazyCommits: 0 };
  recovery: StorageRecovery = { replayedRecords: 0, discardedTail: null };

  private constructor(
    opts: Required<Pick<LmdbStorageOptions, 'clusterId' | 'nodeId' | 'sync' | 'cacheEntriesMax' | 'cacheBytesMax' | 'walCheckpointBytes' | 'checkpointEntries'>> & {
      path: string;
      trace: ((event: StorageTraceEvent) => void) | undefined;
    },
    env: RootDatabase<Buffer, number | string>,
  ) {
    this.path = opts.path;
    this.clusterId = opts.clusterId;
    this.nodeId = opts.nodeId;
    this.sync = opts.sync;
    this.cacheEntriesMax = opts.cacheEntriesMax;
    this.cacheBytesMax = opts.cacheBytesMax;
    this.walPath = path.join(opts.path, WAL_FILE);
    this.walCheckpointBytes = opts.walCheckpointBytes;
    this.checkpointEntries = opts.checkpointEntries;
    this.trace = opts.trace;
    this.env = env;
    this.log = env as unknown as RootDatabase<Buffer, number>;
    this.meta = env as unknown as RootDatabase<Buffer, string>;
    this.hardState = emptyHardState();
    this.compacted = { index: 0, term: 0 };
    this.last = 0;
    this.cacheStart = 1;
    this.snapMeta = { confState: emptyConfState(), index: 0, term: 0 };
  }

  // open opens (or creates) the store in opts.dir. See the file comment for what it refuses.
  static open(opts: LmdbStorageOptions): LmdbStorage {
    if (typeof opts.clusterId !== 'string' || opts.clusterId.length === 0 || Buffer.byteLength(opts.clusterId) > 0xffff) {
      throw new Error('LmdbStorage.open: clusterId must be a non-empty string');
    }
    if (!Number.isSafeInteger(opts.nodeId) || opts.nodeId <= 0) throw new Error('LmdbStorage.open: nodeId must be a positive integer');
    const walCheckpointBytes = opts.walCheckpointBytes ?? WAL_CHECKPOINT_BYTES_DEFAULT;
    if (!Number.isSafeInteger(walCheckpointBytes) || walCheckpointBytes < 4096) throw new Error('LmdbStorage.open: walCheckpointBytes must be an integer of at least 4096');
    const checkpointEntries = opts.checkpointEntries ?? CHECKPOINT_ENTRIES_DEFAULT;
    if (!Number.isSafeInteger(checkpointEntries) || checkpointEntries < 1) throw new Error('LmdbStorage.open: checkpointEntries must be a positive integer');
    const dir = path.resolve(opts.dir);
    prepareDir(dir);
    const real = fs.realpathSync(dir);
    if (openDirs.has(real)) throw new StorageOpenError(dir, 'already open in this process');

    const dataPath = path.join(dir, DATA_FILE);
    const markerPath = path.join(dir, MARKER_FILE);
    const marker = readMarker(markerPath);
    const dataExists = fs.existsSync(dataPath);
    if (!dataExists && marker !== null) {
      throw new StorageCorruptError(dataPath, `missing, but ${MARKER_FILE} says this folder holds the store of cluster ${marker.clusterId} node ${marker.nodeId}`);
    }
    if (dataExists) checkLmdbDataFile(dataPath);

    const sync = opts.sync ?? true;
    let env: RootDatabase<Buffer, number | string>;
    try {
      env = lmdbOpen<Buffer, number | string>({
        path: dir,
        encoding: 'binary',
        mapSize: opts.mapSizeBytes ?? MAP_SIZE_BYTES_DEFAULT,
        // Checkpoints commit synchronously and durably (see the file comment); overlappingSync
        // would return before the flush and needs `flushed` awaited.
        overlappingSync: false,
        noSync: !sync,
        // Pages are filled before they are written; zeroing them first buys nothing here.
        noMemInit: true,
        cache: false,
      });
    } catch (err) {
      throw lmdbError(dataPath, 'cannot open the LMDB environment', err);
    }
    let store: LmdbStorage | undefined;
    try {
      store = new LmdbStorage(
        {
          path: dir,
          clusterId: opts.clusterId,
          nodeId: opts.nodeId,
          sync,
          cacheEntriesMax: opts.cacheEntriesMax ?? CACHE_ENTRIES_MAX_DEFAULT,
          cacheBytesMax: opts.cacheBytesMax ?? CACHE_BYTES_MAX_DEFAULT,
          walCheckpointBytes,
          checkpointEntries,
          trace: opts.trace,
        },
        env,
      );
      store.load(marker, markerPath);
    } catch (err) {
      store?.wal?.close();
      void env.close();
      if (err instanceof StorageError) throw err;
      throw lmdbError(dataPath, 'cannot read the store', err);
    }
    openDirs.add(real);
    return store;
  }

  // load checks the identity, reads the state into memory, verifies every record of the log and
  // replays the write-ahead log.
  private load(marker: Marker | null, markerPath: string): void {
    const identity = { clusterId: this.clusterId, nodeId: this.nodeId };
    const idRaw = this.meta.getBinary(KEY_IDENTITY);
    if (idRaw === undefined) {
      if (marker !== null) this.corrupt(`the identity record is missing but ${MARKER_FILE} exists`);
      if (this.env.getKeysCount({ limit: 1 }) > 0) {
        this.corrupt('the identity record is missing from a store that holds records');
      }
      // A new store, or one whose creation was interrupted before it was ever used (its log, if
      // any, holds nothing: records are written only once the identity is).
      this.wal = Wal.create(this.walPath, walCapacityFor(this.walCheckpointBytes), identity, this.sync);
      this.lmdbTxn(() => {
        this.meta.put(KEY_IDENTITY, encodeIdentity({ formatVersion: STORE_FORMAT_VERSION, clusterId: this.clusterId, nodeId: this.nodeId }));
        this.meta.put(KEY_HARD_STATE, encodeHardState(this.hardState));
        this.meta.put(KEY_COMPACTION, encodeCompactionPoint(this.compacted));
        this.meta.put(KEY_SNAPSHOT_META, encodeSnapshotMeta(this.snapMeta));
        this.meta.put(KEY_SNAPSHOT_DATA, encodeSnapshotData(new Uint8Array(0)));
        this.meta.put(KEY_WAL_APPLIED, encodeWalApplied(0));
      });
      writeFileDurably(markerPath, JSON.stringify({ format: STORE_FORMAT_VERSION, clusterId: this.clusterId, nodeId: this.nodeId }) + '\n');
      return;
    }
    const id = this.decode(() => decodeIdentity(idRaw, KEY_IDENTITY));
    if (id.formatVersion !== STORE_FORMAT_VERSION) {
      throw new StorageOpenError(this.path, `store format version ${id.formatVersion}, this code reads ${STORE_FORMAT_VERSION}`);
    }
    if (id.clusterId !== this.clusterId || id.nodeId !== this.nodeId) {
      throw new StorageOpenError(this.path, `belongs to cluster ${id.clusterId} node ${id.nodeId}, not cluster ${this.clusterId} node ${this.nodeId}`);
    }
    if (marker !== null && (marker.clusterId !== id.clusterId || marker.nodeId !== id.nodeId)) {
      this.corrupt(`${MARKER_FILE} (cluster ${marker.clusterId} node ${marker.nodeId}) disagrees with the identity record`);
    }
    this.hardState = this.decode(() => decodeHardState(this.required(KEY_HARD_STATE), KEY_HARD_STATE));
    this.durableCommit = this.hardState.commit;
    this.compacted = this.decode(() => decodeCompactionPoint(this.required(KEY_COMPACTION), KEY_COMPACTION));
    this.snapMeta = this.decode(() => decodeSnapshotMeta(this.required(KEY_SNAPSHOT_META), KEY_SNAPSHOT_META));
    if (this.meta.getBinary(KEY_SNAPSHOT_DATA) === undefined) this.corrupt(`the ${KEY_SNAPSHOT_DATA} record is missing`);
    this.walApplied = this.decode(() => decodeWalApplied(this.required(KEY_WAL_APPLIED), KEY_WAL_APPLIED));
    this.scanLog();
    this.lmdbCompacted = this.compacted.index;
    this.lmdbLast = this.last;

    // The write-ahead log: what was durable but not in LMDB yet is applied again.
    this.wal = Wal.open(this.walPath, identity, this.sync);
    const found = this.wal.recover(this.walApplied);
    for (const r of found.records) {
      const where = `record at offset ${r.offset} (LSN ${r.lsn})`;
      let op: WalOp;
      try {
        op = decodeWalOp(r.body, where);
      } catch (err) {
        if (err instanceof RecordError) this.corruptWal(err.message);
        throw err;
      }
      this.replay(op, where);
    }
    this.nextLsn = found.lastLsn + 1;
    this.recovery = { replayedRecords: found.records.length, discardedTail: found.discarded };

    // Raft never truncates a committed entry and saveReady writes entries and hard state together,
    // so a commit index past the log means lost entries.
    if (this.hardState.commit > this.last) {
      this.corrupt(`the hard state's commit index ${this.hardState.commit} is past the last entry ${this.last}`);
    }
    if (marker === null) {
      writeFileDurably(markerPath, JSON.stringify({ format: STORE_FORMAT_VERSION, clusterId: this.clusterId, nodeId: this.nodeId }) + '\n');
    }
    this.checkpoint();
  }

  // scanLog walks the whole log once: keys contiguous from the compaction point, every record's
  // checksum and index; the newest entries are decoded into the cache.
  private scanLog(): void {
    let expect = this.compacted.index + 1;
    const total = this.log.getKeysCount(logRange());
    const decodeFrom = this.compacted.index + 1 + Math.max(0, total - this.cacheEntriesMax);
    const cached: Entry[] = [];
    let bytes = 0;
    for (const { key, value } of this.log.getRange(logRange())) {
      if (typeof key !== 'number' || key !== expect) {
        this.corrupt(key === undefined || typeof key !== 'number' ? `log key ${String(key)} is not an index` : `the log has a hole: index ${key} follows ${expect - 1}`);
      }
      const what = `entry ${key}`;
      let index: number;
      if (key >= decodeFrom) {
        const e = this.decode(() => decodeEntry(value, what));
        index = e.index;
        cached.push(e);
        bytes += e.data.length;
      } else {
        index = this.decode(() => checkEntryRecord(value, what));
      }
      if (index !== key) this.corrupt(`${what}: record holds index ${index}`);
      expect++;
    }
    this.last = expect - 1;
    this.cache = cached;
    this.cacheHead = 0;
    this.cacheStart = this.last + 1 - cached.length;
    this.cacheBytes = bytes;
    this.evict();
  }

  // replay applies a log record found at open, after checking that it follows from the state (a
  // record that does not is damage the checksums could not see).
  private replay(op: WalOp, where: string): void {
    const bad = (problem: string): never => this.corruptWal(`${where} does not apply to the store: ${problem}`);
    switch (op.k) {
      case WalOpKind.Ready: {
        const snap = op.snapshot;
        if (snap !== null && snap.metadata.index <= this.snapMeta.index) bad(`it installs snapshot ${snap.metadata.index}, not newer than the one held (${this.snapMeta.index})`);
        const base = snap !== null ? { first: snap.metadata.index + 1, last: snap.metadata.index } : null;
        let start: number;
        try {
          start = this.planAppend(op.entries, base);
        } catch (err) {
          return bad(err instanceof Error ? err.message : String(err));
        }
        this.applyOp({ ...op, start: start < 0 ? op.entries.length : start });
        return;
      }
      case WalOpKind.Snapshot: {
        const m = op.snapshot.metadata;
        if (m.index <= this.snapMeta.index || m.index > this.last || m.index < this.compacted.index || this.term(m.index) !== m.term) {
          bad(`snapshot ${m.index} (term ${m.term}): the log is [${this.compacted.index + 1}, ${this.last}] and the snapshot held is ${this.snapMeta.index}`);
        }
        this.applyOp(op);
        return;
      }
      case WalOpKind.Compact: {
        const p = op.point;
        if (p.index <= this.compacted.index || p.index > this.last || this.term(p.index) !== p.term) {
          bad(`compaction to ${p.index} (term ${p.term}): the log is [${this.compacted.index + 1}, ${this.last}]`);
        }
        this.applyOp(op);
        return;
      }
      default: {
        const never: never = op;
        throw new Error(`unknown op ${JSON.stringify(never)}`);
      }
    }
  }

  private required(key: string): Buffer {
    const raw = this.meta.getBinary(key);
    if (raw === undefined) this.corrupt(`the ${key} record is missing`);
    return raw;
  }

  private decode<T>(f: () => T): T {
    try {
      return f();
    } catch (err) {
      if (err instanceof RecordError) this.corrupt(err.message);
      throw err;
    }
  }

  private corrupt(problem: string): never {
    throw new StorageCorruptError(path.join(this.path, DATA_FILE), problem);
  }

  private corruptWal(problem: string): never {
    throw new StorageCorruptError(this.walPath, problem);
  }

  // lmdbTxn runs fn in one LMDB write transaction and returns once it is committed (and, with
  // sync, flushed).
  private lmdbTxn(fn: () => void): void {
    try {
      // The callback must return undefined: lmdb-js keeps a transaction open, and commits it
      // later, when its callback returns a promise (and put() returns one).
      this.env.transactionSync(() => {
        fn();
      });
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw lmdbError(path.join(this.path, DATA_FILE), 'write transaction failed', err);
    }
  }

  private checkUsable(): void {
    if (this.closed) throw new StorageOpenError(this.path, 'store is closed');
    if (this.failed !== null) throw new StorageError(this.path, `a write failed earlier (${this.failed}); the store must be reopened`);
  }

  // fail marks the store unusable after an error that left memory or the log ahead of LMDB, and
  // throws it; reopening the store replays the log.
  private fail(err: unknown, file: string, doing: string): never {
    const e = err instanceof StorageError ? err : new StorageError(file, `${doing} failed: ${err instanceof Error ? err.message : String(err)}`);
    this.failed = e.message;
    throw e;
  }

  // --- Storage ---------------------------------------------------------------------------------

  initialState(): InitialState {
    return { hardState: { ...this.hardState }, confState: this.snapMeta.confState };
  }

  entries(lo: number, hi: number, maxSizeBytes: number): Entry[] {
    if (lo <= this.compacted.index) throw ErrCompacted;
    if (hi > this.last + 1) throw new Error(`entries' hi(${hi}) is out of bound lastindex(${this.last})`);
    if (this.last === this.compacted.index) throw ErrUnavailable;
    const out: Entry[] = [];
    if (lo >= hi) return out;
    let size = 0;
    let i = lo;
    if (i < this.cacheStart) {
      this.stats.cacheMisses++;
      const end = Math.min(hi, this.cacheStart);
      for (const { key, value } of this.log.getRange({ start: i, end })) {
        if (key !== i) this.corrupt(`the log has a hole: index ${String(key)} read where ${i} was expected`);
        const e = this.decode(() => decodeEntry(value, `entry ${i}`));
        if (e.index !== i) this.corrupt(`entry ${i}: record holds index ${e.index}`);
        size += entrySizeBytes(e);
        if (out.length > 0 && size > maxSizeBytes) return out;
        out.push(e);
        i++;
      }
      if (i !== end) this.corrupt(`the log has a hole: index ${i} is missing`);
    }
    for (let k = this.cacheHead + (i - this.cacheStart); i < hi; i++, k++) {
      const e = this.cache[k]!;
      size += entrySizeBytes(e);
      if (out.length > 0 && size > maxSizeBytes) return out;
      out.push(e);
    }
    return out;
  }

  term(i: number): number {
    if (i === this.compacted.index) return this.compacted.term;
    if (i < this.compacted.index) throw ErrCompacted;
    if (i > this.last) throw ErrUnavailable;
    if (i >= this.cacheStart) return this.cache[this.cacheHead + (i - this.cacheStart)]!.term;
    return this.readEntry(i).term;
  }

  lastIndex(): number {
    return this.last;
  }

  firstIndex(): number {
    return this.compacted.index + 1;
  }

  snapshot(): Snapshot {
    if (this.snap === null) {
      if (this.snapData === null) {
        const raw = this.meta.getBinary(KEY_SNAPSHOT_DATA);
        if (raw === undefined) this.corrupt(`the ${KEY_SNAPSHOT_DATA} record is missing`);
        this.snapData = this.decode(() => decodeSnapshotData(raw, KEY_SNAPSHOT_DATA));
      }
      this.snap = { data: this.snapData, metadata: this.snapMeta };
    }
    return this.snap;
  }

  private readEntry(i: number): Entry {
    this.stats.cacheMisses++;
    const raw = this.log.getBinary(i);
    if (raw === undefined) this.corrupt(`entry ${i} is missing from the log [${this.compacted.index + 1}, ${this.last}]`);
    const e = this.decode(() => decodeEntry(raw, `entry ${i}`));
    if (e.index !== i) this.corrupt(`entry ${i}: record holds index ${e.index}`);
    return e;
  }

  // durableCommitIndex is the commit index that survives a crash now: below the hard state's while
  // a commit-only Ready waits in memory (saveReady, commitMayLag).
  get durableCommitIndex(): number {
    return this.durableCommit;
  }

  // --- mutators (each one transaction: one log record) -------------------------------------------

  setHardState(st: HardState): void {
    this.checkUsable();
    const hs = { term: st.term, vote: st.vote, commit: st.commit };
    this.persist({ k: WalOpKind.Ready, snapshot: null, entries: [], start: 0, hardState: hs });
  }

  // append adds entries, first dropping any held at or after entries[0].index (the truncation of a
  // conflicting suffix, or Fast Raft's overwrite at a decided index followed by the kept tail);
  // entries at or before the compaction point are ignored. MemoryStorage.append's semantics.
  append(entries: readonly Entry[]): void {
    this.checkUsable();
    const start = this.planAppend(entries);
    if (start < 0) return;
    this.persist({ k: WalOpKind.Ready, snapshot: null, entries, start, hardState: null });
  }

  // saveReady persists what a Ready asks to persist in one transaction: the snapshot (if any), the
  // entries, and the hard state (if it changed). Messages of the Ready may leave once it returns.
  //
  // commitMayLag is etcd's MustSync rule (the Ready's mustSync is false): a Ready whose only change
  // is the commit index needs no flush, since a node that restarts with an older commit index
  // learns the newer one from the leader again. Such a hard state is kept in memory and written
  // with the next record (or checkpoint), so that a commit-only Ready costs no I/O at all; the
  // durable commit index never falls behind a snapshot (createSnapshot writes it first). Writing
  // the record without its flush instead would break the log's rule that a record is written only
  // once the one before it is durable, which recovery relies on to tell a torn write from damage.
  saveReady(entries: readonly Entry[], hardState: HardState | null, snapshot: Snapshot | null, commitMayLag = false): void {
    this.checkUsable();
    const snap = snapshot !== null && snapshot.metadata.index > 0 ? snapshot : null;
    if (snap !== null && this.snapMeta.index >= snap.metadata.index) throw ErrSnapOutOfDate;
    const hs =
      hardState !== null && !isEmptyHardState(hardState) && !hardStateEqual(hardState, this.hardState)
        ? { term: hardState.term, vote: hardState.vote, commit: hardState.commit }
        : null;
    // Plan the append against the log as it will be after the snapshot.
    const base = snap !== null ? { first: snap.metadata.index + 1, last: snap.metadata.index } : null;
    const start = this.planAppend(entries, base);
    if (snap === null && start < 0 && hs === null) return;
    if (commitMayLag && snap === null && start < 0 && hs !== null && hs.term === this.hardState.term && hs.vote === this.hardState.vote) {
      if (hs.commit < this.hardState.commit) throw new Error(`commit index ${hs.commit} is below ${this.hardState.commit}`);
      this.hardState = hs;
      this.hardStateDirty = true; // the next checkpoint (or close) writes it, like any hard state
      this.dirty = true;
      this.commitLagging = true;
      this.stats.lazyCommits++;
      return;
    }
    this.persist({ k: WalOpKind.Ready, snapshot: snap, entries, start: start < 0 ? entries.length : start, hardState: hs });
  }

  // applySnapshot replaces the contents of the store with the snapshot. Throws ErrSnapOutOfDate if
  // it is not newer than the one held.
  applySnapshot(snap: Snapshot): void {
    this.checkUsable();
    if (this.snapMeta.index >= snap.metadata.index) throw ErrSnapOutOfDate;
    this.persist({ k: WalOpKind.Ready, snapshot: snap, entries: [], start: 0, hardState: null });
  }

  // createSnapshot records a snapshot at index i; cs null keeps the previous ConfState.
  createSnapshot(i: number, cs: ConfState | null, data: Uint8Array): Snapshot {
    this.checkUsable();
    if (i <= this.snapMeta.index) throw ErrSnapOutOfDate;
    if (i > this.last) throw new Error(`snapshot ${i} is out of bound lastindex(${this.last})`);
    const metadata: SnapshotMetadata = { confState: cs !== null ? cs : this.snapMeta.confState, index: i, term: this.term(i) };
    // On restart the commit index must not be below the snapshot (etcd's loadState refuses it).
    this.writeLaggingCommit();
    this.persist({ k: WalOpKind.Snapshot, snapshot: { data, metadata } });
    return this.snap!;
  }

  // compact discards the entries up to and including compactIndex, which becomes the compaction
  // point. Throws ErrCompacted if it is already compacted.
  compact(compactIndex: number): void {
    this.checkUsable();
    if (compactIndex <= this.compacted.index) throw ErrCompacted;
    if (compactIndex > this.last) throw new Error(`compact ${compactIndex} is out of bound lastindex(${this.last})`);
    this.writeLaggingCommit();
    this.persist({ k: WalOpKind.Compact, point: { index: compactIndex, term: this.term(compactIndex) } });
  }

  // writeLaggingCommit makes a commit index kept in memory by saveReady(commitMayLag) durable.
  private writeLaggingCommit(): void {
    if (!this.commitLagging) return;
    this.persist({ k: WalOpKind.Ready, snapshot: null, entries: [], start: 0, hardState: { ...this.hardState } });
  }

  // --- the durable path ----------------------------------------------------------------------------

  // persist makes op durable, as one log record (or, when it is too large for the log, as a
  // checkpoint of its own), then applies it to memory and checkpoints if one is due.
  private persist(op: WalOp): void {
    // Measuring the record reads every field it will write: a malformed op throws here, before
    // anything is written.
    // A commit index kept in memory rides along with the next Ready record.
    if (this.commitLagging && op.k === WalOpKind.Ready && op.hardState === null) op = { ...op, hardState: { ...this.hardState } };
    const enc = walOpEncoder(op);
    const wal = this.wal!;
    if (enc.bytes > Math.min(this.walCheckpointBytes, wal.bodyBytesMax)) {
      // What is pending goes first, so that this op is a transaction of its own.
      this.checkpoint();
      this.applyOp(op);
      try {
        this.checkpoint();
      } catch (err) {
        this.fail(err, path.join(this.path, DATA_FILE), 'the checkpoint of a large write');
      }
      this.stats.transactions++;
      return;
    }
    if (!wal.fits(enc.bytes)) this.checkpoint();
    const rec = Wal.newRecord(enc.bytes);
    enc.write(rec, RECORD_BODY_OFFSET);
    this.trace?.('wal-write');
    try {
      wal.append(this.nextLsn, rec);
    } catch (err) {
      this.fail(err, this.walPath, 'writing the record');
    }
    this.nextLsn++;
    this.trace?.('wal-written');
    this.applyOp(op);
    this.stats.transactions++;
    this.stats.walRecords++;
    if (this.checkpointDue()) {
      try {
        this.checkpoint();
      } catch (err) {
        this.fail(err, path.join(this.path, DATA_FILE), 'a checkpoint');
      }
    }
  }

  // applyOp changes memory as op says; op has been checked (planned) against the state.
  private applyOp(op: WalOp): void {
    this.dirty = true;
    switch (op.k) {
      case WalOpKind.Ready:
        if (op.snapshot !== null) this.applySnapshotToMemory(op.snapshot);
        if (op.start < op.entries.length) this.appendToMemory(op.entries, op.start);
        if (op.hardState !== null) {
          this.hardState = op.hardState;
          this.hardStateDirty = true;
          this.commitLagging = false;
          this.durableCommit = op.hardState.commit;
        }
        return;
      case WalOpKind.Snapshot:
        this.snapMeta = op.snapshot.metadata;
        this.snapData = op.snapshot.data;
        this.snap = op.snapshot;
        this.snapshotDirty = true;
        return;
      case WalOpKind.Compact:
        this.compactMemory(op.point);
        return;
      default: {
        const never: never = op;
        throw new Error(`unknown op ${JSON.stringify(never)}`);
      }
    }
  }

  // The entries LMDB lacks are [pendingFrom, last].
  private get pendingFrom(): number {
    return Math.max(this.dirtyFrom, this.compacted.index + 1);
  }

  private checkpointDue(): boolean {
    if (!this.dirty) return false;
    if (this.wal!.usedBytes >= this.walCheckpointBytes) return true;
    if (this.last - this.pendingFrom + 1 >= this.checkpointEntries) return true;
    // The cache is over its bounds only when evict() had to keep entries LMDB lacks.
    return this.cache.length - this.cacheHead > this.cacheEntriesMax || this.cacheBytes > this.cacheBytesMax;
  }

  // checkpoint writes everything changed since the last one to LMDB in one durable transaction,
  // with the last LSN it covers, then starts the log over.
  private checkpoint(): void {
    if (!this.dirty) {
      this.wal?.reset();
      return;
    }
    const from = this.pendingFrom;
    if (from <= this.last && from < this.cacheStart) throw new Error(`internal: entry ${from} is not in LMDB and not in the cache (from ${this.cacheStart})`);
    const applied = this.nextLsn - 1;
    this.trace?.('checkpoint');
    this.lmdbTxn(() => {
      // The compacted prefix and the truncated suffix (the two ranges are apart: compacted <= last).
      const lmdbFirst = this.lmdbCompacted + 1;
      for (let k = lmdbFirst, end = Math.min(this.compacted.index, this.lmdbLast); k <= end; k++) this.log.remove(k);
      for (let k = Math.max(this.last + 1, lmdbFirst); k <= this.lmdbLast; k++) this.log.remove(k);
      for (let k = from, c = this.cacheHead + (from - this.cacheStart); k <= this.last; k++, c++) this.log.put(k, encodeEntry(this.cache[c]!));
      if (this.hardStateDirty) this.meta.put(KEY_HARD_STATE, encodeHardState(this.hardState));
      if (this.compactionDirty) this.meta.put(KEY_COMPACTION, encodeCompactionPoint(this.compacted));
      if (this.snapshotDirty) {
        this.meta.put(KEY_SNAPSHOT_META, encodeSnapshotMeta(this.snapMeta));
        this.meta.put(KEY_SNAPSHOT_DATA, encodeSnapshotData(this.snapData ?? new Uint8Array(0)));
      }
      this.meta.put(KEY_WAL_APPLIED, encodeWalApplied(applied));
    });
    this.walApplied = applied;
    this.lmdbCompacted = this.compacted.index;
    this.lmdbLast = this.last;
    this.dirty = false;
    this.dirtyFrom = Infinity;
    this.hardStateDirty = false;
    this.commitLagging = false;
    this.durableCommit = this.hardState.commit;
    this.compactionDirty = false;
    this.snapshotDirty = false;
    this.wal?.reset();
    this.stats.checkpoints++;
    this.trace?.('checkpointed');
    this.evict();
  }

  // --- the pieces of a mutation's memory update ----------------------------------------------------

  // planAppend returns the position in `entries` of the first entry to write, or -1 if none is new.
  // Throws (a programmer error, as etcd panics) if they would leave a hole after the last entry.
  private planAppend(entries: readonly Entry[], base: { first: number; last: number } | null = null): number {
    if (entries.length === 0) return -1;
    for (let k = 1; k < entries.length; k++) {
      if (entries[k]!.index !== entries[k - 1]!.index + 1) {
        throw new Error(`append: entries are not consecutive (${entries[k - 1]!.index} then ${entries[k]!.index})`);
      }
    }
    const first = base !== null ? base.first : this.compacted.index + 1;
    const last = base !== null ? base.last : this.last;
    const lastNew = entries[0]!.index + entries.length - 1;
    if (lastNew < first) return -1;
    const start = first > entries[0]!.index ? first - entries[0]!.index : 0;
    if (entries[start]!.index > last + 1) {
      throw new Error(`missing log entry [last: ${last}, append at: ${entries[start]!.index}]`);
    }
    return start;
  }

  private appendToMemory(entries: readonly Entry[], start: number): void {
    const from = entries[start]!.index;
    if (from < this.dirtyFrom) this.dirtyFrom = from;
    if (from < this.cacheStart) {
      this.cache = [];
      this.cacheHead = 0;
      this.cacheBytes = 0;
      this.cacheStart = from;
    } else {
      // Cut the cache at `from`.
      const keep = this.cacheHead + (from - this.cacheStart);
      for (let k = keep; k < this.cache.length; k++) this.cacheBytes -= this.cache[k]!.data.length;
      this.cache.length = keep;
    }
    for (let k = start; k < entries.length; k++) {
      const e = entries[k]!;
      this.cache.push(e);
      this.cacheBytes += e.data.length;
    }
    this.last = entries[entries.length - 1]!.index;
    this.evict();
  }

  private applySnapshotToMemory(snap: Snapshot): void {
    this.snapMeta = snap.metadata;
    this.snapData = snap.data;
    this.snap = snap;
    this.compacted = { index: snap.metadata.index, term: snap.metadata.term };
    this.last = snap.metadata.index;
    this.cache = [];
    this.cacheHead = 0;
    this.cacheBytes = 0;
    this.cacheStart = this.last + 1;
    // Every entry after the snapshot will be new.
    if (this.last + 1 < this.dirtyFrom) this.dirtyFrom = this.last + 1;
    this.snapshotDirty = true;
    this.compactionDirty = true;
  }

  private compactMemory(point: CompactionPoint): void {
    this.compacted = point;
    this.compactionDirty = true;
    if (this.cacheStart <= point.index) {
      const drop = Math.min(point.index + 1, this.last + 1) - this.cacheStart;
      for (let k = 0; k < drop; k++) this.cacheBytes -= this.cache[this.cacheHead + k]!.data.length;
      this.cacheHead += drop;
      this.cacheStart += drop;
      this.trimCacheArray();
    }
  }

  // evict drops the oldest cached entries beyond the bounds; they stay readable from LMDB. Entries
  // LMDB lacks are kept (checkpointDue() then says a checkpoint is due).
  private evict(): void {
    const n = this.cache.length - this.cacheHead;
    if (n <= this.cacheEntriesMax && this.cacheBytes <= this.cacheBytesMax) return;
    const dropMax = Math.max(0, Math.min(n, this.pendingFrom - this.cacheStart));
    let drop = Math.min(dropMax, Math.max(0, n - this.cacheEntriesMax));
    for (let k = 0; k < drop; k++) this.cacheBytes -= this.cache[this.cacheHead + k]!.data.length;
    while (this.cacheBytes > this.cacheBytesMax && drop < dropMax) {
      this.cacheBytes -= this.cache[this.cacheHead + drop]!.data.length;
      drop++;
    }
    this.cacheHead += drop;
    this.cacheStart += drop;
    this.trimCacheArray();
  }

  // trimCacheArray releases the evicted prefix once it is large, so eviction is amortized O(1).
  private trimCacheArray(): void {
    if (this.cacheHead === this.cache.length) {
      this.cache = [];
      this.cacheHead = 0;
    } else if (this.cacheHead > 1024 && this.cacheHead * 2 > this.cache.length) {
      this.cache = this.cache.slice(this.cacheHead);
      this.cacheHead = 0;
    }
  }

  // --- lifecycle -----------------------------------------------------------------------------------

  get durability(): 'fsync' | 'none' {
    return this.sync ? 'fsync' : 'none';
  }

  describe(): StorageDescription {
    return {
      engine: 'lmdb',
      path: this.path,
      durability: this.durability,
      lmdbVersion: lmdbVersion(),
      wal: { file: this.walPath, capacityBytes: this.wal?.capacity ?? 0, checkpointBytes: this.walCheckpointBytes, checkpointEntries: this.checkpointEntries },
    };
  }

  // close checkpoints what LMDB lacks and releases the store, which must not be used afterwards.
  // A checkpoint that fails is thrown after the store is released (the log still holds it all).
  async close(): Promise<void> {
    if (this.closed) return;
    let error: unknown = null;
    if (this.failed === null) {
      try {
        this.checkpoint();
      } catch (err) {
        error = err;
      }
    }
    this.closed = true;
    try {
      openDirs.delete(fs.realpathSync(this.path));
    } catch {
      // The folder was removed under us; nothing to release.
    }
    this.wal?.close();
    await this.env.close();
    if (error !== null) throw error;
  }
}

// walCapacityFor sizes a new log: room for walCheckpointBytes of records and one more record of up
// to that size, after the header page, in whole pages.
function walCapacityFor(checkpointBytes: number): number {
  return WAL_HEADER_BYTES + Math.ceil((2 * checkpointBytes + 64) / 4096) * 4096;
}

let lmdbVersionCached: string | undefined;

function lmdbVersion(): string {
  if (lmdbVersionCached === undefined) {
    try {
      // lmdb's exports map hides its package.json; its entry point sits in dist/ beside it.
      const entry = createRequire(import.meta.url).resolve('lmdb');
      const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(entry), '..', 'package.json'), 'utf8')) as { version?: string };
      lmdbVersionCached = pkg.version ?? 'unknown';
    } catch {
      lmdbVersionCached = 'unknown';
    }
  }
  return lmdbVersionCached;
}

// prepareDir creates the folder if missing and proves it writable by creating and removing a file
// (access() is not enough: root passes it on any folder, and a read-only mount passes it too).
function prepareDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new StorageOpenError(dir, `cannot create the folder (${errCode(err)})`);
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (err) {
    throw new StorageOpenError(dir, `cannot stat the folder (${errCode(err)})`);
  }
  if (!st.isDirectory()) throw new StorageOpenError(dir, 'is not a folder');
  const probe = path.join(dir, `.write-probe-${process.pid}`);
  try {
    fs.writeFileSync(probe, '');
    fs.unlinkSync(probe);
  } catch (err) {
    throw new StorageOpenError(dir, `folder is not writable (${errCode(err)})`);
  }
}

function readMarker(file: string): Marker | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StorageOpenError(file, `cannot read (${errCode(err)})`);
  }
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    throw new StorageCorruptError(file, 'is not valid JSON');
  }
  const o = m as Partial<Marker> | null;
  if (o === null || typeof o !== 'object' || typeof o.clusterId !== 'string' || typeof o.nodeId !== 'number' || typeof o.format !== 'number') {
    throw new StorageCorruptError(file, 'lacks format, clusterId or nodeId');
  }
  return { format: o.format, clusterId: o.clusterId, nodeId: o.nodeId };
}

// lmdbError classifies an error from lmdb-js: LMDB's own verdicts on the file mean a corrupt store;
// anything else (permissions, resources) is a failure to open.
function lmdbError(file: string, doing: string, err: unknown): StorageError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/MDB_INVALID|MDB_CORRUPTED|MDB_PAGE_NOTFOUND|MDB_VERSION_MISMATCH|MDB_BAD_TXN|MDB_BAD_VALSIZE|MDB_INCOMPATIBLE/.test(msg)) {
    return new StorageCorruptError(file, `${doing}: ${msg}`);
  }
  return new StorageOpenError(file, `${doing}: ${msg}`);
}
