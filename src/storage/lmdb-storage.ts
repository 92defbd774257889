// LmdbStorage: the core's Storage on an LMDB environment (lmdb-js), one environment per node.
//
// What it holds, in the environment's main database (no named databases: a commit then rewrites
// one B-tree path instead of three, since a named database's root lives in the main one):
//   number keys  index -> entry record (term, index, type, data, Fast Raft approval and digest);
//                numbers sort before strings, so the log is one contiguous key range
//   string keys  identity (format, cluster id, node id), hard state, compaction point (etcd's
//                dummy entry), snapshot metadata (with the configuration, ConfState), snapshot data
// The hard state's key sorts right after the newest entries, so a Ready's entries and hard state
// usually land in the same leaf page. Every record carries a CRC-32 (codec.ts): LMDB checks none.
//
// Durability. Every mutator is one LMDB write transaction, committed with transactionSync on an
// environment opened with overlappingSync: false, so that when it returns the data pages are
// fdatasync'ed and the new meta page is written through an O_DSYNC descriptor: what it reports
// written survives a crash of the process or of the machine. That is two device flushes per commit
// (data, then meta: LMDB has no checksums, so the meta page may only point at data already on disk),
// which is why a durable append costs about twice a raw write + fdatasync. The other durable path,
// overlappingSync with `await flushed`, does the same two flushes on a background thread; measured
// on the same disk in one run (bench/storage) it was no faster (p50 608 us for put + flushed, 449 us
// for a no-wait transaction + flushed, 442 us here; raw floor 227 us) and would make saveReady
// asynchronous, so the synchronous path is kept. saveReady puts a whole Ready (snapshot,
// entries with the truncation of a conflicting suffix, hard state) in one transaction, so that a
// node sends the messages of a Ready only after everything they promise is on disk (DESIGN.md,
// "The Ready loop"). `sync: false` skips the flushes (LMDB's MDB_NOSYNC): a killed process loses
// nothing (the page cache survives it) but a machine crash may; it is for experiments that want to
// leave the disk out, and `durability` says which one a store runs with.
//
// Reads. The core reads recent entries and terms all the time (appends to followers, term checks),
// so the newest entries stay in memory, bounded by count and bytes; older ones are read from LMDB
// and checked. The cache is changed only after the transaction that changes the log has committed,
// so a failed write leaves memory and disk agreeing.
//
// Opening refuses, with a StorageCorruptError naming the path and the problem, a store whose files
// are damaged or truncated, whose records fail their checksums, whose log has holes, or whose data
// file disappeared from a folder that held a store: it never resets or recreates one. A folder
// that does not exist is created; one that cannot be written, or that belongs to another cluster or
// node, is a StorageOpenError.

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
  checkEntryRecord,
  decodeCompactionPoint,
  decodeEntry,
  decodeHardState,
  decodeIdentity,
  decodeSnapshotData,
  decodeSnapshotMeta,
  encodeCompactionPoint,
  encodeEntry,
  encodeHardState,
  encodeIdentity,
  encodeSnapshotData,
  encodeSnapshotMeta,
  type CompactionPoint,
} from './codec.js';
import { StorageCorruptError, StorageError, StorageOpenError } from './errors.js';
import { checkLmdbDataFile } from './lmdb-file.js';

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
}

// What a results manifest records about the store a run used.
export interface StorageDescription {
  engine: 'lmdb';
  path: string;
  durability: 'fsync' | 'none';
  lmdbVersion: string;
}

export const DATA_FILE = 'data.mdb';
export const LOCK_FILE = 'lock.mdb';
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

const CACHE_ENTRIES_MAX_DEFAULT = 16_384;
const CACHE_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;
const MAP_SIZE_BYTES_DEFAULT = 64 * 1024 * 1024 * 1024;

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

  // Counters for tests and benchmarks: how often reads missed the cache.
  readonly stats = { transactions: 0, cacheMisses: 0 };

  private constructor(
    opts: Required<Pick<LmdbStorageOptions, 'clusterId' | 'nodeId' | 'sync' | 'cacheEntriesMax' | 'cacheBytesMax'>> & { path: string },
    env: RootDatabase<Buffer, number | string>,
  ) {
    this.path = opts.path;
    this.clusterId = opts.clusterId;
    this.nodeId = opts.nodeId;
    this.sync = opts.sync;
    this.cacheEntriesMax = opts.cacheEntriesMax;
    this.cacheBytesMax = opts.cacheBytesMax;
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
        // The synchronous durable commit (see the file comment); overlappingSync would return
        // before the flush and needs `flushed` awaited.
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
        },
        env,
      );
      store.load(marker, markerPath);
    } catch (err) {
      void env.close();
      if (err instanceof StorageError) throw err;
      throw lmdbError(dataPath, 'cannot read the store', err);
    }
    openDirs.add(real);
    return store;
  }

  // load checks the identity, reads the state into memory and verifies every record of the log.
  private load(marker: Marker | null, markerPath: string): void {
    const idRaw = this.meta.getBinary(KEY_IDENTITY);
    if (idRaw === undefined) {
      if (marker !== null) this.corrupt(`the identity record is missing but ${MARKER_FILE} exists`);
      if (this.env.getKeysCount({ limit: 1 }) > 0) {
        this.corrupt('the identity record is missing from a store that holds records');
      }
      // A new store, or one whose creation was interrupted before it was ever used.
      this.writeTxn(() => {
        this.meta.put(KEY_IDENTITY, encodeIdentity({ formatVersion: STORE_FORMAT_VERSION, clusterId: this.clusterId, nodeId: this.nodeId }));
        this.meta.put(KEY_HARD_STATE, encodeHardState(this.hardState));
        this.meta.put(KEY_COMPACTION, encodeCompactionPoint(this.compacted));
        this.meta.put(KEY_SNAPSHOT_META, encodeSnapshotMeta(this.snapMeta));
        this.meta.put(KEY_SNAPSHOT_DATA, encodeSnapshotData(new Uint8Array(0)));
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
    this.compacted = this.decode(() => decodeCompactionPoint(this.required(KEY_COMPACTION), KEY_COMPACTION));
    this.snapMeta = this.decode(() => decodeSnapshotMeta(this.required(KEY_SNAPSHOT_META), KEY_SNAPSHOT_META));
    if (this.meta.getBinary(KEY_SNAPSHOT_DATA) === undefined) this.corrupt(`the ${KEY_SNAPSHOT_DATA} record is missing`);
    this.scanLog();
    // Raft never truncates a committed entry and saveReady writes entries and hard state together,
    // so a commit index past the log means lost entries.
    if (this.hardState.commit > this.last) {
      this.corrupt(`the hard state's commit index ${this.hardState.commit} is past the last entry ${this.last}`);
    }
    if (marker === null) {
      writeFileDurably(markerPath, JSON.stringify({ format: STORE_FORMAT_VERSION, clusterId: this.clusterId, nodeId: this.nodeId }) + '\n');
    }
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

  // writeTxn runs fn in one LMDB write transaction and returns once it is committed (and, with
  // sync, flushed). Memory is updated by the callers only after it returns.
  private writeTxn(fn: () => void): void {
    if (this.closed) throw new StorageOpenError(this.path, 'store is closed');
    try {
      // The callback must return undefined: lmdb-js keeps a transaction open, and commits it
      // later, when its callback returns a promise (and put() returns one).
      this.env.transactionSync(() => {
        fn();
      });
    } catch (err) {
      if (err instanceof StorageError || err === ErrCompacted || err === ErrSnapOutOfDate || err === ErrUnavailable) throw err;
      throw lmdbError(path.join(this.path, DATA_FILE), 'write transaction failed', err);
    }
    this.stats.transactions++;
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

  // --- mutators (each one transaction) -----------------------------------------------------------

  setHardState(st: HardState): void {
    const hs = { term: st.term, vote: st.vote, commit: st.commit };
    this.writeTxn(() => this.meta.put(KEY_HARD_STATE, encodeHardState(hs)));
    this.hardState = hs;
  }

  // append adds entries, first dropping any held at or after entries[0].index (the truncation of a
  // conflicting suffix, or Fast Raft's overwrite at a decided index followed by the kept tail);
  // entries at or before the compaction point are ignored. MemoryStorage.append's semantics.
  append(entries: readonly Entry[]): void {
    const start = this.planAppend(entries);
    if (start < 0) return;
    this.writeTxn(() => this.appendInTxn(entries, start));
    this.appendToMemory(entries, start);
  }

  // saveReady persists what a Ready asks to persist in one transaction: the snapshot (if any), the
  // entries, and the hard state (if it changed). Messages of the Ready may leave once it returns.
  saveReady(entries: readonly Entry[], hardState: HardState | null, snapshot: Snapshot | null): void {
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
    this.writeTxn(() => {
      if (snap !== null) this.applySnapshotInTxn(snap);
      if (start >= 0) this.appendInTxn(entries, start, base);
      if (hs !== null) this.meta.put(KEY_HARD_STATE, encodeHardState(hs));
    });
    if (snap !== null) this.applySnapshotToMemory(snap);
    if (start >= 0) this.appendToMemory(entries, start);
    if (hs !== null) this.hardState = hs;
  }

  // applySnapshot replaces the contents of the store with the snapshot. Throws ErrSnapOutOfDate if
  // it is not newer than the one held.
  applySnapshot(snap: Snapshot): void {
    if (this.snapMeta.index >= snap.metadata.index) throw ErrSnapOutOfDate;
    this.writeTxn(() => this.applySnapshotInTxn(snap));
    this.applySnapshotToMemory(snap);
  }

  // createSnapshot records a snapshot at index i; cs null keeps the previous ConfState.
  createSnapshot(i: number, cs: ConfState | null, data: Uint8Array): Snapshot {
    if (i <= this.snapMeta.index) throw ErrSnapOutOfDate;
    if (i > this.last) throw new Error(`snapshot ${i} is out of bound lastindex(${this.last})`);
    const metadata: SnapshotMetadata = { confState: cs !== null ? cs : this.snapMeta.confState, index: i, term: this.term(i) };
    this.writeTxn(() => {
      this.meta.put(KEY_SNAPSHOT_META, encodeSnapshotMeta(metadata));
      this.meta.put(KEY_SNAPSHOT_DATA, encodeSnapshotData(data));
    });
    this.snapMeta = metadata;
    this.snapData = data;
    this.snap = { data, metadata };
    return this.snap;
  }

  // compact discards the entries up to and including compactIndex, which becomes the compaction
  // point. Throws ErrCompacted if it is already compacted.
  compact(compactIndex: number): void {
    if (compactIndex <= this.compacted.index) throw ErrCompacted;
    if (compactIndex > this.last) throw new Error(`compact ${compactIndex} is out of bound lastindex(${this.last})`);
    const point: CompactionPoint = { index: compactIndex, term: this.term(compactIndex) };
    const from = this.compacted.index + 1;
    this.writeTxn(() => {
      for (let k = from; k <= compactIndex; k++) this.log.remove(k);
      this.meta.put(KEY_COMPACTION, encodeCompactionPoint(point));
    });
    this.compacted = point;
    if (this.cacheStart <= compactIndex) {
      const drop = Math.min(compactIndex + 1, this.last + 1) - this.cacheStart;
      for (let k = 0; k < drop; k++) this.cacheBytes -= this.cache[this.cacheHead + k]!.data.length;
      this.cacheHead += drop;
      this.cacheStart += drop;
      this.trimCacheArray();
    }
  }

  // --- the pieces of a transaction and of its memory update ----------------------------------------

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

  private appendInTxn(entries: readonly Entry[], start: number, base: { first: number; last: number } | null = null): void {
    const last = base !== null ? base.last : this.last;
    const lastNew = entries[entries.length - 1]!.index;
    // Entries past the new ones belong to the conflicting suffix being replaced.
    for (let k = lastNew + 1; k <= last; k++) this.log.remove(k);
    for (let k = start; k < entries.length; k++) {
      const e = entries[k]!;
      this.log.put(e.index, encodeEntry(e));
    }
  }

  private appendToMemory(entries: readonly Entry[], start: number): void {
    const from = entries[start]!.index;
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

  private applySnapshotInTxn(snap: Snapshot): void {
    for (let k = this.compacted.index + 1; k <= this.last; k++) this.log.remove(k);
    this.meta.put(KEY_SNAPSHOT_META, encodeSnapshotMeta(snap.metadata));
    this.meta.put(KEY_SNAPSHOT_DATA, encodeSnapshotData(snap.data));
    this.meta.put(KEY_COMPACTION, encodeCompactionPoint({ index: snap.metadata.index, term: snap.metadata.term }));
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
  }

  // evict drops the oldest cached entries beyond the bounds; they stay readable from LMDB.
  private evict(): void {
    const n = this.cache.length - this.cacheHead;
    if (n <= this.cacheEntriesMax && this.cacheBytes <= this.cacheBytesMax) return;
    let drop = Math.max(0, n - this.cacheEntriesMax);
    for (let k = 0; k < drop; k++) this.cacheBytes -= this.cache[this.cacheHead + k]!.data.length;
    while (this.cacheBytes > this.cacheBytesMax && drop < n) {
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
    return { engine: 'lmdb', path: this.path, durability: this.durability, lmdbVersion: lmdbVersion() };
  }

  // close releases the environment; the store must not be used afterwards.
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      openDirs.delete(fs.realpathSync(this.path));
    } catch {
      // The folder was removed under us; nothing to release.
    }
    await this.env.close();
  }
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
