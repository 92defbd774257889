// The live driver of an experiment run (`mode: live`): start a local cluster of node processes
// for the run, attach clients as the workload says, offer the load (open or closed loop) while
// applying the timed faults, collect the nodes' counters, and stop every process it started —
// on success, on failure, and on Ctrl-C (SIGINT aborts the run; a second SIGINT kills the nodes
// at once and exits).
//
// runLiveCluster returns plain data (LiveRunResult); the experiment runner maps it to the results
// format. All times are microseconds on the run clock: 0 is when the load starts (the cluster is
// up, a leader elected, the clients connected), so `faults[].atUs`, `warmupUs` and the stop
// duration mean what they mean in `mode: sim`.
//
// Faults, as the simulator does them but on real processes:
//   crash      SIGKILL (nothing flushed), then restart after restartAfterUs (a new process)
//   pause      SIGSTOP, then SIGCONT after resumeAfterUs
//   isolate, partition, heal, network
//              the runner keeps the cluster's current NetworkSpec (a FaultModel) and sends the
//              whole of it to every node through the signed control channel after each change
//              (faults act on the sending side, so every node must hold the same spec); a node
//              restarted later is sent it again.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Rng } from '../core/rand.js';
import type { FastStats } from '../core/fast.js';
import { FaultModel, defaultNetworkSpec, networkSpecToPlain, type NetworkSpec } from '../faults/index.js';
import type { ClusterSpec, FaultAction, FaultSpec, KeyDist, NodeTarget, StopSpec, WorkloadSpec } from '../experiment/types.js';
import { History, type Operation } from '../sim/history.js';
import { ConnectionPool, KvSession, runClosedLoop, runOpenLoop, type Clock, type LatencySample, type LoadCounters } from './client.js';
import { LocalCluster } from './cluster.js';
import type { TransportKind } from './config.js';

export interface LiveRunOptions {
  // The run's spec, as the experiment layer resolved it (RunSpec's fields).
  readonly cluster: ClusterSpec;
  readonly network: NetworkSpec;
  readonly workload: WorkloadSpec;
  readonly faults: readonly FaultSpec[];
  // The run ends at durationUs on the run clock (warm-up included), or once `count` proposals
  // were acknowledged after the warm-up (bounded by timeoutUs).
  readonly stop: StopSpec;
  readonly warmupUs: number;
  // Seeds the key choice, client placement and fault targets (not the nodes' election timers,
  // which are random per process and logged by each node).
  readonly seed: number;
  // Share of gets among operations (default 0: every operation is a proposal, as in sim mode).
  readonly readRatio?: number;
  // Working folder for the cluster (cluster.json, data, logs). Default: a fresh temporary folder,
  // deleted afterwards unless keepDir.
  readonly dir?: string;
  readonly keepDir?: boolean;
  readonly transport?: TransportKind;
  // Record every operation in a History (for checkLinearizable); costs memory per operation.
  readonly recordHistory?: boolean;
  // Open loop: sessions per client (each holds one operation at a time); arrivals beyond them
  // wait in a queue (latency still counts from their arrival) of at most queueMax.
  readonly sessionsPerClient?: number;
  readonly queueMax?: number;
  // Per-attempt and per-operation client timeouts.
  readonly attemptTimeoutMs?: number;
  readonly opTimeoutMs?: number;
  // Bound on starting the cluster (each node, then the election).
  readonly startTimeoutMs?: number;
  readonly onProgress?: (msg: string) => void;
  // Aborting ends the load early; the run still cleans up and returns (aborted: true).
  readonly signal?: AbortSignal;
  // Install the SIGINT handler (default true).
  readonly handleSigint?: boolean;
  readonly frbPath?: string;
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

// One fault as it was applied: when, what, and to which node it was resolved.
export interface LiveFaultEvent {
  readonly atUs: number;
  readonly kind: string; // crash | restart | pause | resume | isolate | partition | heal | network | revert
  readonly node?: number;
  readonly detail?: string;
}

// A node's counters at one moment (scraped from its /debug/vars). Counters are per process: a
// node restarted during the run starts again from zero (`incarnation` counts its processes).
export interface LiveNodeSnapshot {
  readonly id: number;
  readonly atUs: number;
  readonly up: boolean;
  readonly incarnation: number;
  readonly role?: string;
  readonly term?: number;
  readonly leader?: number;
  readonly commit?: number;
  readonly applied?: number;
  // Times this process became leader / started a campaign / saw the leader change.
  readonly electionsWon?: number;
  readonly campaigns?: number;
  readonly leaderChanges?: number;
  // Peer traffic of this process, summed over peers (transport counters).
  readonly msgsOut?: number;
  readonly msgsIn?: number;
  readonly bytesOut?: number;
  readonly bytesIn?: number;
  readonly droppedFrames?: number;
  readonly droppedMsgs?: number;
  readonly fast?: FastStats | null;
  // Everything /debug/vars returned, for whoever wants more.
  readonly vars?: Record<string, unknown>;
}

export interface LiveRunResult {
  readonly clusterId: string;
  readonly dir: string;
  readonly protocol: string;
  readonly size: number;
  readonly storage: string;
  readonly transport: TransportKind;
  readonly startedAt: string; // ISO time of the run clock's 0
  readonly endedAt: string;
  // The measured window: [warmupUs, end of the load] on the run clock.
  readonly window: { readonly startUs: number; readonly endUs: number };
  // Every operation (warm-up included), in completion order. latencyUs counts from the intended
  // send time (coordinated omission corrected), latencyUncorrectedUs from the actual send.
  readonly samples: readonly LatencySample[];
  readonly load: LoadCounters;
  readonly placement: { readonly leaderAtStart: number; readonly attachedTo: readonly number[] };
  readonly leaderAtEnd: number;
  readonly faults: readonly LiveFaultEvent[];
  readonly nodesAtWarmup: readonly LiveNodeSnapshot[];
  readonly nodesAtEnd: readonly LiveNodeSnapshot[];
  // Per node, the counters accumulated in the window (end - warm-up; for a node restarted in
  // between, what its last process counted).
  readonly windowCounters: readonly LiveNodeSnapshot[];
  // The recorded history (recordHistory), for checkLinearizable; null otherwise.
  readonly history: readonly Operation[] | null;
  // Problems that did not stop the run (a fault that could not be applied, a scrape that failed).
  readonly errors: readonly string[];
  readonly aborted: boolean;
}

const sessionsPerClientDefault = 32;

// ---------------------------------------------------------------------------------------------
// Keys and values

export class KeyPicker {
  private readonly cdf: Float64Array | null;
  constructor(
    private readonly dist: KeyDist,
    private readonly conflict: number,
    private readonly rng: Rng,
  ) {
    if (dist.dist === 'zipfian') {
      // P(rank k) proportional to 1/k^theta; the CDF is bounded in size (keys beyond a million
      // ranks carry too little mass to matter to a benchmark).
      const n = Math.min(dist.count, 1_000_000);
      const cdf = new Float64Array(n);
      let sum = 0;
      for (let k = 1; k <= n; k++) {
        sum += 1 / Math.pow(k, dist.theta);
        cdf[k - 1] = sum;
      }
      for (let i = 0; i < n; i++) cdf[i]! /= sum;
      this.cdf = cdf;
    } else {
      this.cdf = null;
    }
  }

  next(): string {
    if (this.conflict > 0 && this.rng.float() < this.conflict) return 'k-shared';
    const d = this.dist;
    switch (d.dist) {
      case 'uniform':
        return `k${this.rng.intn(d.count)}`;
      case 'zipfian': {
        const u = this.rng.float();
        const cdf = this.cdf!;
        let lo = 0;
        let hi = cdf.length - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (cdf[mid]! < u) lo = mid + 1;
          else hi = mid;
        }
        return `k${lo}`;
      }
      case 'hotspot': {
        const hot = Math.max(1, Math.min(d.count, Math.ceil(d.hotFraction * d.count)));
        if (hot >= d.count || this.rng.float() < d.hotShare) return `k${this.rng.intn(hot)}`;
        return `k${hot + this.rng.intn(d.count - hot)}`;
      }
      default: {
        const unreachable: never = d;
        throw new Error(`unknown key distribution ${JSON.stringify(unreachable)}`);
      }
    }
  }
}

// valueFor makes a put's value unique (client and sequence) and valueBytes long.
export function valueFor(clientId: number, seq: number, valueBytes: number): string {
  const token = `${clientId.toString(36)}-${seq}`;
  return token.length >= valueBytes ? token : token + '.'.repeat(valueBytes - token.length);
}

// ---------------------------------------------------------------------------------------------
// Placement

// placeClients returns the node each client attaches to: `proposers` distinct nodes at most,
// chosen by the attach policy (leader first for `leader`, followers first for `followers`).
export function placeClients(workload: Pick<WorkloadSpec, 'attach' | 'clients' | 'proposers'>, ids: readonly number[], leader: number, rng: Rng): number[] {
  const followers = ids.filter((id) => id !== leader);
  let pool: number[];
  switch (workload.attach) {
    case 'leader':
      pool = leader !== 0 ? [leader, ...followers] : ids.slice();
      break;
    case 'followers':
      pool = followers.length > 0 ? [...followers, ...(leader !== 0 ? [leader] : [])] : ids.slice();
      break;
    case 'random': {
      pool = ids.slice();
      for (let i = pool.length - 1; i > 0; i--) {
        const j = rng.intn(i + 1);
        [pool[i], pool[j]] = [pool[j]!, pool[i]!];
      }
      break;
    }
    case 'all':
      pool = ids.slice();
      break;
    default: {
      const unreachable: never = workload.attach;
      throw new Error(`unknown attach ${String(unreachable)}`);
    }
  }
  let n: number;
  if (workload.proposers !== null) n = Math.min(workload.proposers, pool.length);
  else if (workload.attach === 'leader') n = 1;
  else if (workload.attach === 'followers') n = Math.max(1, followers.length);
  else n = pool.length;
  const chosen = pool.slice(0, n);
  const out: number[] = [];
  for (let c = 0; c < workload.clients; c++) {
    out.push(workload.attach === 'random' ? chosen[rng.intn(chosen.length)]! : chosen[c % chosen.length]!);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

function sumPeers(vars: Record<string, unknown>): Partial<LiveNodeSnapshot> {
  const t = vars['transport'] as { peers?: readonly Record<string, unknown>[] } | undefined;
  let msgsOut = 0;
  let msgsIn = 0;
  let bytesOut = 0;
  let bytesIn = 0;
  let droppedFrames = 0;
  let droppedMsgs = 0;
  for (const p of t?.peers ?? []) {
    msgsOut += Number(p['msgsOut'] ?? 0);
    msgsIn += Number(p['msgsIn'] ?? 0);
    bytesOut += Number(p['bytesOut'] ?? 0);
    bytesIn += Number(p['bytesIn'] ?? 0);
    for (const v of Object.values((p['droppedFrames'] ?? {}) as Record<string, number>)) droppedFrames += v;
    for (const v of Object.values((p['droppedMsgs'] ?? {}) as Record<string, number>)) droppedMsgs += v;
  }
  return { msgsOut, msgsIn, bytesOut, bytesIn, droppedFrames, droppedMsgs };
}

const snapshotCounterFields = ['electionsWon', 'campaigns', 'leaderChanges', 'msgsOut', 'msgsIn', 'bytesOut', 'bytesIn', 'droppedFrames', 'droppedMsgs'] as const;

function diffSnapshot(end: LiveNodeSnapshot, start: LiveNodeSnapshot | undefined): LiveNodeSnapshot {
  if (start === undefined || !start.up || !end.up || start.incarnation !== end.incarnation) {
    const { vars: _v, ...rest } = end;
    return rest;
  }
  const out: Record<string, unknown> = { ...end };
  delete out['vars'];
  for (const f of snapshotCounterFields) out[f] = Math.max(0, (end[f] ?? 0) - (start[f] ?? 0));
  if (end.fast != null && start.fast != null) {
    const d = { ...end.fast };
    for (const k of Object.keys(d) as (keyof FastStats)[]) d[k] = Math.max(0, d[k] - start.fast[k]);
    out['fast'] = d;
  }
  return out as unknown as LiveNodeSnapshot;
}

export async function runLiveCluster(o: LiveRunOptions): Promise<LiveRunResult> {
  const progress = o.onProgress ?? (() => {});
  const cs = o.cluster;
  const tickMs = Math.max(1, Math.round(cs.tickUs / 1000));
  if (tickMs * 1000 !== cs.tickUs) progress(`tick ${cs.tickUs}us rounded to ${tickMs}ms (live nodes tick in whole milliseconds)`);
  const ownDir = o.dir === undefined;
  const dir = o.dir ?? mkdtempSync(path.join(tmpdir(), 'frb-live-'));
  const errors: string[] = [];
  const faults: LiveFaultEvent[] = [];
  const samples: LatencySample[] = [];
  const rootRng = new Rng(o.seed);
  const placeRng = rootRng.fork(1);
  const faultRng = rootRng.fork(2);
  const keyRngBase = rootRng.fork(3);
  const abort = new AbortController();
  const onOuterAbort = (): void => abort.abort();
  o.signal?.addEventListener('abort', onOuterAbort);
  let cluster: LocalCluster | null = null;
  const pools: ConnectionPool[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let sigints = 0;
  const killAllNow = (): void => {
    if (cluster === null) return;
    for (const id of cluster.ids) {
      const pid = cluster.pid(id);
      if (pid === null) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  };
  const onSigint = (): void => {
    sigints++;
    if (sigints === 1) {
      progress('interrupted: stopping the load and the cluster (Ctrl-C again to kill at once)');
      abort.abort();
      return;
    }
    killAllNow();
    process.exit(130);
  };
  const handleSigint = o.handleSigint ?? true;
  if (handleSigint) process.on('SIGINT', onSigint);
  process.on('exit', killAllNow);

  const incarnations = new Map<number, number>();
  try {
    const startTimeoutMs = o.startTimeoutMs ?? 30_000;
    const isDefaultNetwork = JSON.stringify(networkSpecToPlain(o.network)) === JSON.stringify(networkSpecToPlain(defaultNetworkSpec));
    cluster = await LocalCluster.up({
      dir,
      size: cs.size,
      protocol: cs.protocol,
      fast: cs.fast,
      storage: cs.storage,
      sync: cs.sync,
      ...(o.transport !== undefined ? { transport: o.transport } : {}),
      tickMs,
      electionTicks: cs.electionTicks,
      heartbeatTicks: cs.heartbeatTicks,
      preVote: cs.preVote,
      checkQuorum: cs.checkQuorum,
      maxInflightMsgs: cs.maxInflightMsgs,
      maxSizePerMsgBytes: cs.maxSizePerMsgBytes,
      network: isDefaultNetwork ? null : o.network,
      healthyTimeoutMs: startTimeoutMs,
      waitLeader: true,
      tiedToThisProcess: true,
      ...(o.frbPath !== undefined ? { frbPath: o.frbPath } : {}),
      ...(o.logLevel !== undefined ? { logLevel: o.logLevel } : {}),
      onProgress: progress,
    });
    const c = cluster;
    for (const id of c.ids) incarnations.set(id, 1);
    const leaderAtStart = await c.waitLeader(startTimeoutMs);
    const w = o.workload;
    const attachedTo = placeClients(w, c.ids, leaderAtStart, placeRng);
    progress(`clients on nodes ${attachedTo.join(',')} (leader ${leaderAtStart})`);

    // Clients: one connection pool per client, its sessions sharing it.
    const history = o.recordHistory === true ? new History() : null;
    let t0Us = 0;
    const clock: Clock = () => performance.now() * 1000 - t0Us;
    const sessionsPerClient = w.loop.kind === 'closed' ? w.loop.outstanding : (o.sessionsPerClient ?? sessionsPerClientDefault);
    const sessions: KvSession[] = [];
    const pickers = new Map<KvSession, KeyPicker>();
    const sessionOptions = {
      attemptTimeoutMs: o.attemptTimeoutMs ?? 1000,
      opTimeoutMs: o.opTimeoutMs ?? 10_000,
      followLeader: w.attach === 'leader',
      clock,
      ...(history !== null ? { history } : {}),
    };
    const byClient: KvSession[][] = [];
    for (let ci = 0; ci < w.clients; ci++) {
      const pool = new ConnectionPool(c.target());
      pools.push(pool);
      const own: KvSession[] = [];
      for (let s = 0; s < sessionsPerClient; s++) own.push(new KvSession(pool, { ...sessionOptions, nodeId: attachedTo[ci]! }));
      byClient.push(own);
      // Connect up front, so that the first operations do not pay for the handshake.
      await pool.get(attachedTo[ci]!).catch((err: Error) => errors.push(`client ${ci}: ${err.message}`));
    }
    // Sessions interleaved across clients: the open loop takes the most recently freed session, so
    // listed client by client, every arrival went to the last client's node until more than its 32
    // sessions were busy (one proposer, where the simulator's open loop starts with one session per
    // client and spreads arrivals over them).
    for (let s = 0; s < sessionsPerClient; s++) {
      for (const own of byClient) {
        const session = own[s]!;
        sessions.push(session);
        pickers.set(session, new KeyPicker(w.keys, w.conflict, keyRngBase.fork(sessions.length)));
      }
    }
    const readRatio = o.readRatio ?? 0;
    const opRng = rootRng.fork(4);
    const nextOp = (s: KvSession): { kind: 'put' | 'get'; key: string; value?: string } => {
      const key = pickers.get(s)!.next();
      if (readRatio > 0 && opRng.float() < readRatio) return { kind: 'get', key };
      return { kind: 'put', key, value: valueFor(s.clientId, s.lastSeq + 1, w.valueBytes) };
    };

    // Stop condition.
    const endUs = o.stop.kind === 'duration' ? o.stop.durationUs : o.stop.timeoutUs;
    const stopCount = o.stop.kind === 'proposals' ? o.stop.count : Infinity;
    let ackedInWindow = 0;
    const onSample = (s: LatencySample): void => {
      samples.push(s);
      if (s.ok && s.kind === 'put' && s.completeUs >= o.warmupUs) {
        ackedInWindow++;
        if (ackedInWindow >= stopCount) abort.abort();
      }
    };

    // Faults.
    let model = new FaultModel(o.network);
    let networkChanged = false;
    const crashed = new Set<number>();
    const paused = new Set<number>();
    let chain: Promise<void> = Promise.resolve();
    const event = (kind: string, node?: number, detail?: string): void => {
      faults.push({ atUs: Math.round(clock()), kind, ...(node !== undefined ? { node } : {}), ...(detail !== undefined ? { detail } : {}) });
      progress(`t=${(clock() / 1e6).toFixed(3)}s fault: ${kind}${node !== undefined ? ` node ${node}` : ''}${detail !== undefined ? ` ${detail}` : ''}`);
    };
    const pushNetwork = async (): Promise<void> => {
      networkChanged = true;
      await c.controlAll({ op: 'set', network: networkSpecToPlain(model.spec()) });
    };
    const running = (): number[] => c.ids.filter((id) => !crashed.has(id) && !paused.has(id));
    const resolveTarget = async (t: NodeTarget): Promise<number> => {
      switch (t.kind) {
        case 'node':
          return t.id;
        case 'leader':
          return c.leader(running());
        case 'follower': {
          const lead = await c.leader(running());
          const f = running().filter((id) => id !== lead);
          return f.length === 0 ? 0 : f[faultRng.intn(f.length)]!;
        }
        case 'random': {
          const r = running();
          return r.length === 0 ? 0 : r[faultRng.intn(r.length)]!;
        }
        default: {
          const unreachable: never = t;
          throw new Error(`unknown target ${JSON.stringify(unreachable)}`);
        }
      }
    };
    const later = (delayUs: number | null, fn: () => Promise<void>): void => {
      if (delayUs === null) return;
      schedule(clock() + delayUs, fn);
    };
    const schedule = (atUs: number, fn: () => Promise<void>): void => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (abort.signal.aborted) return;
        chain = chain.then(fn).catch((err: Error) => {
          errors.push(`fault: ${err.message}`);
        });
      }, Math.max(0, (atUs - clock()) / 1000));
      timers.add(timer);
    };
    // A restart is recorded when its process starts; waiting for it to serve happens beside the
    // fault chain, so that a slow start does not delay the faults after it.
    const starting = new Set<Promise<void>>();
    const restart = async (id: number): Promise<void> => {
      if (abort.signal.aborted) return;
      c.spawn(id);
      incarnations.set(id, (incarnations.get(id) ?? 1) + 1);
      event('restart', id);
      const p: Promise<void> = c
        .waitHealthy(id, startTimeoutMs)
        .then(async () => {
          crashed.delete(id);
          if (networkChanged) await c.control(id, { op: 'set', network: networkSpecToPlain(model.spec()) });
        })
        .catch((err: Error) => {
          errors.push(`restart node ${id}: ${err.message}`);
        })
        .finally(() => starting.delete(p));
      starting.add(p);
    };
    const resume = (id: number, detail?: string): void => {
      if (c.resume(id)) event('resume', id, detail);
      paused.delete(id);
    };
    const apply = async (a: FaultAction): Promise<void> => {
      switch (a.kind) {
        case 'crash': {
          const id = await resolveTarget(a.target);
          if (id === 0 || crashed.has(id)) {
            errors.push(`crash: no node to crash (${a.target.kind})`);
            return;
          }
          if (paused.has(id)) resume(id);
          await c.kill(id);
          crashed.add(id);
          event('crash', id);
          later(a.restartAfterUs, () => restart(id));
          return;
        }
        case 'restart': {
          const ids = a.target.kind === 'all' ? [...crashed] : [a.target.id];
          for (const id of ids) if (c.pid(id) === null) await restart(id);
          return;
        }
        case 'pause': {
          const id = await resolveTarget(a.target);
          if (id === 0 || !c.pause(id)) {
            errors.push(`pause: no node to pause (${a.target.kind})`);
            return;
          }
          paused.add(id);
          event('pause', id);
          later(a.resumeAfterUs, async () => resume(id));
          return;
        }
        case 'resume': {
          const ids = a.target.kind === 'all' ? [...paused] : [a.target.id];
          for (const id of ids) resume(id);
          return;
        }
        case 'isolate': {
          const id = await resolveTarget(a.target);
          if (id === 0) {
            errors.push(`isolate: no node to isolate (${a.target.kind})`);
            return;
          }
          const pid = model.isolate(id);
          await pushNetwork();
          event('isolate', id);
          later(a.healAfterUs, async () => {
            model.heal(pid);
            await pushNetwork();
            event('heal', id);
          });
          return;
        }
        case 'partition': {
          const pids = a.partitions.map((p) => (p.kind === 'groups' ? model.partition(p.groups) : model.cut(p.from, p.to)));
          await pushNetwork();
          event('partition', undefined, JSON.stringify(a.partitions.map((p) => (p.kind === 'groups' ? p.groups : `${p.from}->${p.to}`))));
          later(a.healAfterUs, async () => {
            for (const pid of pids) model.heal(pid);
            await pushNetwork();
            event('heal');
          });
          return;
        }
        case 'network': {
          const before = model.spec();
          const ch = a.change;
          if (Object.keys(ch.link).length > 0) model.setDefault(ch.link);
          for (const ov of ch.overrides) model.setLink(ov.from, ov.to, ov.patch);
          for (const p of ch.partitions) {
            if (p.kind === 'groups') model.partition(p.groups);
            else model.cut(p.from, p.to);
          }
          await pushNetwork();
          event('network', undefined, JSON.stringify(networkSpecToPlain(model.spec())));
          later(a.revertAfterUs, async () => {
            model = new FaultModel(before);
            await pushNetwork();
            event('revert', undefined, JSON.stringify(networkSpecToPlain(model.spec())));
          });
          return;
        }
        case 'heal': {
          model.heal();
          await pushNetwork();
          event('heal');
          return;
        }
        default: {
          const unreachable: never = a;
          throw new Error(`unknown fault ${JSON.stringify(unreachable)}`);
        }
      }
    };

    const snapshot = async (): Promise<LiveNodeSnapshot[]> => {
      const atUs = Math.round(clock());
      return Promise.all(
        c.ids.map(async (id): Promise<LiveNodeSnapshot> => {
          const incarnation = incarnations.get(id) ?? 1;
          if (crashed.has(id) || paused.has(id) || c.pid(id) === null) return { id, atUs, up: false, incarnation };
          try {
            const v = await c.debugVars(id, 2000);
            const counters = (v['counters'] ?? {}) as Record<string, number>;
            return {
              id,
              atUs,
              up: true,
              incarnation,
              role: String(v['role']),
              term: Number(v['term']),
              leader: Number(v['leader']),
              commit: Number(v['commit']),
              applied: Number(v['applied']),
              electionsWon: counters['becameLeader'] ?? 0,
              campaigns: counters['campaigns'] ?? 0,
              leaderChanges: counters['leaderChanges'] ?? 0,
              ...sumPeers(v),
              fast: (v['fast'] as FastStats | null | undefined) ?? null,
              vars: v,
            };
          } catch (err) {
            errors.push(`scrape node ${id}: ${(err as Error).message}`);
            return { id, atUs, up: false, incarnation };
          }
        }),
      );
    };

    // Go.
    t0Us = performance.now() * 1000;
    const startedAt = new Date().toISOString();
    for (const f of [...o.faults].sort((a, b) => a.atUs - b.atUs)) schedule(f.atUs, () => apply(f.action));
    let nodesAtWarmup: LiveNodeSnapshot[] = [];
    const warmupDone = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        chain = chain.then(async () => {
          nodesAtWarmup = await snapshot();
        });
        void chain.then(() => resolve());
      }, o.warmupUs / 1000);
      timers.add(timer);
      abort.signal.addEventListener('abort', () => resolve());
    });
    progress(`load: ${w.loop.kind} loop, ${w.clients} clients x ${sessionsPerClient} sessions, ${(endUs / 1e6).toFixed(1)}s (warm-up ${(o.warmupUs / 1e6).toFixed(1)}s)`);
    const common = { sessions, nextOp, onSample, clock, stopUs: endUs, signal: abort.signal };
    const load =
      w.loop.kind === 'open'
        ? await runOpenLoop({
            ...common,
            ratePerSec: w.loop.ratePerSec,
            poisson: w.loop.arrival === 'poisson',
            startUs: 0,
            queueMax: o.queueMax ?? 100_000,
            random: () => opRng.float(),
          })
        : await runClosedLoop(common);
    const loadEndUs = Math.round(clock());
    await warmupDone;
    // Faults still to come (and their undoing) are cancelled with the load; nodes still paused
    // are resumed so that their counters can be read and they can stop cleanly.
    for (const t of timers) clearTimeout(t);
    timers.clear();
    await chain;
    await Promise.all([...starting]);
    for (const id of [...paused]) resume(id, 'end of run');
    const nodesAtEnd = await snapshot();
    const leaderAtEnd = await c.leader(running());
    const endedAt = new Date().toISOString();
    const byId = new Map(nodesAtWarmup.map((s) => [s.id, s]));
    const windowCounters = nodesAtEnd.map((e) => diffSnapshot(e, byId.get(e.id)));
    samples.sort((a, b) => a.completeUs - b.completeUs);
    progress(`load done: ${load.acknowledged} acknowledged, ${load.failed} failed, ${load.shed} shed`);
    return {
      clusterId: c.config.clusterId,
      dir,
      protocol: cs.protocol,
      size: cs.size,
      storage: cs.storage,
      transport: c.config.transport,
      startedAt,
      endedAt,
      window: { startUs: o.warmupUs, endUs: Math.max(o.warmupUs, loadEndUs) },
      samples,
      load,
      placement: { leaderAtStart, attachedTo },
      leaderAtEnd,
      faults,
      nodesAtWarmup,
      nodesAtEnd,
      windowCounters,
      history: history === null ? null : history.operations(),
      errors,
      aborted: abort.signal.aborted && ackedInWindow < stopCount,
    };
  } finally {
    for (const t of timers) clearTimeout(t);
    for (const p of pools) p.close();
    if (cluster !== null) {
      try {
        await cluster.down(1000);
      } catch (err) {
        killAllNow();
        errors.push(`down: ${(err as Error).message}`);
      }
    }
    process.off('exit', killAllNow);
    if (handleSigint) process.off('SIGINT', onSigint);
    o.signal?.removeEventListener('abort', onOuterAbort);
    if (ownDir && o.keepDir !== true) rmSync(dir, { recursive: true, force: true });
    else if (ownDir) progress(`cluster folder kept: ${dir}`);
  }
}
