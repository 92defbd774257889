// RawNode: the Ready-loop facade over Raft (etcd's rawnode.go). The caller ticks, steps, takes a
// Ready, persists it, sends its messages, applies its committed entries and advances.

import {
  MessageType,
  None,
  type ConfChangeI,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  emptyHardState,
  entriesSizeBytes,
  hardStateEqual,
  isConfChangeV2,
  isEmptyHardState,
  isEmptySnap,
  newEntry,
  newMessage,
} from './types.js';
import { ErrStepLocalMsg, ErrStepPeerNotFound, RaftError } from './errors.js';
import {
  LocalAppendThread,
  LocalApplyThread,
  SnapshotStatus,
  isLocalMsgTarget,
  mustSync,
  softStateEqual,
  type Ready,
  type SoftState,
} from './ready.js';
import { Raft, confChangeToMsg, type Config } from './raft.js';
import { asV2 } from './confchange.js';
import { getStatus, getBasicStatus, type Status, type BasicStatus } from './status.js';
import type { Progress } from './progress.js';

const localMsgTypes = new Set<MessageType>([
  MessageType.MsgHup,
  MessageType.MsgBeat,
  MessageType.MsgUnreachable,
  MessageType.MsgSnapStatus,
  MessageType.MsgCheckQuorum,
  MessageType.MsgStorageAppend,
  MessageType.MsgStorageAppendResp,
  MessageType.MsgStorageApply,
  MessageType.MsgStorageApplyResp,
]);

const responseMsgTypes = new Set<MessageType>([
  MessageType.MsgAppResp,
  MessageType.MsgVoteResp,
  MessageType.MsgHeartbeatResp,
  MessageType.MsgUnreachable,
  MessageType.MsgReadIndexResp,
  MessageType.MsgPreVoteResp,
  MessageType.MsgStorageAppendResp,
  MessageType.MsgStorageApplyResp,
]);

export function isLocalMsg(t: MessageType): boolean {
  return localMsgTypes.has(t);
}

export function isResponseMsg(t: MessageType): boolean {
  return responseMsgTypes.has(t);
}

export interface Peer {
  id: number;
  context?: Uint8Array;
}

export class RawNode {
  readonly raft: Raft;
  readonly asyncStorageWrites: boolean;
  private prevSoftSt: SoftState;
  private prevHardSt: HardState;
  private stepsOnAdvance: Message[] = [];

  constructor(config: Config) {
    this.raft = new Raft(config);
    this.asyncStorageWrites = config.asyncStorageWrites ?? false;
    this.prevSoftSt = this.raft.softState();
    this.prevHardSt = this.raft.hardState();
  }

  tick(): void {
    this.raft.tick();
  }

  // tickQuiesced advances the election clock only; for groups known to be idle.
  tickQuiesced(): void {
    this.raft.electionElapsed++;
  }

  campaign(): void {
    this.raft.step(newMessage({ type: MessageType.MsgHup }));
  }

  propose(data: Uint8Array): void {
    this.raft.step(newMessage({ type: MessageType.MsgProp, from: this.raft.id, entries: [newEntry({ data })] }));
  }

  proposeConfChange(cc: ConfChangeI): void {
    this.raft.step(confChangeToMsg(cc));
  }

  // applyConfChange must be called when the application applies a conf change entry (unless it
  // rejects the change).
  applyConfChange(cc: ConfChangeI): ConfState {
    return this.raft.applyConfChange(isConfChangeV2(cc) ? cc : asV2(cc));
  }

  step(m: Message): void {
    // Local messages arriving over the network are refused: only local threads may send them.
    if (isLocalMsg(m.type) && !isLocalMsgTarget(m.from)) throw ErrStepLocalMsg;
    if (isResponseMsg(m.type) && !isLocalMsgTarget(m.from) && !this.raft.trk.progress.has(m.from)) throw ErrStepPeerNotFound;
    this.raft.step(m);
  }

  ready(): Ready {
    const rd = this.readyWithoutAccept();
    this.acceptReady(rd);
    return rd;
  }

  private applyUnstableEntries(): boolean {
    // Without async writes, entries are durable by the time committed ones are applied (the Ready
    // is persisted before being applied), so unstable committed entries may be handed out.
    return !this.asyncStorageWrites;
  }

  readyWithoutAccept(): Ready {
    const r = this.raft;
    const rd: Ready = {
      softState: null,
      hardState: emptyHardState(),
      readStates: [],
      entries: r.raftLog.nextUnstableEnts(),
      snapshot: null,
      committedEntries: r.raftLog.nextCommittedEnts(this.applyUnstableEntries()),
      messages: r.msgs,
      mustSync: false,
    };
    const softSt = r.softState();
    if (!softStateEqual(softSt, this.prevSoftSt)) rd.softState = softSt;
    const hardSt = r.hardState();
    if (!hardStateEqual(hardSt, this.prevHardSt)) rd.hardState = hardSt;
    if (r.raftLog.hasNextUnstableSnapshot()) rd.snapshot = r.raftLog.nextUnstableSnapshot();
    if (r.readStates.length !== 0) rd.readStates = r.readStates;
    rd.mustSync = mustSync(hardSt, this.prevHardSt, rd.entries.length);

    if (this.asyncStorageWrites) {
      const msgs = rd.messages.slice();
      if (this.needStorageAppendMsg(rd)) msgs.push(this.newStorageAppendMsg(rd));
      if (rd.committedEntries.length > 0) msgs.push(this.newStorageApplyMsg(rd));
      rd.messages = msgs;
    } else {
      // Messages in a Ready leave after its entries are persisted, so the responses that wait
      // for durability can ride along; self-addressed ones are stepped on advance.
      let msgs = rd.messages;
      let copied = false;
      for (const m of r.msgsAfterAppend) {
        if (m.to !== r.id) {
          if (!copied) {
            msgs = msgs.slice();
            copied = true;
          }
          msgs.push(m);
        }
      }
      rd.messages = msgs;
    }
    return rd;
  }

  private needStorageAppendMsg(rd: Ready): boolean {
    return rd.entries.length > 0 || !isEmptyHardState(rd.hardState) || !isEmptySnap(rd.snapshot) || this.raft.msgsAfterAppend.length > 0;
  }

  private needStorageAppendRespMsg(rd: Ready): boolean {
    // hasNextOrInProgressUnstableEnts, not rd.entries: see newStorageAppendRespMsg.
    return this.raft.raftLog.hasNextOrInProgressUnstableEnts() || !isEmptySnap(rd.snapshot);
  }

  private newStorageAppendMsg(rd: Ready): Message {
    const r = this.raft;
    const m = newMessage({ type: MessageType.MsgStorageAppend, to: LocalAppendThread, from: r.id, entries: rd.entries });
    if (!isEmptyHardState(rd.hardState)) {
      // Fields left zero when there is no HardState, so that one rebuilt from them is empty.
      m.term = rd.hardState.term;
      m.vote = rd.hardState.vote;
      m.commit = rd.hardState.commit;
    }
    if (!isEmptySnap(rd.snapshot)) m.snapshot = rd.snapshot;
    // Self-directed MsgAppResp must be handled before the MsgStorageAppendResp that drops the
    // entries from the unstable log, so that the leader's term lookups stay on the fast path.
    m.responses = r.msgsAfterAppend.slice();
    if (this.needStorageAppendRespMsg(rd)) m.responses.push(this.newStorageAppendRespMsg(rd));
    return m;
  }

  // newStorageAppendRespMsg acknowledges everything unstable up to the log's last entry, stamped
  // with the current term: a response from an older term is ignored, which closes the ABA race in
  // which entries being written were overwritten by a newer leader's and then restored again.
  private newStorageAppendRespMsg(rd: Ready): Message {
    const r = this.raft;
    const m = newMessage({ type: MessageType.MsgStorageAppendResp, to: r.id, from: LocalAppendThread, term: r.term });
    if (r.raftLog.hasNextOrInProgressUnstableEnts()) {
      const last = r.raftLog.lastEntryID();
      m.index = last.index;
      m.logTerm = last.term;
      // Fast Raft can replace a self-approved entry by the leader's choice at the same index and
      // term while the first is still being written: (index, term) no longer names one entry, so
      // the response also carries the entry object it vouches for (a local message, never sent).
      if (r.fast !== null) {
        const e = r.fast.entryAt(last.index);
        if (e !== null) m.entries = [e];
      }
    }
    if (!isEmptySnap(rd.snapshot)) m.snapshot = rd.snapshot;
    return m;
  }

  private newStorageApplyMsg(rd: Ready): Message {
    const r = this.raft;
    const ents = rd.committedEntries;
    return newMessage({
      type: MessageType.MsgStorageApply,
      to: LocalApplyThread,
      from: r.id,
      entries: ents,
      responses: [this.newStorageApplyRespMsg(ents)],
    });
  }

  private newStorageApplyRespMsg(ents: Entry[]): Message {
    return newMessage({ type: MessageType.MsgStorageApplyResp, to: this.raft.id, from: LocalApplyThread, entries: ents });
  }

  // acceptReady commits the RawNode to a Ready: nothing may change the Raft between the Ready and
  // this call.
  private acceptReady(rd: Ready): void {
    const r = this.raft;
    if (rd.softState !== null) this.prevSoftSt = rd.softState;
    if (!isEmptyHardState(rd.hardState)) this.prevHardSt = rd.hardState;
    if (rd.readStates.length !== 0) r.readStates = [];
    if (!this.asyncStorageWrites) {
      if (this.stepsOnAdvance.length !== 0) r.logger.panic('two accepted Ready structs without call to Advance');
      for (const m of r.msgsAfterAppend) {
        if (m.to === r.id) this.stepsOnAdvance.push(m);
      }
      if (this.needStorageAppendRespMsg(rd)) this.stepsOnAdvance.push(this.newStorageAppendRespMsg(rd));
      if (rd.committedEntries.length > 0) this.stepsOnAdvance.push(this.newStorageApplyRespMsg(rd.committedEntries));
    }
    r.msgs = [];
    r.msgsAfterAppend = [];
    r.raftLog.acceptUnstable();
    if (rd.committedEntries.length > 0) {
      const ents = rd.committedEntries;
      r.raftLog.acceptApplying(ents[ents.length - 1]!.index, entriesSizeBytes(ents), this.applyUnstableEntries());
      if (r.fast !== null) r.fast.onCommitted(ents);
    }
  }

  hasReady(): boolean {
    const r = this.raft;
    if (!softStateEqual(r.softState(), this.prevSoftSt)) return true;
    const hardSt = r.hardState();
    if (!isEmptyHardState(hardSt) && !hardStateEqual(hardSt, this.prevHardSt)) return true;
    if (r.raftLog.hasNextUnstableSnapshot()) return true;
    if (r.msgs.length > 0 || r.msgsAfterAppend.length > 0) return true;
    if (r.raftLog.hasNextUnstableEnts() || r.raftLog.hasNextCommittedEnts(this.applyUnstableEntries())) return true;
    if (r.readStates.length !== 0) return true;
    return false;
  }

  // advance tells the RawNode the last Ready was persisted, sent and applied. Not used with
  // asynchronous storage writes, where the storage threads' responses take its place.
  advance(_rd?: Ready): void {
    if (this.asyncStorageWrites) this.raft.logger.panic('Advance must not be called when using AsyncStorageWrites');
    const steps = this.stepsOnAdvance;
    this.stepsOnAdvance = [];
    for (const m of steps) {
      try {
        this.raft.step(m);
      } catch (err) {
        if (!(err instanceof RaftError)) throw err;
      }
    }
  }

  status(): Status {
    return getStatus(this.raft);
  }

  basicStatus(): BasicStatus {
    return getBasicStatus(this.raft);
  }

  withProgress(visitor: (id: number, isLearner: boolean, pr: Progress) => void): void {
    this.raft.trk.visit((id, pr) => visitor(id, pr.isLearner, pr));
  }

  reportUnreachable(id: number): void {
    this.stepQuietly(newMessage({ type: MessageType.MsgUnreachable, from: id }));
  }

  reportSnapshot(id: number, status: SnapshotStatus): void {
    this.stepQuietly(newMessage({ type: MessageType.MsgSnapStatus, from: id, reject: status === SnapshotStatus.SnapshotFailure }));
  }

  transferLeader(transferee: number): void {
    this.stepQuietly(newMessage({ type: MessageType.MsgTransferLeader, from: transferee }));
  }

  forgetLeader(): void {
    this.raft.step(newMessage({ type: MessageType.MsgForgetLeader }));
  }

  readIndex(rctx: Uint8Array): void {
    this.stepQuietly(newMessage({ type: MessageType.MsgReadIndex, entries: [newEntry({ data: rctx })] }));
  }

  private stepQuietly(m: Message): void {
    try {
      this.raft.step(m);
    } catch (err) {
      if (!(err instanceof RaftError)) throw err;
    }
  }

  // bootstrap writes the initial configuration of a brand-new group into the log as committed conf
  // change entries (etcd's Bootstrap). The storage must be empty.
  bootstrap(peers: Peer[]): void {
    if (peers.length === 0) throw new RaftError('must provide at least one peer to Bootstrap');
    const lastIndex = this.raft.raftLog.storage.lastIndex();
    if (lastIndex !== 0) throw new RaftError("can't bootstrap a nonempty Storage");
    this.prevHardSt = emptyHardState();
    this.raft.becomeFollower(1, None);
    const ents: Entry[] = [];
    for (let i = 0; i < peers.length; i++) {
      const p = peers[i]!;
      const cc = { id: 0, type: 0 as const, nodeId: p.id, context: p.context ?? new Uint8Array(0) };
      const msg = confChangeToMsg(cc);
      ents.push({ ...msg.entries[0]!, term: 1, index: i + 1 });
    }
    this.raft.raftLog.append(ents);
    // Commit them at once: every node bootstraps with the same entries, so no quorum is needed
    // (and none exists yet).
    this.raft.raftLog.committed = ents.length;
    for (const p of peers) {
      this.raft.applyConfChange(asV2({ id: 0, type: 0, nodeId: p.id, context: new Uint8Array(0) }));
    }
  }
}

export { None };
