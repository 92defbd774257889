// The leader's view of the group (etcd-io/raft tracker/tracker.go): the active configuration, the
// progress of every member, and the votes of the current election.

import type { ConfState } from './types.js';
import { type AckedIndexer, JointConfig, VoteResult } from './quorum.js';
import { type Progress, type ProgressMap } from './progress.js';

function sortedIds(s: ReadonlySet<number>): number[] {
  return Array.from(s).sort((a, b) => a - b);
}

// TrackerConfig is etcd's tracker.Config.
//
// Invariant: learners and voters (either half) do not intersect. Demoting a voter while entering a
// joint config would break it, since the node is still a voter in the outgoing half; such a node is
// staged in learnersNext and becomes a learner when the joint config is left. An empty learners or
// learnersNext set stands for Go's nil map (the changer never leaves an empty non-nil one).
export class TrackerConfig {
  constructor(
    public voters: JointConfig = new JointConfig(),
    // In a joint config: leave it automatically as soon as possible, rather than on the
    // application's explicit request.
    public autoLeave = false,
    public learners: Set<number> = new Set(),
    public learnersNext: Set<number> = new Set(),
  ) {}

  toString(): string {
    let buf = `voters=${this.voters.toString()}`;
    if (this.learners.size > 0) buf += ` learners=(${sortedIds(this.learners).join(' ')})`;
    if (this.learnersNext.size > 0) buf += ` learners_next=(${sortedIds(this.learnersNext).join(' ')})`;
    if (this.autoLeave) buf += ' autoleave';
    return buf;
  }

  // clone shares no memory with this config.
  clone(): TrackerConfig {
    return new TrackerConfig(this.voters.clone(), this.autoLeave, new Set(this.learners), new Set(this.learnersNext));
  }
}

export interface VoteTally {
  granted: number;
  rejected: number;
  result: VoteResult;
}

export class ProgressTracker {
  config: TrackerConfig = new TrackerConfig();
  progress: ProgressMap = new Map();
  votes: Map<number, boolean> = new Map();

  // Adapts the progress map to quorum math without allocating per call (committed() runs on every
  // MsgAppResp).
  private readonly matchIndexer: AckedIndexer;
  private visitScratch: number[] = [];
  private visitDepth = 0;

  constructor(
    public maxInflight: number,
    public maxInflightBytes: number,
  ) {
    this.matchIndexer = {
      ackedIndex: (id: number): number | undefined => this.progress.get(id)?.match,
    };
  }

  get voters(): JointConfig {
    return this.config.voters;
  }

  get learners(): Set<number> {
    return this.config.learners;
  }

  get learnersNext(): Set<number> {
    return this.config.learnersNext;
  }

  get autoLeave(): boolean {
    return this.config.autoLeave;
  }

  confState(): ConfState {
    return {
      voters: this.config.voters.incoming.slice(),
      votersOutgoing: this.config.voters.outgoing.slice(),
      learners: sortedIds(this.config.learners),
      learnersNext: sortedIds(this.config.learnersNext),
      autoLeave: this.config.autoLeave,
    };
  }

  // isSingleton: the leader is the only voter, so it can commit alone.
  isSingleton(): boolean {
    return this.config.voters.incoming.size === 1 && this.config.voters.outgoing.size === 0;
  }

  // committed is the largest index known committed from the voters' acks (Infinity for an empty
  // config, as Go's MaxUint64).
  committed(): number {
    return this.config.voters.committedIndex(this.matchIndexer);
  }

  // visit calls f for every tracked progress in ascending id order, so that everything driven
  // from it (message order, logs) is deterministic.
  visit(f: (id: number, pr: Progress) => void): void {
    const n = this.progress.size;
    // A reentrant visit gets its own array; the outer one still owns the scratch.
    const ids = this.visitDepth === 0 ? this.visitScratch : new Array<number>(n);
    let i = 0;
    for (const id of this.progress.keys()) ids[i++] = id;
    ids.length = n;
    for (let a = 1; a < n; a++) {
      const v = ids[a]!;
      let b = a - 1;
      while (b >= 0 && ids[b]! > v) {
        ids[b + 1] = ids[b]!;
        b--;
      }
      ids[b + 1] = v;
    }
    this.visitDepth++;
    try {
      for (let k = 0; k < n; k++) {
        const pr = this.progress.get(ids[k]!);
        // f may remove members (e.g. a config change applied while visiting); skip those.
        if (pr !== undefined) f(ids[k]!, pr);
      }
    } finally {
      this.visitDepth--;
    }
  }

  // quorumActive: a quorum of voters was recently active (CheckQuorum).
  quorumActive(): boolean {
    const votes = new Map<number, boolean>();
    this.visit((id, pr) => {
      if (pr.isLearner) return;
      votes.set(id, pr.recentActive);
    });
    return this.config.voters.voteResult(votes) === VoteResult.VoteWon;
  }

  voterNodes(): number[] {
    return sortedIds(this.config.voters.ids());
  }

  learnerNodes(): number[] {
    return sortedIds(this.config.learners);
  }

  resetVotes(): void {
    this.votes = new Map();
  }

  // recordVote keeps the first answer of each voter; a later, different one is ignored.
  recordVote(id: number, v: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, v);
  }

  // tallyVotes counts granted and rejected votes among current voters (informational) and returns
  // the election outcome.
  tallyVotes(): VoteTally {
    let granted = 0;
    let rejected = 0;
    for (const [id, pr] of this.progress) {
      if (pr.isLearner) continue;
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: this.config.voters.voteResult(this.votes) };
  }
}
