// Everything this node keeps for one peer: the bounded queue of frames for it, the one connection
// currently carrying them (dialed by us or accepted from it: one connection per pair, the lower id
// dials), and its counters. Frames leave the queue only while the socket's own backlog is below
// `socketBufferedBytesMax`; the rest waits for the socket's drain, so a slow peer costs at most
// one queue plus one socket backlog of memory, never more.

import type { Conn } from './connection.js';
import type { PeerDialer } from './peer-client.js';
import type { Dropped, SendQueueLimits } from './send-queue.js';
import { SendQueue } from './send-queue.js';
import type { DropReason, PeerMetrics } from './metrics.js';
import { PeerCounters } from './metrics.js';

export const closeCodeShutdown = 1001;

export class PeerLink {
  readonly counters = new PeerCounters();
  readonly queue: SendQueue;
  private current: Conn | null = null;
  dialer: PeerDialer | null = null;
  private readonly scratch: Dropped = { frames: 0, msgs: 0, bytes: 0 };

  constructor(
    readonly peerId: number,
    queueLimits: SendQueueLimits,
    private readonly socketBufferedBytesMax: number,
    // Called with the reason and the count of frames and messages each time some are dropped.
    private readonly onDrop: (link: PeerLink, reason: DropReason, frames: number, msgs: number) => void,
  ) {
    this.queue = new SendQueue(queueLimits);
  }

  get conn(): Conn | null {
    return this.current;
  }

  get connected(): boolean {
    return this.current !== null && !this.current.closed;
  }

  // attach makes conn the peer's connection; an older one is closed (the peer restarted, or the
  // old socket is half-dead and the peer has dialed again).
  attach(conn: Conn, replacedCode: number): void {
    const old = this.current;
    this.current = conn;
    if (old !== null && old !== conn) old.close(replacedCode, 'replaced by a newer connection');
    if (this.counters.connects > 0) this.counters.reconnects++;
    this.counters.connects++;
    this.flush();
  }

  detach(conn: Conn): void {
    if (this.current === conn) this.current = null;
  }

  enqueue(frame: Uint8Array, msgs: number): void {
    const d = this.scratch;
    d.frames = 0;
    d.msgs = 0;
    d.bytes = 0;
    this.queue.push(frame, msgs, d);
    if (d.frames > 0) this.onDrop(this, 'queue-full', d.frames, d.msgs);
  }

  // flush writes queued frames, corked as one batch, while the socket's backlog allows.
  flush(): void {
    const conn = this.current;
    if (conn === null || conn.closed || this.queue.length === 0) return;
    if (conn.bufferedBytes() > this.socketBufferedBytesMax) return;
    conn.cork(() => this.writeQueued(conn));
  }

  private writeQueued(conn: Conn): void {
    const c = this.counters;
    while (this.queue.length > 0 && conn.bufferedBytes() <= this.socketBufferedBytesMax) {
      const msgs = this.queue.peekMsgs();
      const frame = this.queue.shift()!;
      if (!conn.send(frame)) {
        this.onDrop(this, 'socket', 1, msgs);
        return;
      }
      c.framesOut++;
      c.msgsOut += msgs;
      c.bytesOut += frame.byteLength;
    }
  }

  close(): void {
    this.dialer?.stop();
    this.dialer = null;
    const conn = this.current;
    this.current = null;
    if (conn !== null) conn.close(closeCodeShutdown, 'shutting down');
    const d = this.scratch;
    d.frames = 0;
    d.msgs = 0;
    d.bytes = 0;
    this.queue.clear(d);
  }

  snapshot(): PeerMetrics {
    const c = this.counters;
    return {
      peer: this.peerId,
      connected: this.connected,
      dialer: this.dialer !== null,
      queueFrames: this.queue.length,
      queueBytes: this.queue.byteLength,
      socketBufferedBytes: this.current === null || this.current.closed ? 0 : this.current.bufferedBytes(),
      msgsOut: c.msgsOut,
      framesOut: c.framesOut,
      bytesOut: c.bytesOut,
      msgsIn: c.msgsIn,
      framesIn: c.framesIn,
      bytesIn: c.bytesIn,
      droppedFrames: { ...c.droppedFrames },
      droppedMsgs: { ...c.droppedMsgs },
      authFailures: { ...c.authFailures },
      connects: c.connects,
      reconnects: c.reconnects,
      dialFailures: c.dialFailures,
    };
  }
}
