// Writes the results folder of DESIGN.md: the manifest at the start (and again after every run, so
// that an interrupted sweep can be resumed), and per run params.json, summary.json, commit.hlog and
// commit.hgrm. Files are written to a temporary name and renamed, so a crash never leaves a
// half-written file that a later reader or `--resume` would trust.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { join } from 'node:path';
import type { Manifest, RunParams, RunSummary } from '../metrics/results-format.js';

export function writeFileAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export function writeJson(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

// utcStamp names a results folder: sortable, filesystem-safe, UTC.
export function utcStamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-');
}

export function gitCommit(cwd: string): string | null {
  try {
    const rev = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    return dirty.length > 0 ? `${rev}-dirty` : rev;
  } catch {
    return null;
  }
}

export function machine(): { node: string; cpu: string; host: string; platform: string } {
  const c = cpus();
  return {
    node: process.version,
    cpu: `${c[0]?.model.trim() ?? 'unknown'} x${c.length}`,
    host: hostname(),
    platform: `${process.platform}-${process.arch}`,
  };
}

export class ResultsFolder {
  constructor(readonly dir: string) {}

  static create(root: string, experimentName: string, at: Date): ResultsFolder {
    const dir = join(root, experimentName, utcStamp(at));
    if (existsSync(dir)) throw new Error(`results folder ${dir} already exists`);
    mkdirSync(join(dir, 'runs'), { recursive: true });
    return new ResultsFolder(dir);
  }

  get manifestPath(): string {
    return join(this.dir, 'manifest.json');
  }

  readManifest(): Manifest {
    const path = this.manifestPath;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new Error(`cannot read ${path}: ${(err as Error).message}`);
    }
    const m = parsed as Partial<Manifest>;
    if (m.schema !== 1 || !Array.isArray(m.matrix) || !Array.isArray(m.finished) || m.experiment === undefined) {
      throw new Error(`${path} is not a results manifest of schema 1`);
    }
    return m as Manifest;
  }

  writeManifest(m: Manifest): void {
    writeJson(this.manifestPath, m);
  }

  runDir(runId: string): string {
    return join(this.dir, 'runs', runId);
  }

  // writeRun writes a run's files; summary.json goes last, so its presence marks a finished run.
  writeRun(params: RunParams, summary: RunSummary, hlog: string, hgrm: string): void {
    const d = this.runDir(params.runId);
    mkdirSync(d, { recursive: true });
    writeJson(join(d, 'params.json'), params);
    writeFileAtomic(join(d, 'commit.hlog'), hlog);
    writeFileAtomic(join(d, 'commit.hgrm'), hgrm);
    writeJson(join(d, 'summary.json'), summary);
  }

  runFinished(runId: string): boolean {
    return existsSync(join(this.runDir(runId), 'summary.json'));
  }
}
