// A follower's handling of an entry the leader sends under another term than the follower holds
// it (src/core/fast.ts, sameEntryMode). Recoveries re-stamp the entries they keep with the new
// leader's term, so one committed entry can sit under terms 2, 3 and 5 on different nodes. The
// three cases, each the shape of a fuzz-found violation (seeds 3837, 16893 and 6283 of the fast
// and storm profiles), are set up directly in a follower's storage: the schedules that reach
// them take several elections with crashes at exact moments.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawNode } from '../../src/core/raw-node.js';
import type { Config } from '../../src/core/raft.js';
import { MemoryStorage, type InitialState } from '../../src/core/storage.js';
import { Rng } from '../../src/core/rand.js';
import { getProtocol } from '../../src/core/protocols.js';
import { Approval, EntryType, MessageType, emptyConfState, isEmptyHardState, newMessage, type ConfState, type Entry, type Message } from '../../src/core/types.js';

class BootStorage extends MemoryStorage {
  constructor(private readonly boot: ConfState) {
    super();
  }
  override initialState(): InitialState {
    return { hardState: this.hardState, confState: this.boot };
  }
}

const digestAt = (i: number): number => 1_000_000 + i;

interface Span {
  from: number;
  to: number;
  term: number;
  approval: Approval;
}

// follower builds node 2 of a 5-node cluster with entries 1..35 committed (term 2) and the spans
// given above them, each entry carrying the digest of the proposal at its index.
function follower(spans: Span[], hardTerm: number): { rn: RawNode; storage: MemoryStorage } {
  const cs = emptyConfState();
  cs.voters = [1, 2, 3, 4, 5];
  const storage = new BootStorage(cs);
  const ents: Entry[] = [];
  for (let i = 1; i <= 35; i++) ents.push(entry(i, 2, Approval.LeaderApproved));
  for (const s of spans) for (let i = s.from; i <= s.to; i++) ents.push(entry(i, s.term, s.approval));
  storage.append(ents);
  storage.setHardState({ term: hardTerm, vote: 0, commit: 35 });
  const base: Config = {
    id: 2,
    electionTick: 10,
    heartbeatTick: 1,
    storage,
    applied: 35,
    maxSizePerMsg: Number.MAX_SAFE_INTEGER,
    maxInflightMsgs: 256,
    checkQuorum: false,
    preVote: false,
    rng: new Rng(7),
    mutations: new Set(),
  };
  return { rn: new RawNode(getProtocol('fastraft').configure(base, { fast: {} })), storage };
}

// handle takes one Ready the way a node does: entries and hard state written, then advanced.
function handle(n: { rn: RawNode; storage: MemoryStorage }, type: MessageType): Message | undefined {
  const rd = n.rn.ready();
  n.storage.append(rd.entries);
  if (!isEmptyHardState(rd.hardState)) n.storage.setHardState(rd.hardState);
  n.rn.advance(rd);
  return rd.messages.find((m) => m.type === type);
}

function entry(i: number, term: number, approval: Approval): Entry {
  return { term, index: i, type: EntryType.EntryNormal, data: new TextEncoder().encode(`v${i}`), approval, digest: digestAt(i) };
}

// append delivers one append from leader 1 and returns the follower's response.
function append(n: { rn: RawNode; storage: MemoryStorage }, term: number, prev: { index: number; term: number }, ents: Entry[], commit: number): Message {
  n.rn.step(newMessage({ type: MessageType.MsgApp, from: 1, to: 2, term, index: prev.index, logTerm: prev.term, entries: ents, commit }));
  const resp = handle(n, MessageType.MsgAppResp);
  assert.ok(resp !== undefined, 'the follower answers the append');
  return resp;
}

function shape(n: { rn: RawNode }, from: number, to: number): string[] {
  const out: string[] = [];
  const f = n.rn.raft.fast!;
  for (let i = from; i <= to; i++) {
    const e = f.entryAt(i);
    out.push(e === null ? `${i}:-` : `${i}:t${e.term}:${e.approval === Approval.SelfApproved ? 'SA' : 'LA'}`);
  }
  return out;
}

test('a re-stamped copy under a lower term is rewritten in place; the suffix after it stays (seed 3837)', () => {
  // Node 2 holds 36..39 as leader-approved copies stamped 3 by a recovery, and 40..45
  // self-approved: 36..42 were fast-committed in term 2 by leader 1, which kept its term-2 copies.
  const n = follower(
    [
      { from: 36, to: 39, term: 3, approval: Approval.LeaderApproved },
      { from: 40, to: 45, term: 2, approval: Approval.SelfApproved },
    ],
    11,
  );
  // Leader 1 of term 12 sends its copy of 36 (term 2), one entry per append.
  const resp = append(n, 12, { index: 35, term: 2 }, [entry(36, 2, Approval.LeaderApproved)], 42);
  assert.equal(resp.reject, false);
  assert.equal(resp.index, 36);
  // Truncating at 36 would drop node 2's copies of 37..42, committed entries that a candidate
  // elected without node 1 could then lack.
  assert.equal(n.rn.raft.raftLog.lastIndex(), 45);
  assert.deepEqual(shape(n, 36, 41), ['36:t2:LA', '37:t3:LA', '38:t3:LA', '39:t3:LA', '40:t2:SA', '41:t2:SA']);
  assert.equal(n.rn.raft.fast!.laLastIndex(), 39);
  assert.equal(n.rn.raft.raftLog.committed, 36, 'commit stops at the last entry the leader sent');
});

test('a re-stamped copy under a higher term demotes the older LA entries after it; none is dropped (seed 16893)', () => {
  // Node 2 holds 36..42 as LA copies stamped 3 and 43..45 self-approved; leader 1 of term 9
  // recovered 37.. and stamped them 5.
  const n = follower(
    [
      { from: 36, to: 42, term: 3, approval: Approval.LeaderApproved },
      { from: 43, to: 45, term: 3, approval: Approval.SelfApproved },
    ],
    8,
  );
  const resp = append(n, 9, { index: 38, term: 3 }, [entry(39, 5, Approval.LeaderApproved)], 37);
  assert.equal(resp.reject, false);
  assert.equal(resp.index, 39);
  assert.equal(n.rn.raft.raftLog.lastIndex(), 45, 'nothing is truncated: 43 may be a fast-committed entry only its holders carry');
  assert.deepEqual(shape(n, 38, 44), ['38:t3:LA', '39:t5:LA', '40:t3:SA', '41:t3:SA', '42:t3:SA', '43:t3:SA', '44:t3:SA']);
  assert.equal(n.rn.raft.fast!.laLastIndex(), 39);
  // Node 2 just acknowledged (39, term 5), so it must out-rank a candidate whose leader-approved
  // log ends in term 3, however long: keeping 40..42 leader-approved would leave its claim at
  // (42, term 3) and let such a candidate win its vote (the shape of seed 6283).
  n.rn.step(newMessage({ type: MessageType.MsgVote, from: 3, to: 2, term: 10, index: 60, logTerm: 3 }));
  const vote = handle(n, MessageType.MsgVoteResp);
  assert.ok(vote !== undefined);
  assert.equal(vote.reject, true, 'no vote for a candidate whose log ends in term 3');
});

test('a re-stamped copy below LA entries of an equal or higher term is a conflict, as in Raft', () => {
  // Demoting 40..41 (term 3) and 42 (term 6) would lower node 2's claim from (42, 6) to (39, 5).
  const n = follower(
    [
      { from: 36, to: 41, term: 3, approval: Approval.LeaderApproved },
      { from: 42, to: 42, term: 6, approval: Approval.LeaderApproved },
      { from: 43, to: 44, term: 6, approval: Approval.SelfApproved },
    ],
    8,
  );
  const resp = append(n, 9, { index: 38, term: 3 }, [entry(39, 5, Approval.LeaderApproved)], 37);
  assert.equal(resp.reject, false);
  assert.equal(n.rn.raft.raftLog.lastIndex(), 39);
  assert.deepEqual(shape(n, 38, 40), ['38:t3:LA', '39:t5:LA', '40:-']);
});
