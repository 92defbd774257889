// The bounded queue of encoded frames waiting for one peer's socket. A peer that is slow, stalled
// or away must not grow our memory: past either bound the *oldest* frames go (Raft retransmits;
// the newest messages carry the newest terms and commit indices, so they are worth more), and
// every dropped frame and message is counted by the caller from what push() returns.

import { TransportConfigError } from './errors.js';

export interface SendQueueLimits {
  readonly framesMax: number;
  readonly bytesMax: number;
}

export interface Dropped {
  frames: number;
  msgs: number;
  bytes: number;
}

export class SendQueue {
  private readonly frames: (Uint8Array | undefined)[];
  private readonly msgCounts: Int32Array;
  private head = 0;
  private count = 0;
  private bytes = 0;

  constructor(readonly limits: SendQueueLimits) {
    if (!(limits.framesMax >= 1) || !Number.isInteger(limits.framesMax)) throw new TransportConfigError(`queue framesMax must be a positive integer, got ${limits.framesMax}`);
    if (!(limits.bytesMax >= 1)) throw new TransportConfigError(`queue bytesMax must be positive, got ${limits.bytesMax}`);
    this.frames = new Array<Uint8Array | undefined>(limits.framesMax).fill(undefined);
    this.msgCounts = new Int32Array(limits.framesMax);
  }

  get length(): number {
    return this.count;
  }

  get byteLength(): number {
    return this.bytes;
  }

  // push appends a frame of `msgs` messages, first dropping the oldest frames until it fits, and
  // adds what it dropped to `dropped`. A frame larger than bytesMax alone is dropped itself.
  push(frame: Uint8Array, msgs: number, dropped: Dropped): void {
    const n = frame.byteLength;
    if (n > this.limits.bytesMax) {
      dropped.frames++;
      dropped.msgs += msgs;
      dropped.bytes += n;
      return;
    }
    while (this.count > 0 && (this.count >= this.limits.framesMax || this.bytes + n > this.limits.bytesMax)) {
      const m = this.msgCounts[this.head]!;
      const f = this.shift()!;
      dropped.frames++;
      dropped.msgs += m;
      dropped.bytes += f.byteLength;
    }
    const tail = (this.head + this.count) % this.limits.framesMax;
    this.frames[tail] = frame;
    this.msgCounts[tail] = msgs;
    this.count++;
    this.bytes += n;
  }

  peek(): Uint8Array | undefined {
    return this.count === 0 ? undefined : this.frames[this.head];
  }

  peekMsgs(): number {
    return this.count === 0 ? 0 : this.msgCounts[this.head]!;
  }

  shift(): Uint8Array | undefined {
    if (this.count === 0) return undefined;
    const f = this.frames[this.head]!;
    this.frames[this.head] = undefined;
    this.head = (this.head + 1) % this.limits.framesMax;
    this.count--;
    this.bytes -= f.byteLength;
    return f;
  }

  clear(dropped: Dropped): void {
    while (this.count > 0) {
      const m = this.msgCounts[this.head]!;
      const f = this.shift()!;
      dropped.frames++;
      dropped.msgs += m;
      dropped.bytes += f.byteLength;
    }
  }
}
