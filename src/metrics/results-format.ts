// The contract between the runner (which writes results/) and the reports (which only read them).
// DESIGN.md's layout:
//
//   results/<experiment-name>/<UTC timestamp>/
//     manifest.json            Manifest
//     runs/<run-id>/params.json   RunParams
//     runs/<run-id>/summary.json  RunSummary
//     runs/<run-id>/commit.hlog   HdrHistogram interval log (one interval per second, microseconds)
//     runs/<run-id>/commit.hgrm   percentile distribution (microseconds)
//     report/                     written by `frb report`
//
// Every file is versioned by `schema`; a reader refuses a schema it does not know.

import type { LatencySummary } from './latency-recorder.js';

export const RESULTS_SCHEMA = 1;

export type ParamValue = string | number | boolean;

export interface RunParams {
  schema: 1;
  runId: string;
  // Position in the expanded matrix and repetition number.
  index: number;
  rep: number;
  seed: number;
  // The swept point: dotted field path -> value, e.g. { "cluster.protocol": "fastraft" }.
  params: Record<string, ParamValue>;
  // The fully resolved experiment spec this run used (plain JSON).
  spec: unknown;
}

export interface FaultEvent {
  atUs: number; // on the run clock (virtual time in sim mode)
  kind: string; // crash | restart | pause | resume | partition | heal | latency | ...
  node?: number;
  detail?: string;
}

export interface FastSummary {
  fastCommits: number;
  classicCommits: number;
  fastPathRatio: number;
  conflicts: number;
  fallbacks: number;
  reproposals: number;
}

export interface RunSummary {
  schema: 1;
  runId: string;
  mode: 'sim' | 'live';
  protocol: string;
  size: number;
  seed: number;
  params: Record<string, ParamValue>;
  // The measured window on the run clock (warm-up excluded).
  window: { startUs: number; endUs: number };
  // DESIGN.md metrics. commitLatency is corrected for coordinated omission (from the intended send
  // time); the uncorrected one is from the actual send time.
  commitLatency: LatencySummary;
  commitLatencyUncorrected: LatencySummary;
  leaderCommitLatency: LatencySummary;
  throughput: {
    offeredPerSec: number;
    achievedPerSec: number;
    // achieved < 95% of offered
    saturated: boolean;
  };
  fast: FastSummary | null;
  messages: { total: number; perCommit: number; bytesTotal: number; bytesPerCommit: number };
  elections: number;
  // Longest interval without an acknowledged proposal inside the window.
  availabilityGapUs: number;
  // Proposals that were never acknowledged within the run.
  unacknowledged: number;
  faults: FaultEvent[];
  // How the figures were obtained (DESIGN.md: every figure carries it).
  methodology: {
    workload: string; // e.g. "open loop 1000/s, 8 clients on followers, 128 B values"
    placement: string;
    valueBytes: number;
    durability: string; // e.g. "memory (simulated disk 0us)" or "lmdb sync"
    transport?: string;
  };
}

export interface Manifest {
  schema: 1;
  tool: { name: string; version: string };
  experiment: { name: string; file: string | null; text: string };
  mode: 'sim' | 'live';
  seed: number;
  repeat: number;
  matrix: Array<{ runId: string; index: number; rep: number; seed: number; params: Record<string, ParamValue> }>;
  axes: Array<{ path: string; values: ParamValue[] }>;
  gitCommit: string | null;
  node: string;
  cpu: string;
  host: string;
  platform: string;
  startedAt: string;
  endedAt: string | null;
  // Runs finished (written) so far; `frb run --resume` continues from here.
  finished: string[];
}
