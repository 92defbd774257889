// The unstable tail of the raft log (etcd's log_unstable.go): entries and an optional snapshot
// that raft has accepted but the application has not yet made durable in Storage.

import type { Entry, Snapshot } from './types.js';
import type { Logger } from './logger.js';
import type { EntryID } from './log-slice.js';
import { limitSizeEnd } from './log-slice.js';

// Unstable holds new entries and a snapshot until a Ready hands them out for persistence, and keeps
// holding them while the write is in flight so that raftLog still sees them; they are dropped once
// stableTo/stableSnapTo confirm they can be read back from Storage.
//
// entries[i] has log index i + offset. offset may be lower than Storage's last index: the next
// write to Storage must then truncate it before persisting these entries.
//
// Ownership: `entries` is private to Unstable in all but name. Every method that hands entries out
// returns a fresh array, which is what allows truncateAndAppend and stableTo to edit `entries` in
// place without corrupting a Ready that is still being persisted. Readers may look at `entries`
// but must not keep or modify it. The Entry objects themselves are shared and never mutated.
//
// Go's (value, ok) results are a single number here: -1 means "not ok". -1 cannot be a valid index
// or term, while 0 can (the dummy entry, a zero-term snapshot), so 0 could not serve.
export class Unstable {
  // The incoming snapshot, if any.
  snapshot: Snapshot | null = null;
  entries: Entry[] = [];
  offset = 0;
  // True while the snapshot is being written to storage.
  snapshotInProgress = false;
  // entries[0, offsetInProgress - offset) are being written to storage. Exclusive, like offset.
  // Invariant: offset <= offsetInProgress.
  offsetInProgress = 0;

  constructor(public logger: Logger) {}

  // maybeFirstIndex is the index of the first possible entry, known only with a snapshot; else -1.
  maybeFirstIndex(): number {
    return this.snapshot !== null ? this.snapshot.metadata.index + 1 : -1;
  }

  // maybeLastIndex is the last index held here (entry or snapshot); -1 if there is neither.
  maybeLastIndex(): number {
    const n = this.entries.length;
    if (n !== 0) return this.offset + n - 1;
    if (this.snapshot !== null) return this.snapshot.metadata.index;
    return -1;
  }

  // maybeTerm is the term of the entry at index i if held here; -1 if not.
  maybeTerm(i: number): number {
    if (i < this.offset) {
      const s = this.snapshot;
      if (s !== null && s.metadata.index === i) return s.metadata.term;
      return -1;
    }
    const last = this.maybeLastIndex();
    if (last < 0 || i > last) return -1;
    return this.entries[i - this.offset]!.term;
  }

  // nextEntries returns (a copy of) the entries not yet handed out for persistence; [] if none.
  nextEntries(): Entry[] {
    const inProgress = this.offsetInProgress - this.offset;
    if (this.entries.length === inProgress) return [];
    return this.entries.slice(inProgress);
  }

  // hasNextEntries is nextEntries().length > 0 without the copy; HasReady asks it on every loop.
  hasNextEntries(): boolean {
    return this.entries.length > this.offsetInProgress - this.offset;
  }

  // nextSnapshot returns the snapshot if there is one not yet handed out for persistence.
  nextSnapshot(): Snapshot | null {
    if (this.snapshot === null || this.snapshotInProgress) return null;
    return this.snapshot;
  }

  // acceptInProgress marks everything held now as handed out: nextEntries/nextSnapshot stop
  // returning it, while anything added afterwards is returned until the next call.
  acceptInProgress(): void {
    const n = this.entries.length;
    if (n > 0) {
      // +1 because offsetInProgress is exclusive, like offset.
      this.offsetInProgress = this.entries[n - 1]!.index + 1;
    }
    if (this.snapshot !== null) this.snapshotInProgress = true;
  }

  // stableTo drops the entries up to id once they are durable. The caller must know that no
  // in-flight append can still overwrite them (see newStorageAppendRespMsg in etcd).
  stableTo(id: EntryID): void {
    const gt = this.maybeTerm(id.index);
    if (gt < 0) {
      this.logger.info(`entry at index ${id.index} missing from unstable log; ignoring`);
      return;
    }
    if (id.index < this.offset) {
      // The index matched the unstable snapshot, not an unstable entry.
      this.logger.info(`entry at index ${id.index} matched unstable snapshot; ignoring`);
      return;
    }
    if (gt !== id.term) {
      // The unstable log was partly or wholly replaced between the start of the write and its
      // completion: the durable entries are not the ones we hold now.
      this.logger.info(
        `entry at (index,term)=(${id.index},${id.term}) mismatched with ` +
          `entry at (${id.index},${gt}) in unstable log; ignoring`,
      );
      return;
    }
    const num = id.index + 1 - this.offset;
    this.entries.splice(0, num);
    this.offset = id.index + 1;
    this.offsetInProgress = Math.max(this.offsetInProgress, this.offset);
    this.shrinkEntriesArray();
  }

  // shrinkEntriesArray lets go of the backing store once it is empty so that it does not pin the
  // entries it once held. Go also reallocates when less than half the capacity is used; JS
  // arrays do not expose their capacity and V8 trims them on splice, so only the empty case is
  // kept.
  shrinkEntriesArray(): void {
    if (this.entries.length === 0) this.entries = [];
  }

  stableSnapTo(i: number): void {
    if (this.snapshot !== null && this.snapshot.metadata.index === i) {
      this.snapshot = null;
      this.snapshotInProgress = false;
    }
  }

  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.offsetInProgress = this.offset;
    this.entries = [];
    this.snapshot = s;
    this.snapshotInProgress = false;
  }

  // truncateAndAppend appends ents[start:] (non-empty), first cutting off any entries held here at
  // or after its first index. ents itself is never retained or modified.
  truncateAndAppend(ents: readonly Entry[], start = 0): void {
    const fromIndex = ents[start]!.index;
    const n = this.entries.length;
    if (fromIndex === this.offset + n) {
      // fromIndex is the next index after ours: append directly.
      for (let k = start; k < ents.length; k++) this.entries.push(ents[k]!);
    } else if (fromIndex <= this.offset) {
      this.logger.info(`replace the unstable entries from index ${fromIndex}`);
      // The log is truncated to before our offset: replace everything.
      this.entries = ents.slice(start);
      this.offset = fromIndex;
      this.offsetInProgress = this.offset;
    } else {
      this.logger.info(`truncate the unstable entries before index ${fromIndex}`);
      // Go takes u.slice(offset, fromIndex) here, which panics if fromIndex leaves a gap.
      this.mustCheckOutOfBounds(this.offset, fromIndex);
      this.entries.length = fromIndex - this.offset;
      for (let k = start; k < ents.length; k++) this.entries.push(ents[k]!);
      // Only in-progress entries before fromIndex are still in progress.
      this.offsetInProgress = Math.min(this.offsetInProgress, fromIndex);
    }
  }

  // slice returns a new array with the entries in [lo, hi), all of which must be held here.
  slice(lo: number, hi: number): Entry[] {
    this.mustCheckOutOfBounds(lo, hi);
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }

  // sliceLimited is limitSize(slice(lo, hi), maxSizeBytes) with a single copy.
  sliceLimited(lo: number, hi: number, maxSizeBytes: number): Entry[] {
    this.mustCheckOutOfBounds(lo, hi);
    const start = lo - this.offset;
    return this.entries.slice(start, limitSizeEnd(this.entries, start, hi - this.offset, maxSizeBytes));
  }

  // mustCheckOutOfBounds asserts offset <= lo <= hi <= offset + entries.length.
  mustCheckOutOfBounds(lo: number, hi: number): void {
    if (lo > hi) this.logger.panic(`invalid unstable.slice ${lo} > ${hi}`);
    const upper = this.offset + this.entries.length;
    if (lo < this.offset || hi > upper) {
      this.logger.panic(`unstable.slice[${lo},${hi}) out of bound [${this.offset},${upper}]`);
    }
  }
}
