// One run of an experiment in the simulator: build the cluster from the run's spec, attach the
// workload's clients, script its faults, run in virtual time, and measure DESIGN.md's metrics
// over the window after the warm-up. Deterministic: the same spec and seed give the same figures.

import { SimCluster } from '../sim/sim-cluster.js';
import { Nemesis, type FaultAction as SimFaultAction, type FaultTarget, type ScheduledFault } from '../sim/nemesis.js';
import type { ClientOptions, CompletedOp } from '../sim/clients.js';
import type { FastStats } from '../core/fast.js';
import { IntervalRecorder } from '../metrics/latency-recorder.js';
import type { FaultEvent, RunSummary } from '../metrics/results-format.js';
import type { FaultSpec, NodeTarget, PlannedRun, RunSpec } from './types.js';
import { describeWorkload } from './describe.js';
import { availabilityGapUs, fastSummary, plainParams, sumFastStats } from './run-metrics.js';
import { decodeCommand, isKvCommand } from '../kv/index.js';
import { keyChooser } from '../load/keys.js';

export class RunViolationError extends Error {
  override name = 'RunViolationError';
}

export interface RunOutput {
  summary: RunSummary;
  hlog: string;
  hgrm: string;
}

// How often (virtual time) a run yields to the event loop, so that Ctrl-C is heard.
const sliceUs = 250_000;

function simTarget(t: NodeTarget): FaultTarget {
  switch (t.kind) {
    case 'leader':
      return 'leader';
    case 'follower':
      return 'follower';
    case 'random':
      return 'random';
    case 'node':
      return t.id;
  }
}

// toNemesis turns the experiment's faults into the simulator's fault script. Network changes are
// returned apart: they are applied between slices of the run.
function toNemesis(faults: readonly FaultSpec[]): { scripted: ScheduledFault[]; network: FaultSpec[] } {
  const scripted: ScheduledFault[] = [];
  const network: FaultSpec[] = [];
  for (const f of faults) {
    const a = f.action;
    let action: SimFaultAction | null = null;
    switch (a.kind) {
      case 'crash':
        action = { kind: 'crash', target: simTarget(a.target), durationUs: a.restartAfterUs };
        break;
      case 'restart':
        action = { kind: 'restart', target: a.target.kind === 'all' ? 'all' : a.target.id };
        break;
      case 'pause':
        action = { kind: 'pause', target: simTarget(a.target), durationUs: a.resumeAfterUs };
        break;
      case 'resume':
        action = { kind: 'resume', target: a.target.kind === 'all' ? 'all' : a.target.id };
        break;
      case 'isolate':
        action = { kind: 'isolate', target: simTarget(a.target), durationUs: a.healAfterUs };
        break;
      case 'partition': {
        const groups: number[][] = [];
        for (const p of a.partitions) {
          if (p.kind === 'groups') for (const g of p.groups) groups.push(g.slice());
        }
        action = { kind: 'partition', split: groups, durationUs: a.healAfterUs };
        break;
      }
      case 'heal':
        action = { kind: 'heal' };
        break;
      case 'network':
        network.push(f);
        break;
    }
    if (action !== null) scripted.push({ atUs: f.atUs, action });
  }
  return { scripted, network };
}

// The Fast Raft counters of every node the cluster has now.
function clusterFastStats(c: SimCluster): FastStats | null {
  return sumFastStats(c.nodeIds().map((id) => c.node(id).rn?.raft.fast?.stats));
}

function clientOptions(spec: RunSpec, attach: ClientOptions['attach'], stopUs: number): Partial<ClientOptions> {
  const w = spec.workload;
  const keys = w.keys.count;
  const common: Partial<ClientOptions> = {
    attach,
    keys,
    keyChooser: keyChooser(w.keys, w.conflict),
    readRatio: 0,
    valueBytes: w.valueBytes,
    startUs: 0,
    stopUs,
  };
  if (w.loop.kind === 'open') {
    return { ...common, mode: 'open', count: w.clients, ratePerSec: w.loop.ratePerSec, poisson: w.loop.arrival === 'poisson' };
  }
  return { ...common, mode: 'closed', count: w.clients * w.loop.outstanding, thinkUs: 0 };
}

export interface SimRunHooks {
  // Called between slices with the virtual time reached; return true to abandon the run.
  shouldStop?: () => boolean;
  onSlice?: (nowUs: number, endUs: number) => void;
}

export class RunInterruptedError extends Error {
  override name = 'RunInterruptedError';
}

export async function runSim(run: PlannedRun, hooks: SimRunHooks = {}): Promise<RunOutput> {
  const spec = run.spec;
  const cs = spec.cluster;
  const c = new SimCluster({
    protocol: cs.protocol,
    protocolOptions: { fast: cs.fast },
    size: cs.size,
    seed: run.seed,
    tickUs: cs.tickUs,
    electionTick: cs.electionTicks,
    heartbeatTick: cs.heartbeatTicks,
    preVote: cs.preVote,
    checkQuorum: cs.checkQuorum,
    maxSizePerMsg: cs.maxSizePerMsgBytes,
    maxInflightMsgs: cs.maxInflightMsgs,
    network: spec.network,
    diskLatency: cs.disk?.latency ?? null,
    processUs: cs.processing?.perMessageUs ?? 0,
    compaction: { everyEntries: 5000, keepEntries: 500 },
    checkers: true,
    recordHistory: false,
  });

  // Fault events for the charts, as the simulator resolved them (which node "the leader" was).
  const faultEvents: FaultEvent[] = [];
  const traceFault = c.traceFault.bind(c);
  c.traceFault = (kind, node, extra) => {
    faultEvents.push({ atUs: c.nowUs, kind, ...(node > 0 ? { node } : {}), ...(extra !== undefined ? { detail: JSON.stringify(extra) } : {}) });
    traceFault(kind, node, extra);
  };

  const { scripted, network } = toNemesis(spec.faults);
  // The nemesis schedules its faults on the cluster's scheduler when constructed.
  if (scripted.length > 0) new Nemesis(c, scripted, run.seed);

  const warmupUs = spec.warmupUs;
  const endUs = spec.stop.kind === 'duration' ? spec.stop.durationUs : spec.stop.timeoutUs;

  // Placement: a fixed number of proposers needs to know who leads, so it waits for the first
  // election (bounded); otherwise the simulator's clients follow the attach policy themselves.
  let attach: ClientOptions['attach'] = spec.workload.attach;
  const proposers = spec.workload.proposers;
  if (proposers !== null) {
    for (let t = 0; c.leaderId() === 0 && t < 20; t++) {
      if (!c.runFor(sliceUs)) break;
    }
    const leader = c.leaderId();
    const ids = c.nodeIds();
    const followers = ids.filter((id) => id !== leader);
    const pool = spec.workload.attach === 'leader' ? [leader, ...followers] : spec.workload.attach === 'followers' ? [...followers, leader] : ids;
    attach = pool.filter((id) => id !== 0).slice(0, proposers);
  }

  const corrected = new IntervalRecorder(warmupUs);
  const uncorrected = new IntervalRecorder(warmupUs);
  // Leader commit latency: from a proposal's first send to the moment the leader applies it (in
  // the simulator the leader applies in the Ready that commits). Keyed by (client id, sequence).
  const leaderCommit = new IntervalRecorder(warmupUs);
  const firstSentUs = new Map<number, number>();
  const opKey = (clientId: number, seq: number): number => clientId * 0x100000 + seq;
  const propose = c.propose.bind(c);
  c.propose = (nodeId, data) => {
    if (isKvCommand(data)) {
      const cmd = decodeCommand(data);
      const k = opKey(cmd.clientId, cmd.seq);
      if (!firstSentUs.has(k)) firstSentUs.set(k, c.nowUs);
    }
    return propose(nodeId, data);
  };
  const onApplied = c.clients.onApplied.bind(c.clients);
  c.clients.onApplied = (nodeId, clientId, seq, result, nowUs) => {
    const k = opKey(clientId, seq);
    const sent = firstSentUs.get(k);
    if (sent !== undefined && nodeId === c.leaderId()) {
      firstSentUs.delete(k);
      if (nowUs >= warmupUs && nowUs <= endUs) leaderCommit.record(nowUs, nowUs - sent);
    }
    onApplied(nodeId, clientId, seq, result, nowUs);
  };
  const completions: number[] = [];
  let acked = 0;
  c.clients.onComplete = (op: CompletedOp) => {
    if (op.completeUs < warmupUs || op.completeUs > endUs) return;
    corrected.record(op.completeUs, op.latencyUs);
    // Simulated clients send at the intended time unless the pool is exhausted (then the arrival
    // is shed, not delayed), so both histograms hold the same samples: kept for a uniform format.
    uncorrected.record(op.completeUs, op.latencyUs);
    completions.push(op.completeUs);
    acked++;
  };
  c.addClients(clientOptions(spec, attach, endUs));

  let netStart = { sent: 0, bytes: 0 };
  let electionsStart = 0;
  let fastStart: FastStats | null = null;
  let windowStarted = warmupUs === 0;
  if (windowStarted) fastStart = clusterFastStats(c);

  const pendingNetwork = network.slice().sort((a, b) => a.atUs - b.atUs);
  const stopAtCount = spec.stop.kind === 'proposals' ? spec.stop.count : Infinity;
  try {
    while (c.nowUs < endUs) {
      let next = Math.min(endUs, c.nowUs + sliceUs);
      if (!windowStarted) next = Math.min(next, warmupUs);
      if (pendingNetwork.length > 0) next = Math.min(next, pendingNetwork[0]!.atUs);
      if (next <= c.nowUs) next = c.nowUs + 1;
      if (!c.runUntil(next)) break;
      if (!windowStarted && c.nowUs >= warmupUs) {
        windowStarted = true;
        netStart = { sent: c.network.counters.sent, bytes: c.network.counters.bytesSent };
        electionsStart = c.counters.elections;
        fastStart = clusterFastStats(c);
      }
      while (pendingNetwork.length > 0 && pendingNetwork[0]!.atUs <= c.nowUs) {
        const f = pendingNetwork.shift()!;
        if (f.action.kind === 'network') {
          const ch = f.action.change;
          c.network.faults.setDefault(ch.link);
          for (const o of ch.overrides) c.network.faults.setLink(o.from, o.to, o.patch);
          for (const p of ch.partitions) {
            if (p.kind === 'groups') c.network.faults.partition(p.groups);
            else c.network.faults.cut(p.from, p.to);
          }
          c.traceFault('network', 0);
        }
      }
      if (acked >= stopAtCount) break;
      hooks.onSlice?.(c.nowUs, endUs);
      // Let the event loop run (Ctrl-C), then continue.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (hooks.shouldStop?.() === true) throw new RunInterruptedError('interrupted');
    }
    if (c.violation !== null) {
      const v = c.violation;
      throw new RunViolationError(
        `run ${run.id}: safety check ${v.checker} failed at event ${v.eventIndex} (t=${v.timeUs}us, seed ${v.seed}): ${v.message}`,
      );
    }

    const windowEndUs = c.nowUs;
    const windowUs = Math.max(1, windowEndUs - warmupUs);
    const msgs = c.network.counters.sent - netStart.sent;
    const bytes = c.network.counters.bytesSent - netStart.bytes;
    const commits = acked;
    const gap = availabilityGapUs(completions, warmupUs, windowEndUs);
    const achieved = commits / (windowUs / 1e6);
    const offered = spec.workload.loop.kind === 'open' ? spec.workload.loop.ratePerSec : achieved;
    const leader = c.leaderId();
    const params = plainParams(run.params);
    const summary: RunSummary = {
      schema: 1,
      runId: run.id,
      mode: 'sim',
      protocol: cs.protocol,
      size: cs.size,
      seed: run.seed,
      params,
      window: { startUs: warmupUs, endUs: windowEndUs },
      commitLatency: corrected.summary(),
      commitLatencyUncorrected: uncorrected.summary(),
      leaderCommitLatency: leaderCommit.summary(),
      throughput: {
        offeredPerSec: round3(offered),
        achievedPerSec: round3(achieved),
        saturated: achieved < 0.95 * offered,
      },
      fast: fastSummary(clusterFastStats(c), fastStart),
      messages: {
        total: msgs,
        perCommit: commits === 0 ? 0 : round3(msgs / commits),
        bytesTotal: bytes,
        bytesPerCommit: commits === 0 ? 0 : round3(bytes / commits),
      },
      elections: c.counters.elections - electionsStart,
      availabilityGapUs: gap,
      unacknowledged: c.clients.counters.invoked - c.clients.counters.completed,
      faults: faultEvents,
      methodology: {
        workload: describeWorkload(spec),
        placement: Array.isArray(attach) ? `proposers on nodes ${(attach as readonly number[]).join(',')} (leader was ${leader})` : String(attach),
        valueBytes: spec.workload.valueBytes,
        durability: cs.disk === null ? 'simulated disk: instant' : `simulated disk latency ${JSON.stringify(cs.disk.latency)}`,
      },
    };
    const hlog = corrected.hlog(0, `frb ${run.id}: commit latency in microseconds (virtual time; intended send to acknowledgement)`);
    const hgrm = corrected.hgrm();
    return { summary, hlog, hgrm };
  } finally {
    corrected.destroy();
    uncorrected.destroy();
    leaderCommit.destroy();
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
