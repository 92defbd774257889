// The simulated network: every peer message goes through the shared FaultModel (src/faults), which
// decides drop / duplicate / delay exactly as the live transport's fault injector does, and is
// then delivered by the discrete-event scheduler at its arrival time.
//
// Links can be FIFO (the default, what a TCP or WebSocket connection gives the live transport): a
// message never overtakes an earlier one on the same directed link, so a delay sample that would
// reorder is pushed back to the previous arrival time. With fifo off, a latency distribution with
// spread reorders messages freely (harsher, and what the fuzzer mostly uses).
//
// The network allocates nothing per message beyond what the scheduler stores: the fate object is
// reused, and per-link state lives in a typed array indexed by (from, to).

import { FaultModel, newMessageFate, type MessageFate } from '../faults/index.js';
import type { Rng } from '../core/rand.js';
import type { Message } from '../core/types.js';
import type { Scheduler } from './scheduler.js';

// Node ids in a simulation are small (initial members 1..n, members added later n+1, ...); the
// bound keeps per-link state in one flat array.
export const simNodeIdMax = 255;
const linkStride = simNodeIdMax + 1;

// Fixed per-message overhead of the estimate: header fields as a compact binary encoding
// (msgpackr records) would carry them.
const messageHeaderBytes = 40;
const entryHeaderBytes = 12;

// messageSizeBytes estimates a message's size on the wire: header, entries (payload plus index,
// term, type) and snapshot data. Cheap enough for every message; close to what the live codec
// writes for the common message kinds.
export function messageSizeBytes(m: Message): number {
  let n = messageHeaderBytes + m.context.length;
  const ents = m.entries;
  for (let i = 0; i < ents.length; i++) n += entryHeaderBytes + ents[i]!.data.length;
  if (m.snapshot !== null) n += 32 + m.snapshot.data.length + 4 * m.snapshot.metadata.confState.voters.length;
  return n;
}

export interface NetworkCounters {
  sent: number;
  delivered: number;
  dropped: number;
  droppedPartition: number;
  droppedLoss: number;
  droppedDown: number;
  duplicated: number;
  bytesSent: number;
}

export function newNetworkCounters(): NetworkCounters {
  return { sent: 0, delivered: 0, dropped: 0, droppedPartition: 0, droppedLoss: 0, droppedDown: 0, duplicated: 0, bytesSent: 0 };
}

// What send() did with a message, for the caller's bookkeeping (trace, snapshot status reports).
export const enum SendOutcome {
  Scheduled = 0,
  Dropped = 1,
}

export class SimNetwork {
  readonly faults: FaultModel;
  readonly counters: NetworkCounters = newNetworkCounters();
  readonly fate: MessageFate = newMessageFate();
  // Last scheduled arrival per directed link, for FIFO links.
  private readonly lastArrivalUs = new Float64Array(linkStride * linkStride);

  constructor(
    private readonly sched: Scheduler<unknown>,
    private readonly rng: Rng,
    private readonly deliverKind: number,
    faults: FaultModel,
    readonly fifo: boolean,
  ) {
    this.faults = faults;
  }

  // send asks the fault model about m and schedules its delivery (kind deliverKind, arg m.to,
  // payload m). The fate of the last send stays readable in `fate` until the next call.
  send(m: Message, nowUs: number): SendOutcome {
    const c = this.counters;
    c.sent++;
    c.bytesSent += messageSizeBytes(m);
    const from = m.from;
    const to = m.to;
    if (from > simNodeIdMax || to > simNodeIdMax || from < 1 || to < 1) {
      throw new RangeError(`sim network: message ${from}->${to} outside node ids 1..${simNodeIdMax}`);
    }
    const fate = this.faults.decide(from, to, this.rng, this.fate);
    if (fate.dropped) {
      c.dropped++;
      if (fate.dropReason === 'partition') c.droppedPartition++;
      else c.droppedLoss++;
      return SendOutcome.Dropped;
    }
    const link = from * linkStride + to;
    let atUs = nowUs + fate.delayUs;
    if (this.fifo) {
      const last = this.lastArrivalUs[link]!;
      if (atUs < last) atUs = last;
      this.lastArrivalUs[link] = atUs;
    }
    this.sched.at(atUs, this.deliverKind, to, m);
    if (fate.copies === 2) {
      c.duplicated++;
      let dupUs = nowUs + fate.duplicateDelayUs;
      if (this.fifo) {
        const last = this.lastArrivalUs[link]!;
        if (dupUs < last) dupUs = last;
        this.lastArrivalUs[link] = dupUs;
      }
      this.sched.at(dupUs, this.deliverKind, to, m);
    }
    return SendOutcome.Scheduled;
  }
}
