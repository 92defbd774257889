// The accepting side of peer connections: the server's /raft handlers. Each new socket gets a
// fresh challenge; until it answers with a valid hello nothing it sends is read as Raft traffic,
// and if it does not answer in time, or answers wrongly, it is closed and counted. An
// authenticated socket is handed to the transport with the peer id it proved.

import type { AuthFailReason, ClusterKey } from './auth.js';
import { closeCodeAuthFailed, closeCodeHandshakeTimeout, encodeChallenge, encodeWelcome, newNonce, verifyHello } from './auth.js';
import type { Conn } from './connection.js';
import type { SocketHandlers } from './peer-server.js';

export interface AcceptorEvents {
  authenticated(conn: Conn, peerId: number): void;
  // data is valid only during the call.
  frame(conn: Conn, peerId: number, data: Uint8Array): void;
  drain(conn: Conn, peerId: number): void;
  closed(conn: Conn, peerId: number): void;
  // claimedId: the id the stranger claimed, when it gave one (unproven).
  failed(reason: AuthFailReason, detail: string, claimedId: number | null, remoteAddress: string): void;
}

interface Pending {
  readonly nonce: Uint8Array;
  timer: NodeJS.Timeout | null;
  peerId: number | null;
  failed: boolean;
}

// Sockets waiting for their handshake, at most; more are refused at once (a flood of strangers
// must not hold timers and nonces without bound).
export const pendingHandshakesMax = 1024;

export class Acceptor implements SocketHandlers {
  private readonly states = new Map<Conn, Pending>();
  private pendingCount = 0;

  constructor(
    private readonly key: ClusterKey,
    private readonly selfId: number,
    private readonly handshakeTimeoutMs: number,
    private readonly events: AcceptorEvents,
  ) {}

  open(conn: Conn): void {
    const st: Pending = { nonce: newNonce(), timer: null, peerId: null, failed: false };
    this.states.set(conn, st);
    if (this.pendingCount >= pendingHandshakesMax) {
      st.failed = true;
      this.events.failed('timeout', `over ${pendingHandshakesMax} pending handshakes`, null, conn.remoteAddress);
      conn.close(closeCodeHandshakeTimeout, 'busy');
      return;
    }
    this.pendingCount++;
    st.timer = setTimeout(() => {
      st.timer = null;
      if (st.peerId === null && !st.failed) this.fail(conn, st, 'timeout', `no hello within ${this.handshakeTimeoutMs} ms`, null, closeCodeHandshakeTimeout);
    }, this.handshakeTimeoutMs);
    conn.send(encodeChallenge(st.nonce));
  }

  message(conn: Conn, data: Uint8Array): void {
    const st = this.states.get(conn);
    if (st === undefined || st.failed) return;
    if (st.peerId !== null) {
      this.events.frame(conn, st.peerId, data);
      return;
    }
    const v = verifyHello(this.key, this.selfId, st.nonce, data);
    if (!v.ok) {
      this.fail(conn, st, v.reason, v.detail, v.claimedId);
      return;
    }
    this.settle(st);
    st.peerId = v.dialerId;
    conn.send(encodeWelcome(this.key, this.selfId, v.dialerId, v.dialerNonce));
    this.events.authenticated(conn, v.dialerId);
  }

  drain(conn: Conn): void {
    const st = this.states.get(conn);
    if (st?.peerId != null) this.events.drain(conn, st.peerId);
  }

  close(conn: Conn, code: number, reason: string): void {
    const st = this.states.get(conn);
    if (st === undefined) return;
    this.states.delete(conn);
    this.settle(st);
    if (st.peerId !== null) {
      this.events.closed(conn, st.peerId);
    } else if (!st.failed) {
      this.events.failed('closed', `closed during the handshake (${code} ${reason})`.trimEnd(), null, conn.remoteAddress);
    }
  }

  // closeAll ends every socket that has not authenticated (shutdown); authenticated ones belong
  // to their peer links.
  closeAll(): void {
    for (const [conn, st] of this.states) {
      this.settle(st);
      if (st.peerId === null) {
        st.failed = true;
        conn.close(closeCodeAuthFailed, 'shutting down');
      }
    }
  }

  private settle(st: Pending): void {
    if (st.timer !== null) {
      clearTimeout(st.timer);
      st.timer = null;
    }
    if (st.peerId === null && !st.failed) this.pendingCount--;
  }

  private fail(conn: Conn, st: Pending, reason: AuthFailReason, detail: string, claimedId: number | null, code = closeCodeAuthFailed): void {
    this.settle(st);
    st.failed = true;
    this.events.failed(reason, detail, claimedId, conn.remoteAddress);
    // The stranger learns only that it failed, not why.
    conn.close(code, 'authentication failed');
  }
}
