// A high-resolution scheduler for injected delays. Node's timers are coarse: setTimeout(1) fires
// after 1 ms at best and often 1.1-2 ms later, which would swamp a 1 ms injected latency with an
// error of the same size. So the scheduler keeps deadlines on the monotonic high-resolution clock
// in a min-heap and gets close to each in three steps:
//   - more than `pollWindowUs` away: a setTimeout for the coarse part;
//   - within the window: a setImmediate loop, which checks the clock once per event-loop turn and
//     still lets sockets be served between checks (this spins a core, but only while a deadline
//     is that close);
//   - within `spinUs`: a synchronous busy-wait to the deadline (bounded by spinUs).
// Items due together are handed over in one call, so messages of one Ready delayed alike still go
// out as one frame. Every release records its error (release time - deadline) in a histogram:
// that is the figure the issue asks to be measured (p99 below 100 us at 1 ms delays).

import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import { TransportConfigError } from './errors.js';
import type { DelayErrorSummary } from './metrics.js';

export interface HrSchedulerOptions {
  readonly pollWindowUs?: number;
  readonly spinUs?: number;
  // Pending items at most; schedule() refuses more (the caller counts a drop).
  readonly capacityMax?: number;
  // Microsecond monotonic clock; tests may pass their own.
  readonly nowUs?: () => number;
}

export const defaultPollWindowUs = 2000;
export const defaultSpinUs = 50;
export const defaultDelayCapacityMax = 1 << 20;

export function hrNowUs(): number {
  return performance.now() * 1000;
}

type Histogram = ReturnType<typeof hdr.build>;

// DueHandler receives the keys and values of the items released together; the arrays are reused
// after it returns, so it must not keep them.
export type DueHandler<T> = (keys: readonly number[], values: readonly T[], count: number) => void;

const initialCapacity = 256;
// A clock read costs ~30-50 ns, so this is far more than any spin window needs.
const spinIterationsMax = 1_000_000;

// Earlier deadline first; equal deadlines in scheduling order (FIFO).
function precedes(d1: number, s1: number, d2: number, s2: number): boolean {
  return d1 < d2 || (d1 === d2 && s1 < s2);
}

export class HrScheduler<T> {
  private deadlines = new Float64Array(initialCapacity);
  private seqs = new Float64Array(initialCapacity);
  private keys = new Float64Array(initialCapacity);
  private values: (T | undefined)[] = new Array<T | undefined>(initialCapacity).fill(undefined);
  private count = 0;
  private nextSeq = 0;
  private readonly pollWindowUs: number;
  private readonly spinUs: number;
  private readonly capacityMax: number;
  readonly nowUs: () => number;
  private timer: NodeJS.Timeout | null = null;
  private timerDeadline = Infinity;
  private immediate: NodeJS.Immediate | null = null;
  private stopped = false;
  private readonly outKeys: number[] = [];
  private readonly outValues: T[] = [];
  // Errors in nanoseconds (sub-microsecond detail for the p50).
  private readonly errorsNs: Histogram = hdr.build({ numberOfSignificantValueDigits: 3, lowestDiscernibleValue: 1, autoResize: true });

  constructor(
    private readonly onDue: DueHandler<T>,
    opts: HrSchedulerOptions = {},
  ) {
    this.pollWindowUs = opts.pollWindowUs ?? defaultPollWindowUs;
    this.spinUs = opts.spinUs ?? defaultSpinUs;
    this.capacityMax = opts.capacityMax ?? defaultDelayCapacityMax;
    this.nowUs = opts.nowUs ?? hrNowUs;
    if (!(this.pollWindowUs >= 0) || !(this.spinUs >= 0) || this.spinUs > 10_000) {
      throw new TransportConfigError(`bad scheduler windows: poll ${this.pollWindowUs} us, spin ${this.spinUs} us`);
    }
    if (!(this.capacityMax >= 1)) throw new TransportConfigError(`scheduler capacity must be positive, got ${this.capacityMax}`);
  }

  get pending(): number {
    return this.count;
  }

  // schedule holds `value` until deadlineUs (on nowUs' clock); false when at capacity or stopped.
  schedule(deadlineUs: number, key: number, value: T): boolean {
    if (this.stopped || this.count >= this.capacityMax) return false;
    if (this.count === this.deadlines.length) this.grow();
    let i = this.count++;
    const seq = this.nextSeq++;
    // Sift up.
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(deadlineUs, seq, parent)) break;
      this.move(parent, i);
      i = parent;
    }
    this.deadlines[i] = deadlineUs;
    this.seqs[i] = seq;
    this.keys[i] = key;
    this.values[i] = value;
    if (i === 0) this.arm();
    return true;
  }

  errorSummary(): DelayErrorSummary {
    const h = this.errorsNs;
    if (h.totalCount === 0) return { count: 0, p50Us: 0, p99Us: 0, maxUs: 0, meanUs: 0 };
    return {
      count: h.totalCount,
      p50Us: h.getValueAtPercentile(50) / 1000,
      p99Us: h.getValueAtPercentile(99) / 1000,
      maxUs: h.maxValue / 1000,
      meanUs: h.mean / 1000,
    };
  }

  resetErrorStats(): void {
    this.errorsNs.reset();
  }

  // stop drops everything pending and cancels the timers; the scheduler refuses new items.
  stop(): void {
    this.stopped = true;
    this.cancel();
    this.values.fill(undefined);
    this.count = 0;
  }

  // before tells whether (deadline, seq) goes before the item in slot j.
  private before(deadline: number, seq: number, j: number): boolean {
    return precedes(deadline, seq, this.deadlines[j]!, this.seqs[j]!);
  }

  private move(from: number, to: number): void {
    this.deadlines[to] = this.deadlines[from]!;
    this.seqs[to] = this.seqs[from]!;
    this.keys[to] = this.keys[from]!;
    this.values[to] = this.values[from];
  }

  private grow(): void {
    const n = Math.min(this.deadlines.length * 2, Math.max(this.capacityMax, initialCapacity));
    const d = new Float64Array(n);
    d.set(this.deadlines);
    const s = new Float64Array(n);
    s.set(this.seqs);
    const k = new Float64Array(n);
    k.set(this.keys);
    this.deadlines = d;
    this.seqs = s;
    this.keys = k;
    for (let i = this.values.length; i < n; i++) this.values.push(undefined);
  }

  private popInto(now: number): void {
    const deadline = this.deadlines[0]!;
    const errNs = Math.round((now - deadline) * 1000);
    this.errorsNs.recordValue(errNs > 0 ? errNs : 0);
    this.outKeys.push(this.keys[0]!);
    this.outValues.push(this.values[0]!);
    const last = --this.count;
    if (last === 0) {
      this.values[0] = undefined;
      return;
    }
    // Sift the last item down from the root.
    const ld = this.deadlines[last]!;
    const ls = this.seqs[last]!;
    const lk = this.keys[last]!;
    const lv = this.values[last];
    this.values[last] = undefined;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      const r = l + 1;
      const c = r < last && this.before(this.deadlines[r]!, this.seqs[r]!, l) ? r : l;
      // Stop when the moved item goes before (or ties earlier than) the smaller child.
      if (!precedes(this.deadlines[c]!, this.seqs[c]!, ld, ls)) break;
      this.move(c, i);
      i = c;
    }
    this.deadlines[i] = ld;
    this.seqs[i] = ls;
    this.keys[i] = lk;
    this.values[i] = lv;
  }

  private run(): void {
    if (this.count === 0) return;
    let now = this.nowUs();
    const first = this.deadlines[0]!;
    if (first > now && first - now <= this.spinUs) {
      // Busy-wait the last few microseconds: an event-loop turn is coarser than that.
      // Bounded in time and, should the clock stall, in iterations.
      const limit = now + this.spinUs;
      for (let i = 0; i < spinIterationsMax && now < first && now < limit; i++) now = this.nowUs();
    }
    while (this.count > 0 && this.deadlines[0]! <= now) this.popInto(now);
    const n = this.outValues.length;
    if (n === 0) return;
    try {
      this.onDue(this.outKeys, this.outValues, n);
    } finally {
      this.outKeys.length = 0;
      this.outValues.length = 0;
    }
  }

  private cancel(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
      this.timerDeadline = Infinity;
    }
    if (this.immediate !== null) {
      clearImmediate(this.immediate);
      this.immediate = null;
    }
  }

  private arm(): void {
    if (this.stopped || this.count === 0) {
      this.cancel();
      return;
    }
    if (this.immediate !== null) return; // polling already; it re-arms after each turn
    const next = this.deadlines[0]!;
    const delta = next - this.nowUs();
    if (delta <= this.pollWindowUs) {
      if (this.timer !== null) {
        clearTimeout(this.timer);
        this.timer = null;
        this.timerDeadline = Infinity;
      }
      this.immediate = setImmediate(this.onImmediate);
      return;
    }
    if (this.timer !== null && this.timerDeadline <= next) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerDeadline = next;
    // Wake up a poll window early: the timer may fire late, never early.
    this.timer = setTimeout(this.onTimer, Math.max(1, Math.floor((delta - this.pollWindowUs) / 1000)));
  }

  private readonly onImmediate = (): void => {
    this.immediate = null;
    try {
      this.run();
    } finally {
      this.arm();
    }
  };

  private readonly onTimer = (): void => {
    this.timer = null;
    this.timerDeadline = Infinity;
    try {
      this.run();
    } finally {
      this.arm();
    }
  };
}
