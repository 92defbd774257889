// The Raft state machine: etcd/raft's raft.go, kept pure. Inputs are messages (step) and ticks;
// outputs accumulate in msgs / msgsAfterAppend and the log's unstable tail, and leave through the
// RawNode's Ready. Nothing here reads a clock, sleeps or does I/O.

import {
  EntryType,
  MessageType,
  None,
  type ConfChangeI,
  type ConfChangeV2,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type Snapshot,
  EMPTY_BYTES,
  emptySnapshot,
  entriesSizeBytes,
  isConfChangeV2,
  isEmptyHardState,
  isEmptySnap,
  messageTypeName,
  newEntry,
  newMessage,
  payloadsSizeBytes,
} from './types.js';
import { ErrProposalDropped, ErrSnapshotTemporarilyUnavailable, RaftError } from './errors.js';
import { LogLevel, silentLogger, type Logger } from './logger.js';
import { Rng } from './rand.js';
import type { Mutation } from './mutations.js';
import type { FastConfig } from './fast-config.js';
import { FastTrack } from './fast.js';
import { isLocalMsgTarget, StateType, stateTypeName, type ReadState, type SoftState } from './ready.js';
import { ReadOnly, ReadOnlyOption } from './read-only.js';
import type { Storage } from './storage.js';
import { RaftLog, newLogWithSize } from './log.js';
import { LogSlice, type EntryID } from './log-slice.js';
import { ProgressTracker, type TrackerConfig } from './tracker.js';
import type { ProgressMap } from './progress.js';
import { Progress, StateType as ProgressStateType } from './progress.js';
import { Inflights } from './inflights.js';
import { VoteResult } from './quorum.js';
import { Changer, encodeConfChange, restoreConfState, confStateEquivalent, asV2, decodeConfChange, decodeConfChangeV2, encodeConfChangeV2, confChangeV2LeaveJoint, confChangeV2EnterJoint, formatConfChangeProto } from './confchange.js';

export const noLimit = Number.MAX_SAFE_INTEGER;

export const enum CampaignType {
  PreElection = 0,
  Election = 1,
  Transfer = 2,
}

// The context a transfer-triggered vote carries, so that voters skip the leader-lease check.
const campaignTransferCtx = new TextEncoder().encode('CampaignTransfer');

export interface Config {
  // id of this node; never 0 (None) and never a local thread target.
  id: number;
  // electionTick: ticks without hearing from a leader before a follower campaigns. Must exceed
  // heartbeatTick; etcd suggests 10x.
  electionTick: number;
  heartbeatTick: number;
  storage: Storage;
  // applied: the last index the state machine applied, when restarting.
  applied?: number;
  asyncStorageWrites?: boolean;
  maxSizePerMsg?: number;
  maxCommittedSizePerReady?: number;
  maxUncommittedEntriesSize?: number;
  maxInflightMsgs?: number;
  maxInflightBytes?: number;
  checkQuorum?: boolean;
  preVote?: boolean;
  readOnlyOption?: ReadOnlyOption;
  logger?: Logger;
  disableProposalForwarding?: boolean;
  disableConfChangeValidation?: boolean;
  stepDownOnRemoval?: boolean;
  // rng drives the randomized election timeout; the only randomness in the core. Defaults to a
  // generator seeded from the node id, so that a run without one is still reproducible.
  rng?: Rng;
  // mutations switch off safety rules on purpose, for the fuzzer's mutant runs only.
  mutations?: ReadonlySet<Mutation>;
  // fast enables the Fast Raft extension (fast.ts); absent or disabled means classic Raft.
  fast?: FastConfig | undefined;
}

interface ValidConfig {
  id: number;
  electionTick: number;
  heartbeatTick: number;
  storage: Storage;
  applied: number;
  asyncStorageWrites: boolean;
  maxSizePerMsg: number;
  maxCommittedSizePerReady: number;
  maxUncommittedEntriesSize: number;
  maxInflightMsgs: number;
  maxInflightBytes: number;
  checkQuorum: boolean;
  preVote: boolean;
  readOnlyOption: ReadOnlyOption;
  logger: Logger;
  disableProposalForwarding: boolean;
  disableConfChangeValidation: boolean;
  stepDownOnRemoval: boolean;
  rng: Rng;
  mutations: ReadonlySet<Mutation>;
}

export function validateConfig(c: Config): ValidConfig {
  if (c.id === None) throw new RaftError('cannot use none as id');
  if (isLocalMsgTarget(c.id)) throw new RaftError('cannot use local target as id');
  if (!(c.heartbeatTick > 0)) throw new RaftError('heartbeat tick must be greater than 0');
  if (!(c.electionTick > c.heartbeatTick)) throw new RaftError('election tick must be greater than heartbeat tick');
  if (c.storage == null) throw new RaftError('storage cannot be nil');
  const maxSizePerMsg = c.maxSizePerMsg ?? 0;
  let maxUncommitted = c.maxUncommittedEntriesSize ?? 0;
  if (maxUncommitted === 0) maxUncommitted = noLimit;
  // MaxCommittedSizePerReady defaults to MaxSizePerMsg because they were once one parameter.
  let maxCommitted = c.maxCommittedSizePerReady ?? 0;
  if (maxCommitted === 0) maxCommitted = maxSizePerMsg;
  const maxInflightMsgs = c.maxInflightMsgs ?? 0;
  if (!(maxInflightMsgs > 0)) throw new RaftError('max inflight messages must be greater than 0');
  let maxInflightBytes = c.maxInflightBytes ?? 0;
  if (maxInflightBytes === 0) maxInflightBytes = noLimit;
  else if (maxInflightBytes < maxSizePerMsg) throw new RaftError('max inflight bytes must be >= max message size');
  const readOnlyOption = c.readOnlyOption ?? ReadOnlyOption.ReadOnlySafe;
  if (readOnlyOption === ReadOnlyOption.ReadOnlyLeaseBased && !c.checkQuorum) {
    throw new RaftError('CheckQuorum must be enabled when ReadOnlyOption is ReadOnlyLeaseBased');
  }
  return {
    id: c.id,
    electionTick: c.electionTick,
    heartbeatTick: c.heartbeatTick,
    storage: c.storage,
    applied: c.applied ?? 0,
    asyncStorageWrites: c.asyncStorageWrites ?? false,
    maxSizePerMsg,
    maxCommittedSizePerReady: maxCommitted,
    maxUncommittedEntriesSize: maxUncommitted,
    maxInflightMsgs,
    maxInflightBytes,
    checkQuorum: c.checkQuorum ?? false,
    preVote: c.preVote ?? false,
    readOnlyOption,
    logger: c.logger ?? silentLogger,
    disableProposalForwarding: c.disableProposalForwarding ?? false,
    disableConfChangeValidation: c.disableConfChangeValidation ?? false,
    stepDownOnRemoval: c.stepDownOnRemoval ?? false,
    rng: c.rng ?? new Rng(c.id),
    mutations: c.mutations ?? new Set(),
  };
}

// hex prints a node id the way etcd's %x does.
export function hex(id: number): string {
  return id.toString(16);
}

function voteRespMsgType(t: MessageType): MessageType {
  switch (t) {
    case MessageType.MsgVote:
      return MessageType.MsgVoteResp;
    case MessageType.MsgPreVote:
      return MessageType.MsgPreVoteResp;
    default:
      throw new RaftError(`not a vote message: ${messageTypeName(t)}`);
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// confChangeToMsg wraps a conf change in the proposal that carries it (nil => leave joint).
export function confChangeToMsg(cc: ConfChangeI | null): Message {
  if (cc === null) {
    return newMessage({
      type: MessageType.MsgProp,
      entries: [newEntry({ type: EntryType.EntryConfChangeV2, data: EMPTY_BYTES })],
    });
  }
  if (isConfChangeV2(cc)) {
    return newMessage({
      type: MessageType.MsgProp,
      entries: [newEntry({ type: EntryType.EntryConfChangeV2, data: encodeConfChangeV2(cc) })],
    });
  }
  return newMessage({
    type: MessageType.MsgProp,
    entries: [newEntry({ type: EntryType.EntryConfChange, data: encodeConfChange(cc) })],
  });
}


// decodeEntryConfChange returns the conf change an entry carries, or null for a normal entry.
export function decodeEntryConfChange(e: Entry): ConfChangeI | null {
  if (e.type === EntryType.EntryConfChange) return decodeConfChange(e.data);
  if (e.type === EntryType.EntryConfChangeV2) return decodeConfChangeV2(e.data);
  return null;
}

export class Raft {
  readonly id: number;
  term = 0;
  vote = 0;
  readStates: ReadState[] = [];
  raftLog: RaftLog;
  readonly maxMsgSize: number;
  readonly maxUncommittedSize: number;
  trk: ProgressTracker;
  state: StateType = StateType.StateFollower;
  isLearner = false;
  // msgs go out as soon as the Ready that carries them is handled.
  msgs: Message[] = [];
  // msgsAfterAppend wait until the unstable state they depend on (term, vote, entries) is durable:
  // votes and append acks, per Raft §3.8 ("persist before responding").
  msgsAfterAppend: Message[] = [];
  lead = None;
  leadTransferee = None;
  // Only one conf change may be pending (in the log, not yet applied); proposals of another are
  // refused while applied < pendingConfIndex.
  pendingConfIndex = 0;
  readonly disableConfChangeValidation: boolean;
  uncommittedSize = 0;
  readOnly: ReadOnly;
  electionElapsed = 0;
  heartbeatElapsed = 0;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  randomizedElectionTimeout = 0;
  readonly disableProposalForwarding: boolean;
  readonly stepDownOnRemoval: boolean;
  readonly logger: Logger;
  readonly rng: Rng;
  pendingReadIndexMessages: Message[] = [];
  readonly mutations: ReadonlySet<Mutation>;
  // The Fast Raft extension; null for classic Raft (and for fastraft with the fast path off).
  fast: FastTrack | null = null;
  private readonly mutantCommitOldTerm: boolean;
  private readonly mutantVoteWithoutLogCheck: boolean;

  constructor(c: Config) {
    const cfg = validateConfig(c);
    this.id = cfg.id;
    this.logger = cfg.logger;
    this.rng = cfg.rng;
    this.raftLog = newLogWithSize(cfg.storage, cfg.logger, cfg.maxCommittedSizePerReady);
    const { hardState: hs, confState: cs } = cfg.storage.initialState();
    this.maxMsgSize = cfg.maxSizePerMsg;
    this.maxUncommittedSize = cfg.maxUncommittedEntriesSize;
    this.trk = new ProgressTracker(cfg.maxInflightMsgs, cfg.maxInflightBytes);
    this.electionTimeout = cfg.electionTick;
    this.heartbeatTimeout = cfg.heartbeatTick;
    this.checkQuorum = cfg.checkQuorum;
    this.preVote = cfg.preVote;
    this.readOnly = new ReadOnly(cfg.readOnlyOption);
    this.disableProposalForwarding = cfg.disableProposalForwarding;
    this.disableConfChangeValidation = cfg.disableConfChangeValidation;
    this.stepDownOnRemoval = cfg.stepDownOnRemoval;
    this.mutations = cfg.mutations;
    this.mutantCommitOldTerm = cfg.mutations.has('commit-old-term');
    this.mutantVoteWithoutLogCheck = cfg.mutations.has('vote-without-log-check');

    const lastID = this.raftLog.lastEntryID();
    const [tcfg, prs] = restoreConfState(new Changer(this.trk, lastID.index), cs);
    this.assertConfStatesEquivalent(cs, this.switchToConfig(tcfg, prs));

    if (!isEmptyHardState(hs)) this.loadState(hs);
    if (cfg.applied > 0) this.raftLog.appliedTo(cfg.applied, 0);
    this.fast = c.fast !== undefined && c.fast.enabled ? new FastTrack(this, c.fast) : null;
    this.becomeFollower(this.term, None);

    if (this.logger.enabled(LogLevel.Info)) {
      const nodes = this.trk.voterNodes().map(hex).join(',');
      this.logger.info(
        `newRaft ${hex(this.id)} [peers: [${nodes}], term: ${this.term}, commit: ${this.raftLog.committed}, applied: ${this.raftLog.applied}, lastindex: ${lastID.index}, lastterm: ${lastID.term}]`,
      );
    }
  }

  private assertConfStatesEquivalent(a: ConfState, b: ConfState): void {
    const err = confStateEquivalent(a, b);
    if (err !== null) this.logger.panic(err);
  }

  hasLeader(): boolean {
    return this.lead !== None;
  }

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  // send queues m. Responses that promise durable state (append acks, votes) go to
  // msgsAfterAppend so that they leave only after that state is persisted.
  send(m: Message): void {
    if (m.from === None) m.from = this.id;
    const t = m.type;
    if (t === MessageType.MsgVote || t === MessageType.MsgVoteResp || t === MessageType.MsgPreVote || t === MessageType.MsgPreVoteResp) {
      if (m.term === 0) {
        // Every (pre-)campaign message carries the term it is about, which is never 0.
        this.logger.panic(`term should be set when sending ${messageTypeName(t)}`);
      }
    } else {
      if (m.term !== 0) {
        this.logger.panic(`term should not be set when sending ${messageTypeName(t)} (was ${m.term})`);
      }
      // Proposals and read requests are forwarded to the leader as if they were local: no term.
      if (t !== MessageType.MsgProp && t !== MessageType.MsgReadIndex) m.term = this.term;
    }
    if (
      t === MessageType.MsgAppResp ||
      t === MessageType.MsgVoteResp ||
      t === MessageType.MsgPreVoteResp ||
      // A fast vote vouches for a self-approved entry: it must be durable first.
      t === MessageType.MsgFastVote
    ) {
      this.msgsAfterAppend.push(m);
    } else {
      if (m.to === this.id) this.logger.panic(`message should not be self-addressed when sending ${messageTypeName(t)}`);
      this.msgs.push(m);
    }
  }

  sendAppend(to: number): void {
    this.maybeSendAppend(to, true);
  }

  // maybeSendAppend sends entries (or, when sendIfEmpty, just the commit index) to a peer. It
  // returns whether a message was sent.
  maybeSendAppend(to: number, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to)!;
    if (pr.isPaused()) return false;

    const prevIndex = pr.next - 1;
    const prevTerm = this.raftLog.tryTerm(prevIndex);
    // The log was compacted past pr.next: only a snapshot can catch this follower up.
    if (prevTerm < 0) return this.maybeSendSnapshot(to, pr);

    let ents: Entry[] = [];
    let entsErr = false;
    // A throttled StateReplicate sends only empty appends, so that a full Inflights whose messages
    // were all lost still gets an ack or reject and frees itself.
    if (pr.state !== ProgressStateType.StateReplicate || !pr.inflights.full()) {
      try {
        ents = this.raftLog.entries(pr.next, this.maxMsgSize);
      } catch {
        entsErr = true;
      }
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    if (entsErr) return this.maybeSendSnapshot(to, pr);

    this.send(
      newMessage({
        to,
        type: MessageType.MsgApp,
        index: prevIndex,
        logTerm: prevTerm,
        entries: ents,
        commit: this.raftLog.committed,
      }),
    );
    pr.sentEntries(ents.length, payloadsSizeBytes(ents));
    pr.sentCommit(this.raftLog.committed);
    return true;
  }

  maybeSendSnapshot(to: number, pr: Progress): boolean {
    if (!pr.recentActive) {
      if (this.logger.enabled(LogLevel.Debug)) this.logger.debug(`ignore sending snapshot to ${hex(to)} since it is not recently active`);
      return false;
    }
    let snapshot: Snapshot;
    try {
      snapshot = this.raftLog.snapshot();
    } catch (err) {
      if (err === ErrSnapshotTemporarilyUnavailable) {
        if (this.logger.enabled(LogLevel.Debug)) {
          this.logger.debug(`${hex(this.id)} failed to send snapshot to ${hex(to)} because snapshot is temporarily unavailable`);
        }
        return false;
      }
      throw err;
    }
    if (isEmptySnap(snapshot)) this.logger.panic('need non-empty snapshot');
    const sindex = snapshot.metadata.index;
    const sterm = snapshot.metadata.term;
    if (this.logger.enabled(LogLevel.Debug)) {
      this.logger.debug(
        `${hex(this.id)} [firstindex: ${this.raftLog.firstIndex()}, commit: ${this.raftLog.committed}] sent snapshot[index: ${sindex}, term: ${sterm}] to ${hex(to)} [${pr.toString()}]`,
      );
    }
    pr.becomeSnapshot(sindex);
    if (this.logger.enabled(LogLevel.Debug)) {
      this.logger.debug(`${hex(this.id)} paused sending replication messages to ${hex(to)} [${pr.toString()}]`);
    }
    this.send(newMessage({ to, type: MessageType.MsgSnap, snapshot }));
    return true;
  }

  sendHeartbeat(to: number, ctx: Uint8Array): void {
    const pr = this.trk.progress.get(to)!;
    // min(match, committed): a follower must never learn a commit index beyond what it is known to
    // hold, or it could "commit" entries of a log that diverges from the leader's.
    const commit = Math.min(pr.match, this.raftLog.committed);
    this.send(newMessage({ to, type: MessageType.MsgHeartbeat, commit, context: ctx }));
    pr.sentCommit(commit);
  }

  bcastAppend(): void {
    this.trk.visit((id) => {
      if (id === this.id) return;
      this.sendAppend(id);
    });
  }

  bcastHeartbeat(): void {
    const lastCtx = this.readOnly.lastPendingRequestCtx();
    if (lastCtx.length === 0) this.bcastHeartbeatWithCtx(EMPTY_BYTES);
    else this.bcastHeartbeatWithCtx(latin1Bytes(lastCtx));
  }

  bcastHeartbeatWithCtx(ctx: Uint8Array): void {
    this.trk.visit((id) => {
      if (id === this.id) return;
      this.sendHeartbeat(id, ctx);
    });
  }

  appliedTo(index: number, sizeBytes: number): void {
    const oldApplied = this.raftLog.applied;
    const newApplied = Math.max(index, oldApplied);
    this.raftLog.appliedTo(newApplied, sizeBytes);

    if (this.trk.config.autoLeave && newApplied >= this.pendingConfIndex && this.state === StateType.StateLeader) {
      // Leave the joint configuration on our own. An empty ConfChangeV2 has zero payload, so the
      // uncommitted-size limit can never refuse it; a leadership transfer can, and then we retry
      // on the next applied entry.
      const m = confChangeToMsg(null);
      try {
        this.step(m);
        this.logger.info(`initiating automatic transition out of joint configuration ${this.trk.config.toString()}`);
      } catch (err) {
        if (this.logger.enabled(LogLevel.Debug)) {
          this.logger.debug(`not initiating automatic transition out of joint configuration ${this.trk.config.toString()}: ${(err as Error).message}`);
        }
      }
    }
  }

  appliedSnap(snap: Snapshot): void {
    const index = snap.metadata.index;
    this.raftLog.stableSnapTo(index);
    this.appliedTo(index, 0);
  }

  // maybeCommit advances the commit index to what a quorum holds, but only through an entry of the
  // current term (Raft §5.4.2, Figure 8): raftLog.maybeCommit checks the term at that index.
  maybeCommit(): boolean {
    const index = this.trk.committed();
    if (this.mutantCommitOldTerm) {
      // Mutant: commit whatever a quorum holds, whatever its term.
      if (index > this.raftLog.committed && index <= this.raftLog.lastIndex()) {
        this.raftLog.commitTo(index);
        return true;
      }
      return false;
    }
    let changed = this.raftLog.maybeCommit({ term: this.term, index });
    if (this.fast !== null && this.fast.extendCommit()) changed = true;
    return changed;
  }

  // appendDecided appends the entry the leader decided for the next index on the fast track (or
  // its classic fallback). Voters already hold it, so the uncommitted-size limit does not apply.
  appendDecided(e: Entry): void {
    const li = this.raftLog.lastIndex();
    if (e.index !== li + 1) this.logger.panic(`decided entry at ${e.index} does not follow last index ${li}`);
    this.uncommittedSize += payloadsSizeBytes([e]);
    this.raftLog.append([e]);
    this.send(newMessage({ to: this.id, type: MessageType.MsgAppResp, index: e.index }));
  }

  // lastVoteEntryID is what elections compare: the last entry, or under Fast Raft the last
  // leader-approved one, since a self-approved suffix is only a set of proposals.
  lastVoteEntryID(): EntryID {
    return this.fast !== null ? this.fast.laLastEntryID() : this.raftLog.lastEntryID();
  }

  reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = None;
      if (this.fast !== null) this.fast.onTermChange();
    }
    this.lead = None;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const lastIndex = this.raftLog.lastIndex();
    const prs = this.trk.progress;
    this.trk.visit((id, pr) => {
      prs.set(
        id,
        new Progress({
          match: id === this.id ? lastIndex : 0,
          next: lastIndex + 1,
          inflights: new Inflights(this.trk.maxInflight, this.trk.maxInflightBytes),
          isLearner: pr.isLearner,
        }),
      );
    });
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly(this.readOnly.option);
  }

  appendEntry(es: Entry[]): boolean {
    let li = this.raftLog.lastIndex();
    for (let i = 0; i < es.length; i++) {
      const e = es[i]!;
      es[i] = { term: this.term, index: li + 1 + i, type: e.type, data: e.data };
    }
    if (!this.increaseUncommittedSize(es)) {
      this.logger.warning(`${hex(this.id)} appending new entries to log would exceed uncommitted entry size limit; dropping proposal`);
      return false;
    }
    li = this.raftLog.append(es);
    // The leader acks its own entries once they are durable, through the same path as a
    // follower's ack: a self-addressed MsgAppResp delivered after the append.
    this.send(newMessage({ to: this.id, type: MessageType.MsgAppResp, index: li }));
    return true;
  }

  tick(): void {
    if (this.state === StateType.StateLeader) this.tickHeartbeat();
    else this.tickElection();
    if (this.fast !== null) this.fast.tick();
  }

  tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      try {
        this.step(newMessage({ from: this.id, type: MessageType.MsgHup }));
      } catch (err) {
        if (this.logger.enabled(LogLevel.Debug)) this.logger.debug(`error occurred during election: ${(err as Error).message}`);
      }
    }
  }

  tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;

    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) {
        try {
          this.step(newMessage({ from: this.id, type: MessageType.MsgCheckQuorum }));
        } catch (err) {
          if (this.logger.enabled(LogLevel.Debug)) this.logger.debug(`error occurred during checking sending heartbeat: ${(err as Error).message}`);
        }
      }
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.state === StateType.StateLeader && this.leadTransferee !== None) this.abortLeaderTransfer();
    }

    if (this.state !== StateType.StateLeader) return;

    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      try {
        this.step(newMessage({ from: this.id, type: MessageType.MsgBeat }));
      } catch (err) {
        if (this.logger.enabled(LogLevel.Debug)) this.logger.debug(`error occurred during checking sending heartbeat: ${(err as Error).message}`);
      }
    }
  }

  becomeFollower(term: number, lead: number): void {
    this.reset(term);
    this.lead = lead;
    this.state = StateType.StateFollower;
    if (this.fast !== null) this.fast.onStepDown();
    this.logger.info(`${hex(this.id)} became follower at term ${this.term}`);
  }

  becomeCandidate(): void {
    if (this.state === StateType.StateLeader) this.logger.panic('invalid transition [leader -> candidate]');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = StateType.StateCandidate;
    if (this.fast !== null) {
      this.fast.onStepDown();
      this.fast.resetElection();
    }
    this.logger.info(`${hex(this.id)} became candidate at term ${this.term}`);
  }

  becomePreCandidate(): void {
    if (this.state === StateType.StateLeader) this.logger.panic('invalid transition [leader -> pre-candidate]');
    // A pre-candidate changes neither term nor vote: the pre-vote round must leave no trace if it
    // fails, or a partitioned node would still disrupt the cluster on return.
    this.trk.resetVotes();
    this.lead = None;
    this.state = StateType.StatePreCandidate;
    this.logger.info(`${hex(this.id)} became pre-candidate at term ${this.term}`);
  }

  becomeLeader(): void {
    if (this.state === StateType.StateFollower) this.logger.panic('invalid transition [follower -> leader]');
    // Fast Raft: first carry over whatever may have been fast-committed (vote hints), over our
    // own self-approved suffix, so that the term starts from a leader-approved log.
    if (this.fast !== null) this.fast.recover();
    this.reset(this.term);
    this.lead = this.id;
    this.state = StateType.StateLeader;
    const pr = this.trk.progress.get(this.id)!;
    pr.becomeReplicate();
    // The leader is always active to itself; CheckQuorum keeps it that way.
    pr.recentActive = true;
    // Conservatively treat everything in the log as a possibly pending conf change, rather than
    // scanning the uncommitted tail.
    this.pendingConfIndex = this.raftLog.lastIndex();
    if (this.fast !== null) this.fast.onBecomeLeader();
    // The empty entry of the new term (Raft §8): committing it commits every earlier entry, since a
    // leader may only count replicas for entries of its own term.
    if (!this.appendEntry([newEntry({})])) this.logger.panic('empty entry was dropped');
    this.logger.info(`${hex(this.id)} became leader at term ${this.term}`);
  }

  hup(t: CampaignType): void {
    if (this.state === StateType.StateLeader) {
      if (this.logger.enabled(LogLevel.Debug)) this.logger.debug(`${hex(this.id)} ignoring MsgHup because already leader`);
      return;
    }
    if (!this.promotable()) {
      this.logger.warning(`${hex(this.id)} is unpromotable and can not campaign`);
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      this.logger.warning(`${hex(this.id)} cannot campaign at term ${this.term} since there are still pending configuration changes to apply`);
      return;
    }
    this.logger.info(`${hex(this.id)} is starting a new election at term ${this.term}`);
    this.campaign(t);
  }

  hasUnappliedConfChanges(): boolean {
    if (this.raftLog.applied >= this.raftLog.committed) return false;
    let found = false;
    const lo = this.raftLog.applied + 1;
    const hi = this.raftLog.committed + 1;
    // Paginate with the apply budget so that a long unapplied tail cannot spike memory.
    this.raftLog.scan(lo, hi, this.raftLog.maxApplyingEntsSize, (ents: Entry[]) => {
      for (const e of ents) {
        if (e.type === EntryType.EntryConfChange || e.type === EntryType.EntryConfChangeV2) {
          found = true;
          return false;
        }
      }
      return true;
    });
    return found;
  }

  campaign(t: CampaignType): void {
    if (!this.promotable()) {
      this.logger.warning(`${hex(this.id)} is unpromotable; campaign() should have been called`);
    }
    let term: number;
    let voteMsg: MessageType;
    if (t === CampaignType.PreElection) {
      this.becomePreCandidate();
      voteMsg = MessageType.MsgPreVote;
      // Pre-votes ask about the next term without moving to it.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.MsgVote;
      term = this.term;
    }
    const ids = [...this.trk.config.voters.ids()].sort((a, b) => a - b);
    for (const id of ids) {
      if (id === this.id) {
        // Our own vote counts once it is durable: a self-addressed response after the append.
        this.send(newMessage({ to: id, term, type: voteRespMsgType(voteMsg) }));
        continue;
      }
      const last = this.lastVoteEntryID();
      this.logger.info(
        `${hex(this.id)} [logterm: ${last.term}, index: ${last.index}] sent ${messageTypeName(voteMsg)} request to ${hex(id)} at term ${this.term}`,
      );
      const ctx = t === CampaignType.Transfer ? campaignTransferCtx : EMPTY_BYTES;
      this.send(newMessage({ to: id, term, type: voteMsg, index: last.index, logTerm: last.term, context: ctx }));
    }
  }

  poll(id: number, t: MessageType, v: boolean): { granted: number; rejected: number; result: VoteResult } {
    if (v) this.logger.info(`${hex(this.id)} received ${messageTypeName(t)} from ${hex(id)} at term ${this.term}`);
    else this.logger.info(`${hex(this.id)} received ${messageTypeName(t)} rejection from ${hex(id)} at term ${this.term}`);
    this.trk.recordVote(id, v);
    return this.trk.tallyVotes();
  }

  // step is the single entry point of every input. It throws ErrProposalDropped (and the like) the
  // way etcd returns them.
  step(m: Message): void {
    if (m.term === 0) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) {
        const force = bytesEqual(m.context, campaignTransferCtx);
        const inLease = this.checkQuorum && this.lead !== None && this.electionElapsed < this.electionTimeout;
        if (!force && inLease) {
          // Raft §6 (disruptive servers): within the minimum election timeout of hearing from a
          // leader, ignore vote requests without even adopting their term.
          const last = this.raftLog.lastEntryID();
          this.logger.info(
            `${hex(this.id)} [logterm: ${last.term}, index: ${last.index}, vote: ${hex(this.vote)}] ignored ${messageTypeName(m.type)} from ${hex(m.from)} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}: lease is not expired (remaining ticks: ${this.electionTimeout - this.electionElapsed})`,
          );
          return;
        }
      }
      if (m.type === MessageType.MsgPreVote) {
        // Never change our term in response to a PreVote.
      } else if (m.type === MessageType.MsgPreVoteResp && !m.reject) {
        // A granted pre-vote carries the future term we asked about; we move to it only when a
        // quorum grants, in campaign().
      } else {
        this.logger.info(
          `${hex(this.id)} [term: ${this.term}] received a ${messageTypeName(m.type)} message with higher term from ${hex(m.from)} [term: ${m.term}]`,
        );
        if (m.type === MessageType.MsgApp || m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgSnap) {
          this.becomeFollower(m.term, m.from);
        } else {
          this.becomeFollower(m.term, None);
        }
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgApp)) {
        // A leader of a lower term may be stuck: with CheckQuorum or PreVote our higher term would
        // never reach it through votes, so tell it with an append response.
        this.send(newMessage({ to: m.from, type: MessageType.MsgAppResp }));
      } else if (m.type === MessageType.MsgPreVote) {
        // Answer stale pre-votes, or a cluster that just enabled PreVote could deadlock.
        const last = this.raftLog.lastEntryID();
        this.logger.info(
          `${hex(this.id)} [logterm: ${last.term}, index: ${last.index}, vote: ${hex(this.vote)}] rejected ${messageTypeName(m.type)} from ${hex(m.from)} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`,
        );
        this.send(newMessage({ to: m.from, term: this.term, type: MessageType.MsgPreVoteResp, reject: true }));
      } else if (m.type === MessageType.MsgStorageAppendResp) {
        if (m.index !== 0) {
          // The appended entries may have been overwritten in the unstable log in a later term;
          // they are not known to be stable (the ABA race of async storage writes).
          this.logger.info(
            `${hex(this.id)} [term: ${this.term}] ignored entry appends from a ${messageTypeName(m.type)} message with lower term [term: ${m.term}]`,
          );
        }
        // A snapshot carries committed, term-independent state: it stays applied.
        if (m.snapshot !== null) this.appliedSnap(m.snapshot);
      } else {
        this.logger.info(
          `${hex(this.id)} [term: ${this.term}] ignored a ${messageTypeName(m.type)} message with lower term from ${hex(m.from)} [term: ${m.term}]`,
        );
      }
      return;
    }

    switch (m.type) {
      case MessageType.MsgHup:
        this.hup(this.preVote ? CampaignType.PreElection : CampaignType.Election);
        break;
      case MessageType.MsgStorageAppendResp:
        if (m.index !== 0) {
          // Fast Raft: a write of an entry since replaced in the unstable log at the same index and
          // term (an SA entry overwritten by the leader's decision) must not mark the replacement
          // stable; the replacement's own write will.
          const stale = this.fast !== null && m.entries.length === 1 && this.fast.entryAt(m.index) !== m.entries[0];
          if (!stale) this.raftLog.stableTo({ term: m.logTerm, index: m.index });
        }
        if (m.snapshot !== null) this.appliedSnap(m.snapshot);
        break;
      case MessageType.MsgStorageApplyResp:
        if (m.entries.length > 0) {
          const index = m.entries[m.entries.length - 1]!.index;
          this.appliedTo(index, entriesSizeBytes(m.entries));
          this.reduceUncommittedSize(payloadsSizeBytes(m.entries));
        }
        break;
      case MessageType.MsgVote:
      case MessageType.MsgPreVote: {
        // We can vote if this repeats a vote we cast, or we have not voted and know of no leader in
        // this term (etcd's `lead == None` rule: a node that hears from a leader keeps out of
        // elections), or this is a pre-vote for a future term...
        const canVote =
          this.vote === m.from ||
          (this.vote === None && this.lead === None) ||
          (m.type === MessageType.MsgPreVote && m.term > this.term);
        // ...and the candidate's log is at least as up to date as ours (Raft §5.4.1).
        const lastID = this.lastVoteEntryID();
        const candLastID: EntryID = { term: m.logTerm, index: m.index };
        let upToDate = candLastID.term > lastID.term || (candLastID.term === lastID.term && candLastID.index >= lastID.index);
        // Fast Raft: a candidate whose leader-approved prefix stops short of our commit index would
        // have to recover committed entries from hints, and we may have compacted them away (and a
        // recovered entry's newer term can make such a candidate look up to date): refuse it.
        if (this.fast !== null && candLastID.index < this.raftLog.committed) upToDate = false;
        if (canVote && (this.mutantVoteWithoutLogCheck || upToDate)) {
          // Learners vote too: a learner promoted by a committed change it has not yet applied must
          // help elect the leader that will tell it.
          this.logger.info(
            `${hex(this.id)} [logterm: ${lastID.term}, index: ${lastID.index}, vote: ${hex(this.vote)}] cast ${messageTypeName(m.type)} for ${hex(m.from)} [logterm: ${candLastID.term}, index: ${candLastID.index}] at term ${this.term}`,
          );
          // Answer with the message's term, not ours: a pre-candidate asks about a future term and
          // would ignore a response carrying our older one.
          const resp = newMessage({ to: m.from, term: m.term, type: voteRespMsgType(m.type) });
          // Fast Raft: our entries above the candidate's LA prefix, so that it can recover
          // anything that may have been fast-committed.
          if (this.fast !== null && m.type === MessageType.MsgVote) resp.entries = this.fast.hintsFor(m.index);
          this.send(resp);
          if (m.type === MessageType.MsgVote) {
            this.electionElapsed = 0;
            this.vote = m.from;
          }
        } else {
          this.logger.info(
            `${hex(this.id)} [logterm: ${lastID.term}, index: ${lastID.index}, vote: ${hex(this.vote)}] rejected ${messageTypeName(m.type)} from ${hex(m.from)} [logterm: ${candLastID.term}, index: ${candLastID.index}] at term ${this.term}`,
          );
          this.send(newMessage({ to: m.from, term: this.term, type: voteRespMsgType(m.type), reject: true }));
        }
        break;
      }
      default:
        switch (this.state) {
          case StateType.StateLeader:
            this.stepLeader(m);
            break;
          case StateType.StateCandidate:
          case StateType.StatePreCandidate:
            this.stepCandidate(m);
            break;
          case StateType.StateFollower:
            this.stepFollower(m);
            break;
          default: {
            const never: never = this.state;
            throw new RaftError(`unknown state ${String(never)}`);
          }
        }
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.MsgBeat:
        this.bcastHeartbeat();
        return;
      case MessageType.MsgCheckQuorum:
        if (!this.trk.quorumActive()) {
          this.logger.warning(`${hex(this.id)} stepped down to follower since quorum is not active`);
          this.becomeFollower(this.term, None);
        }
        // Everyone but us starts the next check-quorum period inactive.
        this.trk.visit((id, pr) => {
          if (id !== this.id) pr.recentActive = false;
        });
        return;
      case MessageType.MsgFastProp:
        if (this.fast !== null) this.fast.handleFastProp(m);
        return;
      case MessageType.MsgFastVote: {
        const vpr = this.trk.progress.get(m.from);
        if (vpr !== undefined) vpr.recentActive = true;
        if (this.fast !== null) this.fast.handleFastVote(m);
        return;
      }
      case MessageType.MsgProp: {
        if (m.entries.length === 0) this.logger.panic(`${hex(this.id)} stepped empty MsgProp`);
        if (this.proposeFast(m)) return;
        if (!this.trk.progress.has(this.id)) {
          // Removed from the configuration while leading: take no new proposals.
          throw ErrProposalDropped;
        }
        if (this.leadTransferee !== None) {
          if (this.logger.enabled(LogLevel.Debug)) {
            this.logger.debug(`${hex(this.id)} [term ${this.term}] transfer leadership to ${hex(this.leadTransferee)} is in progress; dropping proposal`);
          }
          throw ErrProposalDropped;
        }
        const ents = m.entries.slice();
        for (let i = 0; i < ents.length; i++) {
          const e = ents[i]!;
          const cc = decodeEntryConfChange(e);
          if (cc === null) continue;
          const alreadyPending = this.pendingConfIndex > this.raftLog.applied;
          const alreadyJoint = this.trk.config.voters.outgoing.size > 0;
          const wantsLeaveJoint = asV2(cc).changes.length === 0;
          let failedCheck = '';
          if (alreadyPending) {
            failedCheck = `possible unapplied conf change at index ${this.pendingConfIndex} (applied to ${this.raftLog.applied})`;
          } else if (alreadyJoint && !wantsLeaveJoint) {
            failedCheck = 'must transition out of joint config first';
          } else if (!alreadyJoint && wantsLeaveJoint) {
            failedCheck = 'not in joint state; refusing empty conf change';
          }
          if (failedCheck !== '' && !this.disableConfChangeValidation) {
            this.logger.info(
              `${hex(this.id)} ignoring conf change ${formatConfChangeProto(cc)} at config ${this.trk.config.toString()}: ${failedCheck}`,
            );
            ents[i] = newEntry({ type: EntryType.EntryNormal });
          } else {
            this.pendingConfIndex = this.raftLog.lastIndex() + i + 1;
          }
        }
        if (!this.appendEntry(ents)) throw ErrProposalDropped;
        this.bcastAppend();
        return;
      }
      case MessageType.MsgReadIndex:
        // A single voter needs no quorum round.
        if (this.trk.isSingleton()) {
          const resp = this.responseToReadIndexReq(m, this.raftLog.committed);
          if (resp !== null) this.send(resp);
          return;
        }
        // Until it commits an entry of its own term, a new leader does not know the commit index
        // of the cluster (Raft §6.4), so reads wait.
        if (!this.committedEntryInCurrentTerm()) {
          this.pendingReadIndexMessages.push(m);
          return;
        }
        this.sendMsgReadIndexResponse(m);
        return;
      case MessageType.MsgForgetLeader:
        return;
      default:
        break;
    }

    const pr = this.trk.progress.get(m.from);
    if (pr === undefined) {
      if (this.logger.enabled(LogLevel.Debug)) this.logger.debug(`${hex(this.id)} no progress available for ${hex(m.from)}`);
      return;
    }
    switch (m.type) {
      case MessageType.MsgAppResp:
        this.handleAppendResponse(m, pr);
        break;
      case MessageType.MsgHeartbeatResp: {
        pr.recentActive = true;
        pr.msgAppFlowPaused = false;
        // Also probes a follower that is caught up but in StateProbe, so that it can return to
        // StateReplicate; StateSnapshot is always paused, so nothing is sent there.
        if (pr.match < this.raftLog.lastIndex() || pr.state === ProgressStateType.StateProbe) {
          this.sendAppend(m.from);
        }
        if (this.readOnly.option !== ReadOnlyOption.ReadOnlySafe || m.context.length === 0) return;
        const acks = this.readOnly.recvAck(m.from, m.context);
        if (acks === null || this.trk.config.voters.voteResult(acks) !== VoteResult.VoteWon) return;
        const rss = this.readOnly.advance(m);
        for (const rs of rss) {
          const resp = this.responseToReadIndexReq(rs.req, rs.index);
          if (resp !== null) this.send(resp);
        }
        break;
      }
      case MessageType.MsgSnapStatus:
        if (pr.state !== ProgressStateType.StateSnapshot) return;
        if (!m.reject) {
          pr.becomeProbe();
          if (this.logger.enabled(LogLevel.Debug)) {
            this.logger.debug(`${hex(this.id)} snapshot succeeded, resumed sending replication messages to ${hex(m.from)} [${pr.toString()}]`);
          }
        } else {
          // Order matters: clear the pending snapshot first, or we would probe from an index the
          // follower never reached.
          pr.pendingSnapshot = 0;
          pr.becomeProbe();
          if (this.logger.enabled(LogLevel.Debug)) {
            this.logger.debug(`${hex(this.id)} snapshot failed, resumed sending replication messages to ${hex(m.from)} [${pr.toString()}]`);
          }
        }
        // Wait for the follower's MsgAppResp (success) or a heartbeat interval (failure).
        pr.msgAppFlowPaused = true;
        break;
      case MessageType.MsgUnreachable:
        // An unreachable peer probably lost appends sent optimistically.
        if (pr.state === ProgressStateType.StateReplicate) pr.becomeProbe();
        if (this.logger.enabled(LogLevel.Debug)) {
          this.logger.debug(`${hex(this.id)} failed to send message to ${hex(m.from)} because it is unreachable [${pr.toString()}]`);
        }
        break;
      case MessageType.MsgTransferLeader: {
        if (pr.isLearner) {
          if (this.logger.enabled(LogLevel.Debug)) this.logger.debug(`${hex(this.id)} is learner. Ignored transferring leadership`);
          return;
        }
        const leadTransferee = m.from;
        const lastLeadTransferee = this.leadTransferee;
        if (lastLeadTransferee !== None) {
          if (lastLeadTransferee === leadTransferee) {
            this.logger.info(
              `${hex(this.id)} [term ${this.term}] transfer leadership to ${hex(leadTransferee)} is in progress, ignores request to same node ${hex(leadTransferee)}`,
            );
            return;
          }
          this.abortLeaderTransfer();
          this.logger.info(`${hex(this.id)} [term ${this.term}] abort previous transferring leadership to ${hex(lastLeadTransferee)}`);
        }
        if (leadTransferee === this.id) {
          if (this.logger.enabled(LogLevel.Debug)) this.logger.debug(`${hex(this.id)} is already leader. Ignored transferring leadership to self`);
          return;
        }
        this.logger.info(`${hex(this.id)} [term ${this.term}] starts to transfer leadership to ${hex(leadTransferee)}`);
        // The transfer must finish within one election timeout.
        this.electionElapsed = 0;
        this.leadTransferee = leadTransferee;
        if (pr.match === this.raftLog.lastIndex()) {
          this.sendTimeoutNow(leadTransferee);
          this.logger.info(
            `${hex(this.id)} sends MsgTimeoutNow to ${hex(leadTransferee)} immediately as ${hex(leadTransferee)} already has up-to-date log`,
          );
        } else {
          this.sendAppend(leadTransferee);
        }
        break;
      }
      default:
        break;
    }
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    // Also reached from advance(): the leader's self-ack of entries it persisted.
    pr.recentActive = true;
    if (m.reject) {
      // rejectHint is the follower's guess of the last index where the logs may match, and logTerm
      // its term there; with it the leader skips whole terms instead of probing one index at a
      // time (see etcd's long comment on fast backtracking).
      if (this.logger.enabled(LogLevel.Debug)) {
        this.logger.debug(
          `${hex(this.id)} received MsgAppResp(rejected, hint: (index ${m.rejectHint}, term ${m.logTerm})) from ${hex(m.from)} for index ${m.index}`,
        );
      }
      let nextProbeIdx = m.rejectHint;
      if (m.logTerm > 0) {
        // Every index of ours whose term exceeds the follower's term at the hint must mismatch too:
        // skip to the last index with a term <= the follower's.
        nextProbeIdx = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm).index;
      }
      if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
        if (this.logger.enabled(LogLevel.Debug)) {
          this.logger.debug(`${hex(this.id)} decreased progress of ${hex(m.from)} to [${pr.toString()}]`);
        }
        if (pr.state === ProgressStateType.StateReplicate) pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    // Update on a higher match, or when a probing peer confirms its match again (it can return to
    // StateReplicate). Not for StateSnapshot: a match equal to pr.match cannot help there.
    if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === ProgressStateType.StateProbe)) {
      if (pr.state === ProgressStateType.StateProbe) {
        pr.becomeReplicate();
      } else if (pr.state === ProgressStateType.StateSnapshot && pr.match + 1 >= this.raftLog.firstIndex()) {
        // Whatever snapshot the follower applied, it can now be caught up from the log.
        if (this.logger.enabled(LogLevel.Debug)) {
          this.logger.debug(`${hex(this.id)} recovered from needing snapshot, resumed sending replication messages to ${hex(m.from)} [${pr.toString()}]`);
        }
        pr.becomeProbe();
        pr.becomeReplicate();
      } else if (pr.state === ProgressStateType.StateReplicate) {
        pr.inflights.freeLE(m.index);
      }

      if (this.maybeCommit()) {
        // A commit in our term also answers the reads that waited for one.
        this.releasePendingReadIndexMessages();
        this.bcastAppend();
      } else if (this.id !== m.from && pr.canBumpCommit(this.raftLog.committed)) {
        // The follower may lack the latest commit index; tell it before the next heartbeat.
        this.sendAppend(m.from);
      }
      // Flow control may now allow several messages at once: send what we can, without empty ones.
      if (this.id !== m.from) {
        for (let guard = 0; this.maybeSendAppend(m.from, false); guard++) {
          if (guard > 1_000_000) this.logger.panic('maybeSendAppend loop did not terminate');
        }
      }
      if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) {
        this.logger.info(`${hex(this.id)} sent MsgTimeoutNow to ${hex(m.from)} after received MsgAppResp`);
        this.sendTimeoutNow(m.from);
      }
    }
  }

  private stepCandidate(m: Message): void {
    // Only responses to our own candidacy count: in StateCandidate, stale pre-vote responses of
    // this term may still arrive.
    const myVoteRespType = this.state === StateType.StatePreCandidate ? MessageType.MsgPreVoteResp : MessageType.MsgVoteResp;
    switch (m.type) {
      case MessageType.MsgProp:
        this.logger.info(`${hex(this.id)} no leader at term ${this.term}; dropping proposal`);
        throw ErrProposalDropped;
      case MessageType.MsgApp:
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return;
      case MessageType.MsgHeartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case MessageType.MsgSnap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case MessageType.MsgTimeoutNow:
        if (this.logger.enabled(LogLevel.Debug)) {
          this.logger.debug(`${hex(this.id)} [term ${this.term} state ${stateTypeName(this.state)}] ignored MsgTimeoutNow from ${hex(m.from)}`);
        }
        return;
      default:
        break;
    }
    if (m.type === myVoteRespType) {
      if (this.fast !== null && m.type === MessageType.MsgVoteResp && !m.reject && m.entries.length > 0) {
        this.fast.recordHints(m.from, m.entries);
      }
      const { granted, rejected, result } = this.poll(m.from, m.type, !m.reject);
      this.logger.info(`${hex(this.id)} has received ${granted} ${messageTypeName(m.type)} votes and ${rejected} vote rejections`);
      if (result === VoteResult.VoteWon) {
        if (this.state === StateType.StatePreCandidate) {
          this.campaign(CampaignType.Election);
        } else {
          this.becomeLeader();
          this.bcastAppend();
        }
      } else if (result === VoteResult.VoteLost) {
        // A pre-vote response carries the future term; stay at ours.
        this.becomeFollower(this.term, None);
      }
    }
  }

  // proposeFast sends a local proposal of normal entries down the fast track; conf changes and
  // forwarded proposals stay on the classic one. Returns false when the caller should go classic.
  private proposeFast(m: Message): boolean {
    if (this.fast === null || (m.from !== this.id && m.from !== None) || !this.fast.canPropose()) return false;
    if (this.state === StateType.StateLeader && (!this.trk.progress.has(this.id) || this.leadTransferee !== None)) return false;
    for (const e of m.entries) if (e.type !== EntryType.EntryNormal) return false;
    this.fast.propose(m.entries);
    return true;
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.MsgFastProp:
        if (this.fast !== null) this.fast.handleFastProp(m);
        return;
      case MessageType.MsgProp:
        if (this.proposeFast(m)) return;
        if (this.lead === None) {
          this.logger.info(`${hex(this.id)} no leader at term ${this.term}; dropping proposal`);
          throw ErrProposalDropped;
        } else if (this.disableProposalForwarding) {
          this.logger.info(`${hex(this.id)} not forwarding to leader ${hex(this.lead)} at term ${this.term}; dropping proposal`);
          throw ErrProposalDropped;
        }
        this.send({ ...m, to: this.lead });
        return;
      case MessageType.MsgApp:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return;
      case MessageType.MsgHeartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case MessageType.MsgSnap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case MessageType.MsgTransferLeader:
        if (this.lead === None) {
          this.logger.info(`${hex(this.id)} no leader at term ${this.term}; dropping leader transfer msg`);
          return;
        }
        this.send({ ...m, to: this.lead });
        return;
      case MessageType.MsgForgetLeader:
        if (this.readOnly.option === ReadOnlyOption.ReadOnlyLeaseBased) {
          // Forgetting the leader would let us vote inside its lease and break lease reads.
          this.logger.error('ignoring MsgForgetLeader due to ReadOnlyLeaseBased');
          return;
        }
        if (this.lead !== None) {
          this.logger.info(`${hex(this.id)} forgetting leader ${hex(this.lead)} at term ${this.term}`);
          this.lead = None;
        }
        return;
      case MessageType.MsgTimeoutNow:
        this.logger.info(`${hex(this.id)} [term ${this.term}] received MsgTimeoutNow from ${hex(m.from)} and starts an election to get leadership.`);
        // A transfer skips pre-vote even when enabled: nobody is recovering from a partition.
        this.hup(CampaignType.Transfer);
        return;
      case MessageType.MsgReadIndex:
        if (this.lead === None) {
          this.logger.info(`${hex(this.id)} no leader at term ${this.term}; dropping index reading msg`);
          return;
        }
        this.send({ ...m, to: this.lead });
        return;
      case MessageType.MsgReadIndexResp:
        if (m.entries.length !== 1) {
          this.logger.error(`${hex(this.id)} invalid format of MsgReadIndexResp from ${hex(m.from)}, entries count: ${m.entries.length}`);
          return;
        }
        this.readStates.push({ index: m.index, requestCtx: m.entries[0]!.data });
        return;
      default:
        return;
    }
  }

  handleAppendEntries(m: Message): void {
    if (this.fast !== null) {
      this.fast.handleAppendEntries(m);
      return;
    }
    const a = new LogSlice(m.term, { term: m.logTerm, index: m.index }, m.entries);
    if (a.prev.index < this.raftLog.committed) {
      this.send(newMessage({ to: m.from, type: MessageType.MsgAppResp, index: this.raftLog.committed }));
      return;
    }
    const mlastIndex = this.raftLog.maybeAppend(a, m.commit);
    if (mlastIndex >= 0) {
      this.send(newMessage({ to: m.from, type: MessageType.MsgAppResp, index: mlastIndex }));
      return;
    }
    if (this.logger.enabled(LogLevel.Debug)) {
      this.logger.debug(
        `${hex(this.id)} [logterm: ${this.raftLog.termOrZero(m.index)}, index: ${m.index}] rejected MsgApp [logterm: ${m.logTerm}, index: ${m.index}] from ${hex(m.from)}`,
      );
    }
    // Hint the largest (index, term) at which the logs may match: the last index <= m.index whose
    // term is <= m.logTerm. This skips our uncommitted tail of higher terms in one round trip.
    const hintIndex0 = Math.min(m.index, this.raftLog.lastIndex());
    const hint = this.raftLog.findConflictByTerm(hintIndex0, m.logTerm);
    this.send(
      newMessage({
        to: m.from,
        type: MessageType.MsgAppResp,
        index: m.index,
        reject: true,
        rejectHint: hint.index,
        logTerm: hint.term,
      }),
    );
  }

  handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    this.send(newMessage({ to: m.from, type: MessageType.MsgHeartbeatResp, context: m.context }));
  }

  handleSnapshot(m: Message): void {
    const s: Snapshot = m.snapshot ?? emptySnapshot();
    const sindex = s.metadata.index;
    const sterm = s.metadata.term;
    if (this.restore(s)) {
      this.logger.info(`${hex(this.id)} [commit: ${this.raftLog.committed}] restored snapshot [index: ${sindex}, term: ${sterm}]`);
      // Under Fast Raft the ack covers the leader-approved prefix only: self-approved entries kept
      // above the snapshot are proposals, not replicas of the leader's log.
      const acked = this.fast !== null ? this.fast.laLastIndex() : this.raftLog.lastIndex();
      this.send(newMessage({ to: m.from, type: MessageType.MsgAppResp, index: acked }));
    } else {
      this.logger.info(`${hex(this.id)} [commit: ${this.raftLog.committed}] ignored snapshot [index: ${sindex}, term: ${sterm}]`);
      this.send(newMessage({ to: m.from, type: MessageType.MsgAppResp, index: this.raftLog.committed }));
    }
  }

  // restore installs a snapshot's log position and configuration; false when it was ignored.
  restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.raftLog.committed) return false;
    if (this.state !== StateType.StateFollower) {
      // Defense in depth: a leader applying a snapshot could change term without stepping down.
      this.logger.warning(`${hex(this.id)} attempted to restore snapshot as leader; should never happen`);
      this.becomeFollower(this.term + 1, None);
      return false;
    }
    const cs = s.metadata.confState;
    const found = cs.voters.includes(this.id) || cs.learners.includes(this.id) || cs.votersOutgoing.includes(this.id);
    if (!found) {
      this.logger.warning(
        `${hex(this.id)} attempted to restore snapshot but it is not in the ConfState ${formatConfStateGo(cs)}; should never happen`,
      );
      return false;
    }
    const id: EntryID = { term: s.metadata.term, index: s.metadata.index };
    // Under Fast Raft only a leader-approved entry can match: a self-approved one of the same term
    // may hold another proposal.
    if (this.fast !== null ? this.fast.matchLA(id) : this.raftLog.matchTerm(id)) {
      // We already hold the snapshot's last entry: only the commit index moves.
      const last = this.raftLog.lastEntryID();
      this.logger.info(
        `${hex(this.id)} [commit: ${this.raftLog.committed}, lastindex: ${last.index}, lastterm: ${last.term}] fast-forwarded commit to snapshot [index: ${id.index}, term: ${id.term}]`,
      );
      this.raftLog.commitTo(s.metadata.index);
      return false;
    }
    // Self-approved entries above the snapshot stay: a vote for one of them may have counted toward
    // a fast quorum, and only the leader's decision at an index may replace what a voter holds.
    const keep = this.fast !== null ? this.fast.selfApprovedAbove(s.metadata.index) : [];
    this.raftLog.restore(s);
    if (keep.length > 0) this.raftLog.append(keep);
    this.trk = new ProgressTracker(this.trk.maxInflight, this.trk.maxInflightBytes);
    let restored: [TrackerConfig, ProgressMap];
    try {
      restored = restoreConfState(new Changer(this.trk, this.raftLog.lastIndex()), cs);
    } catch (err) {
      this.logger.panic(`unable to restore config ${formatConfStateGo(cs)}: ${(err as Error).message}`);
    }
    this.assertConfStatesEquivalent(cs, this.switchToConfig(restored[0], restored[1]));
    if (this.fast !== null) this.fast.afterRestore(s.metadata.index);
    const last = this.raftLog.lastEntryID();
    this.logger.info(
      `${hex(this.id)} [commit: ${this.raftLog.committed}, lastindex: ${last.index}, lastterm: ${last.term}] restored snapshot [index: ${id.index}, term: ${id.term}]`,
    );
    return true;
  }

  // promotable: a voter of the current configuration with no snapshot pending can campaign.
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasNextOrInProgressSnapshot();
  }

  applyConfChange(cc: ConfChangeV2): ConfState {
    const changer = new Changer(this.trk, this.raftLog.lastIndex());
    let res: [TrackerConfig, ProgressMap];
    if (confChangeV2LeaveJoint(cc)) {
      res = changer.leaveJoint();
    } else {
      const enter = confChangeV2EnterJoint(cc);
      if (enter.ok) res = changer.enterJoint(enter.autoLeave, cc.changes);
      else res = changer.simple(cc.changes);
    }
    return this.switchToConfig(res[0], res[1]);
  }

  // switchToConfig installs a configuration and reacts to what it changed: a removed leader may
  // step down, a smaller quorum may commit more, new members are probed at once.
  switchToConfig(cfg: TrackerConfig, prs: ProgressMap): ConfState {
    this.trk.config = cfg;
    this.trk.progress = prs;
    this.logger.info(`${hex(this.id)} switched to configuration ${this.trk.config.toString()}`);
    const cs = this.trk.confState();
    const pr = this.trk.progress.get(this.id);
    this.isLearner = pr !== undefined && pr.isLearner;
    if (this.fast !== null) this.fast.onConfigSwitch();

    if ((pr === undefined || this.isLearner) && this.state === StateType.StateLeader) {
      if (this.stepDownOnRemoval) this.becomeFollower(this.term, None);
      return cs;
    }
    if (this.state !== StateType.StateLeader || cs.voters.length === 0) return cs;

    if (this.maybeCommit()) {
      this.bcastAppend();
    } else {
      this.trk.visit((id) => {
        if (id === this.id) return;
        this.maybeSendAppend(id, false);
      });
    }
    if (this.leadTransferee !== 0 && !this.trk.config.voters.ids().has(this.leadTransferee)) {
      this.abortLeaderTransfer();
    }
    return cs;
  }

  loadState(state: HardState): void {
    if (state.commit < this.raftLog.committed || state.commit > this.raftLog.lastIndex()) {
      this.logger.panic(
        `${hex(this.id)} state.commit ${state.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
      );
    }
    this.raftLog.committed = state.commit;
    this.term = state.term;
    this.vote = state.vote;
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  // Randomized in [electionTimeout, 2*electionTimeout-1] so that split votes resolve (Raft §5.2).
  resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.rng.intn(this.electionTimeout);
  }

  sendTimeoutNow(to: number): void {
    this.send(newMessage({ to, type: MessageType.MsgTimeoutNow }));
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = None;
  }

  committedEntryInCurrentTerm(): boolean {
    // A leader's term is never 0, so an out-of-bounds 0 never matches.
    return this.raftLog.termOrZero(this.raftLog.committed) === this.term;
  }

  // responseToReadIndexReq answers a read request: a local one becomes a ReadState (null returned),
  // a remote one a MsgReadIndexResp to send.
  responseToReadIndexReq(req: Message, readIndex: number): Message | null {
    if (req.from === None || req.from === this.id) {
      this.readStates.push({ index: readIndex, requestCtx: req.entries[0]!.data });
      return null;
    }
    return newMessage({ type: MessageType.MsgReadIndexResp, to: req.from, index: readIndex, entries: req.entries });
  }

  // increaseUncommittedSize refuses entries that would push the uncommitted tail over its limit;
  // an empty tail accepts anything, and empty payloads are always accepted (the leader's empty
  // entry, leaving a joint configuration).
  increaseUncommittedSize(ents: Entry[]): boolean {
    const s = payloadsSizeBytes(ents);
    if (this.uncommittedSize > 0 && s > 0 && this.uncommittedSize + s > this.maxUncommittedSize) return false;
    this.uncommittedSize += s;
    return true;
  }

  reduceUncommittedSize(s: number): void {
    // The estimate may undercount, never overcount: saturate at 0.
    this.uncommittedSize = s > this.uncommittedSize ? 0 : this.uncommittedSize - s;
  }

  releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0) return;
    if (!this.committedEntryInCurrentTerm()) {
      this.logger.error('pending MsgReadIndex should be released only after first commit in current term');
      return;
    }
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) this.sendMsgReadIndexResponse(m);
  }

  sendMsgReadIndexResponse(m: Message): void {
    switch (this.readOnly.option) {
      case ReadOnlyOption.ReadOnlySafe:
        this.readOnly.addRequest(this.raftLog.committed, m);
        // The leader acks its own request.
        this.readOnly.recvAck(this.id, m.entries[0]!.data);
        this.bcastHeartbeatWithCtx(m.entries[0]!.data);
        break;
      case ReadOnlyOption.ReadOnlyLeaseBased: {
        const resp = this.responseToReadIndexReq(m, this.raftLog.committed);
        if (resp !== null) this.send(resp);
        break;
      }
    }
  }
}

function latin1Bytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

// formatConfStateGo prints a ConfState the way Go's %v prints the struct.
export function formatConfStateGo(cs: ConfState): string {
  const l = (xs: number[]) => `[${xs.join(' ')}]`;
  return `{${l(cs.voters)} ${l(cs.learners)} ${l(cs.votersOutgoing)} ${l(cs.learnersNext)} ${cs.autoLeave}}`;
}

