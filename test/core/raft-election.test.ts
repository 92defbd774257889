// Elections beyond the paper's basic rules: etcd's `lead == None` vote rule, randomized timeouts,
// stepping down on a higher term, PreVote (Raft thesis §9.6), CheckQuorum and the leader lease
// (thesis §6.2 / §4.2.3 disruptive servers). Scenarios follow etcd-io/raft's raft_test.go,
// restated for this port.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Raft, type Config } from '../../src/core/raft.js';
import { StateType } from '../../src/core/ready.js';
import { RaftInvariantError } from '../../src/core/logger.js';
import { MessageType, None, type Message } from '../../src/core/types.js';
import {
  Network,
  advanceMessagesAfterAppend,
  beat,
  blackHole,
  entsWithConfig,
  hup,
  ids,
  logIds,
  logView,
  msg,
  newTestRaft,
  newTestStorage,
  prop,
  readMessages,
  stepOrSend,
  takeMessagesAfterAppend,
  votedWithConfig,
  type NetPeer,
} from './helpers-raft.js';

const preVote = (c: Config): void => {
  c.preVote = true;
};
const checkQuorum = (c: Config): void => {
  c.checkQuorum = true;
};
const both = (c: Config): void => {
  c.preVote = true;
  c.checkQuorum = true;
};

// Raft's preVote/checkQuorum are configuration; a rolling upgrade changes them on a live node.
function setPreVote(r: Raft, v: boolean): void {
  Object.assign(r, { preVote: v });
}

function trio(configure?: (c: Config) => void): [Network, Raft, Raft, Raft] {
  const n = new Network([null, null, null], configure);
  return [n, n.raft(1), n.raft(2), n.raft(3)];
}

// Reads the state without TypeScript narrowing it from earlier assertions.
function stateOf(r: Raft): StateType {
  return r.state;
}

function voteResp(r: Raft): Message[] {
  return readMessages(r).filter((m) => m.type === MessageType.MsgVoteResp || m.type === MessageType.MsgPreVoteResp);
}

// ---------------------------------------------------------------------------------------------
// Elections over a network

for (const pv of [false, true]) {
  const name = pv ? ' (PreVote)' : '';
  const cfg = pv ? preVote : undefined;
  test(`an election succeeds with a quorum of live voters and stalls without one${name}`, () => {
    // With PreVote a failed election leaves the node a pre-candidate at its old term.
    const candState = pv ? StateType.StatePreCandidate : StateType.StateCandidate;
    const candTerm = pv ? 0 : 1;
    const p5 = ids(5);
    const cases: Array<[NetPeer[], StateType, number]> = [
      [[null, null, null], StateType.StateLeader, 1],
      [[null, null, blackHole], StateType.StateLeader, 1],
      [[null, blackHole, blackHole], candState, candTerm],
      [[null, blackHole, blackHole, null], candState, candTerm],
      [[null, blackHole, blackHole, null, null], StateType.StateLeader, 1],
      // Three logs further along, at the same term: they answer with rejections.
      [[null, entsWithConfig(2, p5, cfg, 1), entsWithConfig(3, p5, cfg, 1), entsWithConfig(4, p5, cfg, 1, 1), null], StateType.StateFollower, 1],
    ];
    cases.forEach(([peers, state, term], i) => {
      const n = new Network(peers, cfg);
      n.send(hup(1));
      assert.equal(n.raft(1).state, state, `#${i}`);
      assert.equal(n.raft(1).term, term, `#${i}`);
    });
  });

  test(`every node can campaign and win in turn, from any prior state${name}`, () => {
    const n = new Network([null, null, null], cfg);
    for (let c = 1; c <= 3; c++) {
      n.send(hup(c));
      for (const id of [1, 2, 3]) {
        assert.equal(n.raft(id).state, id === c ? StateType.StateLeader : StateType.StateFollower, `campaigner ${c}, node ${id}`);
      }
    }
  });

  test(`a new leader with an older last term overwrites newer uncommitted entries of others${name}`, () => {
    // 1 won term 1 and gave its entry to 2; 3 won term 2 and kept its entry; 4 and 5 voted for 3.
    const p5 = ids(5);
    const n = new Network(
      [
        entsWithConfig(1, p5, cfg, 1),
        entsWithConfig(2, p5, cfg, 1),
        entsWithConfig(3, p5, cfg, 2),
        votedWithConfig(4, p5, cfg, 3, 2),
        votedWithConfig(5, p5, cfg, 3, 2),
      ],
      cfg,
    );
    // A quorum knows of term 2: the first campaign fails and only pushes node 1 to term 2.
    n.send(hup(1));
    const r1 = n.raft(1);
    assert.equal(r1.state, StateType.StateFollower);
    assert.equal(r1.term, 2);
    n.send(hup(1));
    assert.equal(r1.state, StateType.StateLeader);
    assert.equal(r1.term, 3);
    for (const id of p5) assert.deepEqual(logIds(n.raft(id)), [[1, 1], [2, 3]], `node ${id}`);
  });

  test(`a single voter elects itself at once${name}`, () => {
    const n = new Network([null], cfg);
    n.send(hup(1));
    assert.equal(n.raft(1).state, StateType.StateLeader);
  });

  test(`a leader ignores a campaign request and keeps its term${name}`, () => {
    const r = newTestRaft(1, 5, 1, newTestStorage([1]), { preVote: pv });
    r.step(hup(1));
    advanceMessagesAfterAppend(r);
    assert.equal(r.state, StateType.StateLeader);
    const term = r.term;
    r.step(hup(1));
    advanceMessagesAfterAppend(r);
    assert.equal(r.state, StateType.StateLeader);
    assert.equal(r.term, term);
  });
}

test('dueling candidates: the one with the shorter log disrupts the leader by its term, but cannot win', () => {
  const [n, a, b, c] = trio();
  n.cut(1, 3);
  n.send(hup(1));
  n.send(hup(3));
  assert.equal(a.state, StateType.StateLeader, '1 wins with votes from 1 and 2');
  assert.equal(c.state, StateType.StateCandidate, '3 has its own vote and 2 refused');
  n.recover();
  // 3 campaigns at term 2: the leader steps down on the higher term, but both refuse the vote.
  n.send(hup(3));
  const want: Array<[Raft, StateType, number, number]> = [
    [a, StateType.StateFollower, 2, 1],
    [b, StateType.StateFollower, 2, 1],
    [c, StateType.StateFollower, 2, 0],
  ];
  for (const [r, state, term, last] of want) {
    assert.equal(r.state, state, `node ${r.id}`);
    assert.equal(r.term, term, `node ${r.id}`);
    assert.equal(r.raftLog.lastIndex(), last, `node ${r.id}`);
  }
});

test('a candidate concedes to the leader of its term and takes its log', () => {
  const [n, a] = trio();
  n.isolate(1);
  n.send(hup(1));
  n.send(hup(3));
  n.recover();
  n.send(beat(3));
  n.send(prop(3, 'force follower'));
  n.send(beat(3));
  assert.equal(a.state, StateType.StateFollower);
  assert.equal(a.term, 1);
  for (const id of [1, 2, 3]) assert.deepEqual(logView(n.raft(id)), [[1, 1, ''], [2, 1, 'force follower']], `node ${id}`);
});

// ---------------------------------------------------------------------------------------------
// Voting rules

for (const t of [MessageType.MsgVote, MessageType.MsgPreVote]) {
  const name = t === MessageType.MsgVote ? 'MsgVote' : 'MsgPreVote';
  test(`a ${name} for a higher term with an up-to-date log is granted from every state; only a real vote changes term and state`, () => {
    const setups: Array<[StateType, (r: Raft) => void]> = [
      [StateType.StateFollower, (r) => r.becomeFollower(r.term, 3)],
      [StateType.StatePreCandidate, (r) => r.becomePreCandidate()],
      [StateType.StateCandidate, (r) => r.becomeCandidate()],
      [StateType.StateLeader, (r) => { r.becomeCandidate(); r.becomeLeader(); }],
    ];
    for (const [st, setup] of setups) {
      const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]));
      r.term = 1;
      setup(r);
      const origTerm = r.term;
      const newTerm = r.term + 1;
      r.step(msg({ type: t, from: 2, to: 1, term: newTerm, logTerm: newTerm, index: 42 }));
      const out = readMessages(r);
      assert.equal(out.length, 1, `state ${st}`);
      assert.equal(out[0]!.type, t === MessageType.MsgVote ? MessageType.MsgVoteResp : MessageType.MsgPreVoteResp);
      assert.equal(out[0]!.reject, false, `state ${st}`);
      if (t === MessageType.MsgVote) {
        assert.equal(r.state, StateType.StateFollower, `state ${st}`);
        assert.equal(r.term, newTerm);
        assert.equal(r.vote, 2);
      } else {
        assert.equal(r.state, st, `state ${st}: a pre-vote changes nothing`);
        assert.equal(r.term, origTerm);
        assert.ok(r.vote === None || r.vote === 1, `state ${st}: vote ${r.vote}`);
      }
    }
  });

  test(`${name} at the same term: refused unless the log is up to date and the vote is free (table)`, () => {
    // The voter's log is [1:t2, 2:t2].
    const cases: Array<[state: StateType, index: number, logTerm: number, voteFor: number, reject: boolean]> = [
      [StateType.StateFollower, 0, 0, None, true],
      [StateType.StateFollower, 0, 1, None, true],
      [StateType.StateFollower, 0, 2, None, true],
      [StateType.StateFollower, 0, 3, None, false],
      [StateType.StateFollower, 1, 0, None, true],
      [StateType.StateFollower, 1, 1, None, true],
      [StateType.StateFollower, 1, 2, None, true],
      [StateType.StateFollower, 1, 3, None, false],
      [StateType.StateFollower, 2, 0, None, true],
      [StateType.StateFollower, 2, 1, None, true],
      [StateType.StateFollower, 2, 2, None, false],
      [StateType.StateFollower, 2, 3, None, false],
      [StateType.StateFollower, 3, 0, None, true],
      [StateType.StateFollower, 3, 1, None, true],
      [StateType.StateFollower, 3, 2, None, false],
      [StateType.StateFollower, 3, 3, None, false],
      [StateType.StateFollower, 3, 2, 2, false],
      [StateType.StateFollower, 3, 2, 1, true],
      [StateType.StateLeader, 3, 3, 1, true],
      [StateType.StatePreCandidate, 3, 3, 1, true],
      [StateType.StateCandidate, 3, 3, 1, true],
    ];
    cases.forEach(([state, index, logTerm, voteFor, reject], i) => {
      const s = newTestStorage([1]);
      s.append([
        { term: 2, index: 1, type: 0, data: new Uint8Array(0) },
        { term: 2, index: 2, type: 0, data: new Uint8Array(0) },
      ]);
      const r = newTestRaft(1, 10, 1, s);
      r.state = state;
      r.vote = voteFor;
      const term = Math.max(2, logTerm);
      r.term = term;
      r.step(msg({ type: t, from: 2, to: 1, term, index, logTerm }));
      const out = readMessages(r);
      assert.equal(out.length, 1, `#${i}`);
      assert.equal(out[0]!.reject, reject, `#${i}`);
    });
  });
}

test('lead == None: a follower that knows the leader of its term refuses a vote in that term, though it has not voted', () => {
  const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]));
  // Node 1 learns term 2 and its leader from an append, without ever voting in term 2.
  r.step(msg({ type: MessageType.MsgApp, from: 2, to: 1, term: 2 }));
  readMessages(r);
  assert.equal(r.lead, 2);
  assert.equal(r.vote, None);
  // Candidate 3 (same term 2, a better log) asks for its vote.
  r.step(msg({ type: MessageType.MsgVote, from: 3, to: 1, term: 2, logTerm: 2, index: 10 }));
  assert.deepEqual(voteResp(r).map((m) => [m.to, m.reject]), [[3, true]]);
  assert.equal(r.vote, None);
});

test('lead == None: without a known leader the same request is granted, and the vote is recorded', () => {
  const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]));
  r.becomeFollower(2, None);
  r.electionElapsed = 3;
  r.step(msg({ type: MessageType.MsgVote, from: 3, to: 1, term: 2, logTerm: 2, index: 10 }));
  assert.deepEqual(voteResp(r).map((m) => [m.to, m.term, m.reject]), [[3, 2, false]]);
  assert.equal(r.vote, 3);
  assert.equal(r.electionElapsed, 0, 'granting a vote resets the election timer');
});

test('lead == None: after forgetting its leader a follower votes again in the same term', () => {
  const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]));
  r.step(msg({ type: MessageType.MsgHeartbeat, from: 2, to: 1, term: 2 }));
  readMessages(r);
  assert.equal(r.lead, 2);
  r.step(msg({ type: MessageType.MsgForgetLeader }));
  assert.equal(r.lead, None);
  r.step(msg({ type: MessageType.MsgVote, from: 3, to: 1, term: 2, logTerm: 2, index: 10 }));
  assert.deepEqual(voteResp(r).map((m) => [m.to, m.reject]), [[3, false]]);
});

test('a pre-vote for a later term is granted even while a leader is known (without a lease), and changes nothing', () => {
  const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]));
  r.step(msg({ type: MessageType.MsgApp, from: 2, to: 1, term: 2 }));
  readMessages(r);
  r.step(msg({ type: MessageType.MsgPreVote, from: 3, to: 1, term: 3, logTerm: 2, index: 10 }));
  assert.deepEqual(voteResp(r).map((m) => [m.type, m.term, m.reject]), [[MessageType.MsgPreVoteResp, 3, false]], 'the response carries the asked term');
  assert.equal(r.term, 2);
  assert.equal(r.lead, 2);
  assert.equal(r.vote, None);
});

test('a stale pre-vote (lower term) is answered with a rejection carrying the current term', () => {
  const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]));
  r.becomeFollower(5, None);
  r.step(msg({ type: MessageType.MsgPreVote, from: 3, to: 1, term: 3, logTerm: 9, index: 9 }));
  assert.deepEqual(voteResp(r).map((m) => [m.term, m.reject]), [[5, true]]);
});

// ---------------------------------------------------------------------------------------------
// Terms and state transitions

test('every state steps down to follower on a vote request or an append of a higher term', () => {
  const setups: Array<[StateType, (r: Raft) => void, number]> = [
    [StateType.StateFollower, (r) => r.becomeFollower(1, None), 0],
    [StateType.StatePreCandidate, (r) => r.becomePreCandidate(), 0],
    [StateType.StateCandidate, (r) => r.becomeCandidate(), 0],
    [StateType.StateLeader, (r) => { r.becomeCandidate(); r.becomeLeader(); }, 1],
  ];
  for (const [st, setup, windex] of setups) {
    const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]));
    setup(r);
    for (const t of [MessageType.MsgVote, MessageType.MsgApp]) {
      r.step(msg({ type: t, from: 2, to: 1, term: 3, logTerm: 3 }));
      assert.equal(r.state, StateType.StateFollower, `${st}/${t}`);
      assert.equal(r.term, 3, `${st}/${t}`);
      assert.equal(r.raftLog.lastIndex(), windex, `${st}/${t}`);
      assert.equal(r.raftLog.allEntries().length, windex);
      // A vote request says nothing about who leads; an append comes from the leader.
      assert.equal(r.lead, t === MessageType.MsgVote ? None : 2, `${st}/${t}`);
    }
  }
});

test('allowed state transitions, and the forbidden ones (follower -> leader, leader -> candidate) are refused loudly', () => {
  const F = StateType.StateFollower;
  const P = StateType.StatePreCandidate;
  const C = StateType.StateCandidate;
  const L = StateType.StateLeader;
  const cases: Array<[from: StateType, to: StateType, allow: boolean, term: number, lead: number]> = [
    [F, F, true, 1, None],
    [F, P, true, 0, None],
    [F, C, true, 1, None],
    [F, L, false, 0, None],
    [P, F, true, 0, None],
    [P, P, true, 0, None],
    [P, C, true, 1, None],
    [P, L, true, 0, 1],
    [C, F, true, 0, None],
    [C, P, true, 0, None],
    [C, C, true, 1, None],
    [C, L, true, 0, 1],
    [L, F, true, 1, None],
    [L, P, false, 0, None],
    [L, C, false, 1, None],
    [L, L, true, 0, 1],
  ];
  cases.forEach(([from, to, allow, term, lead], i) => {
    const r = newTestRaft(1, 10, 1, newTestStorage([1]));
    r.state = from;
    const go = (): void => {
      switch (to) {
        case F: r.becomeFollower(term, lead); break;
        case P: r.becomePreCandidate(); break;
        case C: r.becomeCandidate(); break;
        case L: r.becomeLeader(); break;
        default: break;
      }
    };
    if (!allow) {
      assert.throws(go, RaftInvariantError, `#${i}`);
      return;
    }
    go();
    assert.equal(r.term, term, `#${i}`);
    assert.equal(r.lead, lead, `#${i}`);
  });
});

for (const t of [MessageType.MsgHeartbeat, MessageType.MsgApp]) {
  test(`a stranded candidate returns to follower and takes the leader's term on a ${t === MessageType.MsgApp ? 'MsgApp' : 'MsgHeartbeat'}`, () => {
    const [n, a, b, c] = trio();
    n.send(hup(1));
    n.isolate(3);
    n.send(hup(2));
    n.send(hup(1));
    assert.equal(a.state, StateType.StateLeader);
    assert.equal(b.state, StateType.StateFollower);
    c.resetRandomizedElectionTimeout();
    for (let i = 0; i < c.randomizedElectionTimeout; i++) c.tick();
    advanceMessagesAfterAppend(c);
    assert.equal(c.state, StateType.StateCandidate);
    n.recover();
    n.send(msg({ type: t, from: 1, to: 3, term: a.term }));
    assert.equal(c.state, StateType.StateFollower);
    assert.equal(c.term, a.term);
  });
}

for (const pv of [false, true]) {
  test(`a (pre-)candidate that has lost ignores its own late self-vote${pv ? ' (PreVote)' : ''}`, () => {
    const r = newTestRaft(1, 5, 1, newTestStorage([1, 2, 3]), { preVote: pv });
    r.step(hup(1));
    const steps = takeMessagesAfterAppend(r);
    // It hears that 2 won before its own vote is durable.
    r.step(msg({ type: MessageType.MsgHeartbeat, from: 2, to: 1, term: r.term }));
    assert.equal(r.state, StateType.StateFollower);
    stepOrSend(r, steps);
    assert.equal(r.state, StateType.StateFollower);
    assert.equal(r.trk.tallyVotes().granted, 0);
  });
}

test('a candidate does not count its late pre-vote self-vote as a vote, but counts its real self-vote', () => {
  const r = newTestRaft(1, 5, 1, newTestStorage([1, 2, 3]), { preVote: true });
  r.step(hup(1));
  assert.equal(r.state, StateType.StatePreCandidate);
  const preSteps = takeMessagesAfterAppend(r);
  // Pre-votes carry the local term + 1.
  r.step(msg({ type: MessageType.MsgPreVoteResp, from: 2, to: 1, term: r.term + 1 }));
  r.step(msg({ type: MessageType.MsgPreVoteResp, from: 3, to: 1, term: r.term + 1 }));
  assert.equal(r.state, StateType.StateCandidate);
  stepOrSend(r, preSteps);
  assert.equal(r.state, StateType.StateCandidate);
  const steps = takeMessagesAfterAppend(r);
  assert.equal(r.trk.tallyVotes().granted, 0);
  r.step(msg({ type: MessageType.MsgVoteResp, from: 2, to: 1, term: r.term }));
  assert.equal(r.state, StateType.StateCandidate, 'one vote of three is not a quorum');
  stepOrSend(r, steps);
  assert.equal(r.state, StateType.StateLeader, 'its own durable vote completes the quorum');
});

// ---------------------------------------------------------------------------------------------
// Randomized election timeout

test('the randomized election timeout is uniform over [electionTimeout, 2*electionTimeout)', () => {
  // P(electionElapsed >= randomized timeout) for a timeout uniform over [10, 19].
  const cases: Array<[elapse: number, p: number, round: boolean]> = [
    [5, 0, false],
    [10, 0.1, true],
    [13, 0.4, true],
    [15, 0.6, true],
    [18, 0.9, true],
    [20, 1, false],
  ];
  for (const [elapse, want, round] of cases) {
    const r = newTestRaft(1, 10, 1, newTestStorage([1]));
    r.electionElapsed = elapse;
    let c = 0;
    for (let j = 0; j < 10000; j++) {
      r.resetRandomizedElectionTimeout();
      assert.ok(r.randomizedElectionTimeout >= 10 && r.randomizedElectionTimeout < 20);
      if (r.pastElectionTimeout()) c++;
    }
    let got = c / 10000;
    if (round) got = Math.floor(got * 10 + 0.5) / 10;
    assert.equal(got, want, `elapsed ${elapse}`);
  }
});

test('election timeouts come from the configured seeded generator: same seed, same timeouts', () => {
  const draw = (): number[] => {
    const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]));
    return Array.from({ length: 20 }, () => {
      r.resetRandomizedElectionTimeout();
      return r.randomizedElectionTimeout;
    });
  };
  assert.deepEqual(draw(), draw());
});

// ---------------------------------------------------------------------------------------------
// PreVote

test('PreVote: a pre-candidate keeps its term and vote, and asks about term + 1', () => {
  const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]), { preVote: true });
  r.becomeFollower(4, None);
  r.step(hup(1));
  assert.equal(r.state, StateType.StatePreCandidate);
  assert.equal(r.term, 4);
  assert.equal(r.vote, None);
  const out = readMessages(r).map((m) => [m.type, m.to, m.term]);
  assert.deepEqual(out, [[MessageType.MsgPreVote, 2, 5], [MessageType.MsgPreVote, 3, 5]]);
});

test('PreVote: a quorum of pre-votes starts the real election; the real election moves the term', () => {
  const r = newTestRaft(1, 10, 1, newTestStorage([1, 2, 3]), { preVote: true });
  r.step(hup(1));
  advanceMessagesAfterAppend(r);
  r.msgs = [];
  r.step(msg({ type: MessageType.MsgPreVoteResp, from: 2, to: 1, term: 1 }));
  assert.equal(r.state, StateType.StateCandidate);
  assert.equal(r.term, 1);
  assert.equal(r.vote, 1);
  assert.deepEqual(readMessages(r).map((m) => [m.type, m.to, m.term]), [[MessageType.MsgVote, 2, 1], [MessageType.MsgVote, 3, 1]]);
});

test('PreVote: a partitioned node does not disrupt the leader when it returns', () => {
  const [n, a, b, c] = trio(preVote);
  n.cut(1, 3);
  n.send(hup(1));
  n.send(hup(3));
  assert.equal(a.state, StateType.StateLeader);
  assert.equal(c.state, StateType.StateFollower, '3 campaigns, and its pre-vote is refused');
  n.recover();
  n.send(hup(3));
  const want: Array<[Raft, StateType, number, number]> = [
    [a, StateType.StateLeader, 1, 1],
    [b, StateType.StateFollower, 1, 1],
    [c, StateType.StateFollower, 1, 0],
  ];
  for (const [r, state, term, last] of want) {
    assert.equal(r.state, state, `node ${r.id}`);
    assert.equal(r.term, term, `node ${r.id}`);
    assert.equal(r.raftLog.lastIndex(), last, `node ${r.id}`);
  }
});

test('PreVote: after a split vote the next round completes', () => {
  const [n, , b, c] = trio(preVote);
  for (const r of [n.raft(1), b, c]) r.becomeFollower(1, None);
  n.send(hup(1));
  n.isolate(1);
  n.send(hup(2), hup(3));
  assert.deepEqual([b.term, c.term], [3, 3]);
  assert.deepEqual([b.state, c.state], [StateType.StateCandidate, StateType.StateCandidate]);
  n.send(hup(2));
  assert.deepEqual([b.term, c.term], [4, 4]);
  assert.deepEqual([b.state, c.state], [StateType.StateLeader, StateType.StateFollower]);
});

test('PreVote: a node with a smaller term can still complete an election', () => {
  const [n, a, b, c] = trio(preVote);
  for (const r of [a, b, c]) r.becomeFollower(1, None);
  n.cut(1, 3);
  n.cut(2, 3);
  n.send(hup(1));
  assert.equal(a.state, StateType.StateLeader);
  assert.equal(b.state, StateType.StateFollower);
  n.send(hup(3));
  assert.equal(c.state, StateType.StatePreCandidate);
  n.send(hup(2));
  assert.deepEqual([a.term, b.term, c.term], [3, 3, 1]);
  assert.deepEqual([a.state, b.state, c.state], [StateType.StateFollower, StateType.StateLeader, StateType.StatePreCandidate]);
  // 3 comes back just as 2 (the leader) goes away.
  n.recover();
  n.cut(2, 1);
  n.cut(2, 3);
  n.send(hup(3));
  n.send(hup(1));
  assert.ok(stateOf(a) === StateType.StateLeader || stateOf(c) === StateType.StateLeader, 'someone leads');
});

test('PreVote with CheckQuorum: followers that still hear from nobody elect a new leader', () => {
  const [n, a, b, c] = trio(both);
  for (const r of [a, b, c]) r.becomeFollower(1, None);
  n.send(hup(1));
  n.isolate(1);
  assert.equal(a.state, StateType.StateLeader);
  // 2 ignores 3's pre-vote while it remembers 1, then campaigns itself.
  n.send(hup(3));
  n.send(hup(2));
  assert.ok(stateOf(b) === StateType.StateLeader || stateOf(c) === StateType.StateFollower);
});

// A rolling upgrade: 1 and 2 run PreVote, 3 does not yet and is partitioned at a higher term.
function preVoteMigrationCluster(): [Network, Raft, Raft, Raft] {
  const [n, a, b, c] = trio();
  for (const r of [a, b, c]) r.becomeFollower(1, None);
  setPreVote(a, true);
  setPreVote(b, true);
  n.send(hup(1));
  n.isolate(3);
  n.send(prop(1, 'some data'));
  n.send(hup(3));
  n.send(hup(3));
  assert.deepEqual([a.state, b.state, c.state], [StateType.StateLeader, StateType.StateFollower, StateType.StateCandidate]);
  assert.deepEqual([a.term, b.term, c.term], [2, 2, 4]);
  setPreVote(c, true);
  n.recover();
  return [n, a, b, c];
}

test('PreVote migration: a cluster with a stranded higher-term node still completes an election', () => {
  const [n, , b, c] = preVoteMigrationCluster();
  n.isolate(1);
  n.send(hup(3));
  n.send(hup(2));
  assert.equal(b.state, StateType.StateFollower);
  assert.equal(c.state, StateType.StatePreCandidate);
  n.send(hup(3));
  n.send(hup(2));
  assert.ok(stateOf(b) === StateType.StateLeader || stateOf(c) === StateType.StateFollower);
});

test('PreVote migration: the stranded pre-candidate is freed by its response to the leader heartbeat', () => {
  const [n, a, b, c] = preVoteMigrationCluster();
  n.send(hup(3));
  n.send(hup(3));
  assert.deepEqual([a.state, b.state, c.state], [StateType.StateLeader, StateType.StateFollower, StateType.StatePreCandidate]);
  n.send(msg({ type: MessageType.MsgHeartbeat, from: 1, to: 3, term: a.term }));
  assert.equal(a.state, StateType.StateFollower, 'the leader learns the higher term and steps down');
  assert.equal(c.term, a.term);
});

// ---------------------------------------------------------------------------------------------
// CheckQuorum and the leader lease

test('CheckQuorum: a leader that hears from a quorum stays leader', () => {
  const r = newTestRaft(1, 5, 1, newTestStorage([1, 2, 3]), { checkQuorum: true });
  r.becomeCandidate();
  r.becomeLeader();
  for (let i = 0; i < r.electionTimeout + 1; i++) {
    r.step(msg({ type: MessageType.MsgHeartbeatResp, from: 2, to: 1, term: r.term }));
    r.tick();
  }
  assert.equal(r.state, StateType.StateLeader);
});

test('CheckQuorum: a leader that hears from no quorum for an election timeout steps down', () => {
  const r = newTestRaft(1, 5, 1, newTestStorage([1, 2, 3]), { checkQuorum: true });
  r.becomeCandidate();
  r.becomeLeader();
  for (let i = 0; i < r.electionTimeout + 1; i++) r.tick();
  assert.equal(r.state, StateType.StateFollower);
  assert.equal(r.lead, None);
});

test('CheckQuorum off: the same isolated leader stays leader (the paper behaviour)', () => {
  const r = newTestRaft(1, 5, 1, newTestStorage([1, 2, 3]));
  r.becomeCandidate();
  r.becomeLeader();
  for (let i = 0; i < 3 * r.electionTimeout; i++) r.tick();
  assert.equal(r.state, StateType.StateLeader);
});

test('leader lease: followers that heard from the leader within the election timeout ignore a higher-term candidate', () => {
  const [n, a, b, c] = trio(checkQuorum);
  n.send(hup(1));
  assert.equal(a.state, StateType.StateLeader);
  assert.equal(c.state, StateType.StateFollower);
  n.send(hup(3));
  assert.equal(c.state, StateType.StateCandidate, "b ignores c's vote request: its lease has not expired");
  assert.equal(b.term, 1, 'and does not even adopt the term');
  assert.equal(a.term, 1);
  // Once b has not heard from the leader for an election timeout, c can win.
  b.randomizedElectionTimeout = b.electionTimeout + 1;
  for (let i = 0; i < b.electionTimeout; i++) b.tick();
  n.send(hup(3));
  assert.equal(c.state, StateType.StateLeader);
});

test('leader lease: without CheckQuorum a follower grants the higher-term candidate at once', () => {
  const [n, a, , c] = trio();
  n.send(hup(1));
  n.send(hup(3));
  // The leader's log is as up to date as 3's, so the others vote for 3 and the leader steps down.
  assert.equal(c.state, StateType.StateLeader);
  assert.equal(a.state, StateType.StateFollower);
});

test('CheckQuorum: the leader steps down once it misses a quorum, and a new one is elected', () => {
  const [n, a, b, c] = trio(checkQuorum);
  a.randomizedElectionTimeout = a.electionTimeout + 1;
  b.randomizedElectionTimeout = b.electionTimeout + 2;
  n.send(hup(1));
  assert.equal(a.state, StateType.StateLeader);
  assert.equal(c.state, StateType.StateFollower);
  a.randomizedElectionTimeout = a.electionTimeout + 1;
  b.randomizedElectionTimeout = b.electionTimeout + 2;
  for (let i = 0; i < a.electionTimeout; i++) a.tick();
  for (let i = 0; i < b.electionTimeout; i++) b.tick();
  n.send(hup(3));
  assert.equal(a.state, StateType.StateFollower);
  assert.equal(c.state, StateType.StateLeader);
});

test('CheckQuorum: a candidate stuck at a higher term frees itself through the leader heartbeat it answers', () => {
  const [n, a, b, c] = trio(checkQuorum);
  n.send(hup(1));
  n.isolate(1);
  n.send(hup(3));
  assert.equal(b.state, StateType.StateFollower);
  assert.equal(c.state, StateType.StateCandidate);
  assert.equal(c.term, b.term + 1);
  n.send(hup(3));
  assert.equal(c.term, b.term + 2);
  n.recover();
  // A heartbeat of the lower term makes 3 answer with its term, and the leader steps down.
  n.send(msg({ type: MessageType.MsgHeartbeat, from: 1, to: 3, term: a.term }));
  assert.equal(a.state, StateType.StateFollower);
  assert.equal(a.term, c.term);
  n.send(hup(3));
  assert.equal(c.state, StateType.StateLeader);
});

test('CheckQuorum: a node outside the configuration never campaigns but follows the leader', () => {
  const a = newTestRaft(1, 10, 1, newTestStorage([1, 2]), { checkQuorum: true });
  const b = newTestRaft(2, 10, 1, newTestStorage([1]), { checkQuorum: true });
  const n = new Network([a, b]);
  assert.equal(b.promotable(), false);
  for (let i = 0; i < 2 * b.electionTimeout; i++) b.tick();
  assert.equal(b.state, StateType.StateFollower);
  n.send(hup(1));
  assert.equal(a.state, StateType.StateLeader);
  assert.equal(b.state, StateType.StateFollower);
  assert.equal(b.lead, 1);
});

test('CheckQuorum: a follower whose election timer fires while the heartbeat is delayed disrupts the leader through its reply', () => {
  const [n, n1, n2, n3] = trio(checkQuorum);
  for (const r of [n1, n2, n3]) r.becomeFollower(1, None);
  n.send(hup(1));
  assert.deepEqual([n1.state, n2.state, n3.state], [StateType.StateLeader, StateType.StateFollower, StateType.StateFollower]);
  n3.randomizedElectionTimeout = n3.electionTimeout + 2;
  for (let i = 0; i < n3.randomizedElectionTimeout; i++) n3.tick();
  assert.equal(n3.state, StateType.StateCandidate);
  assert.deepEqual([n1.term, n2.term, n3.term], [2, 2, 3]);
  // The delayed heartbeat of term 2 reaches the candidate of term 3, which answers with term 3.
  n.send(msg({ type: MessageType.MsgHeartbeat, from: 1, to: 3, term: n1.term }));
  assert.deepEqual([n1.state, n2.state, n3.state], [StateType.StateFollower, StateType.StateFollower, StateType.StateCandidate]);
  assert.deepEqual([n1.term, n2.term, n3.term], [3, 2, 3]);
});

test('CheckQuorum with PreVote: the same delayed heartbeat does not disrupt the leader', () => {
  const [n, n1, n2, n3] = trio(checkQuorum);
  for (const r of [n1, n2, n3]) r.becomeFollower(1, None);
  n.send(hup(1));
  n.isolate(3);
  for (let i = 0; i < 3; i++) n.send(prop(1, 'somedata'));
  for (const r of [n1, n2, n3]) setPreVote(r, true);
  n.recover();
  n.send(hup(3));
  assert.deepEqual([n1.state, n2.state, n3.state], [StateType.StateLeader, StateType.StateFollower, StateType.StatePreCandidate]);
  assert.deepEqual([n1.term, n2.term, n3.term], [2, 2, 2]);
  n.send(msg({ type: MessageType.MsgHeartbeat, from: 1, to: 3, term: n1.term }));
  assert.equal(n1.state, StateType.StateLeader);
});
