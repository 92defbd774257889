// The rules of the Raft paper (Ongaro & Ousterhout, "In Search of an Understandable Consensus
// Algorithm", §5), one test per rule, in the order the paper states them; then Figure 7 and
// Figure 8 as stories, and the safety properties of Figure 3 (Election Safety, Log Matching,
// Leader Completeness, State Machine Safety) checked continuously over random schedules.
// Scenarios follow etcd-io/raft's raft_paper_test.go, restated here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Raft } from '../../src/core/raft.js';
import { StateType } from '../../src/core/ready.js';
import { RaftError, ErrProposalDropped } from '../../src/core/errors.js';
import { RaftInvariantError } from '../../src/core/logger.js';
import { ConfChangeType, MessageType, newEntry, type Entry, type Message } from '../../src/core/types.js';
import type { Mutation } from '../../src/core/mutations.js';
import {
  Network,
  RawCluster,
  acceptAndReply,
  advanceMessagesAfterAppend,
  asV2,
  blackHole,
  bytes,
  commitNoopEntry,
  ents,
  hup,
  ids,
  logIds,
  logView,
  msg,
  mustAppendEntry,
  newTestRaft,
  newTestStorage,
  prop,
  readMessages,
  sortMsgs,
  str,
  view,
} from './helpers-raft.js';

const entryView = (es: Entry[]): Array<[number, number, string]> => es.map((e) => [e.index, e.term, str(e.data)]);

// ---------------------------------------------------------------------------------------------
// §5.1 Raft basics: terms

for (const [name, setup] of [
  ['follower', (r: Raft) => r.becomeFollower(1, 2)],
  ['candidate', (r: Raft) => r.becomeCandidate()],
  ['leader', (r: Raft) => { r.becomeCandidate(); r.becomeLeader(); }],
] as const) {
  test(`§5.1 a ${name} that sees a higher term adopts it and reverts to follower`, () => {
    const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]));
    setup(r);
    r.step(msg({ type: MessageType.MsgApp, from: 2, to: 1, term: 2 }));
    assert.equal(r.term, 2);
    assert.equal(r.state, StateType.StateFollower);
    assert.equal(r.lead, 2);
  });
}

test('§5.1 a request with a stale term is ignored: no entries, no reply, no state change', () => {
  const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]));
  r.loadState({ term: 2, vote: 0, commit: 0 });
  r.step(msg({ type: MessageType.MsgApp, from: 2, to: 1, term: 1, entries: ents(1, 1) }));
  assert.equal(r.raftLog.lastIndex(), 0);
  assert.deepEqual(readMessages(r), []);
  assert.equal(r.term, 2);
  assert.equal(r.lead, 0);
});

// ---------------------------------------------------------------------------------------------
// §5.2 Leader election

test('§5.2 servers start as followers', () => {
  const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]));
  assert.equal(r.state, StateType.StateFollower);
  assert.equal(r.term, 0);
});

test('§5.2 a leader sends empty AppendEntries (heartbeats) to every follower each heartbeat timeout', () => {
  const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]));
  r.becomeCandidate();
  r.becomeLeader();
  for (let i = 0; i < 10; i++) mustAppendEntry(r, newEntry({ index: i + 1 }));
  readMessages(r);
  r.tick();
  const msgs = sortMsgs(readMessages(r));
  assert.deepEqual(msgs.map((m) => view(m, ['index', 'logTerm', 'commit', 'entries'])), [
    { type: 'MsgHeartbeat', from: 1, to: 2, term: 1, index: 0, logTerm: 0, commit: 0, entries: [] },
    { type: 'MsgHeartbeat', from: 1, to: 3, term: 1, index: 0, logTerm: 0, commit: 0, entries: [] },
  ]);
});

for (const [name, setup] of [
  ['follower', (r: Raft) => r.becomeFollower(1, 2)],
  ['candidate', (r: Raft) => r.becomeCandidate()],
] as const) {
  test(`§5.2 a ${name} that hears nothing for an election timeout becomes a candidate, votes for itself and asks every server`, () => {
    const et = 10;
    const r = newTestRaft(1, et, 1, newTestStorage([1, 2, 3]));
    setup(r);
    for (let i = 1; i < 2 * et; i++) r.tick();
    advanceMessagesAfterAppend(r);
    assert.equal(r.term, 2, 'increments its term');
    assert.equal(r.state, StateType.StateCandidate);
    assert.equal(r.vote, 1, 'votes for itself');
    assert.equal(r.trk.votes.get(1), true, 'its own vote is counted');
    assert.deepEqual(sortMsgs(readMessages(r)).map((m) => view(m, ['index', 'logTerm'])), [
      { type: 'MsgVote', from: 1, to: 2, term: 2, index: 0, logTerm: 0 },
      { type: 'MsgVote', from: 1, to: 3, term: 2, index: 0, logTerm: 0 },
    ]);
  });
}

test('§5.2 a candidate wins with votes from a majority, loses to a majority of rejections, and otherwise keeps waiting', () => {
  const cases: Array<[size: number, votes: Array<[number, boolean]>, want: StateType]> = [
    [1, [], StateType.StateLeader],
    [3, [[2, true], [3, true]], StateType.StateLeader],
    [3, [[2, true]], StateType.StateLeader],
    [5, [[2, true], [3, true], [4, true], [5, true]], StateType.StateLeader],
    [5, [[2, true], [3, true], [4, true]], StateType.StateLeader],
    [5, [[2, true], [3, true]], StateType.StateLeader],
    [3, [[2, false], [3, false]], StateType.StateFollower],
    [5, [[2, false], [3, false], [4, false], [5, false]], StateType.StateFollower],
    [5, [[2, true], [3, false], [4, false], [5, false]], StateType.StateFollower],
    [3, [], StateType.StateCandidate],
    [5, [[2, true]], StateType.StateCandidate],
    [5, [[2, false], [3, false]], StateType.StateCandidate],
    [5, [], StateType.StateCandidate],
  ];
  cases.forEach(([size, votes, want], i) => {
    const r = newTestRaft(1, 10, 1, newTestStorage(ids(size)));
    r.step(hup(1));
    advanceMessagesAfterAppend(r);
    for (const [id, granted] of votes) r.step(msg({ type: MessageType.MsgVoteResp, from: id, to: 1, term: r.term, reject: !granted }));
    assert.equal(r.state, want, `#${i}`);
    assert.equal(r.term, 1, `#${i}`);
  });
});

for (const t of [MessageType.MsgHeartbeat, MessageType.MsgApp]) {
  test(`§5.2 a follower that keeps receiving ${t === MessageType.MsgApp ? 'AppendEntries' : 'heartbeats'} from the leader never starts an election`, () => {
    const et = 10;
    const r = newTestRaft(1, et, 1, newTestStorage([1, 2, 3]));
    r.becomeFollower(1, 2);
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < et - 1; i++) r.tick();
      r.step(msg({ type: t, from: 2, to: 1, term: 1 }));
    }
    assert.equal(r.state, StateType.StateFollower);
    assert.equal(r.term, 1);
    assert.deepEqual(readMessages(r).filter((m) => m.type === MessageType.MsgVote), []);
  });
}

test('§5.2 a candidate that wins sends AppendEntries to every other server at once, establishing its authority', () => {
  const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]));
  r.step(hup(1));
  advanceMessagesAfterAppend(r);
  r.msgs = [];
  r.step(msg({ type: MessageType.MsgVoteResp, from: 2, to: 1, term: 1 }));
  assert.equal(r.state, StateType.StateLeader);
  const apps = sortMsgs(readMessages(r)).filter((m) => m.type === MessageType.MsgApp);
  assert.deepEqual(apps.map((m) => [m.to, m.term, m.entries.map((e) => [e.index, e.term, e.data.length])]), [
    [2, 1, [[1, 1, 0]]],
    [3, 1, [[1, 1, 0]]],
  ]);
});

test('§5.2 a server votes for at most one candidate per term, first come first served', () => {
  const cases: Array<[vote: number, candidate: number, reject: boolean]> = [
    [0, 2, false],
    [0, 3, false],
    [2, 2, false],
    [3, 3, false],
    [2, 3, true],
    [3, 2, true],
  ];
  cases.forEach(([vote, candidate, reject], i) => {
    const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]));
    r.loadState({ term: 1, vote, commit: 0 });
    r.step(msg({ type: MessageType.MsgVote, from: candidate, to: 1, term: 1 }));
    assert.deepEqual(r.msgsAfterAppend.map((m) => view(m, ['reject'])), [{ type: 'MsgVoteResp', from: 1, to: candidate, term: 1, reject }], `#${i}`);
    assert.equal(r.vote, vote === 0 ? candidate : vote, `#${i}: the vote is recorded`);
  });
});

test('§5.2 a candidate that hears AppendEntries from a leader of at least its term becomes its follower', () => {
  for (const term of [1, 2]) {
    const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]));
    r.step(hup(1));
    assert.equal(r.state, StateType.StateCandidate);
    r.step(msg({ type: MessageType.MsgApp, from: 2, to: 1, term }));
    assert.equal(r.state, StateType.StateFollower, `term ${term}`);
    assert.equal(r.term, term);
    assert.equal(r.lead, 2);
  }
});

for (const [name, reset] of [
  ['follower', (r: Raft) => r.becomeFollower(r.term + 1, 2)],
  ['candidate', (r: Raft) => r.becomeCandidate()],
] as const) {
  test(`§5.2 election timeouts of a ${name} are randomized over [electionTimeout, 2*electionTimeout)`, () => {
    const et = 10;
    const r = newTestRaft(1, et, 1, newTestStorage([1, 2, 3]));
    const seen = new Set<number>();
    for (let round = 0; round < 50 * et; round++) {
      reset(r);
      let time = 0;
      while (readMessages(r).length === 0) {
        r.tick();
        time++;
        assert.ok(time <= 2 * et, 'timed out later than 2*electionTimeout');
      }
      seen.add(time);
    }
    for (let d = et; d < 2 * et; d++) assert.ok(seen.has(d), `a timeout of ${d} ticks should happen`);
    for (const d of seen) assert.ok(d >= et && d < 2 * et, `timeout ${d} outside [${et}, ${2 * et})`);
  });
}

for (const [name, reset] of [
  ['followers', (r: Raft) => r.becomeFollower(r.term + 1, 0)],
  ['candidates', (r: Raft) => r.becomeCandidate()],
] as const) {
  test(`§5.2 randomized timeouts make ${name} rarely time out at the same tick (split votes are rare)`, () => {
    const et = 10;
    const all = ids(5);
    const rs = all.map((id) => newTestRaft(id, et, 1, newTestStorage(all)));
    let conflicts = 0;
    for (let round = 0; round < 1000; round++) {
      for (const r of rs) reset(r);
      let timeouts = 0;
      for (let tick = 0; timeouts === 0; tick++) {
        assert.ok(tick < 2 * et, 'nobody timed out');
        for (const r of rs) {
          r.tick();
          if (readMessages(r).length > 0) timeouts++;
        }
      }
      if (timeouts > 1) conflicts++;
    }
    assert.ok(conflicts / 1000 <= 0.3, `${conflicts} conflicts in 1000 rounds`);
  });
}

// ---------------------------------------------------------------------------------------------
// §5.3 Log replication

test('§5.3 the leader appends a proposal to its log and sends AppendEntries carrying the preceding index and term', () => {
  const s = newTestStorage([1, 2, 3]);
  const r = newTestRaft(1, 10, 1, s);
  r.becomeCandidate();
  r.becomeLeader();
  commitNoopEntry(r, s);
  const li = r.raftLog.lastIndex();
  r.step(prop(1, 'some data'));
  assert.equal(r.raftLog.lastIndex(), li + 1);
  assert.equal(r.raftLog.committed, li, 'not committed before a majority has it');
  const want: Array<[number, number, string]> = [[li + 1, 1, 'some data']];
  assert.deepEqual(sortMsgs(readMessages(r)).map((m) => view(m, ['index', 'logTerm', 'commit', 'entries'])), [
    { type: 'MsgApp', from: 1, to: 2, term: 1, index: li, logTerm: 1, commit: li, entries: want },
    { type: 'MsgApp', from: 1, to: 3, term: 1, index: li, logTerm: 1, commit: li, entries: want },
  ]);
  assert.deepEqual(entryView(r.raftLog.nextUnstableEnts()), want, 'the new entry is to be written to stable storage');
});

test('§5.3 once a majority stores an entry the leader commits it, applies it, and tells the followers the new commit index', () => {
  const s = newTestStorage([1, 2, 3]);
  const r = newTestRaft(1, 10, 1, s);
  r.becomeCandidate();
  r.becomeLeader();
  commitNoopEntry(r, s);
  const li = r.raftLog.lastIndex();
  r.step(prop(1, 'some data'));
  for (const m of readMessages(r)) r.step(acceptAndReply(m));
  assert.equal(r.raftLog.committed, li + 1);
  assert.deepEqual(entryView(r.raftLog.nextCommittedEnts(true)), [[li + 1, 1, 'some data']]);
  const msgs = sortMsgs(readMessages(r));
  assert.deepEqual(msgs.map((m) => [m.to, messageTypeOf(m), m.commit]), [[2, 'MsgApp', li + 1], [3, 'MsgApp', li + 1]]);
});

function messageTypeOf(m: Message): string {
  return view(m, []).type;
}

test('§5.3 an entry is committed once the leader has replicated it on a majority, and not before', () => {
  const cases: Array<[size: number, acceptors: number[], committed: boolean]> = [
    [1, [], true],
    [3, [], false],
    [3, [2], true],
    [3, [2, 3], true],
    [5, [], false],
    [5, [2], false],
    [5, [2, 3], true],
    [5, [2, 3, 4], true],
    [5, [2, 3, 4, 5], true],
  ];
  cases.forEach(([size, acceptors, want], i) => {
    const s = newTestStorage(ids(size));
    const r = newTestRaft(1, 10, 1, s);
    r.becomeCandidate();
    r.becomeLeader();
    commitNoopEntry(r, s);
    const li = r.raftLog.lastIndex();
    r.step(prop(1, 'some data'));
    advanceMessagesAfterAppend(r);
    for (const m of r.msgs.slice()) if (acceptors.includes(m.to)) r.step(acceptAndReply(m));
    assert.equal(r.raftLog.committed > li, want, `#${i}`);
  });
});

test('§5.3 committing an entry commits every preceding entry, including those of earlier leaders', () => {
  const cases: Entry[][] = [[], ents(1, 2), ents(1, 1, 2), ents(1, 1)];
  cases.forEach((prev, i) => {
    const s = newTestStorage([1, 2, 3]);
    s.append(prev);
    const r = newTestRaft(1, 10, 1, s);
    r.loadState({ term: 2, vote: 0, commit: 0 });
    r.becomeCandidate();
    r.becomeLeader();
    r.step(prop(1, 'some data'));
    for (const m of readMessages(r)) r.step(acceptAndReply(m));
    const li = prev.length;
    assert.deepEqual(
      entryView(r.raftLog.nextCommittedEnts(true)),
      [...entryView(prev), [li + 1, 3, ''], [li + 2, 3, 'some data']],
      `#${i}`,
    );
  });
});

test('§5.3 a follower applies entries in log order once it learns they are committed, and no further', () => {
  const cases: Array<[Entry[], number]> = [
    [[newEntry({ term: 1, index: 1, data: bytes('some data') })], 1],
    [[newEntry({ term: 1, index: 1, data: bytes('some data') }), newEntry({ term: 1, index: 2, data: bytes('some data2') })], 2],
    [[newEntry({ term: 1, index: 1, data: bytes('some data2') }), newEntry({ term: 1, index: 2, data: bytes('some data') })], 2],
    [[newEntry({ term: 1, index: 1, data: bytes('some data') }), newEntry({ term: 1, index: 2, data: bytes('some data2') })], 1],
  ];
  cases.forEach(([es, commit], i) => {
    const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]));
    r.becomeFollower(1, 2);
    r.step(msg({ type: MessageType.MsgApp, from: 2, to: 1, term: 1, entries: es, commit }));
    assert.equal(r.raftLog.committed, commit, `#${i}`);
    assert.deepEqual(entryView(r.raftLog.nextCommittedEnts(true)), entryView(es.slice(0, commit)), `#${i}`);
  });
});

test('§5.3 consistency check: a follower refuses AppendEntries unless it holds the preceding entry, and hints where to retry', () => {
  const cases: Array<[logTerm: number, index: number, windex: number, reject: boolean, hint: number, hintTerm: number]> = [
    // match with committed entries
    [0, 0, 1, false, 0, 0],
    [1, 1, 1, false, 0, 0],
    // match with uncommitted entries
    [2, 2, 2, false, 0, 0],
    // mismatch with an existing entry
    [1, 2, 2, true, 1, 1],
    // nonexistent entry
    [3, 3, 3, true, 2, 2],
  ];
  cases.forEach(([logTerm, index, windex, reject, hint, hintTerm], i) => {
    const s = newTestStorage([1, 2, 3]);
    s.append(ents(1, 1, 2));
    const r = newTestRaft(1, 10, 1, s);
    r.loadState({ term: 0, vote: 0, commit: 1 });
    r.becomeFollower(2, 2);
    r.step(msg({ type: MessageType.MsgApp, from: 2, to: 1, term: 2, logTerm, index }));
    const want = { type: 'MsgAppResp', from: 1, to: 2, term: 2, index: windex, reject, rejectHint: reject ? hint : 0, logTerm: reject ? hintTerm : 0 };
    assert.deepEqual(readMessages(r).map((m) => view(m, ['index', 'reject', 'rejectHint', 'logTerm'])), [want], `#${i}`);
  });
});

test('§5.3 a follower deletes a conflicting entry and all that follow it, and appends new entries not already in its log', () => {
  const cases: Array<[index: number, term: number, app: Entry[], wlog: Entry[], wunstable: Entry[]]> = [
    [2, 2, ents(3, 3), ents(1, 1, 2, 3), ents(3, 3)],
    [1, 1, ents(2, 3, 4), ents(1, 1, 3, 4), ents(2, 3, 4)],
    [0, 0, ents(1, 1), ents(1, 1, 2), []],
    [0, 0, ents(1, 3), ents(1, 3), ents(1, 3)],
  ];
  cases.forEach(([index, term, app, wlog, wunstable], i) => {
    const s = newTestStorage([1, 2, 3]);
    s.append(ents(1, 1, 2));
    const r = newTestRaft(1, 10, 1, s);
    r.becomeFollower(2, 2);
    r.step(msg({ type: MessageType.MsgApp, from: 2, to: 1, term: 2, logTerm: term, index, entries: app }));
    assert.deepEqual(entryView(r.raftLog.allEntries()), entryView(wlog), `#${i}: log`);
    assert.deepEqual(entryView(r.raftLog.nextUnstableEnts()), entryView(wunstable), `#${i}: to be written to stable storage`);
  });
});

test('§5.3 AppendEntries receiver: reply false on a mismatch, truncate conflicts, commit = min(leaderCommit, index of last new entry)', () => {
  const cases: Array<[m: Partial<Message>, wIndex: number, wCommit: number, wReject: boolean]> = [
    // 1. reply false if the log has no entry at prevLogIndex whose term matches prevLogTerm
    [{ term: 2, logTerm: 3, index: 2, commit: 3 }, 2, 0, true],
    [{ term: 2, logTerm: 3, index: 3, commit: 3 }, 2, 0, true],
    // 2. delete a conflicting entry and all that follow; append new entries
    [{ term: 2, logTerm: 1, index: 1, commit: 1 }, 2, 1, false],
    [{ term: 2, logTerm: 0, index: 0, commit: 1, entries: ents(1, 2) }, 1, 1, false],
    [{ term: 2, logTerm: 2, index: 2, commit: 3, entries: ents(3, 2, 2) }, 4, 3, false],
    [{ term: 2, logTerm: 2, index: 2, commit: 4, entries: ents(3, 2) }, 3, 3, false],
    [{ term: 2, logTerm: 1, index: 1, commit: 4, entries: ents(2, 2) }, 2, 2, false],
    // 3. commitIndex = min(leaderCommit, index of last new entry)
    [{ term: 1, logTerm: 1, index: 1, commit: 3 }, 2, 1, false],
    [{ term: 1, logTerm: 1, index: 1, commit: 3, entries: ents(2, 2) }, 2, 2, false],
    [{ term: 2, logTerm: 2, index: 2, commit: 3 }, 2, 2, false],
    [{ term: 2, logTerm: 2, index: 2, commit: 4 }, 2, 2, false],
  ];
  cases.forEach(([m, wIndex, wCommit, wReject], i) => {
    const s = newTestStorage([1]);
    s.append(ents(1, 1, 2));
    const r = newTestRaft(1, 10, 1, s);
    r.becomeFollower(2, 0);
    r.handleAppendEntries(msg({ type: MessageType.MsgApp, from: 2, to: 1, ...m }));
    assert.equal(r.raftLog.lastIndex(), wIndex, `#${i}: last index`);
    assert.equal(r.raftLog.committed, wCommit, `#${i}: commit`);
    const out = readMessages(r);
    assert.equal(out.length, 1, `#${i}`);
    assert.equal(out[0]!.reject, wReject, `#${i}: reject`);
  });
});

test('§5.3 retried AppendEntries are idempotent: a duplicate changes nothing and is acked again', () => {
  const r = newTestRaft(1, 10, 1, newTestStorage([1, 2]));
  r.becomeFollower(1, 2);
  const m = msg({ type: MessageType.MsgApp, from: 2, to: 1, term: 1, entries: ents(1, 1, 1), commit: 0 });
  r.step(m);
  const first = readMessages(r).map((x) => view(x));
  assert.deepEqual(first.map((v) => [v.type, v.index, v.reject]), [['MsgAppResp', 2, false]]);
  r.step({ ...m, entries: m.entries.slice() });
  assert.deepEqual(readMessages(r).map((x) => view(x)), first);
  assert.deepEqual(logIds(r), [[1, 1], [2, 1]]);
  assert.deepEqual(entryView(r.raftLog.nextUnstableEnts()), [[1, 1, ''], [2, 1, '']], 'nothing was written twice');
});

test('§5.3 Figure 7: a new leader brings every follower log, missing or extra entries alike, into agreement with its own', () => {
  const leaderTerms = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const followers: number[][] = [
    [1, 1, 1, 4, 4, 5, 5, 6, 6], // (a) missing one
    [1, 1, 1, 4], // (b) missing many
    [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6], // (c) one extra uncommitted entry
    [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7], // (d) extra entries of a later term
    [1, 1, 1, 4, 4, 4, 4], // (e) missing some, with extra of term 4
    [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3], // (f) a long divergent tail
  ];
  const term = 8;
  followers.forEach((fterms, i) => {
    const ls = newTestStorage([1, 2, 3]);
    ls.append(ents(1, ...leaderTerms));
    const lead = newTestRaft(1, 10, 1, ls);
    lead.loadState({ term, vote: 0, commit: lead.raftLog.lastIndex() });
    const fs = newTestStorage([1, 2, 3]);
    fs.append(ents(1, ...fterms));
    const follower = newTestRaft(2, 10, 1, fs);
    follower.loadState({ term: term - 1, vote: 0, commit: 0 });
    // Node 3 is needed for a quorum: the follower may hold a more up-to-date log and refuse.
    const n = new Network([lead, follower, blackHole]);
    n.send(hup(1));
    n.send(msg({ type: MessageType.MsgVoteResp, from: 3, to: 1, term: term + 1 }));
    assert.equal(lead.state, StateType.StateLeader, `#${i}`);
    n.send(prop(1, ''));
    assert.deepEqual(logView(follower), logView(lead), `#${i}`);
  });
});

test('§5.5 a restarted server recovers its term, vote and log from stable storage, and does not vote twice in a term', () => {
  const c = new RawCluster({ voters: [1, 2, 3] });
  c.campaign(1);
  c.propose(1, 'x');
  const before = c.raft(2);
  c.crash(2);
  c.restart(2);
  const after = c.raft(2);
  assert.notEqual(after, before);
  assert.equal(after.term, 1);
  assert.equal(after.vote, 1);
  assert.deepEqual(logIds(after), [[1, 1], [2, 1]]);
  // A competing candidate of the same term is refused: the vote for 1 survived the crash.
  after.step(msg({ type: MessageType.MsgVote, from: 3, to: 2, term: 1, logTerm: 1, index: 9 }));
  advanceMessagesAfterAppend(after);
  assert.deepEqual(after.msgs.filter((m) => m.type === MessageType.MsgVoteResp).map((m) => m.reject), [true]);
});

// ---------------------------------------------------------------------------------------------
// §5.4.1 Election restriction

test('§5.4.1 a vote request carries the last index and term of the candidate log', () => {
  const cases: Array<[Entry[], number]> = [
    [ents(1, 1), 2],
    [ents(1, 1, 2), 3],
  ];
  cases.forEach(([es, wterm], i) => {
    const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]));
    r.step(msg({ type: MessageType.MsgApp, from: 2, to: 1, term: wterm - 1, logTerm: 0, index: 0, entries: es }));
    readMessages(r);
    for (let t = 1; t < r.electionTimeout * 2; t++) r.tickElection();
    const last = es[es.length - 1]!;
    assert.deepEqual(sortMsgs(readMessages(r)).map((m) => view(m, ['index', 'logTerm'])), [
      { type: 'MsgVote', from: 1, to: 2, term: wterm, index: last.index, logTerm: last.term },
      { type: 'MsgVote', from: 1, to: 3, term: wterm, index: last.index, logTerm: last.term },
    ], `#${i}`);
  });
});

test('§5.4.1 a voter denies its vote to a candidate whose log is less up-to-date (later last term wins, then longer log)', () => {
  const cases: Array<[log: Entry[], logTerm: number, index: number, reject: boolean]> = [
    // same last term: the longer log wins
    [ents(1, 1), 1, 1, false],
    [ents(1, 1), 1, 2, false],
    [ents(1, 1, 1), 1, 1, true],
    // the candidate's last term is higher: it wins whatever the length
    [ents(1, 1), 2, 1, false],
    [ents(1, 1), 2, 2, false],
    [ents(1, 1, 1), 2, 1, false],
    // the voter's last term is higher: it refuses whatever the length
    [ents(1, 2), 1, 1, true],
    [ents(1, 2), 1, 2, true],
    [ents(1, 2, 2), 1, 1, true],
    [ents(1, 1, 1), 1, 1, true],
  ];
  cases.forEach(([log, logTerm, index, reject], i) => {
    const s = newTestStorage([1, 2]);
    s.append(log);
    const r = newTestRaft(1, 10, 1, s);
    r.step(msg({ type: MessageType.MsgVote, from: 2, to: 1, term: 3, logTerm, index }));
    const out = readMessages(r);
    assert.equal(out.length, 1, `#${i}`);
    assert.equal(messageTypeOf(out[0]!), 'MsgVoteResp', `#${i}`);
    assert.equal(out[0]!.reject, reject, `#${i}`);
  });
});

// ---------------------------------------------------------------------------------------------
// §5.4.2 Committing entries from previous terms

test('§5.4.2 a leader commits by counting replicas only for an entry of its current term', () => {
  const cases: Array<[ackIndex: number, wcommit: number]> = [
    [1, 0], // term 1 entry on a majority: not committed by counting
    [2, 0], // term 2 entry on a majority: not committed by counting
    [3, 3], // the leader's own (term 3) entry: committed, and everything before it
  ];
  cases.forEach(([index, wcommit], i) => {
    const s = newTestStorage([1, 2]);
    s.append(ents(1, 1, 2));
    const r = newTestRaft(1, 10, 1, s);
    r.loadState({ term: 2, vote: 0, commit: 0 });
    r.becomeCandidate();
    r.becomeLeader();
    readMessages(r);
    r.step(prop(1, ''));
    r.step(msg({ type: MessageType.MsgAppResp, from: 2, to: 1, term: r.term, index }));
    advanceMessagesAfterAppend(r);
    assert.equal(r.raftLog.committed, wcommit, `#${i}`);
  });
});

test('§5.4.2 the commit index is the highest index stored on a majority, if its entry is of the current term', () => {
  const cases: Array<[matches: number[], log: Entry[], term: number, want: number]> = [
    // single
    [[1], ents(1, 1), 1, 1],
    [[1], ents(1, 1), 2, 0],
    [[2], ents(1, 1, 2), 2, 2],
    [[1], ents(1, 2), 2, 1],
    // odd
    [[2, 1, 1], ents(1, 1, 2), 1, 1],
    [[2, 1, 1], ents(1, 1, 1), 2, 0],
    [[2, 1, 2], ents(1, 1, 2), 2, 2],
    [[2, 1, 2], ents(1, 1, 1), 2, 0],
    // even
    [[2, 1, 1, 1], ents(1, 1, 2), 1, 1],
    [[2, 1, 1, 1], ents(1, 1, 1), 2, 0],
    [[2, 1, 1, 2], ents(1, 1, 2), 1, 1],
    [[2, 1, 1, 2], ents(1, 1, 1), 2, 0],
    [[2, 1, 2, 2], ents(1, 1, 2), 2, 2],
    [[2, 1, 2, 2], ents(1, 1, 1), 2, 0],
  ];
  cases.forEach(([matches, log, term, want], i) => {
    const s = newTestStorage([1]);
    s.append(log);
    s.setHardState({ term, vote: 0, commit: 0 });
    const r = newTestRaft(1, 10, 2, s);
    matches.forEach((match, j) => {
      const id = j + 1;
      if (id > 1) r.applyConfChange(asV2({ id: 0, type: ConfChangeType.ConfChangeAddNode, nodeId: id, context: new Uint8Array(0) }));
      const pr = r.trk.progress.get(id)!;
      pr.match = match;
      pr.next = match + 1;
    });
    r.maybeCommit();
    assert.equal(r.raftLog.committed, want, `#${i}`);
  });
});

test('§8 a new leader appends an empty entry of its term and commits it, which commits what earlier leaders left', () => {
  const n = new Network([null, null, null]);
  n.send(hup(1));
  // 'x' (term 1) reaches node 2, but its ack is lost: nobody commits it in term 1.
  n.cut(1, 3);
  n.msgHook = (m) => !(m.type === MessageType.MsgAppResp && m.from === 2);
  n.send(prop(1, 'x'));
  assert.equal(n.raft(2).raftLog.lastIndex(), 2);
  assert.equal(n.raft(2).raftLog.committed, 1);
  n.msgHook = null;
  n.recover();
  n.isolate(1);
  n.send(hup(2));
  const r2 = n.raft(2);
  assert.equal(r2.state, StateType.StateLeader);
  assert.equal(r2.term, 2);
  const last = r2.raftLog.lastEntryID();
  assert.equal(last.term, 2, 'the leader appended an entry of its own term');
  assert.equal(r2.raftLog.slice(last.index, last.index + 1, 1e9)[0]!.data.length, 0, 'and it is empty');
  assert.equal(r2.raftLog.committed, last.index, 'committing it commits all before it');
  assert.deepEqual(logIds(n.raft(3)), logIds(r2));
});

// Figure 8, restated with etcd terms (every leader starts its term with an empty entry):
//  (a) S1 leads term 1 and replicates entry X at index 2 to S2 only.
//  (b) S1 crashes; S5 wins term 2 with votes from S3, S4, S5 and appends its own index 2.
//  (c) S5 crashes; S1 wins term 3 and replicates X to S3: X is on a majority (S1, S2, S3) but the
//      term 3 entry after it is not. Counting replicas must not commit X.
//  (d) S1 crashes; S5 wins term 4 (its last term 2 beats the others' 1) and overwrites X
//      everywhere. Had X been committed in (c), a committed entry would now be lost.
function figure8UpToC(mutations?: ReadonlySet<Mutation>): Network {
  const n = new Network([null, null, null, null, null], (c) => {
    if (mutations !== undefined) c.mutations = mutations;
  });
  n.send(hup(1));
  const s1 = n.raft(1);
  assert.equal(s1.state, StateType.StateLeader);
  assert.equal(s1.raftLog.committed, 1);
  // (a)
  n.cut(1, 3);
  n.cut(1, 4);
  n.cut(1, 5);
  n.send(prop(1, 'X'));
  assert.deepEqual(logIds(n.raft(2)), [[1, 1], [2, 1]]);
  assert.equal(s1.raftLog.committed, 1);
  // (b) S5's appends never leave it.
  n.recover();
  n.isolate(1);
  n.msgHook = (m) => !(m.from === 5 && m.type === MessageType.MsgApp);
  n.send(hup(5));
  const s5 = n.raft(5);
  assert.equal(s5.state, StateType.StateLeader);
  assert.equal(s5.term, 2);
  assert.deepEqual(logIds(s5), [[1, 1], [2, 2]]);
  // (c) S1 comes back, S5 is gone. S1 needs two campaigns: S3 and S4 voted in term 2.
  n.msgHook = null;
  n.recover();
  n.isolate(5);
  // S1 restarts as a follower, with its log.
  s1.becomeFollower(s1.term, 0);
  // Only entries from before term 3 reach the followers, and nothing reaches S4.
  n.msgHook = (m) => {
    if (m.from !== 1 || m.type !== MessageType.MsgApp) return true;
    if (m.to === 4) return false;
    m.entries = m.entries.filter((e) => e.term < 3);
    return true;
  };
  n.send(hup(1));
  n.send(hup(1));
  assert.equal(s1.state, StateType.StateLeader);
  assert.equal(s1.term, 3);
  return n;
}

test('§5.4.2 Figure 8: an entry of an earlier term stored on a majority is not committed by counting replicas', () => {
  const n = figure8UpToC();
  const s1 = n.raft(1);
  for (const id of [1, 2, 3]) assert.deepEqual(logIds(n.raft(id)).slice(0, 2), [[1, 1], [2, 1]], `X is on S${id}`);
  assert.equal(s1.trk.committed(), 2, 'a majority holds index 2');
  assert.equal(s1.raftLog.committed, 1, 'yet X is not committed: it is not of the current term');
  for (const id of [1, 2, 3, 4]) assert.equal(n.raft(id).raftLog.committed, 1, `S${id} did not commit X`);

  // (d) S1 crashes, S5 restarts (as a follower) and campaigns: the first attempt meets voters of
  // term 3, the second wins term 4 and overwrites X.
  n.msgHook = null;
  n.recover();
  n.isolate(1);
  const s5 = n.raft(5);
  s5.becomeFollower(s5.term, 0);
  n.send(hup(5));
  n.send(hup(5));
  assert.equal(s5.state, StateType.StateLeader);
  assert.equal(s5.term, 4);
  for (const id of [2, 3, 4, 5]) {
    assert.deepEqual(logIds(n.raft(id)), [[1, 1], [2, 2], [3, 4]], `S${id} holds S5's log`);
    assert.equal(n.raft(id).raftLog.committed, 3);
  }
});

test('§5.4.2 Figure 8 has teeth: a leader that counts replicas of old-term entries commits X, and S5 can still win without it', () => {
  const n = figure8UpToC(new Set<Mutation>(['commit-old-term']));
  assert.equal(n.raft(1).raftLog.committed, 2, 'the mutant commits X in (c)');
  for (const id of [2, 3]) assert.equal(n.raft(id).raftLog.committed, 2, `S${id} learns that X is committed`);
  // (d) S5 wins term 4 all the same: the election restriction cannot protect an entry that was
  // committed without one of the leader's own term after it. (Its appends are held back: the
  // followers would refuse to overwrite what they were told is committed.)
  n.recover();
  n.isolate(1);
  n.msgHook = (m) => !(m.from === 5 && m.type === MessageType.MsgApp);
  const s5 = n.raft(5);
  s5.becomeFollower(s5.term, 0);
  n.send(hup(5));
  n.send(hup(5));
  assert.equal(s5.state, StateType.StateLeader);
  assert.equal(s5.raftLog.term(2), 2, 'the new leader lacks the committed X: Leader Completeness is broken');
});

test('§5.4.2 Figure 8 (e): once the leader replicates an entry of its own term on a majority, earlier entries commit with it', () => {
  const n = figure8UpToC();
  const s1 = n.raft(1);
  n.msgHook = null;
  n.send(prop(1, 'Y'));
  assert.equal(s1.raftLog.committed, 4, 'X, the term 3 entry and Y are committed');
  assert.deepEqual(logView(s1).map(([, , d]) => d), ['', 'X', '', 'Y']);
  // S5 can no longer win: a majority holds a log with a later last term than its own.
  n.recover();
  n.isolate(1);
  const s5 = n.raft(5);
  s5.becomeFollower(s5.term, 0);
  for (let i = 0; i < 3; i++) n.send(hup(5));
  assert.notEqual(s5.state, StateType.StateLeader);
  // X survives on the majority that elected S1 (S4 may still lag behind: S1 never reached it).
  for (const id of [1, 2, 3]) assert.deepEqual(logView(n.raft(id)).slice(0, 2).map(([, , d]) => d), ['', 'X']);
});

// ---------------------------------------------------------------------------------------------
// Figure 3: the safety properties, checked after every event of random schedules with message
// loss, reordering, duplication, partitions and crash-restarts.

interface ScheduleResult {
  violations: string[];
  leaderTerms: number;
  commits: number;
  crashes: number;
  coreAssertion: string | null;
}

// Per mille of each event of a random schedule; whatever is left heals the network.
const scheduleMix = { deliver: 500, ready: 260, tick: 110, propose: 70, crash: 5, restart: 25, isolate: 4, cut: 4 };

function runSchedule(seed: number, steps: number, mutations?: ReadonlySet<Mutation>): ScheduleResult {
  const c = new RawCluster({
    voters: ids(5),
    seed,
    // Short timeouts against a slow, lossy network: many elections, many competing candidates.
    electionTick: 3,
    heartbeatTick: 1,
    configure: (cfg) => {
      if (mutations !== undefined) cfg.mutations = mutations;
    },
  });
  const rng = c.rng.fork(seed);
  const P = scheduleMix;
  let proposals = 0;
  let crashes = 0;
  let coreAssertion: string | null = null;
  const pick = <T>(xs: readonly T[]): T => xs[rng.intn(xs.length)]!;
  try {
    for (let step = 0; step < steps; step++) {
      const live = c.all.filter((id) => !c.down.has(id));
      let roll = rng.intn(1000);
      if ((roll -= P.deliver) < 0) {
        // Deliver a few random messages (reordering); lose one in 20, deliver one in 20 twice.
        for (let b = 0; b < 4 && c.queue.length > 0; b++) {
          const k = rng.intn(c.queue.length);
          const m = c.queue[k]!;
          const fate = rng.intn(20);
          if (fate !== 0) c.queue.splice(k, 1);
          if (fate !== 1) c.deliver(m);
        }
      } else if ((roll -= P.ready) < 0) {
        c.processReady(pick(live));
      } else if ((roll -= P.tick) < 0) {
        c.tick(pick(live));
      } else if ((roll -= P.propose) < 0) {
        try {
          c.node(pick(live)).propose(bytes(`v${seed}.${proposals++}`));
        } catch (err) {
          if (err !== ErrProposalDropped) throw err;
        }
      } else if ((roll -= P.crash) < 0) {
        // Crash a random node or the leader, keeping a majority up.
        const lead = c.leader();
        const victim = rng.intn(2) === 0 || lead === 0 ? pick(live) : lead;
        if (c.down.size < 2) {
          c.crash(victim);
          crashes++;
        }
      } else if ((roll -= P.restart) < 0) {
        if (c.down.size > 0) c.restart(pick([...c.down]));
      } else if ((roll -= P.isolate) < 0) {
        c.isolate(pick(c.all));
      } else if ((roll -= P.cut) < 0) {
        const a = pick(c.all);
        const b = pick(c.all);
        if (a !== b) c.cut(a, b);
      } else {
        c.heal();
      }
      // Whole-log comparison (Log Matching) every 20 events; the rest after every event.
      c.checkSafety(step % 20 === 19 || step === steps - 1);
      if (c.violations.length > 0) break;
    }
  } catch (err) {
    if (!(err instanceof RaftInvariantError) || mutations === undefined) throw err;
    coreAssertion = err.message;
  }
  return {
    violations: c.violations.map((v) => `${v.rule}: ${v.detail}`),
    leaderTerms: c.leaderOfTerm.size,
    commits: c.committedAt.size,
    crashes,
    coreAssertion,
  };
}

const scheduleSeeds = Array.from({ length: 12 }, (_, i) => 1000 + i);
const scheduleSteps = 2000;
let scheduleResults: ScheduleResult[] | null = null;
function schedules(): ScheduleResult[] {
  scheduleResults ??= scheduleSeeds.map((seed) => runSchedule(seed, scheduleSteps));
  return scheduleResults;
}

function assertRuleHolds(rule: string): void {
  const rs = schedules();
  rs.forEach((r, i) => {
    const broken = r.violations.filter((v) => v.startsWith(rule));
    assert.deepEqual(broken, [], `seed ${scheduleSeeds[i]}`);
  });
  // The schedules must have exercised the rule: many terms with leaders, many commits, crashes.
  const terms = rs.reduce((n, r) => n + r.leaderTerms, 0);
  const commits = rs.reduce((n, r) => n + r.commits, 0);
  const crashes = rs.reduce((n, r) => n + r.crashes, 0);
  assert.ok(terms >= 3 * rs.length, `only ${terms} leader terms, ${commits} commits, ${crashes} crashes`);
  assert.ok(commits >= 20 * rs.length, `only ${commits} commits`);
  assert.ok(crashes >= rs.length, `only ${crashes} crashes`);
}

test('§5.2 Election Safety: at most one leader is elected in a given term, under random schedules', () => {
  assertRuleHolds('election safety');
});

test('§5.3 Log Matching: logs holding an entry with the same index and term are identical up to it, under random schedules', () => {
  assertRuleHolds('log matching');
});

test('§5.4 Leader Completeness: a leader holds every entry committed in earlier terms, under random schedules', () => {
  assertRuleHolds('leader completeness');
});

test('§5.4.3 State Machine Safety: no two servers apply different entries at one index, under random schedules', () => {
  assertRuleHolds('state machine safety');
});

test('the safety checks have teeth: voting without the §5.4.1 up-to-date check is caught', () => {
  // The core's own assertion (a follower told to overwrite a committed entry) also counts.
  const mutant = new Set<Mutation>(['vote-without-log-check']);
  let caught = 0;
  for (let seed = 1; seed <= 30 && caught === 0; seed++) {
    const r = runSchedule(seed, scheduleSteps, mutant);
    if (r.violations.length > 0 || r.coreAssertion !== null) caught++;
  }
  assert.ok(caught > 0, 'no schedule caught the mutant');
});
