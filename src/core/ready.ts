import type { Entry, HardState, Message, Snapshot } from './types.js';
import { isEmptyHardState, isEmptySnap } from './types.js';

// Targets of the local storage threads when asynchronous storage writes are on; they can never be
// node ids because Config validation refuses them.
export const LocalAppendThread = Number.MAX_SAFE_INTEGER;
export const LocalApplyThread = Number.MAX_SAFE_INTEGER - 1;

export function isLocalMsgTarget(id: number): boolean {
  return id === LocalAppendThread || id === LocalApplyThread;
}

export const enum StateType {
  StateFollower = 0,
  StateCandidate = 1,
  StateLeader = 2,
  StatePreCandidate = 3,
}

const stateNames: readonly string[] = ['StateFollower', 'StateCandidate', 'StateLeader', 'StatePreCandidate'];

export function stateTypeName(s: StateType): string {
  return stateNames[s] ?? `StateType(${s as number})`;
}

export interface SoftState {
  readonly lead: number;
  readonly raftState: StateType;
}

export function softStateEqual(a: SoftState, b: SoftState | null): boolean {
  return b !== null && a.lead === b.lead && a.raftState === b.raftState;
}

// A ReadState answers a ReadIndex request: once the applied index reaches `index`, a read issued
// with `requestCtx` is linearizable.
export interface ReadState {
  readonly index: number;
  readonly requestCtx: Uint8Array;
}

// Ready is what the application must do next, in DESIGN.md's order: persist entries and hard state,
// then send messages, then apply committed entries, then advance.
export interface Ready {
  softState: SoftState | null;
  hardState: HardState; // empty (all zero) when unchanged
  readStates: ReadState[];
  entries: Entry[];
  snapshot: Snapshot | null;
  committedEntries: Entry[];
  messages: Message[];
  mustSync: boolean;
}

export function mustSync(st: HardState, prev: HardState, entsCount: number): boolean {
  // Raft §5 persistent state: currentTerm, votedFor and log entries must be on stable storage
  // before answering any RPC; the commit index need not be.
  return entsCount !== 0 || st.vote !== prev.vote || st.term !== prev.term;
}

export function readyIsEmpty(rd: Ready): boolean {
  return (
    rd.softState === null &&
    isEmptyHardState(rd.hardState) &&
    rd.readStates.length === 0 &&
    rd.entries.length === 0 &&
    isEmptySnap(rd.snapshot) &&
    rd.committedEntries.length === 0 &&
    rd.messages.length === 0
  );
}

export const enum SnapshotStatus {
  SnapshotFinish = 1,
  SnapshotFailure = 2,
}
