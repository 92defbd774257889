// The checkers have teeth: with one safety rule deliberately broken, the fuzzer finds a violation
// within a bounded number of schedules; a failing schedule shrinks to a smaller one that fails the
// same check, and the printed edits replay it exactly.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coreMutations, driverMutations } from '../../src/core/mutations.js';
import {
  defaultFuzzConfig,
  generateSchedule,
  replayCommand,
  runSchedule,
  shrinkSchedule,
  type FuzzConfig,
  type FuzzRunResult,
  type FuzzSchedule,
} from '../../src/sim/fuzz.js';

// The fuzzer's promise is 2,000 schedules; measured, each mutant falls within the first hundred.
const seedsMax = 300;

function firstFailure(config: FuzzConfig): { seed: number; schedule: FuzzSchedule; result: FuzzRunResult } | null {
  for (let seed = 1; seed <= seedsMax; seed++) {
    const schedule = generateSchedule(seed, config);
    const result = runSchedule(schedule);
    if (!result.passed) return { seed, schedule, result };
  }
  return null;
}

for (const mutant of [...coreMutations, ...driverMutations]) {
  test(`mutant ${mutant} is caught within ${seedsMax} schedules`, () => {
    const f = firstFailure({ ...defaultFuzzConfig, mutant });
    assert.ok(f !== null, `no violation found in ${seedsMax} schedules`);
    const v = f.result.violation!;
    assert.equal(v.seed, f.seed);
    assert.ok(v.eventIndex > 0 && v.nodes.length >= 3, 'the report carries the event index and every node');
    // A core panic is the core's own assertion catching the broken state; everything else is one
    // of our checkers.
    assert.notEqual(v.checker, 'exception', v.message);
  });
}

test('a failing schedule shrinks, and its edits replay the shrunk failure exactly', () => {
  const config: FuzzConfig = { ...defaultFuzzConfig, mutant: 'vote-without-log-check' };
  const f = firstFailure(config);
  assert.ok(f !== null);
  const shrunk = shrinkSchedule(f.schedule, f.result, 60);
  const v = shrunk.result.violation!;
  assert.equal(v.checker, f.result.violation!.checker);
  assert.ok(shrunk.schedule.faults.length <= f.schedule.faults.length);
  assert.ok(shrunk.schedule.untilUs <= f.schedule.untilUs);
  assert.ok(
    shrunk.schedule.faults.length < f.schedule.faults.length || shrunk.schedule.untilUs < f.schedule.untilUs,
    'smaller in faults or in time',
  );
  const again = runSchedule(generateSchedule(f.seed, config, shrunk.edits));
  assert.equal(again.violation?.checker, v.checker);
  assert.equal(again.violation?.eventIndex, v.eventIndex);
  assert.equal(again.traceHash, shrunk.result.traceHash);
  const cmd = replayCommand(config, f.seed, shrunk.edits);
  assert.match(cmd, new RegExp(`^frb fuzz --protocol raft --replay ${f.seed} --mutant vote-without-log-check --keep-faults `));
});
