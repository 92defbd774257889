// The fuzzer over Fast Raft: random schedules with concurrent proposers on different nodes,
// membership changes and every kind of fault, each checked after every event (state machine
// safety, leader completeness by data, commit monotonicity, ...) and for linearizability at the
// end, must all pass. `frb fuzz --protocol fastraft --seeds 20000` is the long version.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultFuzzConfig, describeSchedule, describeViolation, generateSchedule, replayCommand, runSchedule, type FuzzConfig } from '../../src/sim/fuzz.js';

const schedules = 200;
const config: FuzzConfig = { ...defaultFuzzConfig, protocol: 'fastraft' };

test(`${schedules} fuzz schedules of Fast Raft with faults and membership changes pass every check`, () => {
  let commits = 0;
  let faults = 0;
  let fastCommitsSeen = false;
  const failures: string[] = [];
  for (let seed = 1; seed <= schedules; seed++) {
    const s = generateSchedule(seed, config);
    const r = runSchedule(s);
    commits += r.stats.commits;
    faults += r.stats.faultsFired;
    if (r.violation !== null) failures.push(`${describeSchedule(s)}\n${describeViolation(r.violation)}\nreplay: ${replayCommand(config, seed)}`);
    fastCommitsSeen ||= r.stats.commits > 0;
  }
  assert.deepEqual(failures, []);
  assert.ok(fastCommitsSeen);
  assert.ok(commits > schedules * 30, `operations acknowledged: ${commits}`);
  assert.ok(faults > schedules * 2, `faults fired: ${faults}`);
});
