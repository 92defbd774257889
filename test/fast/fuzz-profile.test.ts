// The fuzzer's fast profile (Fast Raft only): five members, every member a proposer, laggards
// with stale tails, leader churn right after fast commits, membership changes cut off from their
// commit. Generation is a pure function of (seed, config, edits), the other protocols never draw
// it, and its schedules pass every check with Fast Raft's rules on.

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

// Not yet: neither mutant is shown to be caught. `--mutant fast-any-round --seeds 2000` fails only
// seed 1203, and that schedule fails the same way with every rule on (`frb fuzz --protocol
// fastraft --replay 1203`: leader-completeness at index 125, an open finding), so it proves nothing
// about rule 1; `--mutant fast-any-config --seeds 2000` finds nothing.
for (const mutant of ['fast-any-round', 'fast-any-config']) {
  test(`mutant ${mutant} is caught within 2,000 schedules`, { todo: 'the fast profile does not reach the violating shape yet' }, () => {});
}
