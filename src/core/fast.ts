// Fast Raft: the fast track of the core, an opt-in extension of raft.ts (protocol `fastraft`).
//
// A proposer broadcasts MsgFastProp (entries, each for a log index) to every voter, the leader
// included. A voter puts the entry at that index as self-approved (SA) when the index is the next
// free one of its log, and sends MsgFastVote (index, digest) to the leader once that is durable.
// The leader tallies votes per index; a fast quorum (ceil(3n/4) in every configuration in force
// during its term) commits at once, otherwise it decides on the classic track: it writes the most
// held entry as leader-approved (LA) and replicates it with ordinary appends. Followers overwrite a
// self-approved entry with the leader's choice at exactly that index and nowhere else.
//
// Log shape. A log is a prefix of leader-approved (or classic) entries followed by a suffix of
// self-approved ones: SA entries are only ever appended at lastIndex+1 (or demoted from the end
// of the LA prefix, see sameEntryMode), and an append from the leader must match its previous
// entry on an LA entry, so the LA prefix grows contiguously. Out of
// order proposals wait in a bounded side buffer. Elections compare LA prefixes only, and vote
// responses carry the voter's entries above the candidate's LA prefix as hints: the new leader
// keeps, at each index above its own prefix, the entry most held among the voters that elected
// it, which preserves anything that may have been fast-committed (Fast Paxos' recovery rule:
// with fast quorums of ceil(3n/4), a committed entry is held by more members of any majority than
// any other entry).
//
// Safety rules beyond the published ones (each found by randomized schedules, each has a mutant):
//  1. A vote counts toward a fast quorum only if the voter's LA prefix ended in an entry of the
//     leader's term when it voted (mutant fast-any-round): otherwise a later append from this
//     leader could truncate the voter's stale suffix, and the vote with it.
//  2. A fast quorum must be one in every voter configuration in force during the leader's term,
//     and none is taken while a configuration change is in the log but unapplied (mutant
//     fast-any-config): a member that has not yet applied a change could otherwise be elected by
//     a majority that never saw the entry.
//  3. Only entries of the leader's term are fast-committed, and only once the leader has committed
//     an entry of its own term.
//  4. All state is bounded: the window of open indices, the side buffer, the hints per vote
//     response, the pending proposals of a proposer (backpressure).

import { Approval, EntryType, MessageType, None, type Entry, type Message, EMPTY_BYTES, newMessage } from './types.js';
import { ErrProposalDropped } from './errors.js';
import type { FastConfig } from './fast-config.js';
import { fastQuorumSize } from './fast-config.js';
import { StateType } from './ready.js';
import type { MajorityConfig } from './quorum.js';
import type { EntryID } from './log-slice.js';
import type { Raft } from './raft.js';

// Counters a researcher reads from Status; all monotonic over the node's lifetime.
export interface FastStats {
  // Client entries (non-empty, normal) this node committed as leader, by the track that decided.
  fastCommits: number;
  classicCommits: number;
  // Indices at which the leader saw votes for more than one entry.
  conflicts: number;
  // Indices the leader decided on the classic track (not a fast quorum).
  fallbacks: number;
  // Indices the leader decided with an empty entry because no voted entry could be shipped.
  noopDecisions: number;
  // Proposals of this node that lost their index and were proposed again.
  reproposals: number;
  // Entries a new leader carried over from vote hints and its own self-approved suffix.
  recoveredEntries: number;
  // Proposals of this node whose index a snapshot covered before their outcome was seen.
  unknownOutcomes: number;
  // Proposals refused because the window or the pending limit was full.
  backpressureDrops: number;
  // Fast proposals dropped because the side buffer was full or they fell outside the window.
  droppedProposals: number;
}

export function fastPathRatio(s: FastStats): number {
  const total = s.fastCommits + s.classicCommits;
  return total === 0 ? 0 : s.fastCommits / total;
}

interface PendingProposal {
  entry: Entry; // as last proposed (index and term current)
  lastSentTick: number;
}

interface Candidate {
  entry: Entry | null; // null until the leader has seen the data of this digest
  // Voters holding this entry at the index, and whether each vote may count toward a fast quorum.
  voters: Map<number, boolean>;
}

interface IndexTally {
  firstTick: number;
  candidates: Map<number, Candidate>; // by digest
  votedBy: Map<number, number>; // voter -> digest it last voted for
}

// digestOf identifies one proposal: the proposer, a per-node sequence, the term and the data.
// 53 bits, so that it travels as a plain number; two different proposals colliding would need the
// same 21-bit node/sequence mix and the same 32-bit mixed data hash.
export function digestOf(proposer: number, term: number, seq: number, data: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) {
    h ^= data[i]!;
    h = Math.imul(h, 0x01000193);
  }
  h ^= Math.imul(seq, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h ^= Math.imul(term, 0x297a2d39);
  h ^= h >>> 12;
  const hi = ((Math.imul(proposer, 0x27d4eb2d) + seq) >>> 0) & 0x1fffff;
  return hi * 0x100000000 + (h >>> 0);
}

function isSelfApproved(e: Entry): boolean {
  return e.approval === Approval.SelfApproved;
}

// Key under which recovery counts holders of an entry: the digest of a fast proposal, or for a
// classic entry its term (two LA entries with one index and term are the same entry).
function holdingKey(e: Entry): string {
  return e.digest !== undefined ? `d${e.digest}` : `t${e.term}`;
}

const enum SameEntryMode {
  Keep,
  Demote,
  Truncate,
}

export class FastTrack {
  readonly stats: FastStats = {
    fastCommits: 0,
    classicCommits: 0,
    conflicts: 0,
    fallbacks: 0,
    noopDecisions: 0,
    reproposals: 0,
    recoveredEntries: 0,
    unknownOutcomes: 0,
    backpressureDrops: 0,
    droppedProposals: 0,
  };

  // Number of SA entries at the end of the log; the LA prefix ends at lastIndex - saCount.
  saCount = 0;
  private tickCount = 0;
  private proposalSeq = 0;

  // Proposer state: proposals of this node not yet seen committed, by digest and by index.
  private readonly pending = new Map<number, PendingProposal>();
  private readonly pendingByIndex = new Map<number, number>();

  // Voter state: fast proposals whose prefix has not arrived yet, by index.
  private readonly sideBuffer = new Map<number, Entry>();

  // Leader state, reset every term.
  private readonly tallies = new Map<number, IndexTally>();
  private readonly decidedFast = new Set<number>();
  private fastConfigs: MajorityConfig[] = [];

  // Candidate state: hints from the voters that granted us their vote this term.
  private readonly electionHints = new Map<number, Entry[]>();

  private readonly anyRound: boolean;
  private readonly anyConfig: boolean;

  constructor(
    private readonly r: Raft,
    readonly cfg: FastConfig,
  ) {
    this.anyRound = r.mutations.has('fast-any-round');
    this.anyConfig = r.mutations.has('fast-any-config');
    this.recountSaTail();
  }

  // --- log shape -------------------------------------------------------------------------------

  entryAt(i: number): Entry | null {
    const log = this.r.raftLog;
    if (i < log.firstIndex() || i > log.lastIndex()) return null;
    const u = log.unstable;
    if (i >= u.offset && i - u.offset < u.entries.length) return u.entries[i - u.offset]!;
    return log.slice(i, i + 1, Infinity)[0] ?? null;
  }

  // recountSaTail recomputes saCount from the entries themselves (the source of truth), scanning
  // back from the last index. The suffix is usually within a window of proposals, but LA entries
  // demoted by sameEntryMode can make it longer, so the scan stops only at an LA entry or the
  // commit index.
  recountSaTail(): void {
    const log = this.r.raftLog;
    const last = log.lastIndex();
    const floor = Math.max(log.committed, log.firstIndex() - 1);
    let n = 0;
    for (let i = last; i > floor; i--) {
      const e = this.entryAt(i);
      if (e === null || !isSelfApproved(e)) break;
      n++;
    }
    this.saCount = n;
  }

  laLastIndex(): number {
    return this.r.raftLog.lastIndex() - this.saCount;
  }

  laLastEntryID(): EntryID {
    const i = this.laLastIndex();
    return { term: this.r.raftLog.termOrZero(i), index: i };
  }

  // matchLA: the entry at id.index is leader-approved (or classic) and of id.term. An append from
  // the leader must anchor on such an entry: a self-approved one of the same term may hold a
  // different proposal.
  matchLA(id: EntryID): boolean {
    if (id.index > this.laLastIndex()) return false;
    // A committed entry is the same on every node whatever term stamps it: recovery re-stamps
    // entries with the new leader's term, so terms may differ in the committed prefix.
    if (id.index <= this.r.raftLog.committed) return true;
    return this.r.raftLog.matchTerm(id);
  }

  // selfApprovedAbove returns the SA entries above a snapshot index that a restore must keep: all
  // of our entries above it when the snapshot lands inside (or past) our SA suffix. When it lands
  // on an LA entry of another term, that entry and everything after it came from an older leader:
  // our LA prefix then ended below the leader's term, so no vote of ours for what follows counted
  // (rule 1), and it all goes.
  selfApprovedAbove(snapIndex: number): Entry[] {
    const log = this.r.raftLog;
    if (snapIndex < this.laLastIndex() || snapIndex >= log.lastIndex()) return [];
    return log.slice(snapIndex + 1, log.lastIndex() + 1, Infinity).map((e) => ({ ...e }));
  }

  // --- follower: appends from the leader --------------------------------------------------------

  // handleAppendEntries is the fast-track version of raft.handleAppendEntries.
  handleAppendEntries(m: Message): void {
    const r = this.r;
    const log = r.raftLog;
    if (m.index < log.committed) {
      r.send(newMessage({ to: m.from, type: MessageType.MsgAppResp, index: log.committed }));
      return;
    }
    const prev: EntryID = { term: m.logTerm, index: m.index };
    if (!this.matchLA(prev)) {
      // Hint within our LA prefix only: SA entries are not the leader's to match against.
      const hintIndex0 = Math.min(m.index, this.laLastIndex());
      const hint = log.findConflictByTerm(hintIndex0, m.logTerm);
      r.send(
        newMessage({
          to: m.from,
          type: MessageType.MsgAppResp,
          index: m.index,
          reject: true,
          rejectHint: hint.index,
          logTerm: hint.term,
        }),
      );
      return;
    }
    const ents = m.entries;
    const lastnewi = m.index + ents.length;
    // The first index at which the leader's entries change our log: a missing entry, an SA entry
    // (overwritten in place: the leader decided it), an LA entry that is the same proposal under
    // another term (re-stamped in place, see sameEntryMode), or an LA entry of another term (a
    // classic conflict, which truncates as in Raft).
    let first = -1;
    let classicConflict = false;
    let mode: SameEntryMode | null = null;
    for (let k = 0; k < ents.length; k++) {
      const e = ents[k]!;
      // Committed entries are equal everywhere (their terms may differ after a recovery).
      if (e.index <= log.committed) continue;
      const ours = this.entryAt(e.index);
      if (ours === null) {
        if (first < 0) first = k;
        break;
      }
      if (isSelfApproved(ours)) {
        if (first < 0) first = k;
        continue;
      }
      if (ours.term !== e.term && ours.digest !== undefined && ours.digest === e.digest) {
        mode ??= this.sameEntryMode(lastnewi, ents[ents.length - 1]!.term);
        if (mode !== SameEntryMode.Truncate) {
          if (first < 0) first = k;
          continue;
        }
      }
      if (ours.term !== e.term) {
        if (first < 0) first = k;
        classicConflict = true;
        break;
      }
    }
    if (first >= 0) {
      const from = ents[first]!.index;
      if (from <= log.committed) r.logger.panic(`entry ${from} conflict with committed entry [committed(${log.committed})]`);
      const rewrite: Entry[] = ents.slice(first);
      // Self-approved entries beyond the leader's entries stay: a vote for them may have counted,
      // and only the leader's decision at an index may replace what a voter holds there.
      if (!classicConflict && log.lastIndex() > lastnewi) {
        const laLast = this.laLastIndex();
        const tail = log.slice(lastnewi + 1, log.lastIndex() + 1, Infinity);
        // Copies, not the same objects: a write of the old tail still in flight must not vouch
        // for the rewritten log (see the MsgStorageAppendResp check in raft.ts).
        for (const e of tail) {
          const demote = mode === SameEntryMode.Demote && e.index <= laLast && !isSelfApproved(e);
          rewrite.push(demote ? { ...e, approval: Approval.SelfApproved } : { ...e });
        }
      }
      log.append(rewrite);
      this.recountSaTail();
      this.dropStale();
    }
    log.commitTo(Math.min(m.commit, lastnewi));
    r.send(newMessage({ to: m.from, type: MessageType.MsgAppResp, index: lastnewi }));
    this.flushSideBuffer();
  }

  // sameEntryMode decides what becomes of our LA entries beyond the leader's entries when the
  // leader sends, at an index where we hold an LA entry, the same proposal under another term.
  // Recoveries re-stamp entries with the new leader's term, so one committed entry may sit under
  // several terms on different nodes. Truncating there as in Raft would drop our whole suffix, and
  // with it copies of fast-committed entries that only their holders carry (fuzz seeds 3837, 4150
  // and 16893 lost a committed entry that way). Rewriting in place is safe only if, afterwards,
  // our claim in elections (the term and index of our last LA entry) is still at least the last
  // entry the leader sent: an ack for that entry must not come from a node that a candidate
  // lacking it can out-rank (fuzz seed 6283: a follower rewrote index 7 to term 7 but kept LA
  // entries of term 2 after it, and voted for a leader without index 7).
  //   - Keep: no LA entries of ours beyond the leader's, or they start at or above its last term
  //     (terms stay non-decreasing and our claim is unchanged);
  //   - Demote: they are all normal entries whose last term is below the leader's last term: they
  //     become self-approved (still held, still offered as election hints, replaced only by the
  //     leader's decision at their index) and our claim rises to the leader's last entry;
  //   - Truncate: otherwise, as in Raft.
  private sameEntryMode(lastnewi: number, leaderLastTerm: number): SameEntryMode {
    const log = this.r.raftLog;
    const laLast = this.laLastIndex();
    if (laLast <= lastnewi || log.termOrZero(lastnewi + 1) >= leaderLastTerm) return SameEntryMode.Keep;
    if (log.termOrZero(laLast) >= leaderLastTerm) return SameEntryMode.Truncate;
    for (const e of log.slice(lastnewi + 1, laLast + 1, Infinity)) {
      if (e.type !== EntryType.EntryNormal || e.digest === undefined) return SameEntryMode.Truncate;
    }
    return SameEntryMode.Demote;
  }

  // afterRestore forgets what a snapshot made obsolete.
  afterRestore(snapIndex: number): void {
    this.recountSaTail();
    this.dropStale();
    // Proposals at or below the snapshot have an outcome the log no longer shows. Proposing them
    // again could commit one twice, so they are settled as unknown: the client retries with the
    // same (client id, sequence), which the KV session table deduplicates.
    for (const [digest, p] of this.pending) {
      if (p.entry.index > snapIndex) continue;
      this.pending.delete(digest);
      if (this.pendingByIndex.get(p.entry.index) === digest) this.pendingByIndex.delete(p.entry.index);
      this.stats.unknownOutcomes++;
    }
    this.flushSideBuffer();
  }

  // --- proposer ---------------------------------------------------------------------------------

  // canPropose: the fast track is usable from this node now (else the caller goes classic).
  canPropose(): boolean {
    const r = this.r;
    return r.lead !== None && (r.state === StateType.StateFollower || r.state === StateType.StateLeader);
  }

  private nextProposalIndex(): number {
    let k = this.r.raftLog.lastIndex();
    for (const i of this.pendingByIndex.keys()) if (i > k) k = i;
    for (const i of this.sideBuffer.keys()) if (i > k) k = i;
    for (const i of this.tallies.keys()) if (i > k) k = i;
    return k + 1;
  }

  // propose broadcasts normal entries on the fast track. Throws ErrProposalDropped when the
  // window or the pending limit is full (backpressure).
  propose(ents: readonly Entry[]): void {
    const r = this.r;
    if (this.pending.size + ents.length > this.cfg.maxPendingProposals) {
      this.stats.backpressureDrops += ents.length;
      throw ErrProposalDropped;
    }
    let k = this.nextProposalIndex();
    if (k + ents.length - 1 > this.laLastIndex() + this.cfg.windowSize) {
      this.stats.backpressureDrops += ents.length;
      throw ErrProposalDropped;
    }
    const out: Entry[] = [];
    for (const e0 of ents) {
      const seq = ++this.proposalSeq;
      const e: Entry = {
        term: r.term,
        index: k++,
        type: EntryType.EntryNormal,
        data: e0.data,
        approval: Approval.SelfApproved,
        digest: digestOf(r.id, r.term, seq, e0.data),
      };
      this.pending.set(e.digest!, { entry: e, lastSentTick: this.tickCount });
      this.pendingByIndex.set(e.index, e.digest!);
      out.push(e);
    }
    this.broadcast(out);
    this.acceptProposal(out);
  }

  private broadcast(ents: Entry[]): void {
    const r = this.r;
    for (const id of r.trk.config.voters.ids()) {
      if (id === r.id) continue;
      r.send(newMessage({ to: id, type: MessageType.MsgFastProp, entries: ents }));
    }
  }

  // repropose moves a proposal that lost its index (or whose index is unknowable) to a new one.
  private repropose(digest: number): void {
    const p = this.pending.get(digest);
    if (p === undefined) return;
    this.pending.delete(digest);
    if (this.pendingByIndex.get(p.entry.index) === digest) this.pendingByIndex.delete(p.entry.index);
    if (!this.canPropose()) return;
    const k = this.nextProposalIndex();
    if (k > this.laLastIndex() + this.cfg.windowSize) {
      this.stats.backpressureDrops++;
      return;
    }
    const e: Entry = { ...p.entry, term: this.r.term, index: k };
    this.pending.set(digest, { entry: e, lastSentTick: this.tickCount });
    this.pendingByIndex.set(k, digest);
    this.stats.reproposals++;
    this.broadcast([e]);
    this.acceptProposal([e]);
  }

  // onCommitted sees every committed entry the node hands to its application, in order, and
  // settles this node's proposals: committed at their index, or lost there (proposed again).
  onCommitted(ents: readonly Entry[]): void {
    const r = this.r;
    let lost: number[] | null = null;
    for (const e of ents) {
      if (r.state === StateType.StateLeader && e.type === EntryType.EntryNormal && e.data.length > 0) {
        if (this.decidedFast.delete(e.index)) this.stats.fastCommits++;
        else this.stats.classicCommits++;
      }
      const d = this.pendingByIndex.get(e.index);
      if (d === undefined) continue;
      this.pendingByIndex.delete(e.index);
      if (e.digest === d) {
        this.pending.delete(d);
      } else {
        (lost ??= []).push(d);
      }
    }
    if (lost !== null) for (const d of lost) this.repropose(d);
  }

  // onTermChange re-stamps pending proposals with the new term at the same index: the same index
  // keeps them from ever being committed twice, the new term lets them count on the fast track.
  onTermChange(): void {
    for (const p of this.pending.values()) {
      if (p.entry.term !== this.r.term) p.entry = { ...p.entry, term: this.r.term };
      p.lastSentTick = this.tickCount - this.cfg.retransmitTicks;
    }
    this.sideBuffer.clear();
  }

  // --- voter ------------------------------------------------------------------------------------

  handleFastProp(m: Message): void {
    this.acceptProposal(m.entries);
  }

  // acceptProposal puts fast proposals into this node's log (or, on the leader, its tally) and
  // votes for what the node then holds at each index.
  private acceptProposal(ents: readonly Entry[]): void {
    const r = this.r;
    if (r.state === StateType.StateLeader) {
      for (const e of ents) this.leaderSeesProposal(e);
      this.tryDecide();
      return;
    }
    if (r.state !== StateType.StateFollower) return;
    const votes: Entry[] = [];
    const log = r.raftLog;
    for (const e of ents) {
      if (e.term !== r.term || e.type !== EntryType.EntryNormal || e.digest === undefined) continue;
      if (e.index <= log.committed) continue;
      if (e.index > this.laLastIndex() + this.cfg.windowSize) {
        this.stats.droppedProposals++;
        continue;
      }
      const last = log.lastIndex();
      if (e.index === last + 1) {
        this.insertSelfApproved(e);
        votes.push(e);
      } else if (e.index <= last) {
        const ours = this.entryAt(e.index);
        if (ours !== null && isSelfApproved(ours)) {
          if (ours.digest === e.digest && ours.term !== e.term) {
            // The same proposal re-stamped in a newer term: hold the newer copy, so that it can
            // count on the fast track (rule 3).
            this.rewriteAt(e);
            votes.push(e);
          } else {
            votes.push(ours);
          }
        }
      } else if (this.sideBuffer.size < this.cfg.sideBufferSize || this.sideBuffer.has(e.index)) {
        this.sideBuffer.set(e.index, e);
      } else {
        this.stats.droppedProposals++;
      }
    }
    this.flushSideBuffer(votes);
    if (votes.length > 0) this.sendVotes(votes);
  }

  private insertSelfApproved(e: Entry): void {
    const sa: Entry = e.approval === Approval.SelfApproved ? e : { ...e, approval: Approval.SelfApproved };
    this.r.raftLog.append([sa]);
    this.saCount++;
  }

  // rewriteAt replaces the SA entry at e.index with e, keeping the SA entries after it.
  private rewriteAt(e: Entry): void {
    const log = this.r.raftLog;
    const rewrite: Entry[] = [{ ...e, approval: Approval.SelfApproved }];
    if (log.lastIndex() > e.index) {
      for (const t of log.slice(e.index + 1, log.lastIndex() + 1, Infinity)) rewrite.push({ ...t });
    }
    log.append(rewrite);
  }

  private flushSideBuffer(votes?: Entry[]): void {
    if (this.sideBuffer.size === 0) return;
    const log = this.r.raftLog;
    const out = votes ?? [];
    for (let guard = 0; guard <= this.cfg.sideBufferSize; guard++) {
      const next = this.sideBuffer.get(log.lastIndex() + 1);
      if (next === undefined) break;
      this.sideBuffer.delete(next.index);
      if (next.term !== this.r.term) continue;
      this.insertSelfApproved(next);
      out.push(next);
    }
    this.dropStale();
    if (votes === undefined && out.length > 0) this.sendVotes(out);
  }

  private dropStale(): void {
    const last = this.r.raftLog.lastIndex();
    for (const i of this.sideBuffer.keys()) if (i <= last) this.sideBuffer.delete(i);
  }

  // sendVotes tells the leader what this node holds. The vote carries the end of the voter's LA
  // prefix (rule 1) and leaves only after the entries it vouches for are durable.
  private sendVotes(held: Entry[]): void {
    const r = this.r;
    if (r.lead === None || r.lead === r.id) return;
    const la = this.laLastEntryID();
    const votes: Entry[] = held.map((e) => ({ term: e.term, index: e.index, type: e.type, data: EMPTY_BYTES, digest: e.digest }));
    r.send(newMessage({ to: r.lead, type: MessageType.MsgFastVote, entries: votes, logTerm: la.term, index: la.index }));
  }

  // --- leader -----------------------------------------------------------------------------------

  private tally(i: number): IndexTally {
    let t = this.tallies.get(i);
    if (t === undefined) {
      t = { firstTick: this.tickCount, candidates: new Map(), votedBy: new Map() };
      this.tallies.set(i, t);
    }
    return t;
  }

  private inWindow(i: number): boolean {
    const last = this.r.raftLog.lastIndex();
    return i > last && i <= last + this.cfg.windowSize;
  }

  private leaderSeesProposal(e: Entry): void {
    const r = this.r;
    if (e.type !== EntryType.EntryNormal || e.digest === undefined || !this.inWindow(e.index)) return;
    const t = this.tally(e.index);
    let c = t.candidates.get(e.digest);
    if (c === undefined) {
      c = { entry: null, voters: new Map() };
      t.candidates.set(e.digest, c);
    }
    if (c.entry === null || (c.entry.term !== r.term && e.term === r.term)) c.entry = e;
    // The leader votes for the first entry it sees at an index, like any voter.
    if (!t.votedBy.has(r.id)) this.recordVote(t, r.id, e.digest, e.term === r.term);
  }

  private recordVote(t: IndexTally, voter: number, digest: number, eligible: boolean): void {
    const prev = t.votedBy.get(voter);
    if (prev !== undefined && prev !== digest) t.candidates.get(prev)?.voters.delete(voter);
    t.votedBy.set(voter, digest);
    let c = t.candidates.get(digest);
    if (c === undefined) {
      c = { entry: null, voters: new Map() };
      t.candidates.set(digest, c);
    }
    c.voters.set(voter, eligible);
  }

  handleFastVote(m: Message): void {
    const r = this.r;
    if (r.state !== StateType.StateLeader || !r.trk.progress.has(m.from)) return;
    // Rule 1: the voter's LA prefix ended in an entry of our term when it voted.
    const roundOK = this.anyRound || m.logTerm === r.term;
    for (const v of m.entries) {
      if (v.digest === undefined || !this.inWindow(v.index)) continue;
      // Rule 3: only entries of our term count toward a fast quorum.
      this.recordVote(this.tally(v.index), m.from, v.digest, roundOK && v.term === r.term);
    }
    this.tryDecide();
  }

  // fastTrackOpen: rules 2 and 3 allow fast decisions now.
  private fastTrackOpen(): boolean {
    const r = this.r;
    if (!r.committedEntryInCurrentTerm()) return false;
    if (!this.anyConfig && r.pendingConfIndex > r.raftLog.applied) return false;
    return true;
  }

  private currentConfigs(): MajorityConfig[] {
    const v = this.r.trk.config.voters;
    return v.outgoing.size > 0 ? [v.incoming, v.outgoing] : [v.incoming];
  }

  // onConfigSwitch records a configuration that came into force during this leader's term.
  onConfigSwitch(): void {
    if (this.r.state !== StateType.StateLeader) return;
    for (const c of this.currentConfigs()) this.addFastConfig(c);
  }

  private addFastConfig(c: MajorityConfig): void {
    if (c.size === 0) return;
    const ids = c.ids();
    for (const have of this.fastConfigs) {
      const hids = have.ids();
      if (hids.length === ids.length && hids.every((x, i) => x === ids[i])) return;
    }
    this.fastConfigs.push(c.clone());
  }

  private isFastQuorum(c: Candidate): boolean {
    const configs = this.anyConfig ? this.currentConfigs() : this.fastConfigs;
    if (configs.length === 0) return false;
    for (const cfg of configs) {
      let n = 0;
      for (const [voter, eligible] of c.voters) if (eligible && cfg.has(voter)) n++;
      if (n < fastQuorumSize(cfg.size)) return false;
    }
    return true;
  }

  // fastStillPossible: some entry could still reach a fast quorum in every configuration, counting
  // the voters that have not answered yet. Once none can, waiting only adds latency.
  private fastStillPossible(t: IndexTally): boolean {
    const configs = this.anyConfig ? this.currentConfigs() : this.fastConfigs;
    for (const cfg of configs) {
      let unvoted = 0;
      for (const id of cfg.ids()) if (!t.votedBy.has(id)) unvoted++;
      let best = 0;
      for (const c of t.candidates.values()) {
        let n = 0;
        for (const [voter, eligible] of c.voters) if (eligible && cfg.has(voter)) n++;
        if (n > best) best = n;
      }
      if (best + unvoted < fastQuorumSize(cfg.size)) return false;
    }
    return true;
  }

  private allVoted(t: IndexTally): boolean {
    for (const cfg of this.currentConfigs()) for (const id of cfg.ids()) if (!t.votedBy.has(id)) return false;
    return true;
  }

  // tryDecide decides the open indices it can, in order from lastIndex+1.
  tryDecide(): void {
    const r = this.r;
    if (r.state !== StateType.StateLeader) return;
    let decided = false;
    // Indices the log has grown past (a classic append, an earlier decision) are settled.
    const last0 = r.raftLog.lastIndex();
    for (const i of this.tallies.keys()) if (i <= last0) this.tallies.delete(i);
    for (let guard = 0; guard < this.cfg.windowSize; guard++) {
      const k = r.raftLog.lastIndex() + 1;
      const t = this.tallies.get(k);
      if (t === undefined) {
        // Nothing reached us for k while later indices wait: the proposal for k was lost (its
        // proposer may have crashed). Close k with an empty entry once the wait is long enough,
        // or the log would stall behind it.
        if (!this.gapTimedOut(k)) break;
        this.stats.noopDecisions++;
        this.stats.fallbacks++;
        r.appendDecided({ term: r.term, index: k, type: EntryType.EntryNormal, data: EMPTY_BYTES, approval: Approval.LeaderApproved });
        decided = true;
        continue;
      }
      const open = this.fastTrackOpen();
      let chosen: Entry | null = null;
      let fast = false;
      if (open) {
        for (const c of t.candidates.values()) {
          if (c.entry !== null && c.entry.term === r.term && this.isFastQuorum(c)) {
            chosen = c.entry;
            fast = true;
            break;
          }
        }
      }
      if (chosen === null) {
        const timedOut = this.tickCount - t.firstTick >= this.cfg.decisionTimeoutTicks;
        // Classic track: when the fast track is closed, when every voter has answered without a
        // fast quorum, or when waiting longer is not worth it.
        if (!open || this.allVoted(t) || timedOut || !this.fastStillPossible(t)) {
          chosen = this.mostHeld(t);
          if (chosen === null && timedOut) {
            chosen = { term: r.term, index: k, type: EntryType.EntryNormal, data: EMPTY_BYTES };
            this.stats.noopDecisions++;
          }
        }
      }
      if (chosen === null) break;
      if (t.candidates.size > 1) this.stats.conflicts++;
      if (!fast) this.stats.fallbacks++;
      this.tallies.delete(k);
      // No digest key at all when the choice has none (an empty entry): an entry on the wire
      // with `digest: undefined` is refused by every receiver.
      const decision: Entry = { term: r.term, index: k, type: chosen.type, data: chosen.data, approval: Approval.LeaderApproved };
      if (chosen.digest !== undefined) decision.digest = chosen.digest;
      r.appendDecided(decision);
      if (fast) this.decidedFast.add(k);
      decided = true;
    }
    if (decided) {
      if (r.maybeCommit()) r.releasePendingReadIndexMessages();
      r.bcastAppend();
    }
  }

  private gapTimedOut(k: number): boolean {
    for (const [i, t] of this.tallies) {
      if (i > k && this.tickCount - t.firstTick >= 2 * this.cfg.decisionTimeoutTicks) return true;
    }
    return false;
  }

  // mostHeld is the classic-track choice: the entry with the most votes that the leader can ship
  // (it has the data), the leader's own vote breaking ties.
  private mostHeld(t: IndexTally): Entry | null {
    let best: Candidate | null = null;
    let bestDigest = 0;
    const own = t.votedBy.get(this.r.id);
    for (const [digest, c] of t.candidates) {
      if (c.entry === null) continue;
      if (
        best === null ||
        c.voters.size > best.voters.size ||
        (c.voters.size === best.voters.size && (digest === own || (bestDigest !== own && digest < bestDigest)))
      ) {
        best = c;
        bestDigest = digest;
      }
    }
    return best?.entry ?? null;
  }

  // extendCommit commits fast-decided indices that directly follow the commit index.
  extendCommit(): boolean {
    const log = this.r.raftLog;
    let c = log.committed;
    const last = log.lastIndex();
    while (c < last && this.decidedFast.has(c + 1)) c++;
    if (c > log.committed) {
      log.commitTo(c);
      return true;
    }
    return false;
  }

  tick(): void {
    this.tickCount++;
    const r = this.r;
    if (r.state === StateType.StateLeader && this.tallies.size > 0) this.tryDecide();
    // Resend proposals whose index is still open: a lost proposal or vote must not stall them.
    if (this.pending.size === 0 || !this.canPropose()) return;
    const committed = r.raftLog.committed;
    let resend: Entry[] | null = null;
    for (const p of this.pending.values()) {
      if (p.entry.index <= committed) continue;
      if (this.tickCount - p.lastSentTick < this.cfg.retransmitTicks) continue;
      p.lastSentTick = this.tickCount;
      (resend ??= []).push(p.entry);
    }
    if (resend !== null) {
      resend.sort((a, b) => a.index - b.index);
      this.broadcast(resend);
      this.acceptProposal(resend);
    }
  }

  // --- elections --------------------------------------------------------------------------------

  // hintsFor returns this voter's entries above a candidate's LA prefix, bounded by the window.
  hintsFor(candidateLaIndex: number): Entry[] {
    const log = this.r.raftLog;
    const lo = Math.max(candidateLaIndex + 1, log.firstIndex());
    const hi = Math.min(log.lastIndex(), candidateLaIndex + this.cfg.windowSize);
    if (lo > hi) return [];
    return log.slice(lo, hi + 1, Infinity);
  }

  resetElection(): void {
    this.electionHints.clear();
  }

  recordHints(from: number, hints: readonly Entry[]): void {
    if (hints.length > this.cfg.windowSize) hints = hints.slice(0, this.cfg.windowSize);
    this.electionHints.set(from, hints.slice());
  }

  // recover chooses, at each index above our LA prefix, the entry most held among the voters that
  // elected us (us included), re-stamped as leader-approved in our term; gaps get empty entries.
  // It writes them over our own SA suffix. Called by becomeLeader before anything else.
  recover(): void {
    const r = this.r;
    const log = r.raftLog;
    const p = this.laLastIndex();
    const holders = new Map<number, Map<string, { n: number; e: Entry }>>();
    let maxIdx = p;
    const count = (e: Entry): void => {
      if (e.index <= p || e.index > p + this.cfg.windowSize) return;
      let at = holders.get(e.index);
      if (at === undefined) {
        at = new Map();
        holders.set(e.index, at);
      }
      const key = holdingKey(e);
      const h = at.get(key);
      if (h === undefined) at.set(key, { n: 1, e });
      else h.n++;
      if (e.index > maxIdx) maxIdx = e.index;
    };
    if (log.lastIndex() > p) for (const e of log.slice(p + 1, log.lastIndex() + 1, Infinity)) count(e);
    for (const [voter, hints] of this.electionHints) {
      if (voter === r.id || r.trk.votes.get(voter) !== true) continue;
      for (const e of hints) count(e);
    }
    this.electionHints.clear();
    if (maxIdx === p) {
      this.saCount = 0;
      return;
    }
    const chosen: Entry[] = [];
    for (let i = p + 1; i <= maxIdx; i++) {
      const at = holders.get(i);
      let best: { n: number; e: Entry } | null = null;
      let bestKey = '';
      if (at !== undefined) {
        for (const [key, h] of at) {
          if (best === null || h.n > best.n || (h.n === best.n && key < bestKey)) {
            best = h;
            bestKey = key;
          }
        }
      }
      const src = best?.e;
      const e: Entry = { term: r.term, index: i, type: src?.type ?? EntryType.EntryNormal, data: src?.data ?? EMPTY_BYTES, approval: Approval.LeaderApproved };
      if (src?.digest !== undefined) e.digest = src.digest;
      chosen.push(e);
    }
    this.stats.recoveredEntries += chosen.length;
    log.append(chosen);
    this.saCount = 0;
  }

  // onBecomeLeader starts the leader's term: the configurations in force now are the first of
  // the term's fast configurations.
  onBecomeLeader(): void {
    this.tallies.clear();
    this.decidedFast.clear();
    this.fastConfigs = [];
    for (const c of this.currentConfigs()) this.addFastConfig(c);
  }

  onStepDown(): void {
    this.tallies.clear();
    this.decidedFast.clear();
    this.fastConfigs = [];
  }

  pendingCount(): number {
    return this.pending.size;
  }

  sideBufferCount(): number {
    return this.sideBuffer.size;
  }

  openIndexCount(): number {
    return this.tallies.size;
  }
}
