// The deterministic simulation of a cluster: RawNodes driven by DESIGN.md's Ready loop in virtual
// time, over the simulated network (sim-network.ts, the shared fault model), with MemoryStorage as
// each node's disk, node faults (crash, restart, pause, tick skew), membership changes, KV
// clients, and the safety checkers (checkers.ts) observing every step.
//
// The Ready loop of a node, as etcd's node.go runs it:
//   - inputs (ticks, delivered messages, client proposals) are stepped into the RawNode as they
//     come; after the inputs of one instant, one Ready is taken (batching);
//   - the Ready's entries, hard state and snapshot are written to the disk. With a modelled disk
//     latency, a write that must be synced (entries, term, vote, snapshot) completes later; only
//     then are the Ready's messages sent (persist before send — the mutant `send-before-persist`
//     sends them at once), its committed entries applied, and the node advanced. Meanwhile the
//     node keeps stepping inputs, but takes no new Ready (one write in flight per node);
//   - a crash loses everything not yet written: the RawNode, the state machine, the in-flight
//     write and queued inputs. A restart rebuilds the node from its MemoryStorage (hard state,
//     entries, snapshot) and rebuilds the state machine from the snapshot, replaying the rest of
//     the committed log (the mutant `forget-vote-on-restart` zeroes the hard state's term and vote
//     first);
//   - a paused node (a stalled process) steps nothing and ticks nothing; its inbound messages
//     queue and its completed disk write waits until it resumes.
// An optional per-message processing cost makes a node a single server: messages queue while it
// is busy, and its Ready is taken when the work is done.
//
// Everything random (election timeouts, latencies, losses, disk times, clients, faults) draws
// from one seeded root Rng, forked per component, so a seed replays a run exactly; the scheduler's
// trace hash, fed every event and every message sent, proves it.

import { RawNode } from '../core/raw-node.js';
import { MemoryStorage } from '../core/storage.js';
import { Rng } from '../core/rand.js';
import { StateType, SnapshotStatus, stateTypeName, type Ready } from '../core/ready.js';
import { decodeEntryConfChange, type Config, type Raft } from '../core/raft.js';
import { getProtocol, type ProtocolOptions } from '../core/protocols.js';
import { isMutation, type Mutation } from '../core/mutations.js';
import { RaftError } from '../core/errors.js';
import { RaftInvariantError, silentLogger } from '../core/logger.js';
import { asV2 } from '../core/confchange.js';
import {
  Approval,
  ConfChangeTransition,
  ConfChangeType,
  EntryType,
  MessageType,
  isEmptyHardState,
  messageTypeName,
  type ConfChangeI,
  type ConfState,
  type Entry,
  type Message,
} from '../core/types.js';
import { FaultModel, LatencySampler, defaultNetworkSpec, type LatencyDist, type NetworkSpec } from '../faults/index.js';
import { KvStateMachine, decodeCommand, isKvCommand, type KvCommand } from '../kv/index.js';
import { Scheduler, type EventHandler } from './scheduler.js';
import { SendOutcome, SimNetwork, simNodeIdMax } from './sim-network.js';
import { Checkers, SafetyViolation, type CheckerName } from './checkers.js';
import { Clients, ProposeOutcome, type ClientHost, type ClientOptions } from './clients.js';
import type { TraceSink } from './trace.js';

export const enum SimEv {
  Tick = 1,
  Deliver = 2,
  Ready = 3,
  DiskDone = 4,
  Process = 5,
  Fault = 6,
  ClientTimer = 7,
  ClientArrival = 8,
  SnapStatus = 9,
  StopRemoved = 10,
}

export const enum NodeStatus {
  Up = 0,
  Down = 1,
  Paused = 2,
  // Removed from the configuration and shut down for good.
  Removed = 3,
}

const statusNames = ['up', 'down', 'paused', 'removed'] as const;
export type NodeStatusName = (typeof statusNames)[number];

export interface CompactionOptions {
  // Take a snapshot (and compact) each time this many entries were applied since the last one.
  readonly everyEntries: number;
  // Entries kept behind the snapshot, so that slightly lagging followers need no snapshot.
  readonly keepEntries: number;
}

export interface SimClusterOptions {
  protocol: string;
  protocolOptions?: ProtocolOptions;
  size: number;
  seed: number;
  tickUs: number;
  electionTick: number;
  heartbeatTick: number;
  preVote: boolean;
  checkQuorum: boolean;
  maxSizePerMsg: number;
  maxInflightMsgs: number;
  maxUncommittedEntriesSize: number;
  stepDownOnRemoval: boolean;
  network: NetworkSpec;
  // FIFO links (TCP-like); false lets latency spread reorder messages.
  fifoLinks: boolean;
  // Latency of a synced disk write (entries, term, vote, snapshot); null: instant.
  diskLatency: LatencyDist | null;
  // CPU time a node spends per inbound message or proposal; 0: free.
  processUs: number;
  // Per-node tick rate error for the initial members (0.05: ticks 5% slower); missing: 0.
  tickSkews: readonly number[];
  compaction: CompactionOptions | null;
  mutations: readonly string[];
  checkers: boolean;
  recordHistory: boolean;
  historyOpsMax?: number;
  trace: TraceSink | null;
  // Delay between a removal being applied and the removed node being shut down.
  removedStopDelayUs: number;
  // Bound on queued inbound items per node (paused or busy); beyond it messages are dropped as a
  // full socket buffer would.
  inboxMax: number;
}

export const defaultSimClusterOptions: Readonly<SimClusterOptions> = {
  protocol: 'raft',
  size: 3,
  seed: 1,
  tickUs: 10_000,
  electionTick: 10,
  heartbeatTick: 1,
  preVote: false,
  checkQuorum: false,
  maxSizePerMsg: 1024 * 1024,
  maxInflightMsgs: 256,
  maxUncommittedEntriesSize: 0,
  stepDownOnRemoval: true,
  network: defaultNetworkSpec,
  fifoLinks: true,
  diskLatency: null,
  processUs: 0,
  tickSkews: [],
  compaction: null,
  mutations: [],
  checkers: true,
  recordHistory: true,
  trace: null,
  removedStopDelayUs: 100_000,
  inboxMax: 100_000,
};

export interface NodeStateDump {
  id: number;
  status: NodeStatusName;
  incarnation: number;
  term: number;
  vote: number;
  state: string;
  lead: number;
  commit: number;
  applied: number;
  firstIndex: number;
  lastIndex: number;
  lastTerm: number;
  voters: number[];
  durable: { term: number; vote: number; commit: number; lastIndex: number; snapshotIndex: number };
}

export interface Violation {
  readonly checker: CheckerName | 'exception';
  readonly message: string;
  readonly seed: number;
  readonly eventIndex: number;
  readonly timeUs: number;
  readonly nodes: readonly NodeStateDump[];
  readonly stack?: string;
}

export interface ClusterCounters {
  ticks: number;
  readies: number;
  diskWrites: number;
  entriesPersisted: number;
  entriesApplied: number;
  snapshotsSent: number;
  snapshotsApplied: number;
  elections: number;
  crashes: number;
  restarts: number;
  pauses: number;
  confChangesApplied: number;
  stepErrors: number;
  inboxDropped: number;
}

// A queued inbound item: a peer message or a client proposal's data.
type InboxItem = Message | Uint8Array;

export class SimNode {
  status: NodeStatus = NodeStatus.Up;
  incarnation = 0;
  rn: RawNode | null = null;
  kv: KvStateMachine = new KvStateMachine();
  confState: ConfState;
  appliedIndex = 0;
  // Ticks come every tickUs * (1 + skew).
  skew = 0;
  tickUs: number;
  readyScheduled = false;
  processScheduled = false;
  diskBusy = false;
  // A write that completed while the node was paused.
  heldWrite: Ready | null = null;
  // The Ready whose messages went out before its write completed (mutant send-before-persist).
  sentEarly: Ready | null = null;
  busyUntilUs = 0;
  inbox: InboxItem[] = [];
  inboxHead = 0;
  // Observations, to report changes only.
  seenTerm = 0;
  seenState: StateType = StateType.StateFollower;
  seenLead = 0;
  seenLeaderTerm = 0;
  seenCommit = 0;
  // A Ready of this leader that fast-commits an entry or commits a configuration change: the fault
  // handler hears of it once the Ready is durable and before its messages leave.
  momentReady: Ready | null = null;
  momentFastCommit = false;
  momentConfCommit = false;
  momentRemoved: number[] = [];

  constructor(
    readonly id: number,
    readonly storage: MemoryStorage,
    readonly rng: Rng,
    confState: ConfState,
    tickUs: number,
  ) {
    this.confState = confState;
    this.tickUs = tickUs;
  }

  get key(): number {
    return this.incarnation * (simNodeIdMax + 1) + this.id;
  }

  get statusName(): NodeStatusName {
    return statusNames[this.status];
  }
}

function emptyConfState(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
}

function copyConfState(cs: ConfState): ConfState {
  return {
    voters: cs.voters.slice(),
    learners: cs.learners.slice(),
    votersOutgoing: cs.votersOutgoing.slice(),
    learnersNext: cs.learnersNext.slice(),
    autoLeave: cs.autoLeave,
  };
}

// Handlers for fault events, plugged in by the nemesis.
export interface FaultEventHandler {
  onFault(arg: number, nowUs: number): void;
  // A node was seen leading a term for the first time (for faults that aim at new leaders).
  onLeaderElected(id: number, term: number, nowUs: number): void;
  // A leader's Ready that fast-commits an entry (Fast Raft) or commits a configuration change is
  // durable, and its messages (the decision, the new commit index) have not left yet. Losses
  // that Fast Raft's rules 1 and 2 prevent need the leader to fail in exactly this window, which
  // timed faults almost never hit. The handler may crash nodes or change the network at once:
  // a crashed leader's messages of that Ready are lost, an isolated one's are dropped.
  onFastCommit(id: number, term: number, nowUs: number): void;
  // `removed`: the members the committed changes remove.
  onConfCommit(id: number, term: number, removed: readonly number[], nowUs: number): void;
}

export class SimCluster implements EventHandler<unknown>, ClientHost {
  readonly options: SimClusterOptions;
  readonly sched: Scheduler<unknown>;
  readonly network: SimNetwork;
  readonly checkers: Checkers | null;
  readonly clients: Clients;
  readonly nodes: (SimNode | undefined)[] = [];
  readonly counters: ClusterCounters = {
    ticks: 0,
    readies: 0,
    diskWrites: 0,
    entriesPersisted: 0,
    entriesApplied: 0,
    snapshotsSent: 0,
    snapshotsApplied: 0,
    elections: 0,
    crashes: 0,
    restarts: 0,
    pauses: 0,
    confChangesApplied: 0,
    stepErrors: 0,
    inboxDropped: 0,
  };
  violation: Violation | null = null;
  faultHandler: FaultEventHandler | null = null;
  // The highest index at which a configuration change was applied anywhere, and that config.
  configIndex = 0;
  config: ConfState;
  // The most recently observed leader and its term.
  private leader = 0;
  private leaderTerm = 0;
  private readonly rootRng: Rng;
  private readonly diskRng: Rng;
  private readonly diskSampler: LatencySampler | null;
  private readonly mutations: ReadonlySet<Mutation>;
  private readonly sendBeforePersist: boolean;
  private readonly forgetVoteOnRestart: boolean;
  private readonly tr: TraceSink | null;
  private liveCache: number[] | null = null;
  private readonly electedTerms = new Set<number>();
  private nextNodeId: number;
  // Decoded KV commands of recently applied entries, by index: every replica applies the same
  // entry objects (messages are not serialized in the simulator), so one decode serves all of
  // them. A slot is reused only for the very same data object.
  private readonly decodedData: (Uint8Array | null)[] = new Array<Uint8Array | null>(decodeCacheSize).fill(null);
  private readonly decodedCmd: (KvCommand | null)[] = new Array<KvCommand | null>(decodeCacheSize).fill(null);
  private readonly clientRngBase: Rng;
  // Reserved for fault injection that needs a shared stream (the nemesis itself draws from each
  // fault's own pick, so that dropping a fault does not shift the others).
  readonly faultRng: Rng;

  constructor(partial: Partial<SimClusterOptions> = {}) {
    const o: SimClusterOptions = { ...defaultSimClusterOptions, ...partial };
    validateOptions(o);
    this.options = o;
    getProtocol(o.protocol); // fail early on an unknown name
    const muts = new Set<Mutation>();
    for (const m of o.mutations) {
      if (!isMutation(m)) throw new RangeError(`unknown mutation "${m}"`);
      muts.add(m);
    }
    this.mutations = muts;
    this.sendBeforePersist = muts.has('send-before-persist');
    this.forgetVoteOnRestart = muts.has('forget-vote-on-restart');
    this.tr = o.trace;
    this.rootRng = new Rng(o.seed);
    // Fork order is part of the seed's meaning: never reorder these.
    const netRng = this.rootRng.fork(1);
    this.diskRng = this.rootRng.fork(2);
    const nodeRng = this.rootRng.fork(3);
    this.clientRngBase = this.rootRng.fork(4);
    this.faultRng = this.rootRng.fork(5);
    // The scheduler does not hash every event: the cluster hashes what matters (every message
    // sent with its time, state changes, faults), which is as strict a fingerprint of a run and
    // costs a third of the per-event hashing.
    this.sched = new Scheduler<unknown>({ traceEvents: false });
    this.network = new SimNetwork(this.sched, netRng, SimEv.Deliver, new FaultModel(o.network), o.fifoLinks);
    this.diskSampler = o.diskLatency === null ? null : new LatencySampler(o.diskLatency);
    this.checkers = o.checkers ? new Checkers() : null;
    this.clients = new Clients(this, SimEv.ClientTimer, SimEv.ClientArrival, o.recordHistory, o.historyOpsMax, o.trace);
    const ids = Array.from({ length: o.size }, (_, i) => i + 1);
    this.config = { ...emptyConfState(), voters: ids.slice() };
    this.nextNodeId = o.size + 1;
    for (const id of ids) {
      const storage = new MemoryStorage();
      // Bootstrap as etcd's tests do: every member starts from the same snapshot at index 1
      // holding the initial configuration; a node added later starts empty and gets a snapshot.
      storage.applySnapshot({ data: new Uint8Array(0), metadata: { index: 1, term: 1, confState: copyConfState(this.config) } });
      const node = new SimNode(id, storage, nodeRng.fork(id), copyConfState(this.config), o.tickUs);
      node.skew = o.tickSkews[id - 1] ?? 0;
      node.tickUs = skewedTickUs(o.tickUs, node.skew);
      this.nodes[id] = node;
      this.startNode(node);
    }
    // Fast Raft re-stamps recovered entries with the new leader's term: compare data, not terms.
    if (this.checkers !== null) this.checkers.identityByData = this.nodes.some((n) => n?.rn?.raft.fast != null);
  }

  // ---------------------------------------------------------------------------------------------
  // Public API

  get nowUs(): number {
    return this.sched.nowUs;
  }

  get eventsRun(): number {
    return this.sched.eventsRun;
  }

  traceHash(): string {
    return this.sched.trace.hex();
  }

  node(id: number): SimNode {
    const n = this.nodes[id];
    if (n === undefined) throw new RangeError(`no node ${id}`);
    return n;
  }

  // nodeIds lists every node ever created, in id order.
  nodeIds(): number[] {
    const out: number[] = [];
    for (let id = 1; id < this.nodes.length; id++) if (this.nodes[id] !== undefined) out.push(id);
    return out;
  }

  // addClients attaches a group of simulated clients (see clients.ts).
  addClients(options: Partial<ClientOptions>): void {
    this.clients.add(options, this.clientRngBase.fork(this.clients.sessionCount + 1));
  }

  // runUntil runs events up to `untilUs` (virtual); false when a violation stopped the run.
  runUntil(untilUs: number): boolean {
    if (this.violation !== null) return false;
    try {
      this.sched.run(this, { untilUs });
    } catch (err) {
      this.recordViolation(err);
      return false;
    }
    return true;
  }

  // guard runs an action from outside the event loop (a fault, a heal) with the same treatment
  // of violations as an event; false when it (or an earlier event) violated a check.
  guard(fn: () => void): boolean {
    if (this.violation !== null) return false;
    try {
      fn();
    } catch (err) {
      this.recordViolation(err);
      return false;
    }
    return true;
  }

  runFor(durationUs: number): boolean {
    return this.runUntil(this.sched.nowUs + durationUs);
  }

  // ---------------------------------------------------------------------------------------------
  // ClientHost

  leaderId(): number {
    const n = this.nodes[this.leader];
    if (n !== undefined && n.status !== NodeStatus.Down && n.status !== NodeStatus.Removed && n.rn !== null && n.rn.raft.state === StateType.StateLeader) {
      return this.leader;
    }
    let best = 0;
    let bestTerm = -1;
    for (const node of this.nodes) {
      if (node === undefined || node.rn === null || node.status === NodeStatus.Removed) continue;
      const r = node.rn.raft;
      if (r.state === StateType.StateLeader && r.term > bestTerm) {
        best = node.id;
        bestTerm = r.term;
      }
    }
    return best;
  }

  liveMemberIds(): readonly number[] {
    if (this.liveCache === null) {
      const out: number[] = [];
      for (const node of this.nodes) {
        if (node === undefined) continue;
        if (node.status === NodeStatus.Up || node.status === NodeStatus.Paused) out.push(node.id);
      }
      this.liveCache = out;
    }
    return this.liveCache;
  }

  propose(nodeId: number, data: Uint8Array): ProposeOutcome {
    const node = this.nodes[nodeId];
    if (node === undefined || node.status === NodeStatus.Down || node.status === NodeStatus.Removed) return ProposeOutcome.Down;
    if (node.status === NodeStatus.Paused || this.mustQueue(node)) {
      this.enqueue(node, data);
      return ProposeOutcome.Accepted;
    }
    const ok = this.proposeNow(node, data);
    if (this.options.processUs > 0) node.busyUntilUs = this.sched.nowUs + this.options.processUs;
    this.markDirty(node);
    return ok ? ProposeOutcome.Accepted : ProposeOutcome.Dropped;
  }

  private proposeNow(node: SimNode, data: Uint8Array): boolean {
    try {
      node.rn!.propose(data);
      return true;
    } catch (err) {
      if (err instanceof RaftError) return false;
      throw err;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Node faults

  crash(id: number): boolean {
    const node = this.nodes[id];
    if (node === undefined || node.status === NodeStatus.Down || node.status === NodeStatus.Removed) return false;
    this.stopNode(node, NodeStatus.Down);
    this.counters.crashes++;
    this.traceFault('crash', id);
    return true;
  }

  restart(id: number): boolean {
    const node = this.nodes[id];
    if (node === undefined || node.status !== NodeStatus.Down) return false;
    this.counters.restarts++;
    this.traceFault('restart', id);
    this.startNode(node);
    return true;
  }

  pause(id: number): boolean {
    const node = this.nodes[id];
    if (node === undefined || node.status !== NodeStatus.Up) return false;
    node.status = NodeStatus.Paused;
    this.counters.pauses++;
    this.traceFault('pause', id);
    return true;
  }

  resume(id: number): boolean {
    const node = this.nodes[id];
    if (node === undefined || node.status !== NodeStatus.Paused) return false;
    node.status = NodeStatus.Up;
    this.traceFault('resume', id);
    const held = node.heldWrite;
    if (held !== null) {
      node.heldWrite = null;
      this.completeReady(node, held);
    }
    if (node.inboxHead < node.inbox.length) this.scheduleProcess(node, this.sched.nowUs);
    this.markDirty(node);
    return true;
  }

  // setSkew changes a node's tick rate error from its next tick on.
  setSkew(id: number, skew: number): void {
    const node = this.node(id);
    node.skew = skew;
    node.tickUs = skewedTickUs(this.options.tickUs, skew);
    this.traceFault('skew', id, { skew });
  }

  // transferLeader asks the current leader to hand over to `to`; false when there is no leader.
  transferLeader(to: number): boolean {
    const lead = this.leaderId();
    const node = this.nodes[lead];
    if (lead === 0 || node === undefined || node.status !== NodeStatus.Up || lead === to) return false;
    this.traceFault('transfer', lead, { to });
    node.rn!.transferLeader(to);
    this.markDirty(node);
    return true;
  }

  // campaign makes a node start an election now (scripted scenarios; the nemesis does not).
  campaign(id: number): boolean {
    const node = this.nodes[id];
    if (node === undefined || node.status !== NodeStatus.Up) return false;
    this.traceFault('campaign', id);
    node.rn!.campaign();
    this.markDirty(node);
    return true;
  }

  // addNode proposes adding a new node (a fresh id) through the leader; the node is started when
  // the change is first applied. Returns the id, or 0 when there is no leader to ask.
  addNode(v2: boolean): number {
    if (this.nextNodeId > simNodeIdMax) return 0;
    const id = this.nextNodeId;
    const cc: ConfChangeI = v2
      ? { transition: ConfChangeTransition.Auto, changes: [{ type: ConfChangeType.ConfChangeAddNode, nodeId: id }], context: new Uint8Array(0) }
      : { id: 0, type: ConfChangeType.ConfChangeAddNode, nodeId: id, context: new Uint8Array(0) };
    if (!this.proposeConfChange(cc)) return 0;
    this.nextNodeId++;
    this.traceFault('add-node', id, { v2 });
    return id;
  }

  removeNode(id: number, v2: boolean): boolean {
    const cc: ConfChangeI = v2
      ? { transition: ConfChangeTransition.Auto, changes: [{ type: ConfChangeType.ConfChangeRemoveNode, nodeId: id }], context: new Uint8Array(0) }
      : { id: 0, type: ConfChangeType.ConfChangeRemoveNode, nodeId: id, context: new Uint8Array(0) };
    if (!this.proposeConfChange(cc)) return false;
    this.traceFault('remove-node', id, { v2 });
    return true;
  }

  private proposeConfChange(cc: ConfChangeI): boolean {
    const lead = this.leaderId();
    const node = this.nodes[lead];
    if (lead === 0 || node === undefined || node.status !== NodeStatus.Up) return false;
    try {
      node.rn!.proposeConfChange(cc);
    } catch (err) {
      if (err instanceof RaftError) return false;
      throw err;
    }
    this.markDirty(node);
    return true;
  }

  // traceFault records a fault (or other external action) in the trace and the trace hash.
  traceFault(kind: string, node: number, extra?: Record<string, number | boolean | string | readonly (readonly number[])[]>): void {
    const h = this.sched.trace;
    h.mixString(kind);
    h.mixU32(node);
    if (this.tr !== null) this.tr.write({ i: this.sched.eventsRun, t: this.sched.nowUs, ev: 'fault', fault: kind, node, ...(extra ?? {}) });
  }

  // ---------------------------------------------------------------------------------------------
  // Event dispatch

  onEvent(kind: number, arg: number, payload: unknown, nowUs: number): void {
    switch (kind as SimEv) {
      case SimEv.Deliver:
        this.deliver(payload as Message, nowUs);
        return;
      case SimEv.Ready: {
        const node = this.nodeByKey(arg);
        if (node !== null) this.handleReady(node);
        return;
      }
      case SimEv.Tick: {
        const node = this.nodeByKey(arg);
        if (node !== null) this.tick(node, nowUs);
        return;
      }
      case SimEv.DiskDone: {
        const node = this.nodeByKey(arg);
        if (node === null) return;
        if (node.status === NodeStatus.Paused) {
          node.heldWrite = payload as Ready;
          return;
        }
        this.completeReady(node, payload as Ready);
        return;
      }
      case SimEv.Process: {
        const node = this.nodeByKey(arg);
        if (node !== null) this.processInbox(node, nowUs);
        return;
      }
      case SimEv.ClientTimer:
        this.clients.onTimer(arg, nowUs);
        return;
      case SimEv.ClientArrival:
        this.clients.onArrival(arg, nowUs);
        return;
      case SimEv.Fault:
        if (this.faultHandler !== null) this.faultHandler.onFault(arg, nowUs);
        return;
      case SimEv.SnapStatus: {
        const failed = arg % 2 === 1;
        const to = Math.floor(arg / 2) % (simNodeIdMax + 1);
        const from = Math.floor(arg / 2 / (simNodeIdMax + 1));
        const node = this.nodes[from];
        if (node === undefined || node.status !== NodeStatus.Up) return;
        node.rn!.reportSnapshot(to, failed ? SnapshotStatus.SnapshotFailure : SnapshotStatus.SnapshotFinish);
        this.markDirty(node);
        return;
      }
      case SimEv.StopRemoved: {
        const node = this.nodes[arg];
        if (node === undefined || node.status === NodeStatus.Removed) return;
        this.stopNode(node, NodeStatus.Removed);
        this.traceFault('stop-removed', arg);
        return;
      }
      default:
        throw new Error(`sim: unknown event kind ${kind}`);
    }
  }

  private nodeByKey(key: number): SimNode | null {
    const node = this.nodes[key % (simNodeIdMax + 1)];
    if (node === undefined || node.key !== key) return null;
    if (node.status === NodeStatus.Down || node.status === NodeStatus.Removed) return null;
    return node;
  }

  // ---------------------------------------------------------------------------------------------
  // Node life cycle

  private startNode(node: SimNode): void {
    const o = this.options;
    const storage = node.storage;
    if (this.forgetVoteOnRestart && node.incarnation > 0) {
      // Mutant: the restarted node forgets whom it voted for and the term it was in. The term
      // falls back to what the log alone proves (its last entry's term), not to 0: a zero term
      // under a non-empty log is a state the core rightly refuses, which would hide the mutant's
      // real consequence (a second vote in a term it already voted in).
      const hs = storage.hardState;
      if (!isEmptyHardState(hs)) storage.hardState = { term: Math.min(hs.term, storage.term(storage.lastIndex())), vote: 0, commit: hs.commit };
    }
    const base: Config = {
      id: node.id,
      electionTick: o.electionTick,
      heartbeatTick: o.heartbeatTick,
      storage,
      applied: 0,
      maxSizePerMsg: o.maxSizePerMsg,
      maxInflightMsgs: o.maxInflightMsgs,
      maxUncommittedEntriesSize: o.maxUncommittedEntriesSize,
      checkQuorum: o.checkQuorum,
      preVote: o.preVote,
      stepDownOnRemoval: o.stepDownOnRemoval,
      logger: silentLogger,
      rng: node.rng.fork(node.incarnation + 1),
      mutations: this.mutations,
    };
    const config = getProtocol(o.protocol).configure(base, o.protocolOptions);
    const snap = storage.snapshot();
    const kv = new KvStateMachine();
    if (snap.data.length > 0) kv.restore(snap.data);
    node.kv = kv;
    node.appliedIndex = snap.metadata.index;
    node.confState = snap.metadata.index > 0 ? copyConfState(snap.metadata.confState) : emptyConfState();
    node.rn = new RawNode(config);
    node.status = NodeStatus.Up;
    node.readyScheduled = false;
    node.processScheduled = false;
    node.diskBusy = false;
    node.heldWrite = null;
    node.busyUntilUs = 0;
    node.inbox = [];
    node.inboxHead = 0;
    const r = node.rn.raft;
    node.seenTerm = r.term;
    node.seenState = r.state;
    node.seenLead = r.lead;
    node.seenLeaderTerm = 0;
    node.seenCommit = r.raftLog.committed;
    this.liveCache = null;
    this.checkers?.observeRestart(node.id, node.incarnation, storage.hardState.commit, snap.metadata.index);
    // A random phase, so that nodes started together do not tick in lockstep.
    this.sched.at(this.sched.nowUs + 1 + node.rng.intn(node.tickUs), SimEv.Tick, node.key);
    this.markDirty(node);
  }

  private stopNode(node: SimNode, status: NodeStatus): void {
    node.status = status;
    // The incarnation changes so that every pending event of the old process (ticks, the
    // in-flight disk write, queued work) is recognised as stale and ignored.
    node.incarnation++;
    node.rn = null;
    node.readyScheduled = false;
    node.processScheduled = false;
    node.diskBusy = false;
    node.heldWrite = null;
    node.sentEarly = null;
    node.momentReady = null;
    node.inbox = [];
    node.inboxHead = 0;
    node.busyUntilUs = 0;
    this.liveCache = null;
    if (this.leader === node.id) this.leader = 0;
  }

  private tick(node: SimNode, nowUs: number): void {
    this.sched.at(nowUs + node.tickUs, SimEv.Tick, node.key);
    if (node.status !== NodeStatus.Up) return;
    this.counters.ticks++;
    if (this.tr !== null) this.tr.write({ i: this.sched.eventsRun, t: nowUs, ev: 'tick', node: node.id });
    node.rn!.tick();
    this.markDirty(node);
  }

  // ---------------------------------------------------------------------------------------------
  // Inputs

  private mustQueue(node: SimNode): boolean {
    return this.options.processUs > 0 && (node.busyUntilUs > this.sched.nowUs || node.inboxHead < node.inbox.length);
  }

  private enqueue(node: SimNode, item: InboxItem): void {
    if (node.inbox.length - node.inboxHead >= this.options.inboxMax) {
      this.counters.inboxDropped++;
      return;
    }
    node.inbox.push(item);
    if (node.status === NodeStatus.Up) this.scheduleProcess(node, Math.max(node.busyUntilUs, this.sched.nowUs));
  }

  private scheduleProcess(node: SimNode, atUs: number): void {
    if (node.processScheduled) return;
    node.processScheduled = true;
    this.sched.at(atUs, SimEv.Process, node.key);
  }

  private deliver(m: Message, nowUs: number): void {
    const node = this.nodes[m.to];
    if (node === undefined || node.status === NodeStatus.Down || node.status === NodeStatus.Removed) {
      this.network.counters.droppedDown++;
      return;
    }
    if (node.status === NodeStatus.Paused || this.mustQueue(node)) {
      this.enqueue(node, m);
      return;
    }
    this.stepMessage(node, m, nowUs);
    if (this.options.processUs > 0) node.busyUntilUs = nowUs + this.options.processUs;
    this.markDirty(node);
  }

  private processInbox(node: SimNode, nowUs: number): void {
    node.processScheduled = false;
    if (node.status !== NodeStatus.Up) return;
    const processUs = this.options.processUs;
    // Without a processing cost everything queued (while paused) is stepped at once; with one,
    // one item per event, each occupying the node for processUs.
    while (node.inboxHead < node.inbox.length) {
      const item = node.inbox[node.inboxHead]!;
      node.inbox[node.inboxHead++] = undefined as unknown as InboxItem;
      if (item instanceof Uint8Array) this.proposeNow(node, item);
      else this.stepMessage(node, item, nowUs);
      if (processUs > 0) {
        node.busyUntilUs = nowUs + processUs;
        break;
      }
    }
    if (node.inboxHead >= node.inbox.length) {
      node.inbox = [];
      node.inboxHead = 0;
    } else {
      this.scheduleProcess(node, node.busyUntilUs);
    }
    this.markDirty(node);
  }

  private stepMessage(node: SimNode, m: Message, nowUs: number): void {
    const nc = this.network.counters;
    nc.delivered++;
    if (this.tr !== null) this.traceMessage('recv', m, nowUs);
    if (m.type === MessageType.MsgSnap) {
      // The transport reports a snapshot as sent once it is through (etcd's rafthttp does the
      // same), so the leader stops waiting for it.
      this.sched.at(nowUs, SimEv.SnapStatus, (m.from * (simNodeIdMax + 1) + m.to) * 2);
    }
    try {
      node.rn!.step(m);
    } catch (err) {
      // Refusals (a response from a peer no longer in the configuration, a dropped forwarded
      // proposal) are normal outcomes; anything else is a bug and stops the run.
      if (!(err instanceof RaftError)) throw err;
      this.counters.stepErrors++;
    }
  }

  private markDirty(node: SimNode): void {
    if (node.readyScheduled) return;
    node.readyScheduled = true;
    const now = this.sched.nowUs;
    this.sched.at(node.busyUntilUs > now ? node.busyUntilUs : now, SimEv.Ready, node.key);
  }

  // ---------------------------------------------------------------------------------------------
  // The Ready loop

  private handleReady(node: SimNode): void {
    node.readyScheduled = false;
    if (node.status !== NodeStatus.Up || node.diskBusy) return;
    const rn = node.rn!;
    if (!rn.hasReady()) return;
    const rd = rn.ready();
    this.counters.readies++;
    this.observe(node, rd);
    const snapIndex = rd.snapshot === null ? 0 : rd.snapshot.metadata.index;
    if (this.diskSampler !== null && (rd.mustSync || snapIndex > 0)) {
      // The write takes time; the Ready's messages wait for it, unless the mutant sends them now.
      if (this.sendBeforePersist) {
        this.sendAll(node, rd.messages);
        node.sentEarly = rd;
      }
      node.diskBusy = true;
      const delayUs = Math.max(0, Math.round(this.diskSampler.sampleUs(this.diskRng)));
      this.sched.at(this.sched.nowUs + delayUs, SimEv.DiskDone, node.key, rd);
      return;
    }
    this.completeReady(node, rd);
  }

  private completeReady(node: SimNode, rd: Ready): void {
    node.diskBusy = false;
    this.persist(node, rd);
    if (node.momentReady === rd && !this.signalMoment(node)) return;
    if (node.sentEarly === rd) node.sentEarly = null;
    else this.sendAll(node, rd.messages);
    if (rd.committedEntries.length > 0) this.apply(node, rd.committedEntries);
    const rn = node.rn!;
    rn.advance(rd);
    // Stepping the self-addressed acks on advance can commit, elect, or send more.
    if (rn.hasReady()) this.markDirty(node);
  }

  // signalMoment tells the fault handler about the leader's Ready being completed; false when the
  // handler crashed the node (the rest of the Ready is lost with it).
  private signalMoment(node: SimNode): boolean {
    node.momentReady = null;
    const h = this.faultHandler;
    if (h === null) return true;
    const incarnation = node.incarnation;
    const term = node.rn!.raft.term;
    const now = this.sched.nowUs;
    if (node.momentFastCommit) h.onFastCommit(node.id, term, now);
    if (node.momentConfCommit && node.incarnation === incarnation) h.onConfCommit(node.id, term, node.momentRemoved, now);
    return node.incarnation === incarnation && node.rn !== null;
  }

  // observe feeds the checkers what a Ready reveals: a leader, a commit index.
  private observe(node: SimNode, rd: Ready): void {
    const r = node.rn!.raft;
    if (r.term !== node.seenTerm || r.state !== node.seenState || r.lead !== node.seenLead) {
      node.seenTerm = r.term;
      node.seenState = r.state;
      node.seenLead = r.lead;
      const h = this.sched.trace;
      h.mixU32(node.id);
      h.mixUint(r.term);
      h.mixU32(r.state);
      if (this.tr !== null) {
        this.tr.write({ i: this.sched.eventsRun, t: this.sched.nowUs, ev: 'state', node: node.id, term: r.term, state: stateTypeName(r.state), lead: r.lead, vote: r.vote });
      }
    }
    if (r.state === StateType.StateLeader && r.term !== node.seenLeaderTerm) {
      node.seenLeaderTerm = r.term;
      if (!this.electedTerms.has(r.term)) {
        this.electedTerms.add(r.term);
        this.counters.elections++;
        if (this.faultHandler !== null) this.faultHandler.onLeaderElected(node.id, r.term, this.sched.nowUs);
      }
      if (r.term >= this.leaderTerm) {
        this.leader = node.id;
        this.leaderTerm = r.term;
      }
      this.checkers?.observeLeader(node.id, r.term, r.raftLog);
    }
    let fastCommit = false;
    if (!isEmptyHardState(rd.hardState) && rd.hardState.commit !== node.seenCommit) {
      const commit = rd.hardState.commit;
      // A leader's commit index never passes what a quorum acknowledged, except on the fast
      // track, where votes commit an entry before anyone holds it as decided.
      if (this.faultHandler !== null && r.fast !== null && r.state === StateType.StateLeader) {
        fastCommit = commit > node.seenCommit && commit > r.trk.committed();
      }
      node.seenCommit = commit;
      const ck = this.checkers;
      // Under Fast Raft a leader commits on votes before its own copy of the decided entry is
      // durable; nothing can see that commit until the Ready is persisted (its messages and
      // applies come after), so commits are recorded when made durable (persist) instead.
      if (ck !== null && !ck.identityByData) {
        observeCommitOf(ck, node.id, r, commit);
      }
    }
    if (this.faultHandler !== null && r.state === StateType.StateLeader) {
      let confCommit = false;
      let removed: number[] | null = null;
      const ents = rd.committedEntries;
      for (let i = 0; i < ents.length; i++) {
        const e = ents[i]!;
        if (e.type === EntryType.EntryNormal) continue;
        confCommit = true;
        const cc = decodeEntryConfChange(e);
        if (cc === null) continue;
        for (const ch of asV2(cc).changes) if (ch.type === ConfChangeType.ConfChangeRemoveNode) (removed ??= []).push(ch.nodeId);
      }
      if (fastCommit || confCommit) {
        node.momentReady = rd;
        node.momentFastCommit = fastCommit;
        node.momentConfCommit = confCommit;
        node.momentRemoved = removed ?? [];
      }
    }
  }

  private persist(node: SimNode, rd: Ready): void {
    const st = node.storage;
    const ck = this.checkers;
    const snap = rd.snapshot;
    if (snap !== null && snap.metadata.index > 0) {
      st.applySnapshot(snap);
      node.kv = snap.data.length > 0 ? KvStateMachine.fromSnapshot(snap.data) : new KvStateMachine();
      node.appliedIndex = snap.metadata.index;
      node.confState = copyConfState(snap.metadata.confState);
      this.counters.snapshotsApplied++;
      ck?.observeSnapshotApplied(node.id, snap.metadata.index);
      if (this.tr !== null) this.tr.write({ i: this.sched.eventsRun, t: this.sched.nowUs, ev: 'snapshot', node: node.id, index: snap.metadata.index, term: snap.metadata.term });
    }
    const ents = rd.entries;
    if (ents.length > 0) {
      if (ck !== null && ents[0]!.index <= st.lastIndex()) this.checkOverwrite(node, ents);
      st.append(ents);
      this.counters.entriesPersisted += ents.length;
      if (ck !== null) {
        const first = st.firstIndex();
        const offset = st.ents[0]!.index;
        let prev: Entry | undefined;
        for (let i = 0; i < ents.length; i++) {
          const e = ents[i]!;
          if (e.index < first) continue;
          if (prev === undefined) prev = st.ents[e.index - 1 - offset];
          // After a self-approved entry (Fast Raft), the predecessor proves nothing.
          const prevTerm = prev === undefined ? -1 : prev.approval === Approval.SelfApproved ? -1 : prev.term;
          ck.observePersisted(node.id, e, prevTerm);
          prev = e;
        }
      }
    }
    if (!isEmptyHardState(rd.hardState)) {
      const hs = rd.hardState;
      st.setHardState(hs);
      if (ck !== null) {
        if (ck.identityByData && node.rn !== null) observeCommitOf(ck, node.id, node.rn.raft, hs.commit);
        ck.observeDurableCommit(node.id, hs.commit);
        // The durable vote (a candidate's for itself included) is the node's one vote of the term.
        if (hs.vote !== 0) ck.observeVoteGranted(node.id, hs.term, hs.vote);
      }
    }
    if (rd.mustSync || ents.length > 0) this.counters.diskWrites++;
    if (this.tr !== null && (ents.length > 0 || !isEmptyHardState(rd.hardState))) {
      const hs = st.hardState;
      this.tr.write({
        i: this.sched.eventsRun,
        t: this.sched.nowUs,
        ev: 'persist',
        node: node.id,
        from: ents.length > 0 ? ents[0]!.index : 0,
        to: ents.length > 0 ? ents[ents.length - 1]!.index : 0,
        term: hs.term,
        vote: hs.vote,
        commit: hs.commit,
      });
    }
  }

  // checkOverwrite reports to the checkers every durable entry an append is about to replace or
  // truncate (only on a conflict, so rarely).
  private checkOverwrite(node: SimNode, ents: readonly Entry[]): void {
    const st = node.storage;
    const ck = this.checkers!;
    const first = Math.max(ents[0]!.index, st.firstIndex());
    const oldLast = st.lastIndex();
    const newLast = ents[ents.length - 1]!.index;
    const offset = st.ents[0]!.index;
    for (let j = first; j <= oldLast; j++) {
      const old = st.ents[j - offset]!;
      const newTerm = j <= newLast ? ents[j - ents[0]!.index]!.term : -1;
      ck.observeOverwrite(node.id, j, old.term, newTerm, old);
    }
  }

  private sendAll(node: SimNode, msgs: readonly Message[]): void {
    const net = this.network;
    const h = this.sched.trace;
    const ck = this.checkers;
    const now = this.sched.nowUs;
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!;
      if (m.to === node.id) continue;
      if (m.type === MessageType.MsgVoteResp && !m.reject && ck !== null) ck.observeVoteGranted(node.id, m.term, m.to);
      // Ids are below 256 (simNodeIdMax); the low 32 bits of term, index and commit are plenty
      // to tell runs apart.
      const ne = m.entries.length;
      h.mixU32(now);
      h.mixU32(m.type | (m.from << 8) | (m.to << 16) | ((ne > 255 ? 255 : ne) << 24));
      h.mixU32(m.term);
      h.mixU32(m.index);
      h.mixU32(m.commit);
      const outcome = net.send(m, now);
      if (this.tr !== null) this.traceMessage(outcome === SendOutcome.Dropped ? 'drop' : 'send', m, now);
      if (m.type === MessageType.MsgSnap) {
        this.counters.snapshotsSent++;
        if (outcome === SendOutcome.Dropped) {
          // The transport tells the leader a snapshot did not get through, or its progress would
          // wait in StateSnapshot forever.
          this.sched.at(now, SimEv.SnapStatus, (m.from * (simNodeIdMax + 1) + m.to) * 2 + 1);
        }
      }
    }
  }

  private apply(node: SimNode, ents: readonly Entry[]): void {
    const ck = this.checkers;
    const rn = node.rn!;
    const now = this.sched.nowUs;
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i]!;
      if (e.index <= node.appliedIndex) continue;
      if (ck !== null) ck.observeApply(node.id, e, rn.raft.raftLog.committed);
      if (e.type === EntryType.EntryNormal) {
        if (e.data.length > 0 && isKvCommand(e.data)) {
          const slot = e.index & (decodeCacheSize - 1);
          let cmd = this.decodedCmd[slot]!;
          if (this.decodedData[slot] !== e.data) {
            cmd = decodeCommand(e.data);
            this.decodedData[slot] = e.data;
            this.decodedCmd[slot] = cmd;
          }
          const result = node.kv.applyCommand(e.index, cmd);
          this.clients.onApplied(node.id, cmd.clientId, cmd.seq, result, now);
        } else {
          node.kv.advance(e.index);
        }
      } else {
        node.kv.advance(e.index);
        const cc = decodeEntryConfChange(e);
        if (cc !== null) this.applyConfChange(node, cc, e.index);
      }
      node.appliedIndex = e.index;
      this.counters.entriesApplied++;
    }
    const c = this.options.compaction;
    if (c !== null && node.appliedIndex - node.storage.snapshot().metadata.index >= c.everyEntries) {
      this.compact(node, c);
    }
  }

  private applyConfChange(node: SimNode, cc: ConfChangeI, index: number): void {
    const cs = node.rn!.applyConfChange(cc);
    node.confState = copyConfState(cs);
    this.counters.confChangesApplied++;
    // A snapshot at every configuration change, so that a node added by it can be brought up by
    // a snapshot that includes it (etcd's server does the equivalent when it sends one).
    node.storage.createSnapshot(index, copyConfState(cs), node.kv.snapshot());
    if (this.tr !== null) {
      this.tr.write({ i: this.sched.eventsRun, t: this.sched.nowUs, ev: 'conf', node: node.id, index, voters: cs.voters.slice(), learners: cs.learners.slice() });
    }
    if (index <= this.configIndex) return;
    this.configIndex = index;
    this.config = copyConfState(cs);
    for (const ch of asV2(cc).changes) {
      const id = ch.nodeId;
      if (ch.type === ConfChangeType.ConfChangeAddNode || ch.type === ConfChangeType.ConfChangeAddLearnerNode) {
        if (this.nodes[id] === undefined && id <= simNodeIdMax) this.createNode(id);
      } else if (ch.type === ConfChangeType.ConfChangeRemoveNode) {
        // The operator shuts the removed node down once its removal is through.
        this.sched.at(this.sched.nowUs + this.options.removedStopDelayUs, SimEv.StopRemoved, id);
      }
    }
  }

  private createNode(id: number): void {
    const node = new SimNode(id, new MemoryStorage(), this.rootRng.fork(1000 + id), emptyConfState(), this.options.tickUs);
    this.nodes[id] = node;
    if (id >= this.nextNodeId) this.nextNodeId = id + 1;
    this.traceFault('start-node', id);
    this.startNode(node);
  }

  private compact(node: SimNode, c: CompactionOptions): void {
    const st = node.storage;
    const index = node.appliedIndex;
    st.createSnapshot(index, copyConfState(node.confState), node.kv.snapshot());
    const compactTo = index - c.keepEntries;
    if (compactTo > st.firstIndex()) st.compact(compactTo);
  }

  // ---------------------------------------------------------------------------------------------
  // Reporting

  private traceMessage(ev: string, m: Message, nowUs: number): void {
    this.tr!.write({
      i: this.sched.eventsRun,
      t: nowUs,
      ev,
      type: messageTypeName(m.type),
      from: m.from,
      to: m.to,
      term: m.term,
      logTerm: m.logTerm,
      index: m.index,
      commit: m.commit,
      ents: m.entries.length,
      reject: m.reject,
      ...(ev === 'send' && this.network.fate.copies === 2 ? { dup: true } : {}),
      ...(ev === 'send' ? { delayUs: this.network.fate.delayUs } : {}),
    });
  }

  dumpNodes(): NodeStateDump[] {
    const out: NodeStateDump[] = [];
    for (const node of this.nodes) {
      if (node === undefined) continue;
      const st = node.storage;
      const hs = st.hardState;
      const durable = { term: hs.term, vote: hs.vote, commit: hs.commit, lastIndex: st.lastIndex(), snapshotIndex: st.snapshot().metadata.index };
      const rn = node.rn;
      if (rn === null) {
        out.push({
          id: node.id,
          status: node.statusName,
          incarnation: node.incarnation,
          term: 0,
          vote: 0,
          state: '-',
          lead: 0,
          commit: 0,
          applied: 0,
          firstIndex: st.firstIndex(),
          lastIndex: st.lastIndex(),
          lastTerm: 0,
          voters: [],
          durable,
        });
        continue;
      }
      const r = rn.raft;
      const last = r.raftLog.lastIndex();
      out.push({
        id: node.id,
        status: node.statusName,
        incarnation: node.incarnation,
        term: r.term,
        vote: r.vote,
        state: stateTypeName(r.state),
        lead: r.lead,
        commit: r.raftLog.committed,
        applied: node.appliedIndex,
        firstIndex: r.raftLog.firstIndex(),
        lastIndex: last,
        lastTerm: r.raftLog.termOrZero(last),
        voters: [...r.trk.config.voters.ids()].sort((a, b) => a - b),
        durable,
      });
    }
    return out;
  }

  private recordViolation(err: unknown): void {
    let checker: CheckerName | 'exception';
    let message: string;
    let stack: string | undefined;
    if (err instanceof SafetyViolation) {
      checker = err.checker;
      message = err.detail;
    } else if (err instanceof RaftInvariantError || err instanceof RaftError) {
      checker = 'core-panic';
      message = err.message;
      stack = err.stack;
    } else {
      checker = 'exception';
      message = err instanceof Error ? err.message : String(err);
      stack = err instanceof Error ? err.stack : undefined;
    }
    let nodes: NodeStateDump[] = [];
    try {
      nodes = this.dumpNodes();
    } catch {
      // A node too broken to describe does not hide the violation itself.
    }
    this.violation = {
      checker,
      message,
      seed: this.options.seed,
      eventIndex: this.sched.eventsRun,
      timeUs: this.sched.nowUs,
      nodes,
      ...(stack !== undefined ? { stack } : {}),
    };
    if (this.tr !== null) this.tr.write({ i: this.sched.eventsRun, t: this.sched.nowUs, ev: 'violation', checker, message });
  }

  // failWith stops the run with a violation found outside the event loop (the end-of-run
  // linearizability check).
  failWith(checker: CheckerName, message: string): void {
    if (this.violation !== null) return;
    this.recordViolation(new SafetyViolation(checker, message));
  }
}

// Entries whose decoded command is remembered (a power of two).
const decodeCacheSize = 4096;

function skewedTickUs(tickUs: number, skew: number): number {
  return Math.max(1, Math.round(tickUs * (1 + skew)));
}

function validateOptions(o: SimClusterOptions): void {
  const bad = (field: string, why: string): never => {
    throw new RangeError(`sim cluster: ${field}: ${why}`);
  };
  if (!Number.isInteger(o.size) || o.size < 1 || o.size > simNodeIdMax) bad('size', `expected 1..${simNodeIdMax}`);
  if (!Number.isSafeInteger(o.seed)) bad('seed', 'expected a safe integer');
  if (!Number.isInteger(o.tickUs) || o.tickUs < 1) bad('tickUs', 'expected a whole number of microseconds >= 1');
  if (!(o.processUs >= 0)) bad('processUs', 'expected >= 0');
  if (!(o.inboxMax >= 1)) bad('inboxMax', 'expected >= 1');
  if (o.compaction !== null && !(o.compaction.everyEntries >= 1 && o.compaction.keepEntries >= 0)) {
    bad('compaction', 'expected everyEntries >= 1 and keepEntries >= 0');
  }
  for (const s of o.tickSkews) if (!(s > -0.9 && s < 10)) bad('tickSkews', `skew ${s} out of (-0.9, 10)`);
}

// observeCommitOf reports a node's commit index to the checkers together with the committed entry
// itself (cheap: it is in memory), so that the record knows its data.
function observeCommitOf(ck: Checkers, id: number, r: Raft, commit: number): void {
  const t = r.raftLog.tryTerm(commit);
  const e = t > 0 && commit >= r.raftLog.firstIndex() ? r.raftLog.slice(commit, commit + 1, Infinity)[0] : undefined;
  ck.observeCommit(id, commit, t, r.term, e);
}
