// `frb run [FILE]`: run an experiment (the shipped quickstart when no file is given) and write its
// results folder; print where it is and a short table of the headline figures.

import { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseExperiment } from '../experiment/schema.js';
import { ExperimentFileError, formatIssue } from '../experiment/index.js';
import { expandMatrix, formatMatrix } from '../experiment/matrix.js';
import { headlineTable, runExperiment } from '../experiment/runner.js';
import type { ExperimentSpec } from '../experiment/types.js';
import type { RunOutput } from '../experiment/sim-run.js';
import type { PlannedRun } from '../experiment/types.js';

// The package root: dist/src/cli/run.js -> ../../..
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function defaultExperimentFile(): string {
  return join(packageRoot, 'experiments', 'quickstart.yaml');
}

function loadSpec(file: string): ExperimentSpec {
  if (!existsSync(file)) throw new Error(`no such experiment file: ${file}`);
  try {
    return parseExperiment(readFileSync(file, 'utf8'), file);
  } catch (err) {
    if (err instanceof ExperimentFileError) {
      for (const issue of err.issues) console.error(formatIssue(issue));
      throw new Error(`${file}: ${err.issues.length} problem(s); nothing was run`);
    }
    throw err;
  }
}

// The live driver is loaded only for live experiments, so that sim runs never load the transport.
async function liveDriver(): Promise<((run: PlannedRun, hooks: { shouldStop: () => boolean }) => Promise<RunOutput>) | undefined> {
  try {
    const mod = (await import('../experiment/live-run.js')) as { runLive?: (run: PlannedRun, hooks: { shouldStop: () => boolean }) => Promise<RunOutput> };
    return mod.runLive;
  } catch {
    return undefined;
  }
}

export function runCommand(): Command {
  return new Command('run')
    .description('run an experiment file (default: the shipped quickstart) and write a results folder')
    .argument('[file]', 'experiment YAML (default: experiments/quickstart.yaml)')
    .option('--out <dir>', 'results root', 'results')
    .option('--resume <dir>', 'continue this results folder without redoing finished runs')
    .option('--dry-run', 'print the run matrix and exit')
    .action(async (file: string | undefined, opts: { out: string; resume?: string; dryRun?: boolean }) => {
      const path = file ?? defaultExperimentFile();
      const spec = loadSpec(path);
      for (const w of spec.warnings) console.error(`warning: ${formatIssue(w)}`);
      if (opts.dryRun === true) {
        for (const line of formatMatrix(expandMatrix(spec))) console.log(line);
        return;
      }
      const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string };
      let stop = false;
      const onSigint = (): void => {
        if (stop) process.exit(130);
        stop = true;
        process.stderr.write('\ninterrupt: stopping after abandoning the run in progress (Ctrl-C again to quit at once)\n');
      };
      process.on('SIGINT', onSigint);
      const tty = process.stderr.isTTY === true;
      try {
        const result = await runExperiment(spec, {
          outRoot: opts.out,
          ...(opts.resume !== undefined ? { resumeDir: opts.resume } : {}),
          toolVersion: pkg.version,
          repoDir: packageRoot,
          interrupted: () => stop,
          ...(spec.mode === 'live' ? { liveDriver: await liveDriver() } : {}),
          progress: (line, final) => {
            if (tty) process.stderr.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
            else if (final || !line.includes('%')) process.stderr.write(`${line}\n`);
          },
        });
        console.log(`results: ${result.dir}`);
        if (result.finished.length > 0) console.log(headlineTable(result.finished));
        if (result.interrupted) {
          console.log(`interrupted: ${result.finished.length} run(s) finished this time; continue with: frb run ${path} --resume ${result.dir}`);
          process.exitCode = 130;
        }
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}
