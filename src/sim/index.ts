// Public face of src/sim: the discrete-event scheduler, the trace hash, client histories, the
// linearizability checker, and the deterministic cluster simulation built on them (simulated
// network, Ready-loop driver with crash/restart/pause, KV clients, safety checkers, nemesis,
// fuzzer). The experiment runner uses Simulation; the CLI uses the fuzzer.
export { Scheduler, SchedulerFullError, runEventsMaxDefault } from './scheduler.js';
export type { EventHandler, RunLimits, RunResult, SchedulerOptions, StopReason } from './scheduler.js';
export { TraceHash } from './trace-hash.js';
export { History, HistoryFullError, describeOperation } from './history.js';
export type { OpKind, Operation } from './history.js';
export {
  checkLinearizable,
  checkRegister,
  formatCounterexample,
  shrinkCounterexample,
  stepsMaxDefault,
} from './linearizability.js';
export type { CheckOptions, CheckOutcome, CheckResult, Counterexample, KeyCheck, RegisterCheck } from './linearizability.js';
export { InProcessCluster } from './in-process-cluster.js';
export type { InProcessClusterOptions } from './in-process-cluster.js';

export { Simulation } from './simulation.js';
export type { RandomNemesisSpec, SimulationCounters, SimulationResults, SimulationSpec } from './simulation.js';
export { SimCluster, SimNode, NodeStatus, defaultSimClusterOptions } from './sim-cluster.js';
export type { ClusterCounters, CompactionOptions, NodeStateDump, SimClusterOptions, Violation } from './sim-cluster.js';
export { SimNetwork, messageSizeBytes, simNodeIdMax } from './sim-network.js';
export type { NetworkCounters } from './sim-network.js';
export { Clients, ProposeOutcome, defaultClientOptions, describeCommand } from './clients.js';
export type { AttachPolicy, ClientCounters, ClientOptions, CompletedOp } from './clients.js';
export { Checkers, SafetyViolation, checkerNames, entryFingerprint } from './checkers.js';
export type { CheckerName, LogTermView } from './checkers.js';
export { Nemesis, describeFault, faultKinds, parseFaultScript, randomFaults } from './nemesis.js';
export type { FaultAction, FaultKind, FaultTarget, PartitionSplit, RandomFaultOptions, ScheduledFault } from './nemesis.js';
export {
  defaultFuzzConfig,
  defaultFuzzFaults,
  describeSchedule,
  describeViolation,
  generateSchedule,
  replayCommand,
  runSchedule,
  shrinkSchedule,
  stormShare,
} from './fuzz.js';
export type { FuzzConfig, FuzzRunResult, FuzzRunStats, FuzzSchedule, RunOptions, ScheduleEdits, ShrinkResult } from './fuzz.js';
export { JsonlTraceWriter, MemoryTraceSink } from './trace.js';
export type { TraceRecord, TraceSink } from './trace.js';
