// Wire-level data of the core: the shapes etcd/raft keeps in raftpb, as plain objects so that
// msgpackr records can encode them cheaply and the simulator can copy them without surprises.
// Terms, indices and node ids are JS numbers (exact up to 2^53, far beyond any run we make).

export const None = 0;

export const enum MessageType {
  MsgHup = 0,
  MsgBeat = 1,
  MsgProp = 2,
  MsgApp = 3,
  MsgAppResp = 4,
  MsgVote = 5,
  MsgVoteResp = 6,
  MsgSnap = 7,
  MsgHeartbeat = 8,
  MsgHeartbeatResp = 9,
  MsgUnreachable = 10,
  MsgSnapStatus = 11,
  MsgCheckQuorum = 12,
  MsgTransferLeader = 13,
  MsgTimeoutNow = 14,
  MsgReadIndex = 15,
  MsgReadIndexResp = 16,
  MsgPreVote = 17,
  MsgPreVoteResp = 18,
  MsgStorageAppend = 19,
  MsgStorageAppendResp = 20,
  MsgStorageApply = 21,
  MsgStorageApplyResp = 22,
  MsgForgetLeader = 23,
  // Fast Raft (fast.ts): a proposer's broadcast and a voter's vote for what it holds at an index.
  MsgFastProp = 24,
  MsgFastVote = 25,
}

const messageTypeNames: readonly string[] = [
  'MsgHup', 'MsgBeat', 'MsgProp', 'MsgApp', 'MsgAppResp', 'MsgVote', 'MsgVoteResp', 'MsgSnap',
  'MsgHeartbeat', 'MsgHeartbeatResp', 'MsgUnreachable', 'MsgSnapStatus', 'MsgCheckQuorum',
  'MsgTransferLeader', 'MsgTimeoutNow', 'MsgReadIndex', 'MsgReadIndexResp', 'MsgPreVote',
  'MsgPreVoteResp', 'MsgStorageAppend', 'MsgStorageAppendResp', 'MsgStorageApply',
  'MsgStorageApplyResp', 'MsgForgetLeader', 'MsgFastProp', 'MsgFastVote',
];

export function messageTypeName(t: MessageType): string {
  return messageTypeNames[t] ?? `MessageType(${t})`;
}

export function parseMessageType(name: string): MessageType | undefined {
  const i = messageTypeNames.indexOf(name);
  return i < 0 ? undefined : (i as MessageType);
}

export const enum EntryType {
  EntryNormal = 0,
  EntryConfChange = 1,
  EntryConfChangeV2 = 2,
}

export function entryTypeName(t: EntryType): string {
  switch (t) {
    case EntryType.EntryNormal: return 'EntryNormal';
    case EntryType.EntryConfChange: return 'EntryConfChange';
    case EntryType.EntryConfChangeV2: return 'EntryConfChangeV2';
    default: return `EntryType(${t as number})`;
  }
}

// Who put an entry into a log. Classic Raft only ever writes Unknown; Fast Raft distinguishes an
// entry a voter inserted on its own from a fast proposal (SelfApproved) from one the leader chose
// (LeaderApproved), because only the latter may never be overwritten.
export const enum Approval {
  Unknown = 0,
  SelfApproved = 1,
  LeaderApproved = 2,
}

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
  // Fast Raft only: who inserted the entry, and the digest that identifies the proposal.
  approval?: Approval;
  digest?: number;
}

export interface HardState {
  term: number;
  vote: number;
  commit: number;
}

export interface ConfState {
  voters: number[];
  learners: number[];
  votersOutgoing: number[];
  learnersNext: number[];
  autoLeave: boolean;
}

export interface SnapshotMetadata {
  confState: ConfState;
  index: number;
  term: number;
}

export interface Snapshot {
  data: Uint8Array;
  metadata: SnapshotMetadata;
}

export interface Message {
  type: MessageType;
  to: number;
  from: number;
  term: number;
  // logTerm is the term of the entry at `index` (MsgApp), the candidate's last term (votes), or the
  // follower's term at the reject hint (rejected MsgAppResp).
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  vote: number;
  snapshot: Snapshot | null;
  reject: boolean;
  rejectHint: number;
  context: Uint8Array;
  responses: Message[];
}

export const enum ConfChangeType {
  ConfChangeAddNode = 0,
  ConfChangeRemoveNode = 1,
  ConfChangeUpdateNode = 2,
  ConfChangeAddLearnerNode = 3,
}

export const enum ConfChangeTransition {
  Auto = 0,
  JointImplicit = 1,
  JointExplicit = 2,
}

export interface ConfChangeSingle {
  type: ConfChangeType;
  nodeId: number;
}

// ConfChange is etcd's v1 change: one node at a time.
export interface ConfChange {
  id: number;
  type: ConfChangeType;
  nodeId: number;
  context: Uint8Array;
}

export interface ConfChangeV2 {
  transition: ConfChangeTransition;
  changes: ConfChangeSingle[];
  context: Uint8Array;
}

const EMPTY_BYTES = new Uint8Array(0);
export { EMPTY_BYTES };

export function emptyConfState(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
}

export function emptySnapshot(): Snapshot {
  return { data: EMPTY_BYTES, metadata: { confState: emptyConfState(), index: 0, term: 0 } };
}

export function emptyHardState(): HardState {
  return { term: 0, vote: 0, commit: 0 };
}

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === 0 && hs.commit === 0;
}

export function isEmptySnap(s: Snapshot | null | undefined): boolean {
  return s == null || s.metadata.index === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

// newMessage fills every field so that all messages share one object shape (monomorphic access in
// the hot paths) and so that a zero field means what Go's zero value means in etcd.
export function newMessage(m: Partial<Message> & { type: MessageType }): Message {
  return {
    type: m.type,
    to: m.to ?? 0,
    from: m.from ?? 0,
    term: m.term ?? 0,
    logTerm: m.logTerm ?? 0,
    index: m.index ?? 0,
    entries: m.entries ?? [],
    commit: m.commit ?? 0,
    vote: m.vote ?? 0,
    snapshot: m.snapshot ?? null,
    reject: m.reject ?? false,
    rejectHint: m.rejectHint ?? 0,
    context: m.context ?? EMPTY_BYTES,
    responses: m.responses ?? [],
  };
}

export function newEntry(e: Partial<Entry>): Entry {
  const out: Entry = {
    term: e.term ?? 0,
    index: e.index ?? 0,
    type: e.type ?? EntryType.EntryNormal,
    data: e.data ?? EMPTY_BYTES,
  };
  if (e.approval !== undefined) out.approval = e.approval;
  if (e.digest !== undefined) out.digest = e.digest;
  return out;
}

function varintSize(x: number): number {
  let n = 1;
  while (x >= 128) {
    x = Math.floor(x / 128);
    n++;
  }
  return n;
}

// entrySizeBytes is the protobuf encoding size etcd uses for its message size limits
// (MaxSizePerMsg, MaxCommittedSizePerReady), kept so that the same limits cut batches at the same
// entries as etcd does.
export function entrySizeBytes(e: Entry): number {
  let n = 1 + varintSize(e.term) + 1 + varintSize(e.index) + 1 + varintSize(e.type);
  if (e.data.length > 0) n += 1 + varintSize(e.data.length) + e.data.length;
  return n;
}

export function entriesSizeBytes(ents: readonly Entry[]): number {
  let n = 0;
  for (let i = 0; i < ents.length; i++) n += entrySizeBytes(ents[i]!);
  return n;
}

// payloadSizeBytes ignores index and term, so an empty entry (the leader's on election) is free;
// it is what the uncommitted-size and in-flight-bytes limits count.
export function payloadSizeBytes(e: Entry): number {
  return e.data.length;
}

export function payloadsSizeBytes(ents: readonly Entry[]): number {
  let n = 0;
  for (let i = 0; i < ents.length; i++) n += ents[i]!.data.length;
  return n;
}

// limitSize returns the longest prefix of ents whose size does not exceed maxSizeBytes, but never
// an empty one when ents is not empty.
export function limitSize(ents: Entry[], maxSizeBytes: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySizeBytes(ents[0]!);
  for (let limit = 1; limit < ents.length; limit++) {
    size += entrySizeBytes(ents[limit]!);
    if (size > maxSizeBytes) return ents.slice(0, limit);
  }
  return ents;
}

// A conf change of either version, told apart by shape as etcd tells them apart by type.
export type ConfChangeI = ConfChange | ConfChangeV2;

export function isConfChangeV2(cc: ConfChangeI): cc is ConfChangeV2 {
  return (cc as ConfChangeV2).changes !== undefined;
}
