// The node's side of the client channel (/client; protocol in client-protocol.ts): authenticates
// each connection with a challenge over the cluster secret, reads requests, hands them to the
// node, and writes the answers back in the request's encoding.
//
// Bounds: a connection that does not authenticate within handshakeTimeoutMs is closed; at most
// pendingPerConnMax requests wait per connection (more are answered `busy`); a connection whose
// unread answers pile up past bufferedBytesMax is closed (a client that does not read must not
// hold the node's memory); after badFramesMax bad frames a connection is closed. Nothing a client
// sends can stop the node: every frame is validated before it is used.

import { timingSafeEqual } from 'node:crypto';
import { newNonce } from '../transport/index.js';
import type { Conn, SocketHandlers } from '../transport/index.js';
import {
  ClientFrameError,
  clientLabel,
  closeCodeClientAuthFailed,
  closeCodeClientHandshakeTimeout,
  closeCodeClientOverloaded,
  decodeFrame,
  encodeFrame,
  parseHello,
  parseRequest,
  type ClientReply,
  type FrameEncoding,
} from './client-protocol.js';
import type { Answer, LiveNode } from './live-node.js';
import type { NodeLog } from './log.js';

export const handshakeTimeoutMs = 3000;
export const pendingPerConnMax = 1024;
export const bufferedBytesMax = 64 * 1024 * 1024;
export const badFramesMax = 16;
export const connectionsMax = 4096;

type RefusalReason = 'unauthenticated' | 'mac' | 'cluster' | 'timeout' | 'bad-frame' | 'overloaded' | 'too-many-connections';

interface ConnState {
  readonly nonce: Uint8Array;
  authed: boolean;
  closed: boolean;
  timer: NodeJS.Timeout | null;
  pending: number;
  badFrames: number;
}

export interface ClientApiStats {
  connections: number;
  accepted: number;
  refused: Record<RefusalReason, number>;
}

export class ClientApi implements SocketHandlers {
  private readonly conns = new Map<Conn, ConnState>();
  private accepted = 0;
  private readonly refused: Record<RefusalReason, number> = {
    unauthenticated: 0,
    mac: 0,
    cluster: 0,
    timeout: 0,
    'bad-frame': 0,
    overloaded: 0,
    'too-many-connections': 0,
  };

  constructor(
    private readonly node: LiveNode,
    private readonly log: NodeLog,
  ) {}

  stats(): ClientApiStats {
    return { connections: this.conns.size, accepted: this.accepted, refused: { ...this.refused } };
  }

  open(conn: Conn): void {
    const st: ConnState = { nonce: newNonce(), authed: false, closed: false, timer: null, pending: 0, badFrames: 0 };
    this.conns.set(conn, st);
    if (this.conns.size > connectionsMax) {
      this.refuse(conn, st, 'too-many-connections', closeCodeClientOverloaded, `over ${connectionsMax} client connections`);
      return;
    }
    this.accepted++;
    st.timer = setTimeout(() => {
      st.timer = null;
      if (!st.authed) this.refuse(conn, st, 'timeout', closeCodeClientHandshakeTimeout, `no hello within ${handshakeTimeoutMs} ms`);
    }, handshakeTimeoutMs);
    conn.send(encodeFrame({ op: 'challenge', nonce: Buffer.from(st.nonce).toString('hex'), node: this.node.id }, 'msgpack'));
  }

  message(conn: Conn, data: Uint8Array): void {
    const st = this.conns.get(conn);
    if (st === undefined || st.closed) return;
    let frame: { value: Record<string, unknown>; encoding: FrameEncoding };
    try {
      frame = decodeFrame(data);
    } catch (err) {
      if (!(err instanceof ClientFrameError)) throw err;
      if (!st.authed) {
        this.refuse(conn, st, 'unauthenticated', closeCodeClientAuthFailed, err.message);
        return;
      }
      this.badFrame(conn, st, 0, err.message, data[0] === 0x7b ? 'json' : 'msgpack');
      return;
    }
    if (!st.authed) {
      this.hello(conn, st, frame.value, frame.encoding);
      return;
    }
    const parsed = parseRequest(frame.value);
    if ('problem' in parsed) {
      this.badFrame(conn, st, parsed.id, parsed.problem, frame.encoding);
      return;
    }
    const req = parsed.req;
    const enc = frame.encoding;
    if (req.op === 'status') {
      this.node.countRequest('status', 'ok');
      this.reply(conn, st, { id: req.id, ok: true, status: this.node.statusReply() }, enc);
      return;
    }
    if (st.pending >= pendingPerConnMax) {
      this.node.countRequest(req.op, 'busy');
      this.reply(conn, st, { id: req.id, ok: false, error: 'busy', leader: this.node.leader }, enc);
      return;
    }
    st.pending++;
    const id = req.id;
    const op = req.op;
    const answer: Answer = (r) => {
      st.pending--;
      this.node.countRequest(op, r.ok ? 'ok' : r.error);
      if (st.closed) return;
      if (r.ok) this.reply(conn, st, r.value === undefined ? { id, ok: true } : { id, ok: true, value: r.value }, enc);
      else this.reply(conn, st, { id, ok: false, error: r.error, leader: r.leader }, enc);
    };
    if (op === 'put') this.node.put(req.clientId, req.seq, req.key, req.value, answer);
    else this.node.get(req.key, answer);
  }

  drain(_conn: Conn): void {
    // Answers are written as they come; the buffered-bytes bound closes a client that never reads.
  }

  close(conn: Conn, _code: number, _reason: string): void {
    const st = this.conns.get(conn);
    if (st === undefined) return;
    st.closed = true;
    if (st.timer !== null) clearTimeout(st.timer);
    this.conns.delete(conn);
  }

  private hello(conn: Conn, st: ConnState, v: Record<string, unknown>, encoding: FrameEncoding): void {
    const h = parseHello(v);
    if (h === null) {
      this.refuse(conn, st, 'unauthenticated', closeCodeClientAuthFailed, 'first frame is not a hello');
      return;
    }
    const key = this.node.key;
    if (h.cluster !== key.cluster) {
      this.refuse(conn, st, 'cluster', closeCodeClientAuthFailed, `hello for cluster '${h.cluster.slice(0, 64)}'`);
      return;
    }
    const want = key.mac(clientLabel, st.nonce, 0, this.node.id);
    if (!timingSafeEqual(Buffer.from(h.mac, 'hex'), want)) {
      this.refuse(conn, st, 'mac', closeCodeClientAuthFailed, 'wrong secret');
      return;
    }
    st.authed = true;
    if (st.timer !== null) {
      clearTimeout(st.timer);
      st.timer = null;
    }
    const s = this.node.statusReply();
    this.send(conn, st, encodeFrame({ op: 'welcome', node: s.node, leader: s.leader, term: s.term }, encoding));
  }

  private badFrame(conn: Conn, st: ConnState, id: number, problem: string, encoding: FrameEncoding): void {
    this.refused['bad-frame']++;
    st.badFrames++;
    this.log.limited('client-bad-frame', 'warn', 'bad client frame', { remote: conn.remoteAddress, problem });
    this.reply(conn, st, { id, ok: false, error: `bad request: ${problem}` }, encoding);
    if (st.badFrames >= badFramesMax) this.refuse(conn, st, 'bad-frame', closeCodeClientAuthFailed, `${badFramesMax} bad frames`);
  }

  private refuse(conn: Conn, st: ConnState, reason: RefusalReason, code: number, detail: string): void {
    if (reason !== 'bad-frame') this.refused[reason]++;
    this.log.limited(`client-refused:${reason}`, 'warn', 'refused a client connection', { reason, detail, remote: conn.remoteAddress });
    st.closed = true;
    if (st.timer !== null) {
      clearTimeout(st.timer);
      st.timer = null;
    }
    // The stranger learns that it failed, not why.
    conn.close(code, reason === 'overloaded' || reason === 'too-many-connections' ? 'overloaded' : 'authentication failed');
  }

  private reply(conn: Conn, st: ConnState, r: ClientReply, encoding: FrameEncoding): void {
    this.send(conn, st, encodeFrame(r, encoding));
  }

  private send(conn: Conn, st: ConnState, bytes: Uint8Array): void {
    if (st.closed || conn.closed) return;
    if (conn.bufferedBytes() > bufferedBytesMax) {
      this.refuse(conn, st, 'overloaded', closeCodeClientOverloaded, `over ${bufferedBytesMax} bytes of unread answers`);
      return;
    }
    conn.send(bytes);
  }
}
