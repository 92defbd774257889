// A follower's progress as the leader sees it (etcd-io/raft tracker/progress.go, state.go): what
// it is known to hold (match), what to send next (next), and which of three flow-control states
// governs sending to it.

import { Inflights } from './inflights.js';

export const enum StateType {
  // Probe: at most one MsgApp per heartbeat interval until the follower's log position is found.
  StateProbe = 0,
  // Replicate: stream entries optimistically, bounded by the inflights window.
  StateReplicate = 1,
  // Snapshot: a snapshot is on its way; send no entries until it lands.
  StateSnapshot = 2,
}

export function stateTypeName(s: StateType): string {
  switch (s) {
    case StateType.StateProbe: return 'StateProbe';
    case StateType.StateReplicate: return 'StateReplicate';
    case StateType.StateSnapshot: return 'StateSnapshot';
    default: return `StateType(${s as number})`;
  }
}

export interface ProgressInit {
  match?: number;
  next?: number;
  sentCommitIndex?: number;
  state?: StateType;
  pendingSnapshot?: number;
  recentActive?: boolean;
  msgAppFlowPaused?: boolean;
  inflights: Inflights;
  isLearner?: boolean;
}

export class Progress {
  // Invariant: 0 <= match < next. Entries in (match, next) are in flight.
  match: number;
  next: number;
  // The commit index last sent to the follower, so that an eager commit-only MsgApp is sent only
  // when it can advance the follower.
  sentCommitIndex: number;
  state: StateType;
  // In StateSnapshot: the leader's last index when it decided a snapshot was needed. Replication
  // resumes on any MsgAppResp that reconnects the follower to the log, not only one at exactly
  // this index, because the application may send a snapshot from elsewhere, at another index.
  pendingSnapshot: number;
  // Set by any message from the follower, cleared each election timeout by CheckQuorum.
  recentActive: boolean;
  // Throttles the MsgApp flow: set after a probe in StateProbe, or in StateReplicate when the
  // window is full; an ack or a heartbeat response clears it, so that a flow whose messages were
  // all lost still makes progress once per heartbeat.
  msgAppFlowPaused: boolean;
  inflights: Inflights;
  isLearner: boolean;

  constructor(init: ProgressInit) {
    this.match = init.match ?? 0;
    this.next = init.next ?? 0;
    this.sentCommitIndex = init.sentCommitIndex ?? 0;
    this.state = init.state ?? StateType.StateProbe;
    this.pendingSnapshot = init.pendingSnapshot ?? 0;
    this.recentActive = init.recentActive ?? false;
    this.msgAppFlowPaused = init.msgAppFlowPaused ?? false;
    this.inflights = init.inflights;
    this.isLearner = init.isLearner ?? false;
  }

  // shallowCopy copies the fields but shares the Inflights, as Go's `*pr` copy does; the
  // configuration changer uses it because it only ever changes isLearner on the copy.
  shallowCopy(): Progress {
    return new Progress(this);
  }

  // clone copies the Progress including its Inflights.
  clone(): Progress {
    const c = new Progress(this);
    c.inflights = this.inflights.clone();
    return c;
  }

  // resetState moves to state, clearing the flow pause, the pending snapshot and the window.
  resetState(state: StateType): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  // becomeProbe restarts probing at match+1, or after the pending snapshot when leaving
  // StateSnapshot, since the snapshot is then known to have been delivered.
  becomeProbe(): void {
    if (this.state === StateType.StateSnapshot) {
      const pendingSnapshot = this.pendingSnapshot;
      this.resetState(StateType.StateProbe);
      this.next = Math.max(this.match + 1, pendingSnapshot + 1);
    } else {
      this.resetState(StateType.StateProbe);
      this.next = this.match + 1;
    }
    this.sentCommitIndex = Math.min(this.sentCommitIndex, this.next - 1);
  }

  becomeReplicate(): void {
    this.resetState(StateType.StateReplicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(StateType.StateSnapshot);
    this.pendingSnapshot = snapshotIndex;
    this.next = snapshotIndex + 1;
    this.sentCommitIndex = snapshotIndex;
  }

  // sentEntries records a MsgApp carrying `entries` entries (appended at >= next) of `bytes`
  // payload. Only in StateProbe or StateReplicate.
  sentEntries(entries: number, bytes: number): void {
    switch (this.state) {
      case StateType.StateReplicate:
        if (entries > 0) {
          this.next += entries;
          this.inflights.add(this.next - 1, bytes);
        }
        // A message that fills (or finds full) the window counts as a probe: the flow pauses
        // until an ack or a heartbeat response.
        this.msgAppFlowPaused = this.inflights.full();
        break;
      case StateType.StateProbe:
        // One probe per heartbeat interval until the follower answers.
        if (entries > 0) this.msgAppFlowPaused = true;
        break;
      default:
        throw new Error(`sending append in unhandled state ${stateTypeName(this.state)}`);
    }
  }

  // canBumpCommit: sending commit index `index` could advance the follower's commit index. Only
  // eagerly while what we sent before does not already take it all the way to next-1.
  canBumpCommit(index: number): boolean {
    return index > this.sentCommitIndex && this.sentCommitIndex < this.next - 1;
  }

  sentCommit(commit: number): void {
    this.sentCommitIndex = commit;
  }

  // maybeUpdate handles an MsgAppResp acking index n; false when the ack is stale.
  maybeUpdate(n: number): boolean {
    if (n <= this.match) return false;
    this.match = n;
    this.next = Math.max(this.next, n + 1); // invariant: match < next
    this.msgAppFlowPaused = false;
    return true;
  }

  // maybeDecrTo handles a rejected MsgApp at index `rejected` with the follower's hint. Rejections
  // can be stale (reordered or duplicated messages); those return false and change nothing.
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === StateType.StateReplicate) {
      // In StateReplicate, a rejection at or below match must be stale.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      // The commit index we sent was probably not applied: regress it.
      this.sentCommitIndex = Math.min(this.sentCommitIndex, this.next - 1);
      return true;
    }
    // Outside StateReplicate the follower is probed one message at a time, so a genuine rejection
    // is for next-1 exactly.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.sentCommitIndex = Math.min(this.sentCommitIndex, this.next - 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  // isPaused: sending entries to this follower is throttled (probing, a full window, or a
  // snapshot in flight).
  isPaused(): boolean {
    switch (this.state) {
      case StateType.StateProbe: return this.msgAppFlowPaused;
      case StateType.StateReplicate: return this.msgAppFlowPaused;
      case StateType.StateSnapshot: return true;
      default: return assertNever(this.state);
    }
  }

  toString(): string {
    let buf = `${stateTypeName(this.state)} match=${this.match} next=${this.next}`;
    if (this.isLearner) buf += ' learner';
    if (this.isPaused()) buf += ' paused';
    if (this.pendingSnapshot > 0) buf += ` pendingSnap=${this.pendingSnapshot}`;
    if (!this.recentActive) buf += ' inactive';
    const n = this.inflights.count();
    if (n > 0) {
      buf += ` inflight=${n}`;
      if (this.inflights.full()) buf += '[full]';
    }
    return buf;
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected state ${String(x)}`);
}

export type ProgressMap = Map<number, Progress>;

// progressMapString prints one "id: progress" line per follower in ascending id order.
export function progressMapString(m: ReadonlyMap<number, Progress>): string {
  const ids = Array.from(m.keys()).sort((a, b) => a - b);
  let buf = '';
  for (const id of ids) buf += `${id}: ${m.get(id)!.toString()}\n`;
  return buf;
}
