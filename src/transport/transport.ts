// The Transport a live node uses: `send(rd.messages)` once per Ready, `onMessages` for what
// arrives. It serves peers on its server (uWebSockets.js, or `ws` when asked), dials the peers
// with higher ids (one connection per pair), authenticates every connection, frames all messages
// of one Ready to one peer as one msgpackr frame, queues per peer with a bound, and injects the
// experiment's network faults on the way out.

import { randomInt } from 'node:crypto';
import type { Message } from '../core/types.js';
import { parseNetworkSpec } from '../faults/index.js';
import type { LatencyDist, LinkPatch, NetworkSpec } from '../faults/index.js';
import { Acceptor } from './acceptor.js';
import type { AuthFailReason } from './auth.js';
import { ClusterKey, closeCodeReplaced } from './auth.js';
import { FrameCodec, FrameError, defaultCodecLimits } from './codec.js';
import type { CodecLimits, Frame } from './codec.js';
import type { Conn } from './connection.js';
import { TransportConfigError } from './errors.js';
import type { ControlReply } from './faults.js';
import { FaultInjector, controlFromPlain } from './faults.js';
import { HrScheduler } from './hr-scheduler.js';
import type { HrSchedulerOptions } from './hr-scheduler.js';
import type { AuthFailCounts, DelayErrorSummary, DropReason, TransportMetrics } from './metrics.js';
import { newAuthFailCounts, prometheusText } from './metrics.js';
import { PeerDialer } from './peer-client.js';
import { PeerLink } from './peer-link.js';
import { createServer } from './peer-server.js';
import type { HttpGetHandler, HttpPostHandler, PeerServer, ServerInfo, ServerKind, SocketHandlers } from './peer-server.js';

export interface TransportLimits {
  // Frames over this are dropped (inbound) or split (outbound; one message over it is dropped).
  readonly frameBytesMax: number;
  // Messages over this close their connection (enforced by the WebSocket library).
  readonly messageBytesMax: number;
  readonly queueFramesMax: number;
  readonly queueBytesMax: number;
  // A socket's own backlog above which we stop writing to it until it drains.
  readonly socketBufferedBytesMax: number;
  readonly handshakeTimeoutMs: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly pingIntervalMs: number;
  readonly delayedMsgsMax: number;
}

export const defaultTransportLimits: TransportLimits = Object.freeze({
  frameBytesMax: 16 * 1024 * 1024,
  messageBytesMax: 32 * 1024 * 1024,
  queueFramesMax: 4096,
  queueBytesMax: 64 * 1024 * 1024,
  socketBufferedBytesMax: 1024 * 1024,
  handshakeTimeoutMs: 3000,
  reconnectMinMs: 50,
  reconnectMaxMs: 2000,
  pingIntervalMs: 5000,
  delayedMsgsMax: 1 << 20,
});

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type TransportLog = (level: LogLevel, msg: string) => void;
export type MessagesHandler = (msgs: Message[], from: number) => void;

export interface TransportOptions {
  readonly nodeId: number;
  readonly cluster: string;
  readonly secret: string | Uint8Array;
  readonly kind: ServerKind;
  readonly host: string;
  // 0 picks a free port (read it back from transport.port).
  readonly port: number;
  // Peer id -> address ("host:port" or a ws:// URL). More can be set later with setPeer.
  readonly peers?: Readonly<Record<number, string>> | ReadonlyMap<number, string>;
  readonly onMessages?: MessagesHandler;
  // The node's client channel and HTTP endpoints, served on the same port.
  readonly client?: SocketHandlers;
  readonly httpGet?: Readonly<Record<string, HttpGetHandler>>;
  readonly httpPost?: Readonly<Record<string, HttpPostHandler>>;
  readonly limits?: Partial<TransportLimits>;
  readonly network?: NetworkSpec;
  // Seed of the fault model's Rng (random when absent; a run records it to replay faults).
  readonly faultSeed?: number;
  readonly scheduler?: HrSchedulerOptions;
  readonly log?: TransportLog;
}

export interface TransportInfo extends ServerInfo {
  readonly nodeId: number;
  readonly cluster: string;
  readonly port: number;
  readonly faultSeed: number;
}

function defaultLog(level: LogLevel, msg: string): void {
  if (level === 'warn' || level === 'error') process.stderr.write(`transport ${level}: ${msg}\n`);
}

// peerUrl turns "host:port" or a ws:// URL into the peer route's URL.
export function peerUrl(address: string): string {
  const withScheme = /^wss?:\/\//.test(address) ? address : `ws://${address}`;
  const u = new URL(withScheme);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/raft';
  return u.toString();
}

export class Transport {
  readonly nodeId: number;
  readonly cluster: string;
  readonly limits: TransportLimits;
  readonly faults: FaultInjector;
  readonly faultSeed: number;
  private readonly key: ClusterKey;
  private readonly codec: FrameCodec;
  private readonly links = new Map<number, PeerLink>();
  private readonly addresses = new Map<number, string>();
  private readonly scheduler: HrScheduler<Message>;
  private readonly acceptor: Acceptor;
  private readonly log: TransportLog;
  private readonly authFailuresUnknown: AuthFailCounts = newAuthFailCounts();
  private readonly logCounts = new Map<string, number>();
  private handler: MessagesHandler | null;
  private server: PeerServer | null = null;
  private started = false;
  private closed = false;
  // Per-send grouping, reused across calls: destination -> its messages of this call.
  private readonly batches = new Map<number, Message[]>();
  private readonly touched: number[] = [];
  private local: Message[] = [];

  private constructor(private readonly opts: TransportOptions) {
    if (!Number.isInteger(opts.nodeId) || opts.nodeId < 1) throw new TransportConfigError(`node id must be a positive integer, got ${opts.nodeId}`);
    this.nodeId = opts.nodeId;
    this.cluster = opts.cluster;
    this.limits = { ...defaultTransportLimits, ...opts.limits };
    const l = this.limits;
    if (!(l.messageBytesMax >= l.frameBytesMax)) throw new TransportConfigError('messageBytesMax must be >= frameBytesMax');
    if (!(l.queueBytesMax >= l.frameBytesMax)) throw new TransportConfigError('queueBytesMax must be >= frameBytesMax (a full frame must fit the queue)');
    this.key = new ClusterKey(opts.cluster, opts.secret);
    const codecLimits: CodecLimits = { ...defaultCodecLimits, frameBytesMax: l.frameBytesMax };
    this.codec = new FrameCodec(codecLimits);
    this.log = opts.log ?? defaultLog;
    this.handler = opts.onMessages ?? null;
    this.faultSeed = opts.faultSeed ?? randomInt(0, 2 ** 47);
    this.faults = new FaultInjector(this.nodeId, this.faultSeed, opts.network);
    this.scheduler = new HrScheduler<Message>((keys, values, n) => this.releaseDelayed(keys, values, n), {
      capacityMax: l.delayedMsgsMax,
      ...opts.scheduler,
    });
    this.acceptor = new Acceptor(this.key, this.nodeId, l.handshakeTimeoutMs, {
      authenticated: (conn, peerId) => this.link(peerId).attach(conn, closeCodeReplaced),
      frame: (conn, peerId, data) => this.receive(this.link(peerId), conn, data),
      drain: (_conn, peerId) => this.links.get(peerId)?.flush(),
      closed: (conn, peerId) => this.links.get(peerId)?.detach(conn),
      failed: (reason, detail, claimedId, remote) => this.authFailed(reason, detail, claimedId, `inbound from ${remote}`),
    });
    if (opts.peers !== undefined) {
      const entries = opts.peers instanceof Map ? [...opts.peers.entries()] : Object.entries(opts.peers).map(([k, v]) => [Number(k), v] as const);
      for (const [id, addr] of entries) this.addresses.set(id, addr);
    }
  }

  // start listens and begins dialing; the returned transport is ready for send().
  static async start(opts: TransportOptions): Promise<Transport> {
    const t = new Transport(opts);
    t.server = await createServer({
      kind: opts.kind,
      host: opts.host,
      port: opts.port,
      peer: t.acceptor,
      ...(opts.client !== undefined ? { client: opts.client } : {}),
      ...(opts.httpGet !== undefined ? { httpGet: opts.httpGet } : {}),
      ...(opts.httpPost !== undefined ? { httpPost: opts.httpPost } : {}),
      messageBytesMax: t.limits.messageBytesMax,
      drainBytes: t.limits.socketBufferedBytesMax,
      log: (msg) => t.log('warn', msg),
    });
    t.started = true;
    for (const [id, addr] of t.addresses) t.setPeer(id, addr);
    return t;
  }

  get port(): number {
    return this.server?.port ?? 0;
  }

  get kind(): ServerKind {
    return this.opts.kind;
  }

  // info is what a run records about the transport that ran.
  get info(): TransportInfo {
    const s = this.server!;
    return { ...s.info, nodeId: this.nodeId, cluster: this.cluster, port: s.port, faultSeed: this.faultSeed };
  }

  onMessages(handler: MessagesHandler): void {
    this.handler = handler;
  }

  // setPeer records where a peer listens; peers with a higher id than ours are dialed.
  setPeer(id: number, address: string): void {
    if (!Number.isInteger(id) || id < 1) throw new TransportConfigError(`peer id must be a positive integer, got ${id}`);
    if (id === this.nodeId) return;
    const url = peerUrl(address);
    this.addresses.set(id, address);
    if (!this.started || this.closed || id < this.nodeId) return;
    const link = this.link(id);
    if (link.dialer !== null) {
      link.dialer.setUrl(url);
      return;
    }
    const l = this.limits;
    link.dialer = new PeerDialer({
      key: this.key,
      selfId: this.nodeId,
      peerId: id,
      url,
      messageBytesMax: l.messageBytesMax,
      drainBytes: l.socketBufferedBytesMax,
      handshakeTimeoutMs: l.handshakeTimeoutMs,
      backoffMinMs: l.reconnectMinMs,
      backoffMaxMs: l.reconnectMaxMs,
      pingIntervalMs: l.pingIntervalMs,
      events: {
        connected: (conn) => link.attach(conn, closeCodeReplaced),
        message: (conn, data) => this.receive(link, conn, data),
        drain: () => link.flush(),
        disconnected: (conn) => link.detach(conn),
        failed: (reason, detail) => {
          link.counters.dialFailures++;
          if (reason !== 'connect' && reason !== 'closed') link.counters.authFailures[reason]++;
          this.logLimited(`dial:${id}:${reason}`, reason === 'connect' || reason === 'closed' ? 'info' : 'warn', `dialing node ${id} at ${url}: ${reason}: ${detail}`);
        },
      },
    });
    link.dialer.start();
  }

  removePeer(id: number): void {
    this.addresses.delete(id);
    const link = this.links.get(id);
    if (link === undefined) return;
    link.close();
    this.links.delete(id);
  }

  connected(peer: number): boolean {
    return this.links.get(peer)?.connected ?? false;
  }

  // send transmits one Ready's messages: one frame per destination, every socket corked once.
  send(msgs: readonly Message[]): void {
    if (this.closed) return;
    const faulty = this.faults.active;
    const nowUs = faulty ? this.scheduler.nowUs() : 0;
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!;
      const to = m.to;
      if (to === this.nodeId) {
        this.local.push(m);
        continue;
      }
      if (faulty) {
        const fate = this.faults.decide(to);
        if (fate.dropped) {
          this.drop(this.link(to), fate.dropReason === 'partition' ? 'fault-partition' : 'fault-loss', 0, 1);
          continue;
        }
        if (fate.copies === 2) this.hold(to, m, nowUs + fate.duplicateDelayUs);
        if (fate.delayUs > 0) {
          this.hold(to, m, nowUs + fate.delayUs);
          continue;
        }
      }
      this.batchFor(to).push(m);
    }
    this.flushBatches();
    if (this.local.length > 0) this.deliverLocal();
  }

  // Fault control (the control channel calls control(); the rest are for code and tests).
  control(command: unknown): ControlReply {
    return controlFromPlain(this.faults, command);
  }

  applyFaults(network: NetworkSpec | unknown): void {
    this.faults.apply(isNetworkSpec(network) ? network : parseNetworkSpec(network));
  }

  partition(groups: readonly (readonly number[])[]): number {
    return this.faults.partition(groups);
  }

  heal(id?: number): number {
    return this.faults.heal(id);
  }

  setLink(from: number | '*', to: number | '*', patch: LinkPatch): void {
    this.faults.setLink(from, to, patch);
  }

  setLinkLatency(from: number | '*', to: number | '*', latency: LatencyDist): void {
    this.faults.setLink(from, to, { latency });
  }

  delayError(): DelayErrorSummary {
    return this.scheduler.errorSummary();
  }

  resetDelayError(): void {
    this.scheduler.resetErrorStats();
  }

  metrics(): TransportMetrics {
    const peers = [...this.links.values()].sort((a, b) => a.peerId - b.peerId).map((l) => l.snapshot());
    return {
      nodeId: this.nodeId,
      kind: this.opts.kind,
      peers,
      authFailuresUnknown: { ...this.authFailuresUnknown },
      delayedPending: this.scheduler.pending,
      delayError: this.scheduler.errorSummary(),
    };
  }

  metricsText(): string {
    return prometheusText(this.metrics());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.scheduler.stop();
    this.acceptor.closeAll();
    for (const link of this.links.values()) link.close();
    if (this.server !== null) await this.server.close();
  }

  // ---------------------------------------------------------------------------------------------

  private link(peerId: number): PeerLink {
    let link = this.links.get(peerId);
    if (link === undefined) {
      link = new PeerLink(
        peerId,
        { framesMax: this.limits.queueFramesMax, bytesMax: this.limits.queueBytesMax },
        this.limits.socketBufferedBytesMax,
        (l, reason, frames, msgs) => this.drop(l, reason, frames, msgs),
      );
      this.links.set(peerId, link);
    }
    return link;
  }

  private batchFor(to: number): Message[] {
    let b = this.batches.get(to);
    if (b === undefined) {
      b = [];
      this.batches.set(to, b);
    }
    if (b.length === 0) this.touched.push(to);
    return b;
  }

  private hold(to: number, m: Message, deadlineUs: number): void {
    if (!this.scheduler.schedule(deadlineUs, to, m)) this.drop(this.link(to), 'delay-full', 0, 1);
  }

  private releaseDelayed(keys: readonly number[], values: readonly Message[], n: number): void {
    if (this.closed) return;
    for (let i = 0; i < n; i++) this.batchFor(keys[i]!).push(values[i]!);
    this.flushBatches();
  }

  private flushBatches(): void {
    const touched = this.touched;
    for (let i = 0; i < touched.length; i++) {
      const to = touched[i]!;
      const batch = this.batches.get(to)!;
      const link = this.link(to);
      if (to > this.nodeId && !this.addresses.has(to)) {
        this.drop(link, 'no-address', 1, batch.length);
      } else {
        this.encodeInto(link, batch);
        link.flush();
      }
      batch.length = 0;
    }
    touched.length = 0;
  }

  // encodeInto queues msgs as one frame, or, when that frame would be over the limit, as halves
  // (recursively: at most log2(n) levels); a single message over the limit is dropped.
  private encodeInto(link: PeerLink, msgs: Message[]): void {
    const frame: Frame = { cluster: this.cluster, from: this.nodeId, msgs };
    const bytes = this.codec.encode(frame);
    if (bytes.byteLength <= this.limits.frameBytesMax) {
      link.enqueue(bytes, msgs.length);
      return;
    }
    if (msgs.length === 1) {
      this.drop(link, 'oversize-out', 1, 1);
      this.logLimited(`oversize-out:${link.peerId}`, 'error', `a message to node ${link.peerId} encodes to ${bytes.byteLength} bytes, over the frame limit of ${this.limits.frameBytesMax}: dropped`);
      return;
    }
    const mid = msgs.length >> 1;
    this.encodeInto(link, msgs.slice(0, mid));
    this.encodeInto(link, msgs.slice(mid));
  }

  private deliverLocal(): void {
    const msgs = this.local;
    this.local = [];
    queueMicrotask(() => {
      if (!this.closed) this.dispatch(msgs, this.nodeId);
    });
  }

  private receive(link: PeerLink, _conn: Conn, data: Uint8Array): void {
    if (this.closed) return;
    const c = link.counters;
    c.framesIn++;
    c.bytesIn += data.byteLength;
    let frame: Frame;
    try {
      frame = this.codec.decode(data);
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      this.drop(link, err.reason, 1, 0);
      this.logLimited(`in:${link.peerId}:${err.reason}`, 'warn', `dropped a frame from node ${link.peerId} (${data.byteLength} bytes): ${err.message}`);
      return;
    }
    if (frame.cluster !== this.cluster) {
      this.drop(link, 'wrong-cluster', 1, frame.msgs.length);
      this.logLimited(`in:${link.peerId}:wrong-cluster`, 'warn', `dropped a frame from node ${link.peerId} naming cluster '${frame.cluster}', not '${this.cluster}'`);
      return;
    }
    if (frame.from !== link.peerId) {
      this.drop(link, 'wrong-sender', 1, frame.msgs.length);
      this.logLimited(`in:${link.peerId}:wrong-sender`, 'warn', `dropped a frame on node ${link.peerId}'s connection claiming to be from node ${frame.from}`);
      return;
    }
    let msgs = frame.msgs;
    // Per message: the sender must be the authenticated peer, the recipient us. Copy only when
    // something has to go.
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!;
      if (m.from === link.peerId && m.to === this.nodeId) continue;
      const kept: Message[] = msgs.slice(0, i);
      for (let j = i; j < msgs.length; j++) {
        const x = msgs[j]!;
        if (x.from !== link.peerId) {
          this.drop(link, 'wrong-sender', 0, 1);
          this.logLimited(`in:${link.peerId}:wrong-sender`, 'warn', `dropped a message from node ${link.peerId} claiming to be from node ${x.from}`);
        } else if (x.to !== this.nodeId) {
          this.drop(link, 'wrong-recipient', 0, 1);
          this.logLimited(`in:${link.peerId}:wrong-recipient`, 'warn', `dropped a message from node ${link.peerId} addressed to node ${x.to}`);
        } else {
          kept.push(x);
        }
      }
      msgs = kept;
      break;
    }
    if (msgs.length === 0) return;
    c.msgsIn += msgs.length;
    this.dispatch(msgs, link.peerId);
  }

  private dispatch(msgs: Message[], from: number): void {
    const h = this.handler;
    if (h === null) return;
    try {
      h(msgs, from);
    } catch (err) {
      // A throwing handler is the node's bug, not the peer's: crash loudly, but outside the
      // socket library's callback.
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  private drop(link: PeerLink, reason: DropReason, frames: number, msgs: number): void {
    link.counters.droppedFrames[reason] += frames;
    link.counters.droppedMsgs[reason] += msgs;
    if (reason === 'queue-full') {
      this.logLimited(`out:${link.peerId}:queue-full`, 'warn', `queue to node ${link.peerId} is full (${link.queue.length} frames, ${link.queue.byteLength} bytes): dropped its oldest`);
    }
  }

  private authFailed(reason: AuthFailReason, detail: string, claimedId: number | null, where: string): void {
    const known = claimedId !== null && (this.links.has(claimedId) || this.addresses.has(claimedId));
    if (known) this.link(claimedId).counters.authFailures[reason]++;
    else this.authFailuresUnknown[reason]++;
    this.logLimited(`auth:${known ? claimedId : 'unknown'}:${reason}`, 'warn', `refused a connection (${where}): ${reason}: ${detail}`);
  }

  // logLimited logs the 1st, 2nd, 4th, 8th... occurrence of a kind of event, so that a flood of
  // bad frames costs a few lines, not one per frame.
  private logLimited(kind: string, level: LogLevel, msg: string): void {
    const n = (this.logCounts.get(kind) ?? 0) + 1;
    if (this.logCounts.size < 4096 || this.logCounts.has(kind)) this.logCounts.set(kind, n);
    if ((n & (n - 1)) === 0) this.log(level, n === 1 ? msg : `${msg} (${n} times so far)`);
  }
}

function isNetworkSpec(v: unknown): v is NetworkSpec {
  return typeof v === 'object' && v !== null && 'link' in v && 'overrides' in v && 'partitions' in v;
}
