// Safety invariants of Raft (Figure 3 of the paper, plus what a driver can break), checked
// incrementally while a simulation runs: each observation looks at what just changed, so that
// checking after every event costs O(1) per message and O(entries) per persisted or applied batch,
// never O(log) per event.
//
//   election safety        at most one leader per term
//   one vote per term      a node grants at most one vote per term (as its peers see it: granted
//                          MsgVoteResp on the wire), across crashes and restarts
//   log matching           two durable logs holding an entry with the same (index, term) hold the
//                          same entry there and the same term just before it (by induction, the
//                          same prefix)
//   no committed overwrite a durable log never replaces a committed entry
//   leader completeness    a leader of term U holds every entry known committed in a term < U
//   state machine safety   no two nodes apply different entries at one index
//   commit monotonic       a node's commit index never decreases (in memory, and durably across
//                          restarts)
//   applied <= committed   a node applies only committed entries, in log order
//
// A broken invariant throws a SafetyViolation; the cluster stops the run and reports it with the
// state of every node. Linearizability of client histories is checked at the end of a run
// (linearizability.ts), since a history is only judged as a whole.

import { Approval, type Entry } from '../core/types.js';

export type CheckerName =
  | 'election-safety'
  | 'one-vote-per-term'
  | 'log-matching'
  | 'committed-overwrite'
  | 'leader-completeness'
  | 'state-machine-safety'
  | 'commit-monotonic'
  | 'applied-le-committed'
  | 'apply-order'
  | 'linearizability'
  | 'core-panic';

export const checkerNames: readonly CheckerName[] = [
  'election-safety',
  'one-vote-per-term',
  'log-matching',
  'committed-overwrite',
  'leader-completeness',
  'state-machine-safety',
  'commit-monotonic',
  'applied-le-committed',
  'apply-order',
  'linearizability',
  'core-panic',
];

export class SafetyViolation extends Error {
  override name = 'SafetyViolation';
  constructor(readonly checker: CheckerName, readonly detail: string) {
    super(`${checker}: ${detail}`);
  }
}

// The read-only view of a log the leader-completeness check needs; RaftLog provides it
// (tryTerm answers a term, or a negative number for a compacted or missing index).
export interface LogTermView {
  tryTerm(index: number): number;
  lastIndex(): number;
  slice?(lo: number, hi: number, maxSizeBytes: number): Entry[];
}

// entryFingerprint is a 32-bit FNV-1a over an entry's type and data: what "the same entry" means
// to the checks (together with index and term).
export function entryFingerprint(e: Entry): number {
  let h = 0x811c9dc5 ^ e.type;
  h = Math.imul(h, 0x01000193);
  const d = e.data;
  for (let i = 0; i < d.length; i++) {
    h = Math.imul(h ^ d[i]!, 0x01000193);
  }
  return h >>> 0;
}

// A window of per-index records: index -> T, growing at the top and trimmed from the bottom when
// it holds more than `capacity` indices (then the oldest half goes; checks at those indices are
// skipped, which only weakens checking of nodes lagging by more than half the window).
class IndexWindow<T> {
  private base = 1;
  private items: (T | undefined)[] = [];

  constructor(private readonly capacity: number) {}

  get(index: number): T | undefined {
    const k = index - this.base;
    return k >= 0 ? this.items[k] : undefined;
  }

  // covers tells whether an index is inside the window (not trimmed away).
  covers(index: number): boolean {
    return index >= this.base;
  }

  set(index: number, v: T): void {
    let k = index - this.base;
    if (k < 0) return;
    if (k >= this.capacity) {
      const drop = Math.max(k - this.capacity + 1, this.capacity >> 1);
      this.items = this.items.slice(drop);
      this.base += drop;
      k -= drop;
    }
    while (this.items.length < k) this.items.push(undefined);
    this.items[k] = v;
  }
}

interface LogRecord {
  readonly term: number;
  readonly fp: number;
  readonly prevTerm: number;
  next: LogRecord | null;
}

interface CommittedRecord {
  term: number;
  // -1 until some node applies the entry (a commit report knows the term, not the data).
  fp: number;
  // The smallest term in which a node reported this index committed.
  commitTerm: number;
}

interface NodeProgress {
  incarnation: number;
  commit: number;
  durableCommit: number;
  applied: number;
}

export interface CheckerCounters {
  elections: number;
  votesGranted: number;
  entriesChecked: number;
  appliesChecked: number;
}

export interface CheckersOptions {
  // Indices remembered by the log-matching and committed tables (see IndexWindow).
  windowIndices?: number;
}

const windowIndicesDefault = 1 << 21;

export class Checkers {
  readonly counters: CheckerCounters = { elections: 0, votesGranted: 0, entriesChecked: 0, appliesChecked: 0 };
  private readonly leaders = new Map<number, number>();
  private readonly votes = new Map<number, Map<number, number>>();
  private readonly logs: IndexWindow<LogRecord>;
  private readonly committed: IndexWindow<CommittedRecord>;
  // commitTerm -> the highest index reported committed in that term: what a leader of a later
  // term must hold.
  private readonly commitByTerm = new Map<number, number>();
  private readonly nodes = new Map<number, NodeProgress>();

  constructor(options: CheckersOptions = {}) {
    const w = options.windowIndices ?? windowIndicesDefault;
    this.logs = new IndexWindow(w);
    this.committed = new IndexWindow(w);
  }

  private node(id: number): NodeProgress {
    let p = this.nodes.get(id);
    if (p === undefined) {
      p = { incarnation: 0, commit: 0, durableCommit: 0, applied: 0 };
      this.nodes.set(id, p);
    }
    return p;
  }

  // observeRestart tells the checks that `id` lost its volatile state: in-memory commit and
  // applied start again from what it recovers (durable commit, snapshot index).
  observeRestart(id: number, incarnation: number, recoveredCommit: number, recoveredApplied: number): void {
    const p = this.node(id);
    if (recoveredCommit < p.durableCommit) {
      throw new SafetyViolation(
        'commit-monotonic',
        `node ${id} restarted with commit ${recoveredCommit} below its durable commit ${p.durableCommit}`,
      );
    }
    p.incarnation = incarnation;
    p.commit = recoveredCommit;
    p.applied = recoveredApplied;
  }

  // identityByData: the protocol re-stamps entries (Fast Raft's recovery writes a recovered entry
  // with the new leader's term), so "the same entry" is the same data, not the same term. Set by
  // the cluster when its nodes run the fast track.
  identityByData = false;

  // observeLeader: node `id` is leader of `term`, with `log` as its log.
  observeLeader(id: number, term: number, log: LogTermView): void {
    const prev = this.leaders.get(term);
    if (prev !== undefined) {
      if (prev !== id) throw new SafetyViolation('election-safety', `nodes ${prev} and ${id} are both leaders of term ${term}`);
      return;
    }
    this.leaders.set(term, id);
    this.counters.elections++;
    // Leader completeness: every entry committed in an earlier term is in this leader's log. The
    // highest committed index of those terms is enough: log matching covers the prefix.
    let index = 0;
    for (const [commitTerm, maxIndex] of this.commitByTerm) {
      if (commitTerm < term && maxIndex > index) index = maxIndex;
    }
    if (index === 0) return;
    const rec = this.committed.get(index);
    if (rec === undefined) return;
    const t = log.tryTerm(index);
    // A compacted index (t = -1) is covered by the leader's snapshot, which holds only committed
    // state; nothing to compare.
    if (t === -1) return;
    if (this.identityByData) {
      if (t === -2) {
        throw new SafetyViolation('leader-completeness', `node ${id} became leader of term ${term} but has no entry at committed index ${index} (last index ${log.lastIndex()})`);
      }
      if (rec.fp === -1) return;
      let e: Entry | undefined;
      try {
        e = log.slice?.(index, index + 1, Infinity)[0];
      } catch {
        // The index is the snapshot's own (its term is known, its entry compacted): covered.
        return;
      }
      if (e !== undefined && entryFingerprint(e) !== rec.fp) {
        throw new SafetyViolation('leader-completeness', `node ${id} became leader of term ${term} but holds different data at committed index ${index}`);
      }
      return;
    }
    if (t !== rec.term) {
      const have = t === -2 ? `no entry there (last index ${log.lastIndex()})` : `term ${t} there`;
      throw new SafetyViolation(
        'leader-completeness',
        `node ${id} became leader of term ${term} but index ${index} was committed with term ${rec.term} (in term ${rec.commitTerm}) and it has ${have}`,
      );
    }
  }

  // observeVoteGranted: `voter` sent a granted MsgVoteResp for `term` to `candidate`.
  observeVoteGranted(voter: number, term: number, candidate: number): void {
    this.counters.votesGranted++;
    let byTerm = this.votes.get(voter);
    if (byTerm === undefined) {
      byTerm = new Map();
      this.votes.set(voter, byTerm);
    }
    const prev = byTerm.get(term);
    if (prev === undefined) {
      byTerm.set(term, candidate);
    } else if (prev !== candidate) {
      throw new SafetyViolation('one-vote-per-term', `node ${voter} granted its term-${term} vote to both ${prev} and ${candidate}`);
    }
  }

  // observePersisted: node `id` made entry `e` durable, with `prevTerm` the term of its durable
  // entry at e.index - 1.
  observePersisted(id: number, e: Entry, prevTerm: number): void {
    this.counters.entriesChecked++;
    // Fast Raft's self-approved entries are tentative by design (a leader may overwrite them), so
    // they take no part in log matching until the leader approves them.
    if (e.approval === Approval.SelfApproved) return;
    const index = e.index;
    const fp = entryFingerprint(e);
    let rec = this.logs.get(index);
    if (rec === undefined) {
      this.logs.set(index, { term: e.term, fp, prevTerm, next: null });
      return;
    }
    for (;;) {
      if (rec.term === e.term) {
        if (rec.fp !== fp) {
          throw new SafetyViolation('log-matching', `node ${id} holds a different entry at index ${index} term ${e.term} than another node`);
        }
        // With re-stamping, a committed entry may precede an entry under another term on another
        // node (same data, newer term): the predecessor's term proves nothing there.
        if (!this.identityByData && rec.prevTerm !== prevTerm && prevTerm >= 0 && rec.prevTerm >= 0) {
          throw new SafetyViolation(
            'log-matching',
            `node ${id} holds entry ${index} term ${e.term} after an entry of term ${prevTerm}, another node after one of term ${rec.prevTerm}`,
          );
        }
        return;
      }
      if (rec.next === null) break;
      rec = rec.next;
    }
    rec.next = { term: e.term, fp, prevTerm, next: null };
  }

  // observeOverwrite: node `id` replaced (or, with newTerm -1, truncated) its durable entry at
  // `index`, which had `oldTerm`. Losing an entry that was committed is what leader completeness
  // forbids; a stale leader's or follower's uncommitted tail may be replaced freely.
  // `old` is the entry being replaced, when the caller has it: with it, only the committed entry
  // itself counts (Fast Raft may replace a different, self-approved entry of the same term).
  observeOverwrite(id: number, index: number, oldTerm: number, newTerm: number, old?: Entry): void {
    if (oldTerm === newTerm) return;
    // Re-stamped entries replace committed ones with the same data; a replacement by other data is
    // caught where it matters, when that data is committed or applied.
    if (this.identityByData) return;
    const c = this.committed.get(index);
    if (c !== undefined && c.term === oldTerm && (old === undefined || c.fp === -1 || c.fp === entryFingerprint(old))) {
      const what = newTerm < 0 ? 'truncated' : `replaced it with an entry of term ${newTerm}`;
      throw new SafetyViolation('committed-overwrite', `node ${id} held the committed entry ${index} (term ${oldTerm}) and ${what}`);
    }
  }

  // observeCommit: node `id`, at `nodeTerm`, has commit index `commit`, and its log holds an entry
  // of `termAtCommit` there (`entry` itself when the caller has it at hand: then the record knows
  // the data too).
  observeCommit(id: number, commit: number, termAtCommit: number, nodeTerm: number, entry?: Entry): void {
    const p = this.node(id);
    if (commit < p.commit) {
      throw new SafetyViolation('commit-monotonic', `node ${id} commit index went back from ${p.commit} to ${commit}`);
    }
    if (commit === p.commit) return;
    p.commit = commit;
    if (commit === 0 || termAtCommit <= 0) return;
    const fp = entry !== undefined && entry.index === commit && entry.term === termAtCommit ? entryFingerprint(entry) : -1;
    const c = this.committed.get(commit);
    if (c === undefined) {
      if (!this.committed.covers(commit)) return;
      this.committed.set(commit, { term: termAtCommit, fp, commitTerm: nodeTerm });
    } else if (this.identityByData) {
      if (fp !== -1 && c.fp !== -1 && fp !== c.fp) {
        throw new SafetyViolation('state-machine-safety', `node ${id} committed index ${commit} with data different from another node's`);
      }
      if (c.fp === -1 && fp !== -1) c.fp = fp;
    } else {
      if (c.term !== termAtCommit || (fp !== -1 && c.fp !== -1 && fp !== c.fp)) {
        throw new SafetyViolation(
          'state-machine-safety',
          `node ${id} committed index ${commit} with term ${termAtCommit}, another node with term ${c.term}` +
            (c.term === termAtCommit ? ' and different data' : ''),
        );
      }
      if (c.fp === -1) c.fp = fp;
      if (nodeTerm >= c.commitTerm) return;
      c.commitTerm = nodeTerm;
    }
    const best = this.commitByTerm.get(nodeTerm);
    if (best === undefined || commit > best) this.commitByTerm.set(nodeTerm, commit);
  }

  // observeDurableCommit: node `id` persisted a hard state with commit `commit`.
  observeDurableCommit(id: number, commit: number): void {
    const p = this.node(id);
    if (commit < p.durableCommit) {
      throw new SafetyViolation('commit-monotonic', `node ${id} durable commit index went back from ${p.durableCommit} to ${commit}`);
    }
    p.durableCommit = commit;
  }

  // observeSnapshotApplied: node `id` replaced its state with a snapshot at `index`.
  observeSnapshotApplied(id: number, index: number): void {
    const p = this.node(id);
    if (index > p.applied) p.applied = index;
  }

  // observeApply: node `id` applies committed entry `e`; its commit index is `committed`.
  observeApply(id: number, e: Entry, committed: number): void {
    this.counters.appliesChecked++;
    const p = this.node(id);
    const index = e.index;
    if (index > committed) {
      throw new SafetyViolation('applied-le-committed', `node ${id} applies index ${index} beyond its commit index ${committed}`);
    }
    if (index !== p.applied + 1) {
      throw new SafetyViolation('apply-order', `node ${id} applies index ${index} after index ${p.applied}`);
    }
    p.applied = index;
    const fp = entryFingerprint(e);
    const c = this.committed.get(index);
    if (c === undefined) {
      if (this.committed.covers(index)) this.committed.set(index, { term: e.term, fp, commitTerm: Number.MAX_SAFE_INTEGER });
      return;
    }
    if (this.identityByData ? c.fp !== -1 && c.fp !== fp : c.term !== e.term || (c.fp !== -1 && c.fp !== fp)) {
      throw new SafetyViolation(
        'state-machine-safety',
        `node ${id} applies entry ${index} term ${e.term} but index ${index} was committed with term ${c.term}` +
          (c.term === e.term ? ' and different data' : ''),
      );
    }
    c.fp = fp;
  }

  // leaderOf returns the leader recorded for a term (0: none seen).
  leaderOf(term: number): number {
    return this.leaders.get(term) ?? 0;
  }
}
