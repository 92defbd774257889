// The fuzzer's fast profile (Fast Raft only): five members, every member a proposer, laggards
// with stale tails, leaders crashed at their fast commits, membership changes cut off from their
// commit. Generation is a pure function of (seed, config, edits), the other protocols never draw
// it, its schedules pass every check with Fast Raft's rules on, and each of the two rules the
// fast track adds (mutants fast-any-round, fast-any-config) is caught when switched off.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultFuzzConfig, describeSchedule, describeViolation, fastShare, generateSchedule, replayCommand, runSchedule, type FuzzConfig } from '../../src/sim/fuzz.js';

const config: FuzzConfig = { ...defaultFuzzConfig, protocol: 'fastraft' };

test('about a third of Fast Raft schedules use the fast profile; other protocols never do', () => {
  let fast = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const s = generateSchedule(seed, config);
    if (s.profile !== 'fast') continue;
    fast++;
    assert.equal(s.size, 5);
    assert.equal(s.clients.attach, 'all');
    assert.ok(s.clients.count >= s.size, 'several sessions per node');
    assert.ok(s.faults.some((f) => f.action.kind === 'churn'));
    assert.deepEqual(generateSchedule(seed, config), s, 'a pure function of the seed');
    assert.equal(generateSchedule(seed, { ...defaultFuzzConfig }).profile === 'fast', false);
  }
  assert.ok(Math.abs(fast / 300 - fastShare) < 0.1, `fast schedules: ${fast} of 300`);
});

test('a fast-profile schedule keeps its faults under shrink edits', () => {
  let seed = 1;
  while (generateSchedule(seed, config).profile !== 'fast') seed++;
  const s = generateSchedule(seed, config);
  const keep = s.faultIndices.filter((_, k) => k % 2 === 0);
  const shrunk = generateSchedule(seed, config, { keepFaults: keep, clients: 2, opsMax: 10, durationUs: s.durationUs - 1 });
  assert.equal(shrunk.profile, 'fast');
  assert.deepEqual(
    shrunk.faults,
    keep.map((i) => s.faults[s.faultIndices.indexOf(i)]!).filter((f) => f.atUs < s.durationUs - 1),
  );
  assert.equal(shrunk.clients.count, 2);
  assert.equal(shrunk.clients.opsMax, 10);
});

test('fast-profile schedules pass every check with every rule on', () => {
  const failures: string[] = [];
  let ran = 0;
  for (let seed = 1; ran < 8; seed++) {
    const s = generateSchedule(seed, config);
    if (s.profile !== 'fast') continue;
    ran++;
    const r = runSchedule(s);
    if (r.violation !== null) failures.push(`${describeSchedule(s)}\n${describeViolation(r.violation)}\nreplay: ${replayCommand(config, seed)}`);
  }
  assert.deepEqual(failures, []);
});

// Where `frb fuzz --protocol fastraft --mutant M --seeds 2000` first reports a violation (measured;
// any change to the fast profile's generator moves these seeds, and the tests then say so).
// fast-any-round: seeds 355 and 700 of 2000; fast-any-config: 9 seeds of 2000, the first 154.
const firstCatch: Readonly<Record<string, number>> = { 'fast-any-round': 355, 'fast-any-config': 154 };
// Each scan starts this many seeds before its catch, so that it runs a few dozen of the fuzzer's
// schedules (a third of them fast) in a few seconds rather than the hundreds before the catch.
const scanSeeds = 60;
// Losses of committed entries: what the rules prevent (a liveness timeout or a crash of the
// harness would not show that a rule has teeth).
const safetyCheckers = ['leader-completeness', 'state-machine-safety', 'committed-overwrite', 'log-matching', 'linearizability'];

for (const [mutant, seed] of Object.entries(firstCatch)) {
  test(`mutant ${mutant} is caught by the fast profile (at seed ${seed})`, () => {
    const mconfig: FuzzConfig = { ...config, mutant };
    let found: { seed: number; checker: string } | null = null;
    let ran = 0;
    for (let s = seed - scanSeeds; s <= seed && found === null; s++) {
      const sch = generateSchedule(s, mconfig);
      if (sch.profile !== 'fast') continue;
      ran++;
      const r = runSchedule(sch, { skipLinearizability: true });
      if (r.violation !== null) found = { seed: s, checker: r.violation.checker };
    }
    assert.ok(ran >= 10, `ran ${ran} fast schedules`);
    assert.ok(found !== null, `no violation in the fast schedules of seeds ${seed - scanSeeds}..${seed}: the mutant escapes the fast profile`);
    assert.equal(found.seed, seed, 'caught first at the measured seed');
    assert.ok(safetyCheckers.includes(found.checker), `a lost committed entry, not ${found.checker}`);
  });
}

test('the schedules that catch the mutants pass every check with every rule on', () => {
  const failures: string[] = [];
  for (const seed of [...Object.values(firstCatch), 700]) {
    const s = generateSchedule(seed, config);
    assert.equal(s.profile, 'fast');
    const r = runSchedule(s);
    if (r.violation !== null) failures.push(`${describeSchedule(s)}\n${describeViolation(r.violation)}\nreplay: ${replayCommand(config, seed)}`);
  }
  assert.deepEqual(failures, []);
});

// Found by this profile with every rule on: seeds 3837 and 4150 (beyond the 2,000 that `frb fuzz
// --seeds 2000` runs) lose a fast-committed entry. Seed 4150: leader 5 of term 6 fast-commits
// index 34 and crashes (trigger); leader 4 of term 7 recovers 31..36 and stamps them with term 7;
// node 2 still holds 31 as a leader-approved entry of term 6, so when leader 4 (term 8) sends it
// the term-7 copy of that same entry, node 2 took it for a conflict and truncated its
// self-approved suffix, with its copies of 33 and 34; node 2 was then elected in term 10 by voters
// that hold other entries there. handleAppendEntries in src/core/fast.ts now rewrites such a copy
// in place when the leader's entries cover its whole LA prefix. Seed 3837 is the same shape with
// copies of 38..42 stamped with terms 2, 3 and 5 by successive recoveries; it still fails (a
// wider rule, a same-digest copy anywhere in the LA prefix, broke storm seeds 6283, 12774 and
// 17243 by keeping stale LA entries that were later applied), so it stays open.
test('fast profile with every rule on: seed 4150 (a re-stamped copy is not a conflict)', () => {
  const r = runSchedule(generateSchedule(4150, config));
  assert.equal(r.violation, null, r.violation === null ? '' : describeViolation(r.violation));
});

test('schedules that a wider same-digest rule broke pass (seeds 6283, 8967, 12774, 17243)', () => {
  for (const seed of [6283, 8967, 12774, 17243]) {
    const r = runSchedule(generateSchedule(seed, config));
    assert.equal(r.violation, null, `seed ${seed}: ${r.violation === null ? '' : describeViolation(r.violation)}`);
  }
});

// Seed 16893 (leader-completeness at index 43) fails the same way; the wider rule passed it too.
test('fast profile with every rule on: seeds 3837 and 16893', { todo: 'open: copies re-stamped by successive recoveries truncate their holders (src/core/fast.ts)' }, () => {
  for (const seed of [3837, 16893]) {
    const r = runSchedule(generateSchedule(seed, config));
    assert.equal(r.violation, null, `seed ${seed}: ${r.violation === null ? '' : describeViolation(r.violation)}`);
  }
});
