// The dialing side of one peer connection: a `ws` client (uWebSockets.js has none) that connects,
// answers the server's challenge, checks the server's proof, and keeps doing so: when the
// connection drops or an attempt fails it dials again after an exponential backoff with jitter
// (so that a restarted cluster does not reconnect in lockstep). It does not queue anything; the
// peer link above it owns the bounded queue and uses whichever connection is up.

import WebSocket from 'ws';
import type { AuthFailReason, ClusterKey } from './auth.js';
import { closeCodeAuthFailed, closeCodeHandshakeTimeout, decodeChallenge, encodeHello, newNonce, verifyWelcome } from './auth.js';
import type { Conn } from './connection.js';
import { WsConn, toBytes } from './connection.js';
import { TransportConfigError } from './errors.js';

export interface DialerEvents {
  // An authenticated connection is up.
  connected(conn: Conn): void;
  // A message after the handshake; data is valid only during the call.
  message(conn: Conn, data: Uint8Array): void;
  drain(conn: Conn): void;
  // The authenticated connection closed.
  disconnected(conn: Conn, code: number, reason: string): void;
  // An attempt ended before authentication: 'connect' when the socket never opened.
  failed(reason: AuthFailReason | 'connect', detail: string): void;
}

export interface DialerOptions {
  readonly key: ClusterKey;
  readonly selfId: number;
  readonly peerId: number;
  readonly url: string;
  readonly messageBytesMax: number;
  readonly drainBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly backoffMinMs: number;
  readonly backoffMaxMs: number;
  // A connection silent for two intervals (no message, no pong) is closed and redialed.
  readonly pingIntervalMs: number;
  // Jitter source (not the core's: reconnect timing is not part of a replayable run).
  readonly random?: () => number;
  readonly events: DialerEvents;
}

const enum Stage {
  Idle = 0,
  Connecting = 1, // socket opening, or waiting for the challenge
  AwaitWelcome = 2,
  Open = 3,
}

// backoffMs is attempt k's wait: min * 2^k capped at max, then "equal jitter" (uniform in the upper
// half), so that waits grow but never collapse to zero.
export function backoffMs(attempt: number, minMs: number, maxMs: number, random: () => number): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return base / 2 + (random() * base) / 2;
}

export class PeerDialer {
  private url: string;
  private ws: WebSocket | null = null;
  private conn: WsConn | null = null;
  private stage = Stage.Idle;
  private failures = 0;
  private stopped = true;
  private retryTimer: NodeJS.Timeout | null = null;
  private handshakeTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private dialerNonce: Uint8Array | null = null;
  private heardSincePing = true;
  private readonly random: () => number;
  // Dial attempts made (for tests and metrics).
  attempts = 0;

  constructor(private readonly opts: DialerOptions) {
    if (!(opts.backoffMinMs > 0) || !(opts.backoffMaxMs >= opts.backoffMinMs)) {
      throw new TransportConfigError(`bad reconnect backoff ${opts.backoffMinMs}..${opts.backoffMaxMs} ms`);
    }
    this.url = opts.url;
    this.random = opts.random ?? Math.random;
  }

  get connected(): boolean {
    return this.stage === Stage.Open;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.dial();
  }

  // setUrl changes where the peer is; a connection that is not up is redialed at once.
  setUrl(url: string): void {
    if (url === this.url) return;
    this.url = url;
    if (this.stopped || this.stage === Stage.Open) return;
    this.abandon();
    this.failures = 0;
    this.dial();
  }

  stop(): void {
    this.stopped = true;
    this.abandon();
  }

  private dial(): void {
    if (this.stopped || this.ws !== null) return;
    this.clearRetry();
    this.attempts++;
    this.stage = Stage.Connecting;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url, {
        perMessageDeflate: false,
        maxPayload: this.opts.messageBytesMax,
        handshakeTimeout: this.opts.handshakeTimeoutMs,
        skipUTF8Validation: true,
      });
    } catch (err) {
      // A malformed URL: retrying will not help, but a later setUrl may.
      this.stage = Stage.Idle;
      this.opts.events.failed('connect', `bad peer address '${this.url}': ${err instanceof Error ? err.message : String(err)}`);
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    let opened = false;
    let failure: { reason: AuthFailReason | 'connect'; detail: string } | null = null;
    const conn = new WsConn(ws, this.url, this.opts.drainBytes, (c) => {
      if (this.conn === c) this.opts.events.drain(c);
    });
    this.handshakeTimer = setTimeout(() => {
      failure = { reason: 'timeout', detail: `no handshake with node ${this.opts.peerId} within ${this.opts.handshakeTimeoutMs} ms` };
      conn.close(closeCodeHandshakeTimeout, 'handshake timeout');
    }, this.opts.handshakeTimeoutMs);
    ws.on('open', () => {
      opened = true;
    });
    ws.on('error', (err: Error) => {
      if (failure === null) failure = { reason: opened ? 'closed' : 'connect', detail: err.message };
    });
    ws.on('pong', () => {
      this.heardSincePing = true;
    });
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
      if (this.ws !== ws) return;
      this.heardSincePing = true;
      const bytes = toBytes(data);
      switch (this.stage) {
        case Stage.Connecting: {
          const ch = decodeChallenge(bytes);
          if (!ch.ok) {
            failure = { reason: ch.reason, detail: ch.detail };
            conn.close(closeCodeAuthFailed, 'authentication failed');
            return;
          }
          this.dialerNonce = newNonce();
          this.stage = Stage.AwaitWelcome;
          conn.send(encodeHello(this.opts.key, this.opts.selfId, this.opts.peerId, ch.serverNonce, this.dialerNonce));
          return;
        }
        case Stage.AwaitWelcome: {
          const v = verifyWelcome(this.opts.key, this.opts.selfId, this.opts.peerId, this.dialerNonce!, bytes);
          if (!v.ok) {
            failure = { reason: v.reason, detail: v.detail };
            conn.close(closeCodeAuthFailed, 'authentication failed');
            return;
          }
          this.clearHandshakeTimer();
          this.stage = Stage.Open;
          this.failures = 0;
          this.conn = conn;
          this.startPings(ws);
          this.opts.events.connected(conn);
          return;
        }
        case Stage.Open:
          this.opts.events.message(conn, bytes);
          return;
        case Stage.Idle:
          return;
      }
    });
    ws.on('close', (code: number, reason: Buffer) => {
      conn.markClosed();
      if (this.ws !== ws) return;
      const wasOpen = this.stage === Stage.Open;
      this.ws = null;
      this.conn = null;
      this.stage = Stage.Idle;
      this.clearHandshakeTimer();
      this.stopPings();
      if (wasOpen) {
        this.opts.events.disconnected(conn, code, reason.toString());
      } else {
        this.failures++;
        const f = failure ?? { reason: opened ? 'closed' : 'connect', detail: `closed with ${code} ${reason.toString()}`.trimEnd() };
        this.opts.events.failed(f.reason, f.detail);
      }
      this.scheduleRetry();
    });
  }

  private startPings(ws: WebSocket): void {
    this.heardSincePing = true;
    this.pingTimer = setInterval(() => {
      if (!this.heardSincePing) {
        ws.terminate();
        return;
      }
      this.heardSincePing = false;
      try {
        ws.ping();
      } catch {
        ws.terminate();
      }
    }, this.opts.pingIntervalMs);
    this.pingTimer.unref();
  }

  private stopPings(): void {
    if (this.pingTimer !== null) {
      clearInterval(this.pingTimer);
      this.pingTimer = null;
    }
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer !== null) return;
    const waitMs = backoffMs(this.failures, this.opts.backoffMinMs, this.opts.backoffMaxMs, this.random);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.dial();
    }, waitMs);
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer !== null) {
      clearTimeout(this.handshakeTimer);
      this.handshakeTimer = null;
    }
  }

  // abandon drops the current socket without reporting it (stop, or a new address).
  private abandon(): void {
    this.clearRetry();
    this.clearHandshakeTimer();
    this.stopPings();
    const ws = this.ws;
    const conn = this.conn;
    const wasOpen = this.stage === Stage.Open;
    this.ws = null;
    this.conn = null;
    this.stage = Stage.Idle;
    if (ws !== null) {
      ws.removeAllListeners('message');
      ws.on('error', () => {});
      ws.terminate();
    }
    if (wasOpen && conn !== null) {
      conn.markClosed();
      this.opts.events.disconnected(conn, 1001, 'dialer stopped');
    }
  }
}
