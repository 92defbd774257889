// One WebSocket, whichever library holds it: the uWebSockets.js server's, the `ws` server's, or a
// `ws` client's. Peer links, the handshake and the node's client channel see only this.

import type { Socket } from 'node:net';
import type WebSocket from 'ws';

export interface Conn {
  // A process-unique id, for logs and maps.
  readonly id: number;
  readonly remoteAddress: string;
  readonly closed: boolean;
  // send queues one binary message; false when the socket is already closed (the bytes are lost).
  send(bytes: Uint8Array): boolean;
  // Bytes handed to send() that the socket has not yet written to the kernel.
  bufferedBytes(): number;
  // cork runs fn with the socket's writes batched into as few syscalls as possible.
  cork(fn: () => void): void;
  close(code: number, reason: string): void;
}

let nextConnId = 1;

export function newConnId(): number {
  return nextConnId++;
}

// WsConn wraps a `ws` WebSocket (client or server side). `ws` has no drain event, so bytes are
// counted in at send() and out at the write callback, which also tells when the backlog has
// drained below `drainBytes`.
export class WsConn implements Conn {
  readonly id = newConnId();
  private pendingBytes = 0;
  private waitingDrain = false;
  private isClosed = false;

  constructor(
    readonly ws: WebSocket,
    readonly remoteAddress: string,
    private readonly drainBytes: number,
    private readonly onDrain: (conn: WsConn) => void,
  ) {}

  get closed(): boolean {
    return this.isClosed || this.ws.readyState !== 1;
  }

  markClosed(): void {
    this.isClosed = true;
  }

  send(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    const n = bytes.byteLength;
    this.pendingBytes += n;
    this.ws.send(bytes, { binary: true }, () => {
      this.pendingBytes -= n;
      if (this.waitingDrain && this.pendingBytes <= this.drainBytes && !this.isClosed) {
        this.waitingDrain = false;
        this.onDrain(this);
      }
    });
    if (this.pendingBytes > this.drainBytes) this.waitingDrain = true;
    return true;
  }

  bufferedBytes(): number {
    return this.pendingBytes;
  }

  cork(fn: () => void): void {
    // `ws` writes each message with its own cork; holding the socket corked across a batch makes
    // the batch one write. The socket is private in `ws`' types, so reach it defensively.
    const socket = (this.ws as unknown as { _socket?: Socket | null })._socket;
    if (socket == null || typeof socket.cork !== 'function') {
      fn();
      return;
    }
    socket.cork();
    try {
      fn();
    } finally {
      socket.uncork();
    }
  }

  close(code: number, reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    try {
      this.ws.close(code, reason);
    } catch {
      this.ws.terminate();
    }
    // A peer that never answers the close handshake must not hold the socket.
    const ws = this.ws;
    setTimeout(() => ws.terminate(), 1000).unref();
  }
}

// toBytes views what `ws` hands a message handler as one byte array.
export function toBytes(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}
