// The simulator's programmatic face for the experiment runner: build a simulated cluster from a
// plain spec (what an experiment file's cluster/network/faults sections parse to), attach clients,
// run for a virtual duration, and collect per-operation latencies and counters.
//
//   const sim = new Simulation({ protocol: 'raft', size: 5, seed: 1, tickUs: 10_000, electionTicks: 10,
//                                heartbeatTicks: 1, network: { latency: '5ms' }, diskLatency: '200us' });
//   sim.addClients({ mode: 'open', ratePerSec: 1000, count: 8, attach: 'followers' });
//   sim.runFor(10_000_000);
//   const r = sim.results();     // r.latenciesUs, r.counters, r.violation, r.traceHash

import type { ProtocolOptions } from '../core/protocols.js';
import { Rng, deriveSeed } from '../core/rand.js';
import { isPlainObject, parseLatencyDist, parseNetworkSpec, type LatencyDist, type NetworkSpec } from '../faults/index.js';
import type { CheckOptions, CheckResult } from './linearizability.js';
import { checkLinearizable } from './linearizability.js';
import { Nemesis, parseFaultScript, randomFaults, type FaultKind, type ScheduledFault } from './nemesis.js';
import { SimCluster, type CompactionOptions, type Violation } from './sim-cluster.js';
import type { ClientOptions, CompletedOp } from './clients.js';
import type { TraceSink } from './trace.js';

export interface RandomNemesisSpec {
  readonly kinds: readonly FaultKind[];
  readonly meanGapUs: number;
  readonly startUs?: number;
  readonly endUs: number;
}

export interface SimulationSpec {
  readonly protocol: string;
  readonly protocolOptions?: ProtocolOptions;
  readonly size: number;
  readonly seed: number;
  readonly tickUs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly maxSizePerMsg?: number;
  readonly maxInflightMsgs?: number;
  // Plain data as in an experiment file ({ latency: 5ms, loss: 1% }) or a parsed NetworkSpec.
  readonly network?: unknown;
  readonly fifoLinks?: boolean;
  // A duration ('200us'), a distribution ({ dist: normal, mean: 1ms, stddev: 200us }), a parsed
  // LatencyDist, or null for an instant disk.
  readonly diskLatency?: unknown;
  // CPU time per inbound message or proposal, in microseconds.
  readonly processUs?: number;
  readonly tickSkews?: readonly number[];
  readonly compaction?: CompactionOptions | null;
  // A fault script (plain list as in an experiment file, or parsed) and/or a seeded random nemesis.
  readonly faults?: unknown;
  readonly nemesis?: RandomNemesisSpec;
  readonly mutations?: readonly string[];
  // Safety checkers after every event (on by default; they cost roughly a fifth of the run time).
  readonly checkers?: boolean;
  // Keep a client history for linearizability checking (on by default).
  readonly recordHistory?: boolean;
  readonly historyOpsMax?: number;
  readonly trace?: TraceSink | null;
}

export interface SimulationCounters {
  readonly messagesSent: number;
  readonly messagesDelivered: number;
  readonly messagesDropped: number;
  readonly bytesSent: number;
  readonly elections: number;
  // Client operations acknowledged.
  readonly commits: number;
  readonly opsInvoked: number;
  readonly opsGaveUp: number;
  readonly opsResent: number;
  readonly opsShed: number;
  // Highest log index applied by any node.
  readonly entriesApplied: number;
  readonly diskWrites: number;
  readonly readies: number;
  readonly snapshotsSent: number;
  readonly crashes: number;
  readonly restarts: number;
  readonly faultsFired: number;
}

export interface SimulationResults {
  readonly simUs: number;
  readonly events: number;
  readonly traceHash: string;
  // Latency of every acknowledged operation (intended send to acknowledgement), in completion order.
  readonly latenciesUs: readonly number[];
  readonly counters: SimulationCounters;
  readonly violation: Violation | null;
}

export class Simulation {
  readonly cluster: SimCluster;
  readonly nemesis: Nemesis | null;

  constructor(readonly spec: SimulationSpec) {
    this.cluster = new SimCluster({
      protocol: spec.protocol,
      ...(spec.protocolOptions !== undefined ? { protocolOptions: spec.protocolOptions } : {}),
      size: spec.size,
      seed: spec.seed,
      tickUs: spec.tickUs,
      electionTick: spec.electionTicks,
      heartbeatTick: spec.heartbeatTicks,
      preVote: spec.preVote ?? false,
      checkQuorum: spec.checkQuorum ?? false,
      ...(spec.maxSizePerMsg !== undefined ? { maxSizePerMsg: spec.maxSizePerMsg } : {}),
      ...(spec.maxInflightMsgs !== undefined ? { maxInflightMsgs: spec.maxInflightMsgs } : {}),
      network: toNetworkSpec(spec.network),
      fifoLinks: spec.fifoLinks ?? true,
      diskLatency: toLatencyDist(spec.diskLatency),
      processUs: spec.processUs ?? 0,
      tickSkews: spec.tickSkews ?? [],
      compaction: spec.compaction ?? null,
      mutations: spec.mutations ?? [],
      checkers: spec.checkers ?? true,
      recordHistory: spec.recordHistory ?? true,
      ...(spec.historyOpsMax !== undefined ? { historyOpsMax: spec.historyOpsMax } : {}),
      trace: spec.trace ?? null,
    });
    const faults: ScheduledFault[] = toFaultScript(spec.faults);
    if (spec.nemesis !== undefined) {
      const n = spec.nemesis;
      const rng = new Rng(deriveSeed(spec.seed, 0xfa17));
      faults.push(
        ...randomFaults(rng, {
          startUs: n.startUs ?? 0,
          endUs: n.endUs,
          meanGapUs: n.meanGapUs,
          kinds: n.kinds,
          tickUs: spec.tickUs,
          electionTick: spec.electionTicks,
        }),
      );
      faults.sort((a, b) => a.atUs - b.atUs);
    }
    this.nemesis = faults.length > 0 ? new Nemesis(this.cluster, faults, spec.seed) : null;
  }

  addClients(options: Partial<ClientOptions>): void {
    this.cluster.addClients(options);
  }

  // onComplete sees every acknowledged operation as it completes.
  set onComplete(fn: ((op: CompletedOp) => void) | null) {
    this.cluster.clients.onComplete = fn;
  }

  // runFor / runUntil advance virtual time; false once a safety check has failed.
  runFor(durationUs: number): boolean {
    return this.cluster.runFor(durationUs);
  }

  runUntil(untilUs: number): boolean {
    return this.cluster.runUntil(untilUs);
  }

  // healAll ends every fault (the end of a fault phase).
  healAll(): boolean {
    const n = this.nemesis;
    if (n === null) return this.cluster.violation === null;
    return this.cluster.guard(() => n.healAll());
  }

  get violation(): Violation | null {
    return this.cluster.violation;
  }

  // checkHistory judges the client history; an illegal one also becomes the run's violation.
  checkHistory(options: CheckOptions = {}): CheckResult {
    const h = this.cluster.clients.history;
    if (h === null) throw new Error('simulation: no history was recorded (recordHistory: false)');
    return checkLinearizable(h.operations(), options);
  }

  results(): SimulationResults {
    const c = this.cluster;
    const net = c.network.counters;
    const cl = c.clients.counters;
    let entriesApplied = 0;
    for (const id of c.nodeIds()) entriesApplied = Math.max(entriesApplied, c.node(id).appliedIndex);
    return {
      simUs: c.nowUs,
      events: c.eventsRun,
      traceHash: c.traceHash(),
      latenciesUs: c.clients.latenciesUs,
      counters: {
        messagesSent: net.sent,
        messagesDelivered: net.delivered,
        messagesDropped: net.dropped + net.droppedDown,
        bytesSent: net.bytesSent,
        elections: c.counters.elections,
        commits: cl.completed,
        opsInvoked: cl.invoked,
        opsGaveUp: cl.gaveUp,
        opsResent: cl.resent,
        opsShed: cl.shed,
        entriesApplied,
        diskWrites: c.counters.diskWrites,
        readies: c.counters.readies,
        snapshotsSent: c.counters.snapshotsSent,
        crashes: c.counters.crashes,
        restarts: c.counters.restarts,
        faultsFired: this.nemesis?.counters.fired ?? 0,
      },
      violation: c.violation,
    };
  }
}

function toNetworkSpec(v: unknown): NetworkSpec {
  if (isPlainObject(v) && 'link' in v && 'overrides' in v && 'partitions' in v) return v as unknown as NetworkSpec;
  return parseNetworkSpec(v, 'network');
}

// A parsed LatencyDist has microsecond fields (valueUs, meanUs, ...); plain input has units.
function toLatencyDist(v: unknown): LatencyDist | null {
  if (v === undefined || v === null) return null;
  if (isPlainObject(v) && typeof v['dist'] === 'string' && Object.keys(v).some((k) => k.endsWith('Us'))) return v as unknown as LatencyDist;
  return parseLatencyDist(v, 'disk_latency');
}

function toFaultScript(v: unknown): ScheduledFault[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v) && v.every((f) => isPlainObject(f) && typeof f['atUs'] === 'number' && isPlainObject(f['action']))) {
    return (v as ScheduledFault[]).slice();
  }
  return parseFaultScript(v, 'faults');
}
