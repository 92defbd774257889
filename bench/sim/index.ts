// Simulator throughput: a 5-node classic Raft cluster under closed-loop client load, no faults.
// Reports simulated messages delivered per second of wall time (and of this process's CPU time,
// which is not diluted when the machine is shared) and simulated seconds per wall second.
//
// Two networks: a constant 500us one-way latency (messages sent together arrive together, so
// nodes handle them in one Ready, as a loaded node does), and the same with +-100us uniform jitter
// (every message arrives at its own microsecond: one Ready per message, the worst case for the
// per-Ready cost of the core). Each with the safety checkers off (how experiments run) and on
// (how the fuzzer runs). The headline figure is the first: constant latency, checkers off. The
// last line is one JSON object.
//
//   node dist/bench/sim/index.js [simulatedSeconds] [clients]

import { Simulation } from '../../src/sim/index.js';

const simulatedS = Number(process.argv[2] ?? 5);
const clients = Number(process.argv[3] ?? 100);
const warmupS = 1;

interface Measure {
  readonly network: string;
  readonly checkers: boolean;
  readonly messagesPerWallS: number;
  readonly messagesPerCpuS: number;
  readonly simSecondsPerWallS: number;
  readonly eventsPerWallS: number;
  readonly opsPerSimS: number;
  readonly messages: number;
  readonly wallMs: number;
  readonly traceHash: string;
}

function measure(network: string, latency: unknown, checkers: boolean): Measure {
  const sim = new Simulation({
    protocol: 'raft',
    size: 5,
    seed: 1,
    tickUs: 10_000,
    electionTicks: 10,
    heartbeatTicks: 1,
    network: { latency },
    checkers,
    recordHistory: false,
  });
  sim.addClients({ mode: 'closed', count: clients, attach: 'all', keys: 1000, readRatio: 0.2, valueBytes: 64, thinkUs: 0 });
  // Warm-up: the JIT compiles the hot paths and the cluster elects a leader.
  sim.runFor(warmupS * 1_000_000);
  const before = sim.results();
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  sim.runFor(simulatedS * 1_000_000);
  const cpu = process.cpuUsage(cpu0);
  const wallNs = Number(process.hrtime.bigint() - t0);
  const after = sim.results();
  if (after.violation !== null) throw new Error(`bench: violation ${after.violation.checker}: ${after.violation.message}`);
  const wallS = wallNs / 1e9;
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const messages = after.counters.messagesDelivered - before.counters.messagesDelivered;
  return {
    network,
    checkers,
    messagesPerWallS: Math.round(messages / wallS),
    messagesPerCpuS: Math.round(messages / cpuS),
    simSecondsPerWallS: Math.round((simulatedS / wallS) * 100) / 100,
    eventsPerWallS: Math.round((after.events - before.events) / wallS),
    opsPerSimS: Math.round((after.counters.commits - before.counters.commits) / simulatedS),
    messages,
    wallMs: Math.round(wallNs / 1e6),
    traceHash: after.traceHash,
  };
}

const constant = '500us';
const jitter = { dist: 'uniform', min: '400us', max: '600us' };
const results = [
  measure('constant 500us', constant, false),
  measure('constant 500us', constant, true),
  measure('uniform 400-600us', jitter, false),
  measure('uniform 400-600us', jitter, true),
];
const fmt = (n: number): string => n.toLocaleString('en-US');
for (const m of results) {
  console.log(
    `5 nodes, ${clients} clients, ${m.network}, checkers ${m.checkers ? 'on ' : 'off'}: ` +
      `${fmt(m.messagesPerWallS)} messages/s wall (${fmt(m.messagesPerCpuS)}/s CPU), ` +
      `${m.simSecondsPerWallS} simulated s per wall s, ${fmt(m.eventsPerWallS)} events/s, ` +
      `${fmt(m.opsPerSimS)} client ops per simulated s (${fmt(m.messages)} messages in ${fmt(m.wallMs)} ms)`,
  );
}
const [head, headCk, jit, jitCk] = results as [Measure, Measure, Measure, Measure];
console.log(JSON.stringify({
  bench: 'sim',
  nodes: 5,
  clients,
  simulatedS,
  messagesPerSec: head.messagesPerWallS,
  messagesPerCpuSec: head.messagesPerCpuS,
  simSecondsPerSec: head.simSecondsPerWallS,
  messagesPerSecCheckers: headCk.messagesPerWallS,
  simSecondsPerSecCheckers: headCk.simSecondsPerWallS,
  messagesPerSecJitter: jit.messagesPerWallS,
  messagesPerSecJitterCheckers: jitCk.messagesPerWallS,
  simSecondsPerSecJitter: jit.simSecondsPerWallS,
  opsPerSimSec: head.opsPerSimS,
  traceHash: head.traceHash,
  node: process.version,
}));
