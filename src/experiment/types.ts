// The typed form of an experiment file: what `parseExperiment` returns once every field has been
// validated and every default filled. Units are settled here, once: durations are whole
// microseconds (`...Us`), rates are per second (`...PerSec`), sizes are bytes (`...Bytes`),
// probabilities are fractions in [0, 1]. Nothing downstream (runner, drivers, reports) parses a
// unit again.

import type { FastConfig } from '../core/fast-config.js';
import type { LatencyDist, LinkPatch, LinkOverride, NetworkSpec, Partition } from '../faults/index.js';

export type ExperimentMode = 'sim' | 'live';
export const experimentModes: readonly ExperimentMode[] = ['sim', 'live'];

// How each run's seed is derived from the experiment's `seed:`.
// - per_run: deriveSeed(seed, runIndex); every run of the matrix has its own seed.
// The default is per_repetition, so that compared points (raft vs fastraft) share schedules.
// - per_repetition: deriveSeed(seed, repetition); every point of the sweep sees the same seeds,
//   repetition by repetition (common random numbers), which pairs runs for comparison.
export type SeedScope = 'per_run' | 'per_repetition';
export const seedScopes: readonly SeedScope[] = ['per_run', 'per_repetition'];

// When a run ends. `proposals` counts acknowledged proposals after the warm-up; `timeoutUs`
// bounds such a run (simulated or real time) so that a cluster that cannot commit still ends.
export type StopSpec =
  | { readonly kind: 'duration'; readonly durationUs: number }
  | { readonly kind: 'proposals'; readonly count: number; readonly timeoutUs: number };

export type StorageKind = 'memory' | 'lmdb';
export const storageKinds: readonly StorageKind[] = ['memory', 'lmdb'];

export interface ClusterSpec {
  // A name from the protocol registry (src/core/protocols.ts): `raft`, `fastraft`, ...
  readonly protocol: string;
  // Voters; node ids are 1..size.
  readonly size: number;
  readonly storage: StorageKind;
  // Durable writes (fsync) before messages go out; only lmdb has anything to sync.
  readonly sync: boolean;
  readonly tickUs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxInflightMsgs: number;
  readonly maxSizePerMsgBytes: number;
  // Fast Raft options (defaults: core/fast-config.ts); protocols without a fast track ignore them.
  readonly fast: Readonly<FastConfig>;
  // Modelled costs, simulator only (null: not modelled, i.e. free).
  readonly disk: DiskModel | null;
  readonly processing: ProcessingModel | null;
}

export interface DiskModel {
  // Time to make one Ready's entries and hard state durable.
  readonly latency: LatencyDist;
}

export interface ProcessingModel {
  // CPU time a node spends on each message it steps.
  readonly perMessageUs: number;
}

export type LoopKind = 'open' | 'closed';
export const loopKinds: readonly LoopKind[] = ['open', 'closed'];
export type ArrivalKind = 'constant' | 'poisson';
export const arrivalKinds: readonly ArrivalKind[] = ['constant', 'poisson'];

// Open loop: proposals are scheduled at `ratePerSec` in total (split evenly over the clients)
// whatever the cluster does, and latency is measured from the scheduled time (coordinated
// omission corrected; the uncorrected histogram is kept as well). Closed loop: each client keeps
// `outstanding` proposals in flight and sends the next when one is answered.
export type LoopSpec =
  | { readonly kind: 'open'; readonly arrival: ArrivalKind; readonly ratePerSec: number }
  | { readonly kind: 'closed'; readonly outstanding: number };

// Where clients attach. Under fastraft the attached node is the proposer that broadcasts.
// leader: the current leader; followers: nodes other than the leader; random: a node drawn per
// client; all: clients spread round-robin over every node.
export type AttachKind = 'leader' | 'followers' | 'random' | 'all';
export const attachKinds: readonly AttachKind[] = ['leader', 'followers', 'random', 'all'];

export type KeyDistKind = 'uniform' | 'zipfian' | 'hotspot';
export const keyDistKinds: readonly KeyDistKind[] = ['uniform', 'zipfian', 'hotspot'];

export type KeyDist =
  | { readonly dist: 'uniform'; readonly count: number }
  // P(key of rank k) proportional to 1/k^theta (YCSB's zipfian constant is 0.99).
  | { readonly dist: 'zipfian'; readonly count: number; readonly theta: number }
  // A share `hotShare` of operations goes to the first `hotFraction` of the keys.
  | { readonly dist: 'hotspot'; readonly count: number; readonly hotFraction: number; readonly hotShare: number };

export interface WorkloadSpec {
  readonly loop: LoopSpec;
  readonly clients: number;
  readonly attach: AttachKind;
  // Number of distinct nodes the clients attach to (null: as `attach` places them). For Raft and
  // Fast Raft, contention is concurrent proposals colliding on one log index: it is set by this
  // number and the rate.
  readonly proposers: number | null;
  readonly valueBytes: number;
  readonly keys: KeyDist;
  // Share of operations that write the one key all clients share (on top of the key distribution).
  readonly conflict: number;
}

// Which node a fault acts on, resolved when the fault fires.
export type NodeTarget =
  | { readonly kind: 'leader' }
  | { readonly kind: 'follower' } // one follower, drawn from the run's seeded RNG
  | { readonly kind: 'random' } // any node, drawn from the run's seeded RNG
  | { readonly kind: 'node'; readonly id: number };
export const nodeTargetNames: readonly string[] = ['leader', 'follower', 'random'];

// What is restarted or resumed: one node, or every node the earlier faults took down.
export type DownTarget = { readonly kind: 'node'; readonly id: number } | { readonly kind: 'all' };

// A change of the network during a run: link fields given replace the current ones; overrides
// and partitions given are added.
export interface NetworkChange {
  readonly link: LinkPatch;
  readonly overrides: readonly LinkOverride[];
  readonly partitions: readonly Partition[];
}

export type FaultAction =
  | { readonly kind: 'crash'; readonly target: NodeTarget; readonly restartAfterUs: number | null }
  | { readonly kind: 'restart'; readonly target: DownTarget }
  | { readonly kind: 'pause'; readonly target: NodeTarget; readonly resumeAfterUs: number | null }
  | { readonly kind: 'resume'; readonly target: DownTarget }
  | { readonly kind: 'isolate'; readonly target: NodeTarget; readonly healAfterUs: number | null }
  | { readonly kind: 'partition'; readonly partitions: readonly Partition[]; readonly healAfterUs: number | null }
  | { readonly kind: 'network'; readonly change: NetworkChange; readonly revertAfterUs: number | null }
  // Ends every partition and isolation (those of the network block included).
  | { readonly kind: 'heal' };
export type FaultKind = FaultAction['kind'];
export const faultKinds: readonly FaultKind[] = ['crash', 'restart', 'pause', 'resume', 'isolate', 'partition', 'network', 'heal'];

export interface FaultSpec {
  // Time since the start of the run (warm-up included).
  readonly atUs: number;
  readonly action: FaultAction;
}

// Everything one run needs: the experiment's fields with the sweep values of its point substituted.
export interface RunSpec {
  readonly name: string;
  readonly mode: ExperimentMode;
  readonly stop: StopSpec;
  readonly warmupUs: number;
  readonly cluster: ClusterSpec;
  readonly network: NetworkSpec;
  readonly workload: WorkloadSpec;
  readonly faults: readonly FaultSpec[];
}

// One axis of the run matrix: a field path (as written under `sweep:`) and its values, as written
// (plain data: `5ms` stays "5ms"; each value was validated as if written at the field).
export interface SweepAxis {
  readonly path: string;
  readonly values: readonly unknown[];
}

export interface ExperimentSource {
  readonly fileName: string;
  readonly text: string;
  // The file as plain data (what YAML parsed), from which each point of the matrix is resolved.
  readonly data: Readonly<Record<string, unknown>>;
}

// The validated experiment. Its RunSpec fields are the values written outside `sweep:` (with
// defaults); a run's own values come from expandMatrix.
export interface ExperimentSpec extends RunSpec {
  readonly description: string;
  readonly seed: number;
  readonly repeat: number;
  readonly seeds: SeedScope;
  readonly sweep: readonly SweepAxis[];
  // Points of the sweep (product of the axis lengths) times repeat.
  readonly runCount: number;
  readonly source: ExperimentSource;
  // Legal but probably unintended settings (e.g. a fault during the warm-up).
  readonly warnings: readonly ExperimentIssue[];
}

export interface ExperimentIssue {
  readonly file: string;
  // Field path, e.g. `workload.rate`, `faults[0].crash`, `sweep["cluster.size"][2]`; '' for the
  // file as a whole (a YAML syntax error).
  readonly path: string;
  // 1-based.
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

// One run of the matrix.
export interface PlannedRun {
  // Position in the matrix: points in sweep order, repetitions of a point consecutive.
  readonly index: number;
  readonly point: number;
  readonly repetition: number;
  // Short, unique, filesystem-safe: `protocol=fastraft,size=5,rep=0`.
  readonly id: string;
  // The point: sweep field path -> value as written.
  readonly params: Readonly<Record<string, unknown>>;
  readonly seed: number;
  readonly spec: RunSpec;
}

export interface RunMatrix {
  readonly name: string;
  readonly mode: ExperimentMode;
  readonly seed: number;
  readonly seeds: SeedScope;
  readonly repeat: number;
  readonly axes: readonly SweepAxis[];
  readonly points: number;
  readonly runs: readonly PlannedRun[];
}
