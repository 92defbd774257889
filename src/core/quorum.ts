// Quorum math (etcd-io/raft quorum/): majority and joint configurations, the committed index a set
// of acknowledgements implies, and the outcome of a vote. Nothing here knows about Progress or
// messages; the tracker adapts its progress map to AckedIndexer.

// An index as seen by quorum math. The committed index of an empty majority config is Infinity
// (Go: math.MaxUint64) so that an empty half of a joint config never lowers the joint result.
export type Index = number;

export function indexString(i: Index): string {
  return i === Infinity ? '∞' : String(i);
}

export const enum VoteResult {
  // Neither a quorum of yes nor of no has been reached yet.
  VotePending = 1,
  VoteLost = 2,
  VoteWon = 3,
}

export function voteResultName(r: VoteResult): string {
  switch (r) {
    case VoteResult.VotePending: return 'VotePending';
    case VoteResult.VoteLost: return 'VoteLost';
    case VoteResult.VoteWon: return 'VoteWon';
    default: return `VoteResult(${r as number})`;
  }
}

// AckedIndexer reports the highest index a voter is known to have acknowledged, or undefined when
// nothing is known about it (which differs from an ack of 0 only in Describe's output).
export interface AckedIndexer {
  ackedIndex(voterId: number): Index | undefined;
}

export class MapAckIndexer implements AckedIndexer {
  constructor(readonly m: Map<number, Index> = new Map()) {}
  ackedIndex(voterId: number): Index | undefined {
    return this.m.get(voterId);
  }
}

// Scratch space for committedIndex. committedIndex runs on every MsgAppResp; sharing one buffer
// keeps it allocation-free (the core is single-threaded and committedIndex never re-enters).
let commitScratch: number[] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

function insertionSort(a: number[], n: number): void {
  for (let i = 1; i < n; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > v) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
  }
}

function compareNumbers(a: number, b: number): number {
  return a - b;
}

function spaces(n: number): string {
  return ' '.repeat(n);
}

// MajorityConfig is a set of voter ids deciding by simple majority. It keeps a sorted copy of its
// ids (rebuilt lazily after a change) so that hot paths walk an array instead of a Set iterator and
// every printed form is in id order, as Go sorts before printing.
export class MajorityConfig implements Iterable<number> {
  private readonly set: Set<number>;
  private sorted: number[] | null = null;

  constructor(ids?: Iterable<number>) {
    this.set = new Set(ids);
  }

  get size(): number {
    return this.set.size;
  }

  has(id: number): boolean {
    return this.set.has(id);
  }

  add(id: number): this {
    if (!this.set.has(id)) {
      this.set.add(id);
      this.sorted = null;
    }
    return this;
  }

  delete(id: number): boolean {
    const had = this.set.delete(id);
    if (had) this.sorted = null;
    return had;
  }

  clear(): void {
    if (this.set.size > 0) {
      this.set.clear();
      this.sorted = null;
    }
  }

  [Symbol.iterator](): Iterator<number> {
    return this.ids()[Symbol.iterator]();
  }

  // ids returns the voters in ascending order. The array is shared: do not mutate it.
  ids(): readonly number[] {
    let s = this.sorted;
    if (s === null) {
      s = Array.from(this.set);
      s.sort(compareNumbers);
      this.sorted = s;
    }
    return s;
  }

  // slice returns a fresh sorted copy of the ids (Go: Slice).
  slice(): number[] {
    return this.ids().slice();
  }

  clone(): MajorityConfig {
    return new MajorityConfig(this.set);
  }

  toString(): string {
    return `(${this.ids().join(' ')})`;
  }

  // describe renders the acked index of every voter with a bar whose length ranks it: the voter
  // with the i-th smallest index gets i x's, and equal indexes get equal bars.
  describe(l: AckedIndexer): string {
    const n = this.set.size;
    if (n === 0) return '<empty majority quorum>';
    interface Tup { id: number; idx: Index; ok: boolean; bar: number }
    const info: Tup[] = [];
    for (const id of this.ids()) {
      const idx = l.ackedIndex(id);
      info.push({ id, idx: idx ?? 0, ok: idx !== undefined, bar: 0 });
    }
    info.sort((a, b) => (a.idx !== b.idx ? (a.idx < b.idx ? -1 : 1) : a.id - b.id));
    for (let i = 1; i < info.length; i++) {
      const prev = info[i - 1]!;
      info[i]!.bar = prev.idx === info[i]!.idx ? prev.bar : i;
    }
    info.sort((a, b) => a.id - b.id);
    let buf = spaces(n) + '    idx\n';
    for (const t of info) {
      if (!t.ok) buf += '?' + spaces(n);
      else buf += 'x'.repeat(t.bar) + '>' + spaces(n - t.bar);
      buf += ` ${String(t.idx).padStart(5)}    (id=${t.id})\n`;
    }
    return buf;
  }

  // committedIndex is the highest index acked by a majority: sort the acks (unknown voters count
  // as 0) and take the one a majority is at or above.
  committedIndex(l: AckedIndexer): Index {
    const ids = this.ids();
    const n = ids.length;
    if (n === 0) return Infinity;
    if (commitScratch.length < n) commitScratch = new Array<number>(2 * n).fill(0);
    const srt = commitScratch;
    for (let i = 0; i < n; i++) srt[i] = l.ackedIndex(ids[i]!) ?? 0;
    insertionSort(srt, n);
    return srt[n - ((n >> 1) + 1)]!;
  }

  voteResult(votes: ReadonlyMap<number, boolean>): VoteResult {
    const ids = this.ids();
    // By convention an empty config wins, so that a joint config with an empty half behaves like
    // its other half.
    if (ids.length === 0) return VoteResult.VoteWon;
    let yes = 0;
    let missing = 0;
    for (let i = 0; i < ids.length; i++) {
      const v = votes.get(ids[i]!);
      if (v === undefined) missing++;
      else if (v) yes++;
    }
    const q = (ids.length >> 1) + 1;
    if (yes >= q) return VoteResult.VoteWon;
    if (yes + missing >= q) return VoteResult.VotePending;
    return VoteResult.VoteLost;
  }
}

// JointConfig is two majority configs that must both agree (Raft thesis §4.3, C_{old,new}). The
// outgoing half is empty unless the group is in a joint state.
export class JointConfig {
  constructor(
    public incoming: MajorityConfig = new MajorityConfig(),
    public outgoing: MajorityConfig = new MajorityConfig(),
  ) {}

  toString(): string {
    if (this.outgoing.size > 0) return `${this.incoming.toString()}&&${this.outgoing.toString()}`;
    return this.incoming.toString();
  }

  // ids returns a new set of the voters of either half.
  ids(): Set<number> {
    const m = new Set<number>(this.incoming.ids());
    for (const id of this.outgoing.ids()) m.add(id);
    return m;
  }

  clone(): JointConfig {
    return new JointConfig(this.incoming.clone(), this.outgoing.clone());
  }

  describe(l: AckedIndexer): string {
    return new MajorityConfig(this.ids()).describe(l);
  }

  // An index is jointly committed when it is committed in both halves.
  committedIndex(l: AckedIndexer): Index {
    const i0 = this.incoming.committedIndex(l);
    const i1 = this.outgoing.committedIndex(l);
    return i0 < i1 ? i0 : i1;
  }

  voteResult(votes: ReadonlyMap<number, boolean>): VoteResult {
    const r1 = this.incoming.voteResult(votes);
    const r2 = this.outgoing.voteResult(votes);
    if (r1 === r2) return r1;
    // A lost half loses the whole; otherwise one half won and the other is still pending.
    if (r1 === VoteResult.VoteLost || r2 === VoteResult.VoteLost) return VoteResult.VoteLost;
    return VoteResult.VotePending;
  }
}
