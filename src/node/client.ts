// The client library of live clusters, used by the tests, the live load generator and the `frb`
// commands.
//
//   NodeConnection  one authenticated WebSocket to one node's /client channel; requests are
//                   multiplexed on it by id, each with a deadline.
//   ConnectionPool  lazily connected NodeConnections by node id, reconnected after a failure.
//   KvSession       one client session (a client id with its sequence numbers): one operation
//                   outstanding at a time; a write is retried with the same (clientId, seq), on the
//                   same node or another, until a node answers ok or the operation times out, so
//                   the KV session table makes it take effect at most once. Optionally records
//                   every operation in a History for the linearizability checker.
//   runClosedLoop / runOpenLoop   load helpers that record per-operation latency: open loop
//                   measures from each operation's intended send time (coordinated omission
//                   corrected) and keeps the uncorrected time from the actual send as well.

import { randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { ClusterKey } from '../transport/index.js';
import type { History } from '../sim/history.js';
import {
  clientFrameBytesMax,
  clientLabel,
  clientPath,
  decodeFrame,
  encodeFrame,
  type ClientReply,
  type NodeStatusReply,
} from './client-protocol.js';
import type { NodeAddress } from './config.js';

// What a client needs to know of a cluster: a subset of ClusterConfig.
export interface ClusterTarget {
  readonly clusterId: string;
  readonly secret: string;
  readonly nodes: readonly NodeAddress[];
}

export class ClientError extends Error {
  override name = 'ClientError';
}

export type Clock = () => number;

// monotonicClockUs: microseconds on the process's monotonic clock.
export const monotonicClockUs: Clock = () => performance.now() * 1000;

export interface ConnectOptions {
  readonly connectTimeoutMs?: number;
  // Requests pending on one connection at most; more are answered `busy` locally.
  readonly pendingMax?: number;
}

interface Pending {
  resolve: (r: ClientReply) => void;
  deadlineMs: number;
}

const sweepMs = 20;

export class NodeConnection {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private isClosed = false;
  private sweeper: NodeJS.Timeout | null = null;
  closeCode = 0;
  // What the node said when it welcomed us.
  welcome: { leader: number; term: number } = { leader: 0, term: 0 };

  private constructor(
    readonly nodeId: number,
    private readonly ws: WebSocket,
    private readonly pendingMax: number,
  ) {}

  get closed(): boolean {
    return this.isClosed;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  // connect opens and authenticates a connection; rejects with a ClientError saying why not.
  static connect(target: ClusterTarget, nodeId: number, opts: ConnectOptions = {}): Promise<NodeConnection> {
    const addr = target.nodes.find((n) => n.id === nodeId);
    if (addr === undefined) return Promise.reject(new ClientError(`no node ${nodeId} in cluster ${target.clusterId}`));
    const key = new ClusterKey(target.clusterId, target.secret);
    const timeoutMs = opts.connectTimeoutMs ?? 3000;
    const ws = new WebSocket(`ws://${addr.host}:${addr.port}${clientPath}`, { perMessageDeflate: false, maxPayload: clientFrameBytesMax * 2, handshakeTimeout: timeoutMs });
    const conn = new NodeConnection(nodeId, ws, opts.pendingMax ?? 4096);
    return new Promise<NodeConnection>((resolve, reject) => {
      let phase: 'challenge' | 'welcome' | 'open' = 'challenge';
      let settled = false;
      const fail = (why: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.terminate();
        reject(new ClientError(`node ${nodeId} (${addr.host}:${addr.port}): ${why}`));
      };
      const timer = setTimeout(() => fail(`no welcome within ${timeoutMs} ms`), timeoutMs);
      ws.on('error', (err: Error) => fail(err.message));
      ws.on('close', (code: number) => {
        conn.onClose(code);
        fail(code === 4001 ? 'authentication failed' : `closed (${code})`);
      });
      ws.on('message', (data: Buffer) => {
        if (phase === 'open') {
          conn.onMessage(data);
          return;
        }
        let v: Record<string, unknown>;
        try {
          v = decodeFrame(data).value;
        } catch (err) {
          fail(`bad frame during the handshake: ${(err as Error).message}`);
          return;
        }
        if (phase === 'challenge') {
          if (v['op'] !== 'challenge' || typeof v['nonce'] !== 'string' || !/^[0-9a-f]{64}$/.test(v['nonce'])) {
            fail('expected a challenge');
            return;
          }
          const mac = key.mac(clientLabel, Buffer.from(v['nonce'], 'hex'), 0, nodeId).toString('hex');
          phase = 'welcome';
          ws.send(encodeFrame({ op: 'hello', cluster: target.clusterId, mac }, 'msgpack'));
          return;
        }
        if (v['op'] !== 'welcome') {
          fail('expected a welcome');
          return;
        }
        conn.welcome = { leader: typeof v['leader'] === 'number' ? v['leader'] : 0, term: typeof v['term'] === 'number' ? v['term'] : 0 };
        phase = 'open';
        settled = true;
        clearTimeout(timer);
        conn.sweeper = setInterval(() => conn.sweep(), sweepMs);
        conn.sweeper.unref();
        resolve(conn);
      });
    });
  }

  // request sends one request and resolves with the node's reply, or with a local one:
  // { ok: false, error: 'timeout' } (no answer in time), 'disconnected', 'busy'.
  request(body: Record<string, unknown>, timeoutMs: number): Promise<ClientReply> {
    const id = this.nextId++;
    if (this.isClosed) return Promise.resolve({ id, ok: false, error: 'disconnected', leader: 0 });
    if (this.pending.size >= this.pendingMax) return Promise.resolve({ id, ok: false, error: 'busy', leader: 0 });
    return new Promise<ClientReply>((resolve) => {
      this.pending.set(id, { resolve, deadlineMs: Date.now() + timeoutMs });
      this.ws.send(encodeFrame({ ...body, id }, 'msgpack'));
    });
  }

  async status(timeoutMs = 2000): Promise<NodeStatusReply> {
    const r = await this.request({ op: 'status' }, timeoutMs);
    if (!r.ok || r.status === undefined) throw new ClientError(`node ${this.nodeId}: status: ${r.error ?? 'no status in reply'}`);
    return r.status;
  }

  // sendRaw sends bytes as they are (tests of the node's refusals).
  sendRaw(bytes: Uint8Array | string): void {
    this.ws.send(bytes);
  }

  close(): void {
    if (this.isClosed) return;
    this.ws.close(1000, 'bye');
    this.onClose(1000);
    const ws = this.ws;
    setTimeout(() => ws.terminate(), 1000).unref();
  }

  private onMessage(data: Buffer): void {
    let v: Record<string, unknown>;
    try {
      v = decodeFrame(data).value;
    } catch {
      return;
    }
    const id = v['id'];
    if (typeof id !== 'number') return;
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    p.resolve(v as unknown as ClientReply);
  }

  private onClose(code: number): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeCode = code;
    if (this.sweeper !== null) clearInterval(this.sweeper);
    for (const [id, p] of this.pending) p.resolve({ id, ok: false, error: 'disconnected', leader: 0 });
    this.pending.clear();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, p] of this.pending) {
      if (p.deadlineMs <= now) {
        this.pending.delete(id);
        p.resolve({ id, ok: false, error: 'timeout', leader: 0 });
      }
    }
  }
}

// ConnectionPool: one connection per node, made on first use and remade after it closes. A node
// that cannot be reached is not retried for `downBackoffMs`.
export class ConnectionPool {
  private readonly conns = new Map<number, Promise<NodeConnection>>();
  private readonly downUntil = new Map<number, number>();
  private isClosed = false;

  constructor(
    readonly target: ClusterTarget,
    private readonly opts: ConnectOptions & { downBackoffMs?: number } = {},
  ) {}

  get nodeIds(): number[] {
    return this.target.nodes.map((n) => n.id);
  }

  async get(nodeId: number): Promise<NodeConnection> {
    if (this.isClosed) throw new ClientError('connection pool closed');
    const existing = this.conns.get(nodeId);
    if (existing !== undefined) {
      const c = await existing.catch(() => null);
      if (c !== null && !c.closed) return c;
      if (this.conns.get(nodeId) === existing) this.conns.delete(nodeId);
      return this.get(nodeId);
    }
    const until = this.downUntil.get(nodeId) ?? 0;
    if (Date.now() < until) throw new ClientError(`node ${nodeId} was unreachable moments ago`);
    const p = NodeConnection.connect(this.target, nodeId, this.opts);
    this.conns.set(nodeId, p);
    try {
      const c = await p;
      if (this.isClosed) c.close();
      return c;
    } catch (err) {
      if (this.conns.get(nodeId) === p) this.conns.delete(nodeId);
      this.downUntil.set(nodeId, Date.now() + (this.opts.downBackoffMs ?? 100));
      throw err;
    }
  }

  close(): void {
    this.isClosed = true;
    for (const p of this.conns.values()) void p.then((c) => c.close(), () => {});
    this.conns.clear();
  }
}

export interface SessionOptions {
  // The node this session talks to first (its attachment); 0: the first node of the cluster.
  readonly nodeId?: number;
  // 0: a random 48-bit id (unique across runs, so a reused cluster never sees an old id again).
  readonly clientId?: number;
  // Wait this long for one attempt's answer before retrying.
  readonly attemptTimeoutMs?: number;
  // Give up an operation after this long (a write then stays pending in the history).
  readonly opTimeoutMs?: number;
  // Move to another node after this many failed attempts in a row at one node (an unreachable
  // node, or one that is recovering or shutting down, is left at once).
  readonly rotateAfter?: number;
  // Retry on the leader the node names in its error (attach: leader).
  readonly followLeader?: boolean;
  readonly backoffMinMs?: number;
  readonly backoffMaxMs?: number;
  readonly history?: History;
  readonly clock?: Clock;
}

export interface OpResult {
  readonly ok: boolean;
  readonly value?: string | null;
  // The last error seen (ok false: why it failed or was given up).
  readonly error?: string;
  // The node that answered (or was tried last).
  readonly nodeId: number;
  readonly attempts: number;
  // Operation start (first send) and end, on the session's clock.
  readonly startUs: number;
  readonly endUs: number;
}

// Errors after which the operation certainly did not take effect.
const definiteFailures = new Set(['store full']);
// Errors after which the session moves to another node at once.
const leaveNode = new Set(['recovering', 'shutting down', 'disconnected', 'unreachable']);

export class KvSession {
  readonly clientId: number;
  nodeId: number;
  private seq = 0;
  private busy = false;
  private readonly attemptTimeoutMs: number;
  private readonly opTimeoutMs: number;
  private readonly rotateAfter: number;
  private readonly followLeader: boolean;
  private readonly backoffMinMs: number;
  private readonly backoffMaxMs: number;
  private readonly history: History | null;
  private readonly clock: Clock;
  // Counters of this session.
  retries = 0;
  rotations = 0;

  constructor(
    readonly pool: ConnectionPool,
    opts: SessionOptions = {},
  ) {
    this.clientId = opts.clientId !== undefined && opts.clientId > 0 ? opts.clientId : randomInt(1, 2 ** 48);
    this.nodeId = opts.nodeId !== undefined && opts.nodeId > 0 ? opts.nodeId : pool.nodeIds[0]!;
    this.attemptTimeoutMs = opts.attemptTimeoutMs ?? 1000;
    this.opTimeoutMs = opts.opTimeoutMs ?? 10_000;
    this.rotateAfter = opts.rotateAfter ?? 3;
    this.followLeader = opts.followLeader ?? false;
    this.backoffMinMs = opts.backoffMinMs ?? 10;
    this.backoffMaxMs = opts.backoffMaxMs ?? 200;
    this.history = opts.history ?? null;
    this.clock = opts.clock ?? monotonicClockUs;
  }

  get lastSeq(): number {
    return this.seq;
  }

  put(key: string, value: string): Promise<OpResult> {
    const seq = ++this.seq;
    return this.run('put', { op: 'put', clientId: this.clientId, seq, key, value }, key, value);
  }

  get(key: string): Promise<OpResult> {
    return this.run('get', { op: 'get', clientId: this.clientId, seq: 0, key }, key, null);
  }

  private async run(kind: 'put' | 'get', body: Record<string, unknown>, key: string, value: string | null): Promise<OpResult> {
    if (this.busy) throw new ClientError(`session ${this.clientId}: one operation at a time`);
    this.busy = true;
    const startUs = this.clock();
    const h = this.history;
    const opId = h === null ? -1 : kind === 'put' ? h.invokePut(this.clientId, key, value, startUs) : h.invokeGet(this.clientId, key, startUs);
    const deadlineMs = Date.now() + this.opTimeoutMs;
    let attempts = 0;
    let failsHere = 0;
    let lastError = 'timeout';
    let backoffMs = this.backoffMinMs;
    try {
      while (true) {
        attempts++;
        const node = this.nodeId;
        let reply: ClientReply;
        try {
          const conn = await this.pool.get(node);
          reply = await conn.request(body, Math.max(1, Math.min(this.attemptTimeoutMs, deadlineMs - Date.now())));
        } catch {
          reply = { id: 0, ok: false, error: 'unreachable', leader: 0 };
        }
        if (reply.ok) {
          const endUs = this.clock();
          if (h !== null) h.complete(opId, kind === 'get' ? (reply.value ?? null) : null, Math.max(endUs, startUs));
          return { ok: true, ...(kind === 'get' ? { value: reply.value ?? null } : {}), nodeId: node, attempts, startUs, endUs };
        }
        lastError = reply.error ?? 'error';
        if (definiteFailures.has(lastError) || lastError.startsWith('bad request') || lastError === 'stale') {
          if (h !== null) {
            // A write refused by the state machine took no effect; a stale one is a client bug
            // and its effect unknown, so it stays pending.
            if (kind === 'get' || definiteFailures.has(lastError)) h.fail(opId);
          }
          return { ok: false, error: lastError, nodeId: node, attempts, startUs, endUs: this.clock() };
        }
        if (Date.now() >= deadlineMs) break;
        this.retries++;
        failsHere++;
        const hint = reply.leader ?? 0;
        if (this.followLeader && hint !== 0 && hint !== node) {
          this.nodeId = hint;
          failsHere = 0;
        } else if (leaveNode.has(lastError) || failsHere >= this.rotateAfter) {
          this.rotate();
          failsHere = 0;
        }
        const jittered = backoffMs / 2 + Math.random() * (backoffMs / 2);
        await sleep(Math.min(jittered, Math.max(0, deadlineMs - Date.now())));
        backoffMs = Math.min(this.backoffMaxMs, backoffMs * 2);
      }
      // Given up: a write may still take effect (it stays pending in the history); a read has
      // no effect to record.
      if (h !== null && kind === 'get') h.fail(opId);
      return { ok: false, error: `gave up after ${attempts} attempts (last: ${lastError})`, nodeId: this.nodeId, attempts, startUs, endUs: this.clock() };
    } finally {
      this.busy = false;
    }
  }

  private rotate(): void {
    const ids = this.pool.nodeIds;
    const i = ids.indexOf(this.nodeId);
    this.nodeId = ids[(i + 1) % ids.length]!;
    this.rotations++;
  }
}

// ---------------------------------------------------------------------------------------------
// Load helpers

export interface OpSpec {
  readonly kind: 'put' | 'get';
  readonly key: string;
  readonly value?: string;
}

export interface LatencySample {
  readonly kind: 'put' | 'get';
  readonly ok: boolean;
  readonly clientId: number;
  // The node that answered.
  readonly nodeId: number;
  // On the load's clock (microseconds): when the operation should have been sent (open loop: its
  // scheduled arrival; closed loop: when it was sent), when it was sent, when it was answered.
  readonly intendedUs: number;
  readonly sentUs: number;
  readonly completeUs: number;
  // completeUs - intendedUs (corrected) and completeUs - sentUs (uncorrected).
  readonly latencyUs: number;
  readonly latencyUncorrectedUs: number;
  readonly attempts: number;
  readonly error?: string;
}

export interface LoadCounters {
  issued: number;
  acknowledged: number;
  failed: number;
  // Open loop: arrivals dropped because the queue of waiting arrivals was full.
  shed: number;
  retries: number;
}

export interface LoadCommon {
  // The sessions to drive (their count is the concurrency of a closed loop, the pool of an open one).
  readonly sessions: readonly KvSession[];
  readonly nextOp: (session: KvSession) => OpSpec;
  readonly onSample: (s: LatencySample) => void;
  readonly clock?: Clock;
  // No new operation at or after this time on the clock; outstanding ones finish.
  readonly stopUs: number;
  // Resolves early when set (Ctrl-C).
  readonly signal?: AbortSignal;
}

function newLoadCounters(): LoadCounters {
  return { issued: 0, acknowledged: 0, failed: 0, shed: 0, retries: 0 };
}

async function runOne(s: KvSession, op: OpSpec, intendedUs: number, clock: Clock, c: LoadCounters, onSample: (x: LatencySample) => void): Promise<void> {
  c.issued++;
  const sentUs = clock();
  const before = s.retries;
  const r = op.kind === 'put' ? await s.put(op.key, op.value ?? '') : await s.get(op.key);
  c.retries += s.retries - before;
  const completeUs = clock();
  if (r.ok) c.acknowledged++;
  else c.failed++;
  onSample({
    kind: op.kind,
    ok: r.ok,
    clientId: s.clientId,
    nodeId: r.nodeId,
    intendedUs,
    sentUs,
    completeUs,
    latencyUs: completeUs - intendedUs,
    latencyUncorrectedUs: completeUs - sentUs,
    attempts: r.attempts,
    ...(r.ok ? {} : { error: r.error ?? 'error' }),
  });
}

// runClosedLoop: every session sends its next operation as soon as the previous one is answered
// (plus thinkUs).
export async function runClosedLoop(o: LoadCommon & { readonly thinkUs?: number }): Promise<LoadCounters> {
  const clock = o.clock ?? monotonicClockUs;
  const c = newLoadCounters();
  const think = o.thinkUs ?? 0;
  await Promise.all(
    o.sessions.map(async (s) => {
      while (clock() < o.stopUs && o.signal?.aborted !== true) {
        const t = clock();
        await runOne(s, o.nextOp(s), t, clock, c, o.onSample);
        if (think > 0) await sleep(think / 1000);
      }
    }),
  );
  return c;
}

// runOpenLoop: arrivals at ratePerSec (evenly spaced, or Poisson), whatever the cluster does; each
// is served by a free session, waiting in a bounded queue when all are busy, and its latency is
// measured from its arrival (intended) time.
export async function runOpenLoop(
  o: LoadCommon & { readonly ratePerSec: number; readonly poisson: boolean; readonly startUs?: number; readonly queueMax?: number; readonly random?: () => number },
): Promise<LoadCounters> {
  const clock = o.clock ?? monotonicClockUs;
  const c = newLoadCounters();
  const random = o.random ?? Math.random;
  const queueMax = o.queueMax ?? 100_000;
  const free: KvSession[] = o.sessions.slice();
  const queue: number[] = [];
  let queueHead = 0;
  const inflight = new Set<Promise<void>>();
  const meanGapUs = 1e6 / o.ratePerSec;
  let nextUs = o.startUs ?? clock();
  const dispatch = (): void => {
    while (free.length > 0 && queueHead < queue.length) {
      const intendedUs = queue[queueHead++]!;
      const s = free.pop()!;
      const p: Promise<void> = runOne(s, o.nextOp(s), intendedUs, clock, c, o.onSample).finally(() => {
        inflight.delete(p);
        free.push(s);
        dispatch();
      });
      inflight.add(p);
    }
    if (queueHead > 1024 && queueHead * 2 > queue.length) {
      queue.splice(0, queueHead);
      queueHead = 0;
    }
  };
  while (o.signal?.aborted !== true) {
    const now = clock();
    if (nextUs >= o.stopUs) break;
    while (nextUs <= now && nextUs < o.stopUs) {
      if (queue.length - queueHead >= queueMax) c.shed++;
      else queue.push(nextUs);
      nextUs += o.poisson ? -Math.log(1 - random()) * meanGapUs : meanGapUs;
    }
    dispatch();
    const waitMs = Math.max(0, (nextUs - clock()) / 1000);
    await sleep(Math.min(waitMs, 50));
  }
  // Arrivals still queued were never sent: count them as shed (they were offered, not served).
  c.shed += queue.length - queueHead;
  queue.length = 0;
  queueHead = 0;
  while (inflight.size > 0) await Promise.race(inflight);
  return c;
}
