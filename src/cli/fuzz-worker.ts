// A worker thread of `frb fuzz`: runs its share of the seeds (start + k*stride), shrinks failures,
// and posts one message per schedule. Schedules are independent and deterministic, so how seeds
// are spread over workers never changes a result.

import { parentPort, workerData } from 'node:worker_threads';
import { generateSchedule, runSchedule, shrinkSchedule, type FuzzConfig } from '../sim/index.js';
import { describeSchedule, describeViolation } from '../sim/fuzz.js';
import type { FuzzWorkerMessage } from './fuzz.js';

export interface FuzzWorkerData {
  readonly config: FuzzConfig;
  readonly seeds: readonly number[];
  readonly shrink: boolean;
  readonly shrinkRunsMax: number;
  // Failures this worker shrinks (the rest are reported as generated): shrinking costs up to
  // shrinkRunsMax runs each, and a broken build can fail every schedule.
  readonly shrinkFailuresMax: number;
}

const data = workerData as FuzzWorkerData;
const port = parentPort;
if (port === null) throw new Error('fuzz-worker must run in a worker thread');

let shrunkCount = 0;
for (const seed of data.seeds) {
  const schedule = generateSchedule(seed, data.config);
  const result = runSchedule(schedule);
  const msg: FuzzWorkerMessage = { type: 'result', seed, stats: result.stats, passed: result.passed, pendingOps: result.pendingOps };
  if (result.violation !== null) {
    msg.violation = describeViolation(result.violation);
    msg.checker = result.violation.checker;
    msg.schedule = describeSchedule(schedule);
    if (data.shrink && shrunkCount < data.shrinkFailuresMax) {
      shrunkCount++;
      const shrunk = shrinkSchedule(schedule, result, data.shrinkRunsMax);
      msg.shrunk = {
        edits: shrunk.edits,
        schedule: describeSchedule(shrunk.schedule),
        violation: shrunk.result.violation === null ? '' : describeViolation(shrunk.result.violation),
        runs: shrunk.runs,
      };
    }
  }
  port.postMessage(msg);
}
port.postMessage({ type: 'done' } satisfies FuzzWorkerMessage);
