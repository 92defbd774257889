// Status: what an operator or a test can observe of a node without touching its state.

import type { HardState } from './types.js';
import { StateType, stateTypeName, type SoftState } from './ready.js';
import type { Raft } from './raft.js';
import type { Progress } from './progress.js';
import type { TrackerConfig } from './tracker.js';

export interface BasicStatus {
  id: number;
  hardState: HardState;
  softState: SoftState;
  applied: number;
  leadTransferee: number;
}

export interface Status extends BasicStatus {
  // Copies, not the live objects: a Status must not change under its reader.
  progress: Map<number, Progress>;
  config: TrackerConfig;
}

export function getBasicStatus(r: Raft): BasicStatus {
  return {
    id: r.id,
    hardState: r.hardState(),
    softState: r.softState(),
    applied: r.raftLog.applied,
    leadTransferee: r.leadTransferee,
  };
}

export function getStatus(r: Raft): Status {
  const progress = new Map<number, Progress>();
  // Only the leader tracks its followers' progress.
  if (r.state === StateType.StateLeader) {
    r.trk.visit((id, pr) => progress.set(id, pr.clone()));
  }
  return { ...getBasicStatus(r), progress, config: r.trk.config.clone() };
}

// statusJSON is the /debug/raft shape: plain JSON-safe data.
export function statusJSON(s: Status): Record<string, unknown> {
  const progress: Record<string, unknown> = {};
  for (const [id, pr] of s.progress) {
    progress[id.toString(16)] = { match: pr.match, next: pr.next, state: pr.toString().split(' ')[0] };
  }
  return {
    id: s.id.toString(16),
    term: s.hardState.term,
    vote: s.hardState.vote.toString(16),
    commit: s.hardState.commit,
    lead: s.softState.lead.toString(16),
    raftState: stateTypeName(s.softState.raftState),
    applied: s.applied,
    progress,
    leadtransferee: s.leadTransferee.toString(16),
  };
}
