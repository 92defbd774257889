// The Storage interface raft reads its durable log through, and MemoryStorage (etcd's storage.go).

import type { ConfState, Entry, HardState, Snapshot } from './types.js';
import { emptyHardState, emptySnapshot, newEntry } from './types.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';
import { ErrCompacted, ErrSnapOutOfDate, ErrUnavailable } from './errors.js';
import { limitSizeEnd } from './log-slice.js';

export interface InitialState {
  hardState: HardState;
  confState: ConfState;
}

// Storage is implemented by the application to give raft access to its durable log and
// state-machine snapshot. Where etcd returns (value, error), these methods return the value and
// throw the error; raft tells the sentinels (ErrCompacted, ErrUnavailable,
// ErrSnapshotTemporarilyUnavailable) apart by identity. Any other thrown error makes raft
// inoperable, as any other error does in etcd.
export interface Storage {
  // initialState returns the saved HardState and ConfState.
  initialState(): InitialState;
  // entries returns the consecutive entries in [lo, hi). maxSizeBytes limits their total encoded
  // size, but at least one entry is returned if there is any. The caller owns the returned array
  // and may append to it, so an implementation must return a fresh array (never its own). The
  // Entry objects in it are shared and must not be mutated by anyone: raft may forward them to
  // the application through a Ready.
  // Throws ErrCompacted if lo has been compacted, or ErrUnavailable if some entry in [lo, hi) is
  // unavailable.
  entries(lo: number, hi: number, maxSizeBytes: number): Entry[];
  // term returns the term of entry i, which must be in [firstIndex()-1, lastIndex()]. The term of
  // the entry before firstIndex is kept for matching purposes although the entry itself is not.
  term(i: number): number;
  // lastIndex is the index of the last entry in the log.
  lastIndex(): number;
  // firstIndex is the index of the first entry possibly available through entries(); older ones
  // are folded into the latest snapshot. With only the dummy entry, it is not available itself.
  firstIndex(): number;
  // snapshot returns the most recent snapshot. If one is being prepared and cannot be returned
  // yet, it throws ErrSnapshotTemporarilyUnavailable so that raft asks again later.
  snapshot(): Snapshot;
}

// MemoryStorage counts its calls so that tests can assert how often raft reaches into storage.
export interface MemoryStorageCallStats {
  initialState: number;
  firstIndex: number;
  lastIndex: number;
  entries: number;
  term: number;
  snapshot: number;
}

// MemoryStorage implements Storage over an in-memory array. The core is single-threaded, so the
// mutex of etcd's version has no counterpart.
export class MemoryStorage implements Storage {
  hardState: HardState = emptyHardState();
  private snap: Snapshot = emptySnapshot();
  // ents[i] has log index i + ents[0].index. ents[0] is a dummy carrying the (index, term) of the
  // last compacted entry (or of the snapshot); it is never returned by entries(). It is exposed
  // for tests; entries() returns copies, which is what makes it safe to edit ents in place.
  ents: Entry[] = [newEntry({})];
  callStats: MemoryStorageCallStats = {
    initialState: 0,
    firstIndex: 0,
    lastIndex: 0,
    entries: 0,
    term: 0,
    snapshot: 0,
  };

  // logger reports misuse (etcd uses its global logger for these panics).
  constructor(public logger: Logger = silentLogger) {}

  initialState(): InitialState {
    this.callStats.initialState++;
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  // setHardState keeps a copy so that later changes to the caller's object are not persisted.
  setHardState(st: HardState): void {
    this.hardState = { term: st.term, vote: st.vote, commit: st.commit };
  }

  entries(lo: number, hi: number, maxSizeBytes: number): Entry[] {
    this.callStats.entries++;
    const offset = this.ents[0]!.index;
    if (lo <= offset) throw ErrCompacted;
    if (hi > this.lastIndexInternal() + 1) {
      this.logger.panic(`entries' hi(${hi}) is out of bound lastindex(${this.lastIndexInternal()})`);
    }
    // Only the dummy entry.
    if (this.ents.length === 1) throw ErrUnavailable;
    const start = lo - offset;
    return this.ents.slice(start, limitSizeEnd(this.ents, start, hi - offset, maxSizeBytes));
  }

  term(i: number): number {
    this.callStats.term++;
    const offset = this.ents[0]!.index;
    if (i < offset) throw ErrCompacted;
    if (i - offset >= this.ents.length) throw ErrUnavailable;
    return this.ents[i - offset]!.term;
  }

  lastIndex(): number {
    this.callStats.lastIndex++;
    return this.lastIndexInternal();
  }

  private lastIndexInternal(): number {
    return this.ents[0]!.index + this.ents.length - 1;
  }

  firstIndex(): number {
    this.callStats.firstIndex++;
    return this.firstIndexInternal();
  }

  private firstIndexInternal(): number {
    return this.ents[0]!.index + 1;
  }

  snapshot(): Snapshot {
    this.callStats.snapshot++;
    return this.snap;
  }

  // applySnapshot replaces the contents of this storage with the snapshot. Throws
  // ErrSnapOutOfDate if it is not newer than the one held.
  applySnapshot(snap: Snapshot): void {
    if (this.snap.metadata.index >= snap.metadata.index) throw ErrSnapOutOfDate;
    this.snap = snap;
    this.ents = [newEntry({ term: snap.metadata.term, index: snap.metadata.index })];
  }

  // createSnapshot records a snapshot at index i (which snapshot() then returns) from which the
  // state at i can be rebuilt. cs must be the result of the last applied conf change if there was
  // one since the last compaction; null keeps the previous ConfState. Throws ErrSnapOutOfDate if i
  // is not newer than the current snapshot.
  createSnapshot(i: number, cs: ConfState | null, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) throw ErrSnapOutOfDate;
    const offset = this.ents[0]!.index;
    if (i > this.lastIndexInternal()) {
      this.logger.panic(`snapshot ${i} is out of bound lastindex(${this.lastIndexInternal()})`);
    }
    // A new object rather than an update in place: the previous snapshot may still be referenced
    // by raft or by a message in flight.
    this.snap = {
      data,
      metadata: {
        confState: cs !== null ? cs : this.snap.metadata.confState,
        index: i,
        term: this.ents[i - offset]!.term,
      },
    };
    return this.snap;
  }

  // compact discards the entries before compactIndex. The application must not compact past
  // raftLog.applied. Throws ErrCompacted if compactIndex is already compacted.
  compact(compactIndex: number): void {
    const offset = this.ents[0]!.index;
    if (compactIndex <= offset) throw ErrCompacted;
    if (compactIndex > this.lastIndexInternal()) {
      this.logger.panic(`compact ${compactIndex} is out of bound lastindex(${this.lastIndexInternal()})`);
    }
    const i = compactIndex - offset;
    const kept = this.ents[i]!;
    const ents: Entry[] = new Array<Entry>(this.ents.length - i);
    ents[0] = newEntry({ index: kept.index, term: kept.term });
    for (let k = 1; k < ents.length; k++) ents[k] = this.ents[i + k]!;
    this.ents = ents;
  }

  // append adds entries to the log, first dropping any it holds at or after entries[0].index.
  // Entries at or before the compaction point are ignored.
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndexInternal();
    const last = entries[0]!.index + entries.length - 1;
    // Nothing new.
    if (last < first) return;
    // Skip the compacted prefix of the input.
    const start = first > entries[0]!.index ? first - entries[0]!.index : 0;
    const offset = entries[start]!.index - this.ents[0]!.index;
    if (this.ents.length > offset) {
      this.ents.length = offset;
    } else if (this.ents.length !== offset) {
      this.logger.panic(
        `missing log entry [last: ${this.lastIndexInternal()}, append at: ${entries[start]!.index}]`,
      );
    }
    for (let k = start; k < entries.length; k++) this.ents.push(entries[k]!);
  }
}
