// Shared by the transport tests: loopback transports on free ports, bounded waits, message
// builders, and a raw peer that speaks the handshake by hand (to play a stranger, a member with
// the wrong secret, a misbehaving member, or a stalled one).

import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import type { Message } from '../../src/core/types.js';
import { MessageType, newEntry, newMessage } from '../../src/core/types.js';
import {
  ClusterKey,
  Transport,
  decodeChallenge,
  encodeHello,
  newNonce,
  verifyWelcome,
} from '../../src/transport/index.js';
import type { ServerKind, TransportLimits, TransportLog, TransportOptions } from '../../src/transport/index.js';

export const cluster = 'test-cluster';
export const secret = 'a-test-secret-of-enough-bytes';
export const host = '127.0.0.1';
export const kinds: readonly ServerKind[] = ['uws', 'ws'];

// A log that keeps lines for assertions instead of printing them.
export function memoryLog(): { lines: string[]; log: TransportLog } {
  const lines: string[] = [];
  return { lines, log: (level, msg) => { if (lines.length < 1000) lines.push(`${level}: ${msg}`); } };
}

export interface Received {
  readonly msgs: Message[];
  readonly from: number;
  readonly atMs: number;
}

export interface Node {
  readonly t: Transport;
  readonly received: Received[];
  readonly lines: string[];
}

export async function startNode(
  nodeId: number,
  kind: ServerKind,
  extra: Partial<TransportOptions> = {},
  limits: Partial<TransportLimits> = {},
): Promise<Node> {
  const received: Received[] = [];
  const { lines, log } = memoryLog();
  const t = await Transport.start({
    nodeId,
    cluster,
    secret,
    kind,
    host,
    port: 0,
    log,
    onMessages: (msgs, from) => received.push({ msgs, from, atMs: performance.now() }),
    limits: { reconnectMinMs: 20, reconnectMaxMs: 200, ...limits },
    faultSeed: 1,
    ...extra,
  });
  return { t, received, lines };
}

// startCluster starts n nodes (ids 1..n) and tells each where the others are.
export async function startCluster(n: number, kind: ServerKind, limits: Partial<TransportLimits> = {}): Promise<Node[]> {
  const nodes: Node[] = [];
  for (let id = 1; id <= n; id++) nodes.push(await startNode(id, kind, {}, limits));
  for (const a of nodes) for (const b of nodes) if (a !== b) a.t.setPeer(b.t.nodeId, `${host}:${b.t.port}`);
  await waitFor(() => nodes.every((a) => nodes.every((b) => a === b || a.t.connected(b.t.nodeId))), 'cluster connected');
  return nodes;
}

export async function stopAll(nodes: readonly (Node | null)[]): Promise<void> {
  for (const n of nodes) if (n !== null) await n.t.close();
}

// waitFor polls cond every 5 ms for at most timeoutMs (bounded; fails with what it waited for).
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(5);
  }
}

export function msg(from: number, to: number, index: number, dataBytes = 16): Message {
  const data = new Uint8Array(dataBytes);
  for (let i = 0; i < dataBytes; i++) data[i] = (index + i) & 0xff;
  return newMessage({
    type: MessageType.MsgApp,
    from,
    to,
    term: 3,
    logTerm: 2,
    index,
    commit: index,
    entries: [newEntry({ term: 3, index: index + 1, data })],
  });
}

export function receivedMsgs(n: Node): Message[] {
  return n.received.flatMap((r) => r.msgs);
}

// RawPeer is a hand-driven WebSocket to a node's /raft route.
export class RawPeer {
  readonly inbox: Uint8Array[] = [];
  closeCode: number | null = null;
  private opened = false;

  private constructor(readonly ws: WebSocket) {
    ws.on('open', () => { this.opened = true; });
    ws.on('message', (d: Buffer) => this.inbox.push(new Uint8Array(d)));
    ws.on('close', (code: number) => { this.closeCode = code; });
    ws.on('error', () => {});
  }

  static async connect(port: number, path = '/raft'): Promise<RawPeer> {
    const p = new RawPeer(new WebSocket(`ws://${host}:${port}${path}`, { perMessageDeflate: false }));
    await waitFor(() => p.opened || p.closeCode !== null, 'raw peer open');
    return p;
  }

  async next(): Promise<Uint8Array> {
    await waitFor(() => this.inbox.length > 0 || this.closeCode !== null, 'a message from the node');
    const m = this.inbox.shift();
    if (m === undefined) throw new Error(`closed (${this.closeCode}) before a message arrived`);
    return m;
  }

  // handshake completes (or attempts) the dialer's side with the given identity.
  async handshake(opts: { selfId: number; serverId: number; secret?: string; cluster?: string }): Promise<boolean> {
    const key = new ClusterKey(opts.cluster ?? cluster, opts.secret ?? secret);
    const ch = decodeChallenge(await this.next());
    if (!ch.ok) throw new Error(`bad challenge: ${ch.detail}`);
    const nonce = newNonce();
    this.ws.send(encodeHello(key, opts.selfId, opts.serverId, ch.serverNonce, nonce));
    await waitFor(() => this.inbox.length > 0 || this.closeCode !== null, 'welcome or close');
    const w = this.inbox.shift();
    return w !== undefined && verifyWelcome(key, opts.selfId, opts.serverId, nonce, w).ok;
  }

  async waitClosed(): Promise<number> {
    await waitFor(() => this.closeCode !== null, 'the node to close the connection');
    return this.closeCode!;
  }

  close(): void {
    this.ws.terminate();
  }
}
