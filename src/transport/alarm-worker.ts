// The alarm clock behind HrScheduler, run in a worker thread. It sleeps in Atomics.wait (a futex
// with a timeout, precise to tens of microseconds, costing no CPU) until the deadline the main
// thread last published, spins the last few microseconds, and posts one message to wake the main
// thread's event loop. The main thread then releases what is due and publishes the next deadline.
//
// Shared memory (see AlarmLayout in hr-scheduler.ts): ctl[0] is a generation counter the main
// thread bumps (and notifies) whenever it publishes a deadline; ctl[1] is the stop flag; deadline[0]
// is the next deadline in microseconds of process.hrtime (one clock for every thread), or NaN when
// nothing is pending. One alarm per generation: after firing, the worker sleeps until the main
// thread publishes again, so a busy main thread is woken once, not flooded.

import { parentPort, workerData } from 'node:worker_threads';

interface AlarmData {
  readonly shared: SharedArrayBuffer;
  readonly spinUs: number;
}

function hrUs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e6 + ns / 1e3;
}

// A clock read costs well under a microsecond; this bounds a spin should the clock stall.
const spinIterationsMax = 1_000_000;

function main(): void {
  const port = parentPort;
  if (port === null) throw new Error('alarm-worker: must run as a worker thread');
  const { shared, spinUs } = workerData as AlarmData;
  const ctl = new Int32Array(shared, 0, 2);
  const deadline = new Float64Array(shared, 8, 1);
  let fired = -1;
  for (;;) {
    if (Atomics.load(ctl, 1) !== 0) return;
    const gen = Atomics.load(ctl, 0);
    const d = deadline[0]!;
    if (gen === fired || Number.isNaN(d)) {
      Atomics.wait(ctl, 0, gen);
      continue;
    }
    const waitMs = (d - hrUs() - spinUs) / 1000;
    // A new deadline (earlier or later) or a stop interrupts the sleep; start over.
    if (waitMs > 0 && Atomics.wait(ctl, 0, gen, waitMs) !== 'timed-out') continue;
    if (spinUs > 0) {
      for (let i = 0; i < spinIterationsMax && hrUs() < d; i++) {
        if (Atomics.load(ctl, 0) !== gen) break;
      }
    }
    if (Atomics.load(ctl, 0) !== gen) continue;
    fired = gen;
    port.postMessage(gen);
  }
}

main();
