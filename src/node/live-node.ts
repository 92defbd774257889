// A live node: one RawNode driven in real time by DESIGN.md's Ready loop, over LmdbStorage (or
// MemoryStorage), the WebSocket transport, and the KV state machine with client sessions.
//
// Inputs (peer messages, ticks, client requests) are stepped into the RawNode as they arrive and
// only mark the node dirty; one Ready is taken per event-loop turn, on setImmediate, so that
// everything that arrived in one turn (a burst of frames, many client requests) is one Ready: one
// durable write, one frame per peer. Each Ready is handled in the safety order:
//   1. persist: snapshot, entries, hard state (one durable LMDB transaction: saveReady; a Ready that
//      only moves the commit index is not flushed, etcd's MustSync rule);
//   2. send its messages (only now: what they promise is durable);
//   3. apply committed entries to the KV state machine, answering the clients that wait on them;
//      conf changes are applied to the RawNode; every snapshotEntries applied entries the KV state
//      is snapshotted and the log compacted;
//   4. advance; what advance stepped (self acks) may make another Ready, taken next turn.
//
// Reads are linearizable via ReadIndex: all gets of one turn share one read request, and are
// answered from the local KV once this node has applied up to the read index.
//
// Restart. With LMDB the node restarts from its store (hard state, log, KV snapshot) and replays
// the committed log after the snapshot. With memory storage a restart has forgotten everything,
// including its votes and the entries it acknowledged; such a node starts in *recovery*: it does
// not tick (so never campaigns), drops vote requests, and refuses clients, until it has heard a
// leader and applied up to the commit index that leader announced, and at least two election
// timeouts have passed (so that no message of its earlier life is still in flight). Then it is a
// member again. A fresh cluster start is told apart from a restart by a marker file.

import { randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { RawNode } from '../core/raw-node.js';
import { MemoryStorage, type Storage } from '../core/storage.js';
import { Rng } from '../core/rand.js';
import { StateType, SnapshotStatus, type Ready } from '../core/ready.js';
import { decodeEntryConfChange, type Config } from '../core/raft.js';
import { getProtocol } from '../core/protocols.js';
import { RaftError } from '../core/errors.js';
import { statusJSON } from '../core/status.js';
import type { FastStats } from '../core/fast.js';
import {
  EntryType,
  MessageType,
  isEmptyHardState,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type Snapshot,
} from '../core/types.js';
import { KvStateMachine, decodeCommand, encodeCommand, isKvCommand, type KvResult } from '../kv/index.js';
import { LmdbStorage, storageDirFor } from '../storage/index.js';
import { ClusterKey, Transport, loadNativeUws, type ControlReply, type HttpReply } from '../transport/index.js';
import { nodeAddress, nodeLogFile, type ClusterConfig, type TransportKind } from './config.js';
import { NodeLog, type NodeLogLevel } from './log.js';
import { ClientApi } from './client-api.js';
import type { NodeStatusReply } from './client-protocol.js';
import { controlPath, verifyControl } from './control.js';
import { nodeMetricsText } from './metrics.js';

export interface LiveNodeOptions {
  readonly config: ClusterConfig;
  // The resolved data folder (logs, stores, markers): dataDirOf(config, file).
  readonly dataDir: string;
  readonly nodeId: number;
  // Overrides config.transport (the CLI's --transport).
  readonly transport?: TransportKind;
  // Overrides the node's port from the config (0: any free port; tests).
  readonly port?: number;
  readonly logLevel?: NodeLogLevel;
  // null: no log file (tests); default <dataDir>/node-<id>.log.
  readonly logFile?: string | null;
  // Seed of the election-timeout Rng; random by default (logged).
  readonly seed?: number;
}

// What a client request is answered with (client-api.ts turns it into a frame).
export type Answer = (r: { ok: true; value?: string | null } | { ok: false; error: string; leader: number }) => void;

interface PutWaiter {
  seq: number;
  data: Uint8Array;
  answers: Answer[];
  deadlineMs: number;
}

interface ReadWaiter {
  key: string;
  answer: Answer;
  deadlineMs: number;
}

interface ReadAtIndex {
  index: number;
  waiters: ReadWaiter[];
}

export interface NodeCounters {
  readies: number;
  entriesPersisted: number;
  entriesApplied: number;
  messagesSent: number;
  snapshotsSent: number;
  snapshotsApplied: number;
  snapshotsCreated: number;
  compactions: number;
  stepErrors: number;
  campaigns: number;
  becameLeader: number;
  leaderChanges: number;
  readIndexRequests: number;
  persistUsTotal: number;
  persistUsMax: number;
  persists: number;
  readyUsTotal: number;
  readyUsMax: number;
  votesDroppedRecovering: number;
  reproposals: number;
  messagesDroppedUnreachable: number;
}

function newCounters(): NodeCounters {
  return {
    readies: 0,
    entriesPersisted: 0,
    entriesApplied: 0,
    messagesSent: 0,
    snapshotsSent: 0,
    snapshotsApplied: 0,
    snapshotsCreated: 0,
    compactions: 0,
    stepErrors: 0,
    campaigns: 0,
    becameLeader: 0,
    leaderChanges: 0,
    readIndexRequests: 0,
    persistUsTotal: 0,
    persistUsMax: 0,
    persists: 0,
    readyUsTotal: 0,
    readyUsMax: 0,
    votesDroppedRecovering: 0,
    reproposals: 0,
    messagesDroppedUnreachable: 0,
  };
}

// Bounds: waiting writes (one per client session) and reads in this node, over all connections.
export const putWaitersMax = 65_536;
export const readWaitersMax = 65_536;
const sweepIntervalMs = 50;

// Transport limits sized for KV snapshots (a lagging follower gets the whole state in one frame),
// and a short reconnect backoff: only lower ids dial, so a restarted node is reachable by its
// lower-id peers only once they redial it, and a run measures how fast the cluster recovers,
// not the backoff.
const transportLimits = {
  frameBytesMax: 32 * 1024 * 1024,
  messageBytesMax: 64 * 1024 * 1024,
  queueBytesMax: 128 * 1024 * 1024,
  reconnectMinMs: 20,
  reconnectMaxMs: 250,
} as const;

const utf8 = new TextEncoder();
const utf8Lenient = new TextDecoder('utf-8');

function copyConfState(cs: ConfState): ConfState {
  return {
    voters: cs.voters.slice(),
    learners: cs.learners.slice(),
    votersOutgoing: cs.votersOutgoing.slice(),
    learnersNext: cs.learnersNext.slice(),
    autoLeave: cs.autoLeave,
  };
}

export function roleName(s: StateType): string {
  switch (s) {
    case StateType.StateLeader:
      return 'leader';
    case StateType.StateCandidate:
      return 'candidate';
    case StateType.StatePreCandidate:
      return 'pre-candidate';
    case StateType.StateFollower:
      return 'follower';
    default:
      return 'unknown';
  }
}

// The two stores behind one save: LMDB's saveReady is one durable transaction; MemoryStorage
// takes the pieces in etcd's order (snapshot, entries, hard state).
interface NodeStore {
  readonly storage: Storage;
  readonly kind: 'memory' | 'lmdb';
  // commitMayLag: the Ready does not need a flush (its mustSync is false: only the commit index
  // moved), so a store may keep the hard state in memory until its next write.
  save(entries: Entry[], hardState: HardState | null, snapshot: Snapshot | null, commitMayLag: boolean): void;
  createSnapshot(i: number, cs: ConfState | null, data: Uint8Array): void;
  compact(i: number): void;
  close(): Promise<void>;
}

function memoryStore(): NodeStore {
  const ms = new MemoryStorage();
  return {
    storage: ms,
    kind: 'memory',
    save(entries, hs, snap) {
      if (snap !== null && snap.metadata.index > 0) ms.applySnapshot(snap);
      if (entries.length > 0) ms.append(entries);
      if (hs !== null) ms.setHardState(hs);
    },
    createSnapshot: (i, cs, data) => void ms.createSnapshot(i, cs, data),
    compact: (i) => ms.compact(i),
    close: async () => {},
  };
}

function lmdbStore(dir: string, clusterId: string, nodeId: number, sync: boolean): NodeStore {
  const st = LmdbStorage.open({ dir, clusterId, nodeId, sync });
  return {
    storage: st,
    kind: 'lmdb',
    save: (entries, hs, snap, commitMayLag) => st.saveReady(entries, hs, snap, commitMayLag),
    createSnapshot: (i, cs, data) => void st.createSnapshot(i, cs, data),
    compact: (i) => st.compact(i),
    close: () => st.close(),
  };
}

export class LiveNode {
  readonly id: number;
  readonly config: ClusterConfig;
  readonly dataDir: string;
  readonly log: NodeLog;
  readonly counters: NodeCounters = newCounters();
  // Client requests by op and outcome ('put ok', 'get no leader', ...).
  readonly requestCounts = new Map<string, number>();
  readonly startedAtMs = Date.now();
  readonly seed: number;
  readonly transportKind: TransportKind;
  readonly key: ClusterKey;
  readonly clientApi: ClientApi;
  rawNode!: RawNode;
  kv: KvStateMachine = new KvStateMachine();
  transport!: Transport;
  private store!: NodeStore;
  private confState: ConfState;
  private appliedIndex = 0;
  private snapshotIndex = 0;
  // Recovery after an amnesiac (memory storage) restart; see the file comment.
  private recoveringNow = false;
  private recoveryLeaderCommit = 0;
  private recoveryUntilMs = 0;
  private recoveryGiveUpMs = 0;

  private readyScheduled = false;
  private stopped = false;
  private tickTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private lastLead = 0;
  private lastState: StateType = StateType.StateFollower;
  private lastTerm = 0;

  private readonly putWaiters = new Map<number, PutWaiter>();
  private readBatch: ReadWaiter[] = [];
  private readonly readsByCtx = new Map<number, ReadWaiter[]>();
  private readsAtIndex: ReadAtIndex[] = [];
  private readWaiterCount = 0;
  private nextReadCtx = 1;
  private readonly unreachable = new Set<number>();
  private readonly snapReports: { to: number; ok: boolean }[] = [];
  // Set by a Ready that shows a new leader (-1: none); acted on after advance.
  private leaderChangedTo = -1;

  private constructor(opts: LiveNodeOptions) {
    this.config = opts.config;
    this.id = opts.nodeId;
    this.dataDir = opts.dataDir;
    this.transportKind = opts.transport ?? opts.config.transport;
    this.seed = opts.seed ?? randomInt(1, 2 ** 47);
    const logFile = opts.logFile === undefined ? nodeLogFile(opts.dataDir, opts.nodeId) : opts.logFile;
    this.log = new NodeLog(logFile, opts.nodeId, opts.logLevel ?? 'info');
    this.key = new ClusterKey(opts.config.clusterId, opts.config.secret);
    this.confState = { voters: opts.config.nodes.map((n) => n.id), learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    this.clientApi = new ClientApi(this, this.log);
  }

  // start opens the store, rebuilds the state machine, and starts serving.
  static async start(opts: LiveNodeOptions): Promise<LiveNode> {
    const self = opts.config.nodes.find((n) => n.id === opts.nodeId);
    if (self === undefined) throw new RangeError(`node ${opts.nodeId} is not in the cluster (nodes: ${opts.config.nodes.map((n) => n.id).join(', ')})`);
    // Refuse uWS's slow fallback before touching anything (throws UwsUnavailableError).
    if ((opts.transport ?? opts.config.transport) === 'uws') loadNativeUws();
    const node = new LiveNode(opts);
    try {
      node.openStore();
      await node.startTransport(opts.port ?? self.port);
    } catch (err) {
      node.log.error('start failed', { error: err });
      await node.store?.close().catch(() => {});
      node.log.close();
      throw err;
    }
    node.tickTimer = setInterval(() => node.onTick(), opts.config.tickMs);
    node.sweepTimer = setInterval(() => node.sweep(), sweepIntervalMs);
    node.log.info('started', {
      pid: process.pid,
      port: node.transport.port,
      protocol: opts.config.protocol,
      storage: node.store.kind,
      transport: node.transportKind,
      seed: node.seed,
      applied: node.appliedIndex,
      term: node.rawNode.raft.term,
      recovering: node.recovering,
    });
    node.scheduleReady();
    return node;
  }

  private openStore(): void {
    const c = this.config;
    mkdirSync(this.dataDir, { recursive: true });
    if (c.storage === 'lmdb') {
      this.store = lmdbStore(storageDirFor(this.dataDir, c.clusterId, this.id), c.clusterId, this.id, c.sync);
    } else {
      this.store = memoryStore();
      this.recoveringNow = this.markStarted();
    }
    const st = this.store.storage;
    if (st.lastIndex() === 0 && st.snapshot().metadata.index === 0) {
      // A brand-new member: every member starts from the same snapshot at index 1 holding the
      // initial configuration (as the simulator and etcd's tests bootstrap).
      this.store.save([], null, { data: new Uint8Array(0), metadata: { index: 1, term: 1, confState: copyConfState(this.confState) } }, false);
      this.log.info('bootstrapped', { voters: this.confState.voters });
    }
    const snap = st.snapshot();
    this.kv = snap.data.length > 0 ? KvStateMachine.fromSnapshot(snap.data) : new KvStateMachine();
    this.appliedIndex = snap.metadata.index;
    this.snapshotIndex = snap.metadata.index;
    this.confState = copyConfState(snap.metadata.confState);
    const base: Config = {
      id: this.id,
      electionTick: c.electionTicks,
      heartbeatTick: c.heartbeatTicks,
      storage: st,
      applied: 0,
      maxSizePerMsg: c.maxSizePerMsgBytes,
      maxInflightMsgs: c.maxInflightMsgs,
      checkQuorum: c.checkQuorum,
      preVote: c.preVote,
      stepDownOnRemoval: true,
      logger: this.log.coreLogger(),
      rng: new Rng(this.seed),
    };
    this.rawNode = new RawNode(getProtocol(c.protocol).configure(base, { fast: c.fast }));
    const r = this.rawNode.raft;
    this.lastTerm = r.term;
    this.lastState = r.state;
    this.lastLead = r.lead;
    if (this.recovering) {
      const electionMs = c.electionTicks * c.tickMs;
      this.recoveryUntilMs = Date.now() + 2 * electionMs;
      this.recoveryGiveUpMs = Date.now() + 20 * electionMs;
      this.log.warn('restarted without durable state (memory storage): recovering before voting or serving clients');
    }
    if (this.store.kind === 'lmdb') {
      const hs = st.initialState().hardState;
      this.log.info('opened store', { dir: (st as LmdbStorage).path, term: hs.term, vote: hs.vote, commit: hs.commit, snapshotIndex: snap.metadata.index, lastIndex: st.lastIndex() });
    }
  }

  // markStarted records that this memory-storage node has run in this data folder; true if it
  // had (so this start is a restart that lost its state).
  private markStarted(): boolean {
    const marker = path.join(this.dataDir, `node-${this.id}.started`);
    let restarted = false;
    if (existsSync(marker)) {
      try {
        restarted = readFileSync(marker, 'utf8').trim() === this.config.clusterId;
      } catch {
        restarted = true;
      }
    }
    writeFileSync(marker, `${this.config.clusterId}\n`);
    return restarted;
  }

  private async startTransport(port: number): Promise<void> {
    const c = this.config;
    const peers: Record<number, string> = {};
    for (const n of c.nodes) if (n.id !== this.id) peers[n.id] = `${n.host}:${n.port}`;
    const self = nodeAddress(c, this.id);
    this.transport = await Transport.start({
      nodeId: this.id,
      cluster: c.clusterId,
      secret: c.secret,
      kind: this.transportKind,
      host: self.host,
      port,
      peers,
      onMessages: (msgs) => this.onMessages(msgs),
      client: this.clientApi,
      httpGet: {
        '/debug/raft': () => json(this.debugRaft()),
        '/debug/vars': () => json(this.debugVars()),
        '/metrics': () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: this.metricsText() }),
        '/health': () => ({ contentType: 'text/plain', body: this.recovering ? 'recovering\n' : 'ok\n' }),
      },
      httpPost: {
        [controlPath]: (body) => this.onControl(body),
      },
      limits: transportLimits,
      ...(c.network !== null ? { network: c.network } : {}),
      log: (level, msg) => this.log.log(level, msg, { src: 'transport' }),
    });
  }

  get port(): number {
    return this.transport.port;
  }

  // recovering: restarted without durable state and not yet caught up (no votes, no clients).
  get recovering(): boolean {
    return this.recoveringNow;
  }

  get applied(): number {
    return this.appliedIndex;
  }

  private get lazyCommitOk(): boolean {
    return this.config.protocol === 'raft';
  }

  get protocol(): string {
    return this.config.protocol;
  }

  get storageKind(): 'memory' | 'lmdb' {
    return this.store.kind;
  }

  get fastStats(): FastStats | null {
    return this.rawNode.raft.fast?.stats ?? null;
  }

  get leader(): number {
    return this.rawNode.raft.lead;
  }

  // ---------------------------------------------------------------------------------------------
  // Inputs

  private onTick(): void {
    if (this.stopped) return;
    if (this.recovering) {
      this.checkRecovery();
      // A recovering node does not tick: it must not campaign with a log it may have lost.
      if (this.recovering) return;
    }
    this.rawNode.tick();
    this.scheduleReady();
  }

  private onMessages(msgs: Message[]): void {
    if (this.stopped) return;
    const rn = this.rawNode;
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!;
      if (this.recovering) {
        const t = m.type;
        if (t === MessageType.MsgVote || t === MessageType.MsgPreVote || t === MessageType.MsgTimeoutNow) {
          this.counters.votesDroppedRecovering++;
          continue;
        }
        // The target is what the leader announces during the first two election timeouts (by
        // then a new leader has committed in its term, so its commit index covers everything
        // committed before this node's crash); frozen after that, so that a steady stream of
        // new commits cannot keep the node recovering forever.
        const targetOpen = this.recoveryLeaderCommit === 0 || Date.now() < this.recoveryUntilMs;
        if (targetOpen && (t === MessageType.MsgApp || t === MessageType.MsgHeartbeat || t === MessageType.MsgSnap) && m.term >= rn.raft.term) {
          if (m.commit > this.recoveryLeaderCommit) this.recoveryLeaderCommit = m.commit;
          if (t === MessageType.MsgSnap && m.snapshot !== null && m.snapshot.metadata.index > this.recoveryLeaderCommit) {
            this.recoveryLeaderCommit = m.snapshot.metadata.index;
          }
        }
      }
      try {
        rn.step(m);
      } catch (err) {
        // Refusals (a response from a peer not in the configuration) are normal; anything else is
        // a bug and takes the node down.
        if (!(err instanceof RaftError)) throw err;
        this.counters.stepErrors++;
      }
    }
    this.scheduleReady();
  }

  private checkRecovery(): void {
    const now = Date.now();
    const r = this.rawNode.raft;
    const caughtUp = r.lead !== 0 && this.recoveryLeaderCommit > 0 && this.appliedIndex >= this.recoveryLeaderCommit;
    if ((caughtUp && now >= this.recoveryUntilMs) || now >= this.recoveryGiveUpMs) {
      this.recoveringNow = false;
      this.log.info(caughtUp ? 'recovered: caught up with the leader' : 'recovery gave up waiting for a leader (no member holds state?): rejoining', {
        applied: this.appliedIndex,
        leaderCommit: this.recoveryLeaderCommit,
        lead: r.lead,
      });
    }
  }

  // put proposes a write and answers once this node has applied it.
  put(clientId: number, seq: number, key: string, value: string, answer: Answer): void {
    const refusal = this.refusal();
    if (refusal !== null) {
      answer(refusal);
      return;
    }
    const w = this.putWaiters.get(clientId);
    if (w !== undefined) {
      if (w.seq === seq) {
        // A retry of the write already waiting here: one more answer, and propose again (the
        // first proposal may have been lost; the session table makes a second one harmless).
        if (w.answers.length >= 64) {
          answer({ ok: false, error: 'busy', leader: this.leader });
          return;
        }
        w.answers.push(answer);
        w.deadlineMs = Date.now() + this.config.requestTimeoutMs;
        this.propose(clientId, w);
        return;
      }
      if (seq < w.seq) {
        answer({ ok: false, error: 'stale', leader: this.leader });
        return;
      }
      this.settlePut(clientId, w, { ok: false, error: 'superseded', leader: this.leader });
    } else if (this.putWaiters.size >= putWaitersMax) {
      answer({ ok: false, error: 'busy', leader: this.leader });
      return;
    }
    const data = encodeCommand({ op: 'put', clientId, seq, key, value: utf8.encode(value) });
    const waiter: PutWaiter = { seq, data, answers: [answer], deadlineMs: Date.now() + this.config.requestTimeoutMs };
    this.putWaiters.set(clientId, waiter);
    this.propose(clientId, waiter);
  }

  private propose(clientId: number, w: PutWaiter): void {
    try {
      this.rawNode.propose(w.data);
    } catch (err) {
      if (!(err instanceof RaftError)) throw err;
      const lead = this.leader;
      if (this.putWaiters.get(clientId) === w) this.settlePut(clientId, w, { ok: false, error: lead === 0 ? 'no leader' : 'dropped', leader: lead });
      return;
    }
    this.scheduleReady();
  }

  // get answers with the value once this node has applied everything committed before the read
  // began (ReadIndex).
  get(key: string, answer: Answer): void {
    const refusal = this.refusal();
    if (refusal !== null) {
      answer(refusal);
      return;
    }
    if (this.readWaiterCount >= readWaitersMax) {
      answer({ ok: false, error: 'busy', leader: this.leader });
      return;
    }
    this.readWaiterCount++;
    this.readBatch.push({ key, answer, deadlineMs: Date.now() + this.config.requestTimeoutMs });
    this.scheduleReady();
  }

  private refusal(): { ok: false; error: string; leader: number } | null {
    if (this.stopped) return { ok: false, error: 'shutting down', leader: 0 };
    if (this.recovering) return { ok: false, error: 'recovering', leader: this.leader };
    if (this.leader === 0) return { ok: false, error: 'no leader', leader: 0 };
    return null;
  }

  private settlePut(clientId: number, w: PutWaiter, r: Parameters<Answer>[0]): void {
    this.putWaiters.delete(clientId);
    for (const a of w.answers) a(r);
  }

  private answerRead(w: ReadWaiter, r: Parameters<Answer>[0]): void {
    this.readWaiterCount--;
    w.answer(r);
  }

  // issueReads sends one ReadIndex request for every get that arrived since the last Ready.
  private issueReads(): void {
    if (this.readBatch.length === 0) return;
    const batch = this.readBatch;
    this.readBatch = [];
    if (this.leader === 0) {
      for (const w of batch) this.answerRead(w, { ok: false, error: 'no leader', leader: 0 });
      return;
    }
    const ctxNum = this.nextReadCtx++;
    const ctx = new Uint8Array(8);
    new DataView(ctx.buffer).setFloat64(0, ctxNum);
    this.readsByCtx.set(ctxNum, batch);
    this.counters.readIndexRequests++;
    this.rawNode.readIndex(ctx);
  }

  // ---------------------------------------------------------------------------------------------
  // The Ready loop

  private scheduleReady(): void {
    if (this.readyScheduled || this.stopped) return;
    this.readyScheduled = true;
    setImmediate(() => this.handleReady());
  }

  private handleReady(): void {
    this.readyScheduled = false;
    if (this.stopped) return;
    this.issueReads();
    const rn = this.rawNode;
    if (!rn.hasReady()) return;
    const t0 = performance.now();
    const rd = rn.ready();
    this.counters.readies++;
    this.observe(rd);

    // 1. Durable first.
    const hs = isEmptyHardState(rd.hardState) ? null : rd.hardState;
    const snap = rd.snapshot !== null && rd.snapshot.metadata.index > 0 ? rd.snapshot : null;
    if (rd.entries.length > 0 || hs !== null || snap !== null) {
      const p0 = performance.now();
      // Only classic Raft lets the commit index lag on disk: Fast Raft's follower treats entries at
      // or below its commit index as settled whatever term stamps them (recoveries re-stamp), and a
      // restart with an older commit index is a state the simulator's fuzzer does not produce.
      this.store.save(rd.entries, hs, snap, this.lazyCommitOk && !rd.mustSync);
      const us = (performance.now() - p0) * 1000;
      this.counters.persists++;
      this.counters.persistUsTotal += us;
      if (us > this.counters.persistUsMax) this.counters.persistUsMax = us;
      this.counters.entriesPersisted += rd.entries.length;
    }
    if (snap !== null) this.restoreSnapshot(snap);

    // 2. Then send what the Ready promises.
    this.send(rd.messages);

    // 3. Apply, answering clients.
    if (rd.committedEntries.length > 0) this.apply(rd.committedEntries);
    if (rd.readStates.length > 0) this.onReadStates(rd);

    // 4. Advance.
    rn.advance(rd);
    this.afterAdvance();
    const us = (performance.now() - t0) * 1000;
    this.counters.readyUsTotal += us;
    if (us > this.counters.readyUsMax) this.counters.readyUsMax = us;
    if (rn.hasReady() || this.readBatch.length > 0) this.scheduleReady();
  }

  private observe(rd: Ready): void {
    const r = this.rawNode.raft;
    if (rd.softState === null && r.term === this.lastTerm) return;
    const state = r.state;
    const lead = r.lead;
    if (state !== this.lastState) {
      if (state === StateType.StateCandidate || state === StateType.StatePreCandidate) this.counters.campaigns++;
      if (state === StateType.StateLeader) this.counters.becameLeader++;
    }
    if (lead !== this.lastLead) {
      this.counters.leaderChanges++;
      this.leaderChangedTo = lead;
    }
    if (state !== this.lastState || lead !== this.lastLead || r.term !== this.lastTerm) {
      this.log.info(state === StateType.StateLeader && this.lastState !== StateType.StateLeader ? 'became leader' : 'state changed', {
        term: r.term,
        role: roleName(state),
        lead,
        commit: r.raftLog.committed,
      });
    }
    this.lastState = state;
    this.lastLead = lead;
    this.lastTerm = r.term;
  }

  // onLeaderChange resends what a leader change may have lost: ReadIndex requests in flight are
  // dropped by a leader that steps down, and under classic Raft so are forwarded proposals. (Fast
  // Raft re-proposes its own pending proposals; a second copy would only add log entries.)
  private onLeaderChange(to: number): void {
    if (this.readsByCtx.size > 0) {
      for (const ws of this.readsByCtx.values()) for (const w of ws) this.readBatch.push(w);
      this.readsByCtx.clear();
    }
    if (to === 0) return;
    const fast = this.rawNode.raft.fast;
    if (fast !== null && this.config.fast.enabled !== false) return;
    for (const w of this.putWaiters.values()) {
      this.counters.reproposals++;
      try {
        this.rawNode.propose(w.data);
      } catch (err) {
        if (!(err instanceof RaftError)) throw err;
      }
    }
  }

  // send hands a Ready's messages to the transport, except those to peers it has no connection
  // to: as etcd's rafthttp does, they are dropped (and the peer reported unreachable) rather than
  // queued. Raft retransmits what matters; a backlog delivered on reconnection would be stale
  // and, for a leader probing a restarted follower, a burst of whole-log appends.
  private send(msgs: Message[]): void {
    if (msgs.length === 0) return;
    const t = this.transport;
    let out = msgs;
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!;
      if (m.to === this.id || m.type === MessageType.MsgSnap || !t.connected(m.to)) {
        // Rare: build the filtered list only when needed.
        out = msgs.slice(0, i);
        for (let j = i; j < msgs.length; j++) {
          const x = msgs[j]!;
          if (x.to === this.id) continue;
          const up = t.connected(x.to);
          if (x.type === MessageType.MsgSnap) {
            this.counters.snapshotsSent++;
            this.snapReports.push({ to: x.to, ok: up });
          }
          if (!up) {
            this.counters.messagesDroppedUnreachable++;
            if (x.type === MessageType.MsgApp || x.type === MessageType.MsgHeartbeat) this.unreachable.add(x.to);
            continue;
          }
          out.push(x);
        }
        break;
      }
    }
    if (out.length === 0) return;
    t.send(out);
    this.counters.messagesSent += out.length;
  }

  private afterAdvance(): void {
    const rn = this.rawNode;
    // The transport tells the leader how a snapshot fared (etcd's rafthttp does the same), so
    // that its progress does not wait in StateSnapshot forever.
    if (this.snapReports.length > 0) {
      for (const s of this.snapReports) rn.reportSnapshot(s.to, s.ok ? SnapshotStatus.SnapshotFinish : SnapshotStatus.SnapshotFailure);
      this.snapReports.length = 0;
    }
    if (this.unreachable.size > 0) {
      for (const id of this.unreachable) rn.reportUnreachable(id);
      this.unreachable.clear();
    }
    if (this.leaderChangedTo >= 0) {
      const to = this.leaderChangedTo;
      this.leaderChangedTo = -1;
      this.onLeaderChange(to);
    }
  }

  private restoreSnapshot(snap: Snapshot): void {
    this.kv = snap.data.length > 0 ? KvStateMachine.fromSnapshot(snap.data) : new KvStateMachine();
    this.appliedIndex = snap.metadata.index;
    this.snapshotIndex = snap.metadata.index;
    this.confState = copyConfState(snap.metadata.confState);
    this.counters.snapshotsApplied++;
    this.log.info('applied snapshot', { index: snap.metadata.index, term: snap.metadata.term, bytes: snap.data.length });
    // Writes waiting here may be inside the snapshot: their outcome is unknown here, and a retry
    // with the same seq is answered from the session table.
    for (const [cid, w] of [...this.putWaiters]) this.settlePut(cid, w, { ok: false, error: 'retry', leader: this.leader });
    this.answerReadsUpTo(this.appliedIndex);
  }

  private apply(ents: readonly Entry[]): void {
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i]!;
      if (e.index <= this.appliedIndex) continue;
      if (e.type === EntryType.EntryNormal) {
        if (e.data.length > 0 && isKvCommand(e.data)) {
          const cmd = decodeCommand(e.data);
          const result = this.kv.applyCommand(e.index, cmd);
          if (cmd.op === 'put' || cmd.op === 'delete') {
            const w = this.putWaiters.get(cmd.clientId);
            if (w !== undefined && w.seq === cmd.seq) this.settlePut(cmd.clientId, w, putAnswer(result, this.leader));
          }
        } else {
          this.kv.advance(e.index);
        }
      } else {
        this.kv.advance(e.index);
        const cc = decodeEntryConfChange(e);
        if (cc !== null) {
          this.confState = copyConfState(this.rawNode.applyConfChange(cc));
          this.log.info('applied conf change', { index: e.index, voters: this.confState.voters, learners: this.confState.learners });
          // A snapshot at every configuration change, so that a node added by it can be brought
          // up by a snapshot that includes it.
          this.takeSnapshot(e.index);
        }
      }
      this.appliedIndex = e.index;
      this.counters.entriesApplied++;
    }
    this.answerReadsUpTo(this.appliedIndex);
    if (this.appliedIndex - this.snapshotIndex >= this.config.snapshotEntries) this.takeSnapshot(this.appliedIndex);
  }

  private takeSnapshot(index: number): void {
    if (index <= this.snapshotIndex) return;
    this.store.createSnapshot(index, copyConfState(this.confState), this.kv.snapshot());
    this.snapshotIndex = index;
    this.counters.snapshotsCreated++;
    const compactTo = index - this.config.snapshotKeepEntries;
    if (compactTo > this.store.storage.firstIndex()) {
      this.store.compact(compactTo);
      this.counters.compactions++;
    }
  }

  private onReadStates(rd: Ready): void {
    for (const rs of rd.readStates) {
      if (rs.requestCtx.byteLength !== 8) continue;
      const ctxNum = new DataView(rs.requestCtx.buffer, rs.requestCtx.byteOffset, 8).getFloat64(0);
      const ws = this.readsByCtx.get(ctxNum);
      if (ws === undefined) continue;
      this.readsByCtx.delete(ctxNum);
      if (rs.index <= this.appliedIndex) {
        for (const w of ws) this.answerRead(w, { ok: true, value: this.readValue(w.key) });
      } else {
        this.readsAtIndex.push({ index: rs.index, waiters: ws });
      }
    }
  }

  private answerReadsUpTo(applied: number): void {
    if (this.readsAtIndex.length === 0) return;
    const keep: ReadAtIndex[] = [];
    for (const r of this.readsAtIndex) {
      if (r.index <= applied) {
        for (const w of r.waiters) this.answerRead(w, { ok: true, value: this.readValue(w.key) });
      } else {
        keep.push(r);
      }
    }
    this.readsAtIndex = keep;
  }

  private readValue(key: string): string | null {
    const v = this.kv.read(key);
    return v === null ? null : utf8Lenient.decode(v);
  }

  // sweep answers requests past their deadline (`timeout`: the client retries).
  private sweep(): void {
    if (this.stopped) return;
    const now = Date.now();
    const lead = this.leader;
    for (const [cid, w] of this.putWaiters) {
      if (w.deadlineMs <= now) this.settlePut(cid, w, { ok: false, error: 'timeout', leader: lead });
    }
    for (const [ctx, ws] of this.readsByCtx) {
      if (ws.length > 0 && ws[0]!.deadlineMs <= now) {
        this.readsByCtx.delete(ctx);
        for (const w of ws) this.answerRead(w, { ok: false, error: 'timeout', leader: lead });
      }
    }
    if (this.readsAtIndex.length > 0) {
      const keep: ReadAtIndex[] = [];
      for (const r of this.readsAtIndex) {
        if (r.waiters[0]!.deadlineMs <= now) for (const w of r.waiters) this.answerRead(w, { ok: false, error: 'timeout', leader: lead });
        else keep.push(r);
      }
      this.readsAtIndex = keep;
    }
    this.log.flush();
  }

  // ---------------------------------------------------------------------------------------------
  // Observation

  statusReply(): NodeStatusReply {
    const r = this.rawNode.raft;
    return { node: this.id, leader: r.lead, term: r.term, role: roleName(r.state), commit: r.raftLog.committed, applied: this.appliedIndex };
  }

  // debugRaft is /debug/raft: the core's Status as JSON, with the node's own facts beside it.
  debugRaft(): Record<string, unknown> {
    const r = this.rawNode.raft;
    return {
      ...statusJSON(this.rawNode.status()),
      nodeId: this.id,
      leader: r.lead,
      role: roleName(r.state),
      lastIndex: r.raftLog.lastIndex(),
      firstIndex: r.raftLog.firstIndex(),
      snapshotIndex: this.snapshotIndex,
      voters: [...this.confState.voters],
      recovering: this.recovering,
      protocol: this.config.protocol,
      storage: this.store.kind,
      transport: this.transportKind,
      pid: process.pid,
      uptimeMs: Date.now() - this.startedAtMs,
      fast: this.fastStats === null ? null : { ...this.fastStats },
    };
  }

  // debugVars is /debug/vars: every counter as JSON (what the live runner collects).
  debugVars(): Record<string, unknown> {
    return {
      ...this.debugRaft(),
      counters: { ...this.counters },
      requests: Object.fromEntries(this.requestCounts),
      clients: this.clientApi.stats(),
      pending: { puts: this.putWaiters.size, reads: this.readWaiterCount },
      kv: { keys: this.kv.keyCount, sessions: this.kv.sessionCount },
      transport: this.transport.metrics(),
    };
  }

  pendingCounts(): { puts: number; reads: number } {
    return { puts: this.putWaiters.size, reads: this.readWaiterCount };
  }

  metricsText(): string {
    return nodeMetricsText(this);
  }

  countRequest(op: string, outcome: string): void {
    const k = `${op}\0${outcome}`;
    this.requestCounts.set(k, (this.requestCounts.get(k) ?? 0) + 1);
  }

  private onControl(body: Uint8Array): HttpReply {
    const v = verifyControl(this.config.secret, this.config.clusterId, this.id, body);
    if (!v.ok) {
      this.log.limited('control-refused', 'warn', 'refused a control command', { reason: v.error });
      return { status: v.error === 'authentication failed' ? 403 : 400, contentType: 'application/json', body: JSON.stringify({ ok: false, error: v.error }) };
    }
    const reply: ControlReply = this.transport.control(v.command);
    this.log.info('control', { command: v.command, ok: reply.ok, ...(reply.ok ? {} : { error: reply.error }) });
    return { status: reply.ok ? 200 : 400, contentType: 'application/json', body: JSON.stringify(reply) };
  }

  // ---------------------------------------------------------------------------------------------
  // Shutdown

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.tickTimer !== null) clearInterval(this.tickTimer);
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    const lead = this.leader;
    for (const [cid, w] of [...this.putWaiters]) this.settlePut(cid, w, { ok: false, error: 'shutting down', leader: lead });
    for (const w of this.readBatch) this.answerRead(w, { ok: false, error: 'shutting down', leader: lead });
    this.readBatch = [];
    for (const ws of this.readsByCtx.values()) for (const w of ws) this.answerRead(w, { ok: false, error: 'shutting down', leader: lead });
    this.readsByCtx.clear();
    for (const r of this.readsAtIndex) for (const w of r.waiters) this.answerRead(w, { ok: false, error: 'shutting down', leader: lead });
    this.readsAtIndex = [];
    try {
      await this.transport.close();
    } finally {
      try {
        await this.store.close();
      } finally {
        this.log.info('stopped', { applied: this.appliedIndex, term: this.rawNode.raft.term });
        this.log.close();
      }
    }
  }
}

function putAnswer(result: KvResult, leader: number): Parameters<Answer>[0] {
  switch (result.status) {
    case 'ok':
    case 'duplicate':
      return { ok: true };
    case 'stale':
      return { ok: false, error: 'stale', leader };
    case 'full':
      return { ok: false, error: 'store full', leader };
    default: {
      const unreachable: never = result.status;
      throw new Error(`unknown KV status ${String(unreachable)}`);
    }
  }
}

function json(v: unknown): HttpReply {
  return { contentType: 'application/json', body: JSON.stringify(v) };
}
