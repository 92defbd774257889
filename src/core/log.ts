// The raft log (etcd's log.go): the durable entries in Storage followed by the unstable tail, with
// the commit/apply cursors over them.

import type { Entry, Snapshot } from './types.js';
import { entriesSizeBytes, entrySizeBytes } from './types.js';
import type { Logger } from './logger.js';
import { ErrCompacted, ErrUnavailable } from './errors.js';
import type { EntryID } from './log-slice.js';
import type { LogSlice } from './log-slice.js';
import { limitSizeEnd } from './log-slice.js';
import { Unstable } from './log-unstable.js';
import type { Storage } from './storage.js';

// noLimit is etcd's math.MaxUint64 size limit. Infinity keeps every comparison and subtraction
// (noLimit - applyingEntsSize) exact where a large finite number would not.
export const noLimit = Infinity;

// Results of tryTerm that are not terms. Terms are >= 0.
export const TermCompacted = -1;
export const TermUnavailable = -2;

// errorText renders a thrown value as Go's %v renders an error.
function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// Conventions: where etcd returns (value, error), a method returns the value and throws the
// sentinel from errors.ts (compare with ===); a Go panic is logger.panic with etcd's text; a Go
// (value, ok) is one number with -1 for "not ok". Returned entry arrays are fresh (the caller may
// keep and append to them); the Entry objects in them are shared and never mutated.
export class RaftLog {
  // All stable entries since the last snapshot.
  storage: Storage;
  // Unstable entries and snapshot, to be saved into storage.
  unstable: Unstable;
  // The highest index known to be in stable storage on a quorum of nodes.
  committed: number;
  // The highest index the application has been told to apply; some of those may still be in the
  // middle of being applied. Raised when a Ready is accepted.
  // Invariant: applied <= applying && applying <= committed.
  applying: number;
  // The highest index the application has applied. Raised on advance.
  // Invariant: applied <= committed.
  applied: number;
  logger: Logger;
  // Limits the bytes of entries handed out by nextCommittedEnts and not yet acknowledged by
  // appliedTo.
  maxApplyingEntsSize: number;
  // The bytes currently handed out and not acknowledged.
  applyingEntsSize = 0;
  // True when application is paused until enough is acknowledged.
  applyingEntsPaused = false;

  constructor(storage: Storage, logger: Logger, maxApplyingEntsSize: number) {
    const firstIndex = storage.firstIndex();
    const lastIndex = storage.lastIndex();
    this.storage = storage;
    this.logger = logger;
    this.maxApplyingEntsSize = maxApplyingEntsSize;
    this.unstable = new Unstable(logger);
    this.unstable.offset = lastIndex + 1;
    this.unstable.offsetInProgress = lastIndex + 1;
    // Start the cursors at the last compaction point.
    this.committed = firstIndex - 1;
    this.applying = firstIndex - 1;
    this.applied = firstIndex - 1;
  }

  toString(): string {
    return (
      `committed=${this.committed}, applied=${this.applied}, applying=${this.applying}, ` +
      `unstable.offset=${this.unstable.offset}, unstable.offsetInProgress=${this.unstable.offsetInProgress}, ` +
      `len(unstable.Entries)=${this.unstable.entries.length}`
    );
  }

  // maybeAppend appends the slice if its prev entry matches our log, and then commits up to
  // min(committed, last new index). Returns the last index of the slice, or -1 if prev does not
  // match (0 is a valid result: an empty slice after the empty log).
  maybeAppend(a: LogSlice, committed: number): number {
    if (!this.matchTerm(a.prev)) return -1;
    const lastnewi = a.prev.index + a.entries.length;
    const ci = this.findConflict(a.entries);
    if (ci === 0) {
      // Everything is already in the log.
    } else if (ci <= this.committed) {
      this.logger.panic(`entry ${ci} conflict with committed entry [committed(${this.committed})]`);
    } else {
      const offset = a.prev.index + 1;
      if (ci - offset > a.entries.length) {
        this.logger.panic(`index, ${ci - offset}, is out of range [${a.entries.length}]`);
      }
      this.appendFrom(a.entries, ci - offset);
    }
    this.commitTo(Math.min(committed, lastnewi));
    return lastnewi;
  }

  // append adds ents (truncating any conflicting suffix) and returns the new last index.
  append(ents: readonly Entry[]): number {
    return this.appendFrom(ents, 0);
  }

  // appendFrom is append(ents.slice(start)) without the copy.
  private appendFrom(ents: readonly Entry[], start: number): number {
    if (start >= ents.length) return this.lastIndex();
    const after = ents[start]!.index - 1;
    if (after < this.committed) {
      this.logger.panic(`after(${after}) is out of range [committed(${this.committed})]`);
    }
    this.unstable.truncateAndAppend(ents, start);
    return this.lastIndex();
  }

  // findConflict returns the index of the first entry of ents whose term differs from ours at the
  // same index, or of the first entry we do not have; 0 if we already have all of ents. The
  // indices of ents must be consecutive.
  findConflict(ents: readonly Entry[]): number {
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i]!;
      if (!this.matchTerm(e)) {
        if (e.index <= this.lastIndex()) {
          this.logger.info(
            `found conflict at index ${e.index} [existing term: ${this.termOrZero(e.index)}, conflicting term: ${e.term}]`,
          );
        }
        return e.index;
      }
    }
    return 0;
  }

  // findConflictByTerm guesses where this log stops matching another log of which only the
  // (index, term) of one entry is known: the largest guess <= index such that term(guess) <= term
  // or term(guess) is unknown (compacted or not stored). Returns the guess and its term (0 if
  // unknown). Leader and follower use it to skip over divergent tails after a rejected append.
  // Only the rejection path calls it, so the small result object costs nothing on the hot path.
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (; index > 0; index--) {
      // Compacted or unavailable: we cannot tell whether it matches, so assume it may.
      const ourTerm = this.tryTerm(index);
      if (ourTerm < 0) return { index, term: 0 };
      if (ourTerm <= term) return { index, term: ourTerm };
    }
    return { index: 0, term: 0 };
  }

  // nextUnstableEnts returns the entries to write to stable storage that are not already being
  // written.
  nextUnstableEnts(): Entry[] {
    return this.unstable.nextEntries();
  }

  hasNextUnstableEnts(): boolean {
    return this.unstable.hasNextEntries();
  }

  // hasNextOrInProgressUnstableEnts: entries to write or being written.
  hasNextOrInProgressUnstableEnts(): boolean {
    return this.unstable.entries.length > 0;
  }

  // nextCommittedEnts returns the committed entries to apply next. Entries can be committed before
  // this node has made them durable; with allowUnstable they may be returned from the unstable
  // tail, otherwise only entries known to be in stable storage are.
  nextCommittedEnts(allowUnstable: boolean): Entry[] {
    if (this.applyingEntsPaused) return []; // the outstanding size limit is reached
    if (this.hasNextOrInProgressSnapshot()) return []; // see hasNextCommittedEnts
    const lo = this.applying + 1;
    const hi = this.maxAppliableIndex(allowUnstable) + 1; // [lo, hi)
    if (lo >= hi) return [];
    const maxSize = this.maxApplyingEntsSize - this.applyingEntsSize;
    if (maxSize <= 0) {
      this.logger.panic(
        `applying entry size (${this.maxApplyingEntsSize}-${this.applyingEntsSize})=${maxSize} not positive`,
      );
    }
    try {
      return this.slice(lo, hi, maxSize);
    } catch (e) {
      if (e === ErrCompacted || e === ErrUnavailable) {
        this.logger.panic(`unexpected error when getting unapplied entries (${errorText(e)})`);
      }
      throw e;
    }
  }

  // hasNextCommittedEnts is nextCommittedEnts(allowUnstable).length > 0 without reading entries.
  hasNextCommittedEnts(allowUnstable: boolean): boolean {
    if (this.applyingEntsPaused) return false;
    // With a snapshot to apply, committed entries wait: which to apply first would be ambiguous.
    if (this.hasNextOrInProgressSnapshot()) return false;
    return this.applying + 1 < this.maxAppliableIndex(allowUnstable) + 1;
  }

  // maxAppliableIndex is the highest committed index that may be applied now: without
  // allowUnstable, only entries known to be in stable storage.
  maxAppliableIndex(allowUnstable: boolean): number {
    let hi = this.committed;
    if (!allowUnstable) hi = Math.min(hi, this.unstable.offset - 1);
    return hi;
  }

  // nextUnstableSnapshot returns the snapshot to apply to storage if not already being applied.
  nextUnstableSnapshot(): Snapshot | null {
    return this.unstable.nextSnapshot();
  }

  hasNextUnstableSnapshot(): boolean {
    return this.unstable.nextSnapshot() !== null;
  }

  // hasNextOrInProgressSnapshot: a snapshot waits to be applied or is being applied.
  hasNextOrInProgressSnapshot(): boolean {
    return this.unstable.snapshot !== null;
  }

  // snapshot throws what storage.snapshot() throws (e.g. ErrSnapshotTemporarilyUnavailable).
  snapshot(): Snapshot {
    if (this.unstable.snapshot !== null) return this.unstable.snapshot;
    return this.storage.snapshot();
  }

  firstIndex(): number {
    const i = this.unstable.maybeFirstIndex();
    if (i >= 0) return i;
    return this.storage.firstIndex();
  }

  lastIndex(): number {
    const i = this.unstable.maybeLastIndex();
    if (i >= 0) return i;
    return this.storage.lastIndex();
  }

  commitTo(tocommit: number): void {
    // Never decrease commit.
    if (this.committed < tocommit) {
      if (this.lastIndex() < tocommit) {
        this.logger.panic(
          `tocommit(${tocommit}) is out of range [lastIndex(${this.lastIndex()})]. Was the raft log corrupted, truncated, or lost?`,
        );
      }
      this.committed = tocommit;
    }
  }

  appliedTo(i: number, sizeBytes: number): void {
    if (this.committed < i || i < this.applied) {
      this.logger.panic(
        `applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`,
      );
    }
    this.applied = i;
    this.applying = Math.max(this.applying, i);
    // Saturate rather than go negative if the caller over-reports.
    this.applyingEntsSize = this.applyingEntsSize > sizeBytes ? this.applyingEntsSize - sizeBytes : 0;
    this.applyingEntsPaused = this.applyingEntsSize >= this.maxApplyingEntsSize;
  }

  acceptApplying(i: number, sizeBytes: number, allowUnstable: boolean): void {
    if (this.committed < i) {
      this.logger.panic(
        `applying(${i}) is out of range [prevApplying(${this.applying}), committed(${this.committed})]`,
      );
    }
    this.applying = i;
    this.applyingEntsSize += sizeBytes;
    // Pause when the outstanding size reaches the limit, or when the last handed-out batch was cut
    // short by the limit (i is below what could have been applied), since the next entry would
    // then push it over.
    this.applyingEntsPaused =
      this.applyingEntsSize >= this.maxApplyingEntsSize || i < this.maxAppliableIndex(allowUnstable);
  }

  stableTo(id: EntryID): void {
    this.unstable.stableTo(id);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  // acceptUnstable marks the current unstable entries and snapshot as being persisted, so that the
  // next Ready does not return them again.
  acceptUnstable(): void {
    this.unstable.acceptInProgress();
  }

  // lastEntryID is the ID of the last entry of the log.
  lastEntryID(): EntryID {
    const index = this.lastIndex();
    return { term: this.lastTermAt(index), index };
  }

  private lastTermAt(index: number): number {
    const t = this.tryTerm(index);
    if (t < 0) {
      const err = t === TermCompacted ? ErrCompacted : ErrUnavailable;
      this.logger.panic(`unexpected error when getting the last term at ${index}: ${err.message}`);
    }
    return t;
  }

  // tryTerm is term(i) without exceptions, for the paths that probe out-of-range indices routinely
  // (matching appends, rejection hints): the term, or TermCompacted / TermUnavailable. Errors of
  // storage other than the two sentinels still propagate as exceptions.
  tryTerm(i: number): number {
    // The unstable tail first: a hit there is in range and spares computing the range, which may
    // reach into storage.
    const ut = this.unstable.maybeTerm(i);
    if (ut >= 0) return ut;
    // The valid range is [firstIndex-1, lastIndex]: the entry before firstIndex is compacted but
    // its term is kept for matching appends.
    if (i + 1 < this.firstIndex()) return TermCompacted;
    if (i > this.lastIndex()) return TermUnavailable;
    try {
      return this.storage.term(i);
    } catch (e) {
      if (e === ErrCompacted) return TermCompacted;
      if (e === ErrUnavailable) return TermUnavailable;
      throw e;
    }
  }

  // term returns the term of entry i; throws ErrCompacted or ErrUnavailable outside the valid range.
  term(i: number): number {
    const t = this.tryTerm(i);
    if (t >= 0) return t;
    throw t === TermCompacted ? ErrCompacted : ErrUnavailable;
  }

  // termOrZero is etcd's zeroTermOnOutOfBounds(term(i)): 0 for a compacted or unavailable index.
  termOrZero(i: number): number {
    const t = this.tryTerm(i);
    return t >= 0 ? t : 0;
  }

  // entries returns the entries from i to the end, limited to maxSizeBytes (at least one).
  // Throws ErrCompacted.
  entries(i: number, maxSizeBytes: number): Entry[] {
    const last = this.lastIndex();
    if (i > last) return [];
    return this.slice(i, last + 1, maxSizeBytes);
  }

  // allEntries returns all entries in the log.
  allEntries(): Entry[] {
    for (;;) {
      try {
        return this.entries(this.firstIndex(), noLimit);
      } catch (e) {
        // Retry after a racing compaction, as etcd does.
        if (e === ErrCompacted) continue;
        throw e;
      }
    }
  }

  // isUpToDate tells whether a log whose last entry is `their` is at least as up-to-date as ours:
  // a later last term wins; with equal last terms, the longer log wins; equal logs are up-to-date.
  isUpToDate(their: EntryID): boolean {
    const ourIndex = this.lastIndex();
    const ourTerm = this.lastTermAt(ourIndex);
    return their.term > ourTerm || (their.term === ourTerm && their.index >= ourIndex);
  }

  // matchTerm: our log has an entry with id's term at id's index. An Entry can be passed as id.
  matchTerm(id: EntryID): boolean {
    const t = this.tryTerm(id.index);
    return t >= 0 && t === id.term;
  }

  maybeCommit(at: EntryID): boolean {
    // A leader campaigns at term >= 1, so term 0 never commits; checking it also keeps a 0 from an
    // out-of-range lookup from counting as a match.
    if (at.term !== 0 && at.index > this.committed && this.matchTerm(at)) {
      this.commitTo(at.index);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.logger.info(
      `log [${this.toString()}] starts to restore snapshot [index: ${s.metadata.index}, term: ${s.metadata.term}]`,
    );
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  // scan passes the entries in [lo, hi) to visit in consecutive pages of up to pageSizeBytes each
  // (more only when a single entry exceeds it). The entries must exist, otherwise scan throws
  // (possibly after some pages were visited). visit stops the scan by returning false (etcd's
  // errBreak) or by throwing, which propagates to the caller.
  scan(lo: number, hi: number, pageSizeBytes: number, visit: (ents: Entry[]) => boolean | void): void {
    while (lo < hi) {
      const ents = this.slice(lo, hi, pageSizeBytes);
      if (ents.length === 0) throw new Error(`got 0 entries in [${lo}, ${hi})`);
      if (visit(ents) === false) return;
      lo += ents.length;
    }
  }

  // slice returns the entries in [lo, hi), limited to maxSizeBytes (at least one). Throws
  // ErrCompacted if lo is compacted.
  slice(lo: number, hi: number, maxSizeBytes: number): Entry[] {
    this.mustCheckOutOfBounds(lo, hi);
    if (lo === hi) return [];
    const u = this.unstable;
    if (lo >= u.offset) return u.sliceLimited(lo, hi, maxSizeBytes);

    const cut = Math.min(hi, u.offset);
    let ents: Entry[];
    try {
      ents = this.storage.entries(lo, cut, maxSizeBytes);
    } catch (e) {
      if (e === ErrUnavailable) this.logger.panic(`entries[${lo}:${cut}) is unavailable from storage`);
      throw e; // ErrCompacted, or a storage failure
    }
    if (hi <= u.offset) return ents;

    // Fast path: storage returned fewer entries than asked, so the size limit was reached.
    if (ents.length < cut - lo) return ents;
    // Slow path: size what we have, so that the unstable part is cut optimally.
    const size = entriesSizeBytes(ents);
    if (size >= maxSizeBytes) return ents;

    u.mustCheckOutOfBounds(u.offset, hi);
    const end = limitSizeEnd(u.entries, 0, hi - u.offset, maxSizeBytes - size);
    // limitSize always returns one entry; drop it if it alone goes over the remaining budget.
    if (end === 1 && size + entrySizeBytes(u.entries[0]!) > maxSizeBytes) return ents;
    // Storage hands the caller a fresh array (see Storage.entries), so appending to it is safe.
    for (let k = 0; k < end; k++) ents.push(u.entries[k]!);
    return ents;
  }

  // mustCheckOutOfBounds asserts firstIndex <= lo <= hi <= lastIndex + 1; throws ErrCompacted if
  // lo < firstIndex and panics on the rest.
  mustCheckOutOfBounds(lo: number, hi: number): void {
    if (lo > hi) this.logger.panic(`invalid slice ${lo} > ${hi}`);
    const fi = this.firstIndex();
    if (lo < fi) throw ErrCompacted;
    const length = this.lastIndex() + 1 - fi;
    if (hi > fi + length) this.logger.panic(`slice[${lo},${hi}) out of bound [${fi},${this.lastIndex()}]`);
  }
}

// newLog returns a log over storage with no limit on the size of entries handed out for
// application. It starts at the state of the latest snapshot: committed and applied.
export function newLog(storage: Storage, logger: Logger): RaftLog {
  return new RaftLog(storage, logger, noLimit);
}

// newLogWithSize is newLog with a limit on the bytes of entries handed out for application and
// not yet acknowledged.
export function newLogWithSize(storage: Storage, logger: Logger, maxApplyingEntsSizeBytes: number): RaftLog {
  return new RaftLog(storage, logger, maxApplyingEntsSizeBytes);
}
