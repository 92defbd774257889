// Public face of src/sim: the discrete-event scheduler, the trace hash, client histories and the
// linearizability checker. (The simulated network and in-process cluster join here when built.)
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
