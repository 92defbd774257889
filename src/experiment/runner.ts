// The experiment runner: an experiment file becomes a matrix of runs, each run is executed by the
// driver its `mode` names, and a self-describing results folder is written (DESIGN.md's layout).
// Ctrl-C stops after the run in progress is abandoned, keeping every finished run; `--resume`
// continues a sweep without redoing finished runs.

import { readFileSync } from 'node:fs';
import { expandMatrix } from './matrix.js';
import { parseExperiment } from './schema.js';
import type { ExperimentSpec, PlannedRun, RunMatrix } from './types.js';
import { ResultsFolder, gitCommit, machine } from './results-writer.js';
import { runSim, RunInterruptedError, type RunOutput } from './sim-run.js';
import type { Manifest, RunParams, RunSummary } from '../metrics/results-format.js';
import { plainParams } from './run-metrics.js';

export interface RunnerOptions {
  outRoot: string;
  // Continue this results folder instead of creating one.
  resumeDir?: string;
  toolVersion: string;
  repoDir: string;
  // Progress lines (a bar on a terminal); silent when absent.
  progress?: (line: string, final: boolean) => void;
  // Polled between slices of a run; true abandons the run in progress and stops the sweep.
  interrupted?: () => boolean;
  // Runs a live-mode run; the live driver registers itself here so that sim-only use stays light.
  liveDriver?: (run: PlannedRun, hooks: { shouldStop: () => boolean }) => Promise<RunOutput>;
}

export interface RunnerResult {
  dir: string;
  finished: RunSummary[];
  skipped: number;
  interrupted: boolean;
  matrix: RunMatrix;
}

export function loadExperiment(file: string): ExperimentSpec {
  const text = readFileSync(file, 'utf8');
  return parseExperiment(text, file);
}

function formatEta(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(s % 60).padStart(2, '0')}s`;
}

export function progressBar(done: number, total: number, width = 24): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export async function runExperiment(spec: ExperimentSpec, opts: RunnerOptions): Promise<RunnerResult> {
  const matrix = expandMatrix(spec);
  let folder: ResultsFolder;
  let manifest: Manifest;
  const m = machine();
  if (opts.resumeDir !== undefined) {
    folder = new ResultsFolder(opts.resumeDir);
    manifest = folder.readManifest();
    if (manifest.experiment.text !== spec.source.text) {
      throw new Error(`${opts.resumeDir} was run from a different experiment file; resume needs the same file`);
    }
  } else {
    folder = ResultsFolder.create(opts.outRoot, spec.name, new Date());
    manifest = {
      schema: 1,
      tool: { name: 'frb', version: opts.toolVersion },
      experiment: { name: spec.name, file: spec.source.fileName, text: spec.source.text },
      mode: spec.mode,
      seed: spec.seed,
      repeat: spec.repeat,
      matrix: matrix.runs.map((r) => ({ runId: r.id, index: r.index, rep: r.repetition, seed: r.seed, params: plainParams(r.params) })),
      axes: matrix.axes.map((a) => ({ path: a.path, values: a.values.map((v) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : JSON.stringify(v))) })),
      gitCommit: gitCommit(opts.repoDir),
      node: m.node,
      cpu: m.cpu,
      host: m.host,
      platform: m.platform,
      startedAt: new Date().toISOString(),
      endedAt: null,
      finished: [],
    };
    folder.writeManifest(manifest);
  }

  const finished: RunSummary[] = [];
  let skipped = 0;
  let interrupted = false;
  const total = matrix.runs.length;
  const t0 = Date.now();
  let doneThisSession = 0;
  for (const run of matrix.runs) {
    if (folder.runFinished(run.id)) {
      skipped++;
      continue;
    }
    const position = skipped + doneThisSession + 1;
    const elapsed = Date.now() - t0;
    const left = total - position + 1;
    const eta = doneThisSession === 0 ? NaN : (elapsed / doneThisSession) * left;
    const label = `${progressBar(position - 1, total)} run ${position}/${total} ${run.id}`;
    opts.progress?.(`${label} (eta ${formatEta(eta)})`, false);
    let out: RunOutput;
    try {
      if (run.spec.mode === 'sim') {
        out = await runSim(run, {
          shouldStop: () => opts.interrupted?.() === true,
          onSlice: (nowUs, endUs) => opts.progress?.(`${label} ${Math.round((100 * nowUs) / endUs)}% (eta ${formatEta(eta)})`, false),
        });
      } else {
        if (opts.liveDriver === undefined) throw new Error('live mode is not available in this build');
        out = await opts.liveDriver(run, { shouldStop: () => opts.interrupted?.() === true });
      }
    } catch (err) {
      if (err instanceof RunInterruptedError) {
        interrupted = true;
        break;
      }
      throw err;
    }
    const params: RunParams = {
      schema: 1,
      runId: run.id,
      index: run.index,
      rep: run.repetition,
      seed: run.seed,
      params: plainParams(run.params),
      spec: run.spec,
    };
    folder.writeRun(params, out.summary, out.hlog, out.hgrm);
    manifest.finished.push(run.id);
    folder.writeManifest(manifest);
    finished.push(out.summary);
    doneThisSession++;
    if (opts.interrupted?.() === true) {
      interrupted = manifest.finished.length < total;
      if (interrupted) break;
    }
  }
  manifest.endedAt = new Date().toISOString();
  folder.writeManifest(manifest);
  opts.progress?.(`${progressBar(manifest.finished.length, total)} ${manifest.finished.length}/${total} runs done`, true);
  return { dir: folder.dir, finished, skipped, interrupted, matrix };
}

function ms(us: number): string {
  return (us / 1000).toFixed(us < 10_000 ? 2 : 1);
}

// headlineTable is the short table `frb run` prints at the end: one row per run.
export function headlineTable(summaries: readonly RunSummary[]): string {
  const head = ['run', 'protocol', 'n', 'p50 ms', 'p99 ms', 'max ms', 'ops/s', 'fast %', 'msgs/commit'];
  const rows = summaries.map((s) => [
    s.runId,
    s.protocol,
    String(s.size),
    ms(s.commitLatency.p50Us),
    ms(s.commitLatency.p99Us),
    ms(s.commitLatency.maxUs),
    String(Math.round(s.throughput.achievedPerSec)),
    s.fast === null ? '-' : (100 * s.fast.fastPathRatio).toFixed(1),
    s.messages.perCommit.toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
