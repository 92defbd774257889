// The fuzzer over classic Raft: a few hundred random schedules with every kind of fault, each
// checked after every event and for linearizability at the end, must all pass.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultFuzzConfig, describeSchedule, describeViolation, generateSchedule, replayCommand, runSchedule } from '../../src/sim/fuzz.js';

const schedules = 300;

test(`${schedules} fuzz schedules of classic Raft with faults pass every check`, () => {
  let faults = 0;
  let commits = 0;
  let elections = 0;
  let crashes = 0;
  const failures: string[] = [];
  for (let seed = 1; seed <= schedules; seed++) {
    const s = generateSchedule(seed, defaultFuzzConfig);
    const r = runSchedule(s);
    faults += r.stats.faultsFired;
    commits += r.stats.commits;
    elections += r.stats.elections;
    crashes += s.faults.filter((f) => f.action.kind === 'crash' || f.action.kind === 'figure8').length;
    if (r.violation !== null) {
      failures.push(`${describeSchedule(s)}\n${describeViolation(r.violation)}\nreplay: ${replayCommand(defaultFuzzConfig, seed)}`);
    }
  }
  assert.deepEqual(failures, []);
  assert.ok(faults > schedules * 3, `faults fired: ${faults}`);
  assert.ok(crashes > schedules / 2, `crash faults: ${crashes}`);
  assert.ok(commits > schedules * 50, `operations acknowledged: ${commits}`);
  assert.ok(elections > schedules * 2, `elections: ${elections}`);
});
