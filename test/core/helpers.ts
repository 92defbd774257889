// Builders shared by the ports of etcd's log, log_unstable and storage tests (etcd's index(i).terms
// and index(i).termRange helpers).

import type { Entry, Snapshot } from '../../src/core/types.js';
import { EntryType, emptyConfState, newEntry, EMPTY_BYTES } from '../../src/core/types.js';

// terms builds entries at indices [first, first + terms.length) with the given terms.
export function terms(first: number, ...ts: number[]): Entry[] {
  const out: Entry[] = [];
  for (let k = 0; k < ts.length; k++) out.push(newEntry({ term: ts[k]!, index: first + k }));
  return out;
}

// termRange builds to - from entries at consecutive indices from `first`, with terms from..to-1.
export function termRange(first: number, from: number, to: number): Entry[] {
  const out: Entry[] = [];
  for (let t = from; t < to; t++) out.push(newEntry({ term: t, index: first + (t - from), type: EntryType.EntryNormal }));
  return out;
}

export function snap(index: number, term: number, voters: number[] = [], data: Uint8Array = EMPTY_BYTES): Snapshot {
  const confState = emptyConfState();
  confState.voters = voters;
  return { data, metadata: { confState, index, term } };
}
