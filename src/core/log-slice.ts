// Identities of log entries and well-formed slices of a raft log (etcd's types.go).

import type { Entry } from './types.js';
import { entrySizeBytes } from './types.js';

// EntryID names one entry of a log. There is only one leader per term and a leader never issues
// two entries at the same index, so (term, index) identifies an entry across all logs. An Entry
// has both fields, so an Entry can be passed wherever an EntryID is read, with no allocation.
export interface EntryID {
  readonly term: number;
  readonly index: number;
}

export function entryID(term: number, index: number): EntryID {
  return { term, index };
}

// pbEntryID copies the ID out of an entry, for when the ID outlives or is compared apart from it.
export function pbEntryID(e: Entry): EntryID {
  return { term: e.term, index: e.index };
}

// formatEntryID prints an ID the way Go's %+v prints etcd's entryID struct, so that messages that
// embed one stay byte-identical to etcd's.
export function formatEntryID(id: EntryID): string {
  return `{term:${id.term} index:${id.index}}`;
}

// LogSlice is a contiguous run of entries as seen by the leader of `term`, anchored after `prev`.
// A well-formed slice satisfies:
//  1. entries[i].index === prev.index + 1 + i,
//  2. prev.term <= entries[0].term,
//  3. entries[i-1].term <= entries[i].term,
//  4. entries[last].term <= term.
// Two slices with the same `term` never disagree at an index; slices of different terms share a
// prefix and then diverge for good. Code that builds a slice from outside input (a message, a
// storage read, a test table) checks valid() before relying on these properties.
export class LogSlice {
  constructor(
    public term: number,
    public prev: EntryID,
    public entries: Entry[],
  ) {}

  // lastIndex is prev.index when the slice has no entries.
  lastIndex(): number {
    return this.prev.index + this.entries.length;
  }

  // lastEntryID is prev when the slice has no entries.
  lastEntryID(): EntryID {
    const n = this.entries.length;
    return n !== 0 ? pbEntryID(this.entries[n - 1]!) : this.prev;
  }

  // valid returns null when the slice is well-formed, or an Error describing the first violation
  // (the text of etcd's error, so that logs match).
  valid(): Error | null {
    let prevTerm = this.prev.term;
    let prevIndex = this.prev.index;
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (e.term < prevTerm || e.index !== prevIndex + 1) {
        return new Error(
          `leader term ${this.term}: entries ${formatEntryID({ term: prevTerm, index: prevIndex })} ` +
            `and ${formatEntryID(e)} not consistent`,
        );
      }
      prevTerm = e.term;
      prevIndex = e.index;
    }
    if (this.term < prevTerm) {
      return new Error(
        `leader term ${this.term}: entry ${formatEntryID({ term: prevTerm, index: prevIndex })} has a newer term`,
      );
    }
    return null;
  }
}

// limitSizeEnd is limitSize (types.ts) over ents[start, end) without copying: it returns the
// exclusive end of the longest prefix whose encoded size does not exceed maxSizeBytes, but never
// an empty prefix of a non-empty range. Callers then copy exactly once with ents.slice(start, k).
export function limitSizeEnd(ents: readonly Entry[], start: number, end: number, maxSizeBytes: number): number {
  if (start >= end) return end;
  let size = entrySizeBytes(ents[start]!);
  for (let k = start + 1; k < end; k++) {
    size += entrySizeBytes(ents[k]!);
    if (size > maxSizeBytes) return k;
  }
  return end;
}
