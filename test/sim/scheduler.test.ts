import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Rng } from '../../src/core/rand.js';
import { Scheduler, SchedulerFullError } from '../../src/sim/scheduler.js';
import type { EventHandler } from '../../src/sim/scheduler.js';
import { TraceHash } from '../../src/sim/trace-hash.js';

interface Seen {
  readonly timeUs: number;
  readonly kind: number;
  readonly arg: number;
  readonly payload: string | undefined;
}

class Recorder implements EventHandler<string> {
  readonly seen: Seen[] = [];
  onEvent(kind: number, arg: number, payload: string | undefined, nowUs: number): void {
    this.seen.push({ timeUs: nowUs, kind, arg, payload });
  }
}

test('events run in time order, ties in scheduling order', () => {
  const s = new Scheduler<string>();
  s.at(30, 1, 0, 'c');
  s.at(10, 1, 0, 'a1');
  s.at(20, 1, 0, 'b');
  s.at(10, 2, 0, 'a2');
  s.at(10, 3, 0, 'a3');
  const r = new Recorder();
  const res = s.run(r);
  assert.deepEqual(r.seen.map((e) => e.payload), ['a1', 'a2', 'a3', 'b', 'c']);
  assert.deepEqual(res, { reason: 'empty', events: 5, nowUs: 30 });
});

test('heap order matches a stable sort for random schedules', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 3000 }), (times) => {
    const s = new Scheduler<string>();
    times.forEach((t, i) => s.at(t, 0, i));
    const r = new Recorder();
    s.run(r);
    const expected = times.map((t, i) => ({ t, i })).sort((a, b) => a.t - b.t || a.i - b.i).map((e) => e.i);
    assert.deepEqual(r.seen.map((e) => e.arg), expected);
  }), { numRuns: 50 });
});

test('events scheduled while running interleave correctly', () => {
  const s = new Scheduler<string>();
  const order: string[] = [];
  const h: EventHandler<string> = {
    onEvent(kind, _arg, payload, nowUs) {
      order.push(`${nowUs}:${payload}`);
      if (kind === 1) {
        s.after(0, 2, 0, `${payload}-now`);
        s.after(5, 2, 0, `${payload}-later`);
      }
    },
  };
  s.at(10, 1, 0, 'x');
  s.at(12, 2, 0, 'y');
  s.run(h);
  assert.deepEqual(order, ['10:x', '10:x-now', '12:y', '15:x-later']);
});

test('run stops at a time, an event count, on stop(), or when empty', () => {
  const s = new Scheduler<string>();
  for (let i = 1; i <= 10; i++) s.at(i * 100, 0, i);
  const r = new Recorder();
  assert.deepEqual(s.run(r, { untilUs: 350 }), { reason: 'time', events: 3, nowUs: 350 });
  assert.deepEqual(s.run(r, { maxEvents: 2 }), { reason: 'events', events: 2, nowUs: 500 });
  const stopper: EventHandler<string> = { onEvent: (_k, arg) => { if (arg === 7) s.stop(); } };
  assert.deepEqual(s.run(stopper), { reason: 'stopped', events: 2, nowUs: 700 });
  assert.deepEqual(s.run(r, { untilUs: 5000 }), { reason: 'empty', events: 3, nowUs: 5000 });
  assert.equal(s.pending, 0);
  assert.equal(s.eventsRun, 10);
  assert.equal(s.step(r), false);
});

test('an event at exactly untilUs runs', () => {
  const s = new Scheduler<string>();
  s.at(100, 0);
  assert.equal(s.run(new Recorder(), { untilUs: 100 }).events, 1);
});

test('scheduling in the past or at a fractional time is refused', () => {
  const s = new Scheduler<string>({ startUs: 1000 });
  assert.throws(() => s.at(999, 0), /cannot schedule at 999us/);
  assert.throws(() => s.at(1000.5, 0), /whole microseconds/);
  assert.throws(() => s.after(-1, 0), /negative/);
  assert.throws(() => s.after(Number.NaN, 0), /NaN/);
  s.after(0.2, 0);
  assert.equal(s.nextTimeUs(), 1001, 'fractional delays round up, never earlier than asked');
});

test('the pending bound is enforced', () => {
  const s = new Scheduler<string>({ pendingMax: 2048 });
  for (let i = 0; i < 2048; i++) s.at(i, 0);
  assert.throws(() => s.at(5, 0), SchedulerFullError);
});

// A little randomized model: nodes that ping each other with random delays. Same seed, same trace.
function pingModel(seed: number): { hash: string; events: number } {
  const s = new Scheduler<string>();
  const rng = new Rng(seed);
  const h: EventHandler<string> = {
    onEvent(kind, arg) {
      s.trace.mixU32(arg);
      if (s.eventsRun < 20_000) s.after(rng.intn(500), kind, rng.intn(5));
    },
  };
  for (let i = 0; i < 5; i++) s.at(0, i, i);
  s.run(h);
  return { hash: s.trace.hex(), events: s.eventsRun };
}

test('same seed => same trace hash; different seed => different', () => {
  const a = pingModel(1);
  assert.deepEqual(pingModel(1), a);
  assert.notEqual(pingModel(2).hash, a.hash);
  assert.equal(a.events, 20_004);
});

test('trace hash: FNV-1a offset basis, order and type sensitivity', () => {
  const h = new TraceHash();
  assert.equal(h.hex(), 'cbf29ce484222325');
  h.mixU32(0);
  // One step with 0: h * prime mod 2^64, checked against BigInt arithmetic.
  const expected = (0xcbf29ce484222325n * 0x100000001b3n) & 0xffffffffffffffffn;
  assert.equal(h.bigint(), expected);
  const ab = new TraceHash();
  ab.mixString('ab');
  ab.mixString('c');
  const abc = new TraceHash();
  abc.mixString('a');
  abc.mixString('bc');
  assert.notEqual(ab.hex(), abc.hex());
  const one = new TraceHash();
  one.mixNumber(1);
  const almost = new TraceHash();
  almost.mixNumber(1.0000001);
  assert.notEqual(one.hex(), almost.hex());
});

test('trace hash matches a BigInt reference on random words', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 0xffffffff })), (words) => {
    const h = new TraceHash();
    let ref = 0xcbf29ce484222325n;
    for (const w of words) {
      h.mixU32(w);
      ref = ((ref ^ BigInt(w)) * 0x100000001b3n) & 0xffffffffffffffffn;
    }
    assert.equal(h.bigint(), ref);
  }));
});
