// The discrete-event scheduler at the heart of the simulator. Virtual time is a whole number of
// microseconds; nothing here reads a real clock. Events are ordered by (time, insertion
// sequence), so two events at the same microsecond run in the order they were scheduled, which
// makes a run a pure function of its seed and inputs.
//
// Performance: an event is not an object or a closure but a row in parallel typed arrays (time,
// sequence, kind, numeric argument) plus an optional payload reference, kept as a binary
// min-heap. Scheduling and running an event therefore allocates nothing once the arrays have
// grown, and a simulation can push millions of events per second (bench/sim/scheduler-micro.ts).

import { TraceHash } from './trace-hash.js';

// EventHandler receives every event. `kind` is the caller's tag (a const enum), `arg` a number
// that saves allocating a payload for the common case (a node id, a timer generation).
export interface EventHandler<P> {
  onEvent(kind: number, arg: number, payload: P | undefined, nowUs: number): void;
}

export interface RunLimits {
  // Run events with time <= untilUs, then leave the clock at untilUs.
  readonly untilUs?: number;
  // Run at most this many events in this call.
  readonly maxEvents?: number;
}

export type StopReason = 'empty' | 'time' | 'events' | 'stopped';

export interface RunResult {
  readonly reason: StopReason;
  readonly events: number;
  readonly nowUs: number;
}

export interface SchedulerOptions {
  readonly startUs?: number;
  // Bound on pending events; reaching it is a bug in the model (a timer that re-arms itself
  // twice, a message storm), reported rather than allowed to eat the machine's memory.
  readonly pendingMax?: number;
  // Feed (time, kind, arg) of every event into `trace`. On by default: it costs a little and is
  // what catches nondeterminism.
  readonly traceEvents?: boolean;
}

// The default cap of a run() call, so that a model which keeps scheduling forever still ends.
export const runEventsMaxDefault = 1_000_000_000;
const pendingMaxDefault = 1 << 24;
const capacityInitial = 1024;

export class SchedulerFullError extends Error {
  override name = 'SchedulerFullError';
}

export class Scheduler<P = unknown> {
  readonly trace = new TraceHash();
  private now: number;
  private seqNext = 0;
  private count = 0;
  private capacity = capacityInitial;
  private readonly pendingMax: number;
  private readonly traceEvents: boolean;
  private stopRequested = false;
  private eventsTotal = 0;

  private times = new Float64Array(capacityInitial);
  private seqs = new Float64Array(capacityInitial);
  private kinds = new Int32Array(capacityInitial);
  private args = new Float64Array(capacityInitial);
  private payloads: (P | undefined)[] = new Array<P | undefined>(capacityInitial).fill(undefined);

  constructor(options: SchedulerOptions = {}) {
    this.now = options.startUs ?? 0;
    this.pendingMax = options.pendingMax ?? pendingMaxDefault;
    this.traceEvents = options.traceEvents ?? true;
    if (!Number.isSafeInteger(this.now) || this.now < 0) throw new RangeError(`scheduler: bad startUs ${this.now}`);
  }

  get nowUs(): number {
    return this.now;
  }

  // pending is the number of scheduled events not yet run.
  get pending(): number {
    return this.count;
  }

  // eventsRun counts events run over the scheduler's life.
  get eventsRun(): number {
    return this.eventsTotal;
  }

  // nextTimeUs is the time of the earliest pending event, or Infinity.
  nextTimeUs(): number {
    return this.count > 0 ? this.times[0]! : Infinity;
  }

  // at schedules an event at an absolute time (>= now, whole microseconds) and returns its
  // sequence number, which orders it among events at the same time.
  at(timeUs: number, kind: number, arg = 0, payload?: P): number {
    if (!(timeUs >= this.now) || timeUs !== Math.floor(timeUs) || timeUs > Number.MAX_SAFE_INTEGER) {
      throw new RangeError(`scheduler: cannot schedule at ${timeUs}us (now ${this.now}us); times are whole microseconds >= now`);
    }
    if (this.count === this.capacity) this.grow();
    const seq = this.seqNext++;
    const times = this.times;
    const seqs = this.seqs;
    const kinds = this.kinds;
    const args = this.args;
    const payloads = this.payloads;
    // Sift up with a hole: move parents down until the new event's place is found.
    let i = this.count++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = times[parent]!;
      if (pt < timeUs || (pt === timeUs && seqs[parent]! < seq)) break;
      times[i] = pt;
      seqs[i] = seqs[parent]!;
      kinds[i] = kinds[parent]!;
      args[i] = args[parent]!;
      payloads[i] = payloads[parent];
      i = parent;
    }
    times[i] = timeUs;
    seqs[i] = seq;
    kinds[i] = kind;
    args[i] = arg;
    payloads[i] = payload;
    return seq;
  }

  // after schedules an event delayUs from now (rounded up to a whole microsecond: an event can
  // never run earlier than asked).
  after(delayUs: number, kind: number, arg = 0, payload?: P): number {
    if (!(delayUs >= 0)) throw new RangeError(`scheduler: negative or NaN delay ${delayUs}us`);
    return this.at(this.now + Math.ceil(delayUs), kind, arg, payload);
  }

  // stop makes the current run() return after the event being handled.
  stop(): void {
    this.stopRequested = true;
  }

  // step runs the earliest event, if any; returns false when there was none.
  step(handler: EventHandler<P>): boolean {
    if (this.count === 0) return false;
    this.runTop(handler);
    return true;
  }

  run(handler: EventHandler<P>, limits: RunLimits = {}): RunResult {
    const untilUs = limits.untilUs ?? Infinity;
    const maxEvents = limits.maxEvents ?? runEventsMaxDefault;
    if (untilUs < this.now) throw new RangeError(`scheduler: untilUs ${untilUs} is before now ${this.now}`);
    this.stopRequested = false;
    let events = 0;
    let reason: StopReason;
    for (;;) {
      if (this.count === 0) {
        reason = 'empty';
        if (untilUs !== Infinity) this.now = untilUs;
        break;
      }
      if (this.times[0]! > untilUs) {
        reason = 'time';
        this.now = untilUs;
        break;
      }
      if (events >= maxEvents) {
        reason = 'events';
        break;
      }
      this.runTop(handler);
      events++;
      if (this.stopRequested) {
        reason = 'stopped';
        break;
      }
    }
    return { reason, events, nowUs: this.now };
  }

  private runTop(handler: EventHandler<P>): void {
    const times = this.times;
    const seqs = this.seqs;
    const kinds = this.kinds;
    const args = this.args;
    const payloads = this.payloads;
    const timeUs = times[0]!;
    const kind = kinds[0]!;
    const arg = args[0]!;
    const payload = payloads[0];

    // Pop: take the last row and sift it down from the root.
    const n = --this.count;
    if (n > 0) {
      const lt = times[n]!;
      const ls = seqs[n]!;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        if (r < n) {
          const rt = times[r]!;
          const ct = times[l]!;
          if (rt < ct || (rt === ct && seqs[r]! < seqs[l]!)) c = r;
        }
        const ct = times[c]!;
        if (lt < ct || (lt === ct && ls < seqs[c]!)) break;
        times[i] = ct;
        seqs[i] = seqs[c]!;
        kinds[i] = kinds[c]!;
        args[i] = args[c]!;
        payloads[i] = payloads[c];
        i = c;
      }
      times[i] = lt;
      seqs[i] = ls;
      kinds[i] = kinds[n]!;
      args[i] = args[n]!;
      payloads[i] = payloads[n];
    }
    // Drop the reference so that a delivered message can be collected.
    payloads[n] = undefined;

    this.now = timeUs;
    this.eventsTotal++;
    if (this.traceEvents) {
      this.trace.mixUint(timeUs);
      this.trace.mixU32(kind);
      this.trace.mixNumber(arg);
    }
    handler.onEvent(kind, arg, payload, timeUs);
  }

  private grow(): void {
    if (this.capacity >= this.pendingMax) {
      throw new SchedulerFullError(`scheduler: ${this.count} events pending, the limit is ${this.pendingMax}`);
    }
    const capacity = Math.min(this.capacity * 2, this.pendingMax);
    const times = new Float64Array(capacity);
    times.set(this.times);
    const seqs = new Float64Array(capacity);
    seqs.set(this.seqs);
    const kinds = new Int32Array(capacity);
    kinds.set(this.kinds);
    const args = new Float64Array(capacity);
    args.set(this.args);
    this.times = times;
    this.seqs = seqs;
    this.kinds = kinds;
    this.args = args;
    for (let i = this.capacity; i < capacity; i++) this.payloads.push(undefined);
    this.capacity = capacity;
  }
}
