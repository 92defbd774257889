// The operations of the crash test, shared by the child that performs them through LmdbStorage and
// the parent that replays them on a MemoryStorage to know what the store must hold.

import { Approval, EntryType, type Entry, type HardState, type Snapshot } from '../../src/core/types.js';
import type { MemoryStorage } from '../../src/core/storage.js';
import type { LmdbStorage } from '../../src/storage/index.js';

export type CrashOp =
  | { k: 'ready'; seq: number; from: number; count: number; term: number; hs: HardState; snap: number | null }
  | { k: 'compact'; seq: number; i: number }
  | { k: 'snapshot'; seq: number; i: number };

const confState = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

// Entries are a function of (index, term, seq), so that a line of the child's output is enough to
// rebuild them exactly.
export function crashEntries(from: number, count: number, term: number, seq: number): Entry[] {
  const out: Entry[] = [];
  for (let k = 0; k < count; k++) {
    const index = from + k;
    const n = (seq * 31 + index) % 61;
    const data = new Uint8Array(n);
    for (let j = 0; j < n; j++) data[j] = (index * 7 + seq + j) & 0xff;
    const e: Entry = { term, index, type: index % 11 === 0 ? EntryType.EntryConfChangeV2 : EntryType.EntryNormal, data };
    if (index % 3 === 1) {
      e.approval = Approval.SelfApproved;
      e.digest = seq * 1_000_003 + index;
    } else if (index % 3 === 2) {
      e.approval = Approval.LeaderApproved;
    }
    out.push(e);
  }
  return out;
}

// Snapshot data, a function of seq: usually two bytes, one time in four a few kilobytes, more than
// a small walCheckpointBytes, so that the write skips the log and is a checkpoint of its own.
export function crashSnapshotData(seq: number): Uint8Array {
  const n = seq % 4 === 0 ? 5000 + (seq % 3000) : 2;
  const data = new Uint8Array(n);
  for (let j = 0; j < n; j++) data[j] = (seq + j * 13) & 0xff;
  return data;
}

function snapshotFor(index: number, term: number, seq: number): Snapshot {
  return { data: crashSnapshotData(seq), metadata: { index, term, confState } };
}

// applyOp performs one operation on either storage; the two must end in the same state.
export function applyOp(s: MemoryStorage | LmdbStorage, op: CrashOp): void {
  switch (op.k) {
    case 'ready': {
      const ents = crashEntries(op.from, op.count, op.term, op.seq);
      const snap = op.snap !== null ? snapshotFor(op.snap, op.term, op.seq) : null;
      if ('saveReady' in s) {
        s.saveReady(ents, op.hs, snap);
      } else {
        if (snap !== null) s.applySnapshot(snap);
        s.append(ents);
        s.setHardState(op.hs);
      }
      return;
    }
    case 'compact':
      s.compact(op.i);
      return;
    case 'snapshot':
      s.createSnapshot(op.i, null, crashSnapshotData(op.seq + 1));
      return;
    default: {
      const never: never = op;
      throw new Error(`unknown op ${JSON.stringify(never)}`);
    }
  }
}

export interface Rand {
  intn(n: number): number;
}

// nextOp picks an operation that Raft could ask of a store in state s: appends never truncate a
// committed entry, compaction and snapshots stay at or below the commit index, a snapshot is
// installed only past the commit index.
export function nextOp(s: LmdbStorage, rng: Rand, seq: number): CrashOp {
  const hs = s.initialState().hardState;
  const first = s.firstIndex();
  const last = s.lastIndex();
  const snapIndex = s.snapshot().metadata.index;
  const r = rng.intn(100);
  if (r < 6 && hs.commit >= first) return { k: 'compact', seq, i: first + rng.intn(hs.commit - first + 1) };
  if (r < 10 && hs.commit > snapIndex && hs.commit >= first - 1) {
    const lo = Math.max(snapIndex + 1, first - 1);
    return { k: 'snapshot', seq, i: lo + rng.intn(hs.commit - lo + 1) };
  }
  const term = Math.max(1, hs.term) + (rng.intn(10) === 0 ? 1 : 0);
  if (r < 12) {
    const snap = Math.max(hs.commit, last) + 1 + rng.intn(5);
    return { k: 'ready', seq, from: snap + 1, count: 1 + rng.intn(8), term, hs: { term, vote: 1, commit: snap }, snap };
  }
  // A conflicting suffix above the commit index is replaced now and then.
  const from = rng.intn(5) === 0 ? Math.max(hs.commit + 1, last + 1 - rng.intn(6)) : last + 1;
  const count = rng.intn(4) === 0 ? 64 : 1 + rng.intn(8);
  const newLast = from + count - 1;
  const commit = Math.min(newLast, hs.commit + rng.intn(count + 2));
  return { k: 'ready', seq, from, count, term, hs: { term, vote: 1, commit }, snap: null };
}
