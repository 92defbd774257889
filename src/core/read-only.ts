import type { Message } from './types.js';

export const enum ReadOnlyOption {
  // ReadOnlySafe confirms leadership with a quorum round (heartbeats carrying the request context)
  // before answering: linearizable whatever the clocks do.
  ReadOnlySafe = 0,
  // ReadOnlyLeaseBased trusts the leader lease (CheckQuorum): no round trip, but a clock that runs
  // slow can let a deposed leader answer a stale read.
  ReadOnlyLeaseBased = 1,
}

export interface ReadIndexStatus {
  readonly req: Message;
  readonly index: number;
  // Ack ids of the voters that confirmed leadership for this request (the leader counts itself).
  readonly acks: Map<number, boolean>;
}

// Request contexts are opaque bytes; a latin1 string is a loss-free map key for them.
export function bytesKey(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

// ReadOnly is the queue of ReadIndex requests waiting for a quorum of heartbeat acks, in order:
// an ack for a later request confirms every earlier one too.
export class ReadOnly {
  readonly pendingReadIndex = new Map<string, ReadIndexStatus>();
  readIndexQueue: string[] = [];

  constructor(readonly option: ReadOnlyOption) {}

  addRequest(index: number, m: Message): void {
    const s = bytesKey(m.entries[0]!.data);
    if (this.pendingReadIndex.has(s)) return;
    this.pendingReadIndex.set(s, { index, req: m, acks: new Map() });
    this.readIndexQueue.push(s);
  }

  // recvAck records an ack for the request with this context and returns every ack it has, or null
  // when no such request is pending.
  recvAck(id: number, context: Uint8Array): Map<number, boolean> | null {
    const rs = this.pendingReadIndex.get(bytesKey(context));
    if (rs === undefined) return null;
    rs.acks.set(id, true);
    return rs.acks;
  }

  // advance dequeues the request with m's context and every request queued before it.
  advance(m: Message): ReadIndexStatus[] {
    const ctx = bytesKey(m.context);
    const rss: ReadIndexStatus[] = [];
    let i = 0;
    let found = false;
    for (const okctx of this.readIndexQueue) {
      i++;
      const rs = this.pendingReadIndex.get(okctx);
      if (rs === undefined) throw new Error('cannot find corresponding read state from pending map');
      rss.push(rs);
      if (okctx === ctx) {
        found = true;
        break;
      }
    }
    if (!found) return [];
    this.readIndexQueue = this.readIndexQueue.slice(i);
    for (const rs of rss) this.pendingReadIndex.delete(bytesKey(rs.req.entries[0]!.data));
    return rss;
  }

  lastPendingRequestCtx(): string {
    const q = this.readIndexQueue;
    return q.length === 0 ? '' : q[q.length - 1]!;
  }
}
