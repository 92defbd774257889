// Scheduler micro-benchmark: the classic "hold" model. A heap of `pending` events is kept at a
// constant size; each event, when run, schedules one more at a random time ahead. Measures the
// cost of pop + push + dispatch, with and without trace hashing. The last line is one JSON object.
//
//   node dist/bench/sim/scheduler-micro.js [events] [pending]

import { Rng } from '../../src/core/rand.js';
import { Scheduler } from '../../src/sim/scheduler.js';
import type { EventHandler } from '../../src/sim/scheduler.js';

const eventsTotal = Number(process.argv[2] ?? 5_000_000);
const pendingCount = Number(process.argv[3] ?? 10_000);

class Hold implements EventHandler<undefined> {
  constructor(readonly sched: Scheduler<undefined>, readonly rng: Rng) {}

  onEvent(kind: number, arg: number): void {
    // Delays of 1..1024us: many ties at the same microsecond, as a simulated cluster has.
    this.sched.after(1 + (this.rng.nextU32() & 1023), kind, arg + 1);
  }
}

function measure(traceEvents: boolean): { eventsPerSec: number; elapsedMs: number; trace: string } {
  const sched = new Scheduler<undefined>({ traceEvents });
  const rng = new Rng(1);
  for (let i = 0; i < pendingCount; i++) sched.at(rng.intn(1024), i & 7, 0);
  const handler = new Hold(sched, rng);
  // Warm up so that the JIT has compiled the loop before we time it.
  sched.run(handler, { maxEvents: Math.min(eventsTotal, 200_000) });
  const t0 = process.hrtime.bigint();
  const res = sched.run(handler, { maxEvents: eventsTotal });
  const elapsedNs = Number(process.hrtime.bigint() - t0);
  return { eventsPerSec: Math.round(res.events / (elapsedNs / 1e9)), elapsedMs: elapsedNs / 1e6, trace: sched.trace.hex() };
}

const plain = measure(false);
const traced = measure(true);
console.log(`hold model, ${pendingCount} pending: ${plain.eventsPerSec} events/s untraced, ${traced.eventsPerSec} events/s traced`);
console.log(JSON.stringify({
  bench: 'sim/scheduler-micro',
  events: eventsTotal,
  pending: pendingCount,
  eventsPerSec: plain.eventsPerSec,
  eventsPerSecTraced: traced.eventsPerSec,
  elapsedMs: Math.round(plain.elapsedMs),
  elapsedMsTraced: Math.round(traced.elapsedMs),
  traceHash: traced.trace,
  node: process.version,
}));
