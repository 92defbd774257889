#!/usr/bin/env node
// frb: the project's one entry point.

import { Command, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { runDemo } from './demo.js';
import { fuzzCommand } from './fuzz.js';
import { validateCommand } from './validate.js';
import { reportCommand } from './report.js';
import { compareCommand } from './compare.js';
import { checkCommand } from './check.js';
import { nodeCommand } from './node.js';
import { clusterCommand } from './cluster.js';
import { runCommand } from './run.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('frb')
    .description('Fast Raft research benchmark: a deterministic Raft / Fast Raft core, simulator, live clusters and experiment runner')
    .version(packageVersion())
    .showHelpAfterError();

  program
    .command('demo')
    .description('run a simulated in-process cluster that elects a leader and commits proposals')
    .option('--size <n>', 'number of nodes', positiveInt, 3)
    .option('--proposals <n>', 'proposals to commit', positiveInt, 100)
    .option('--seed <n>', 'seed of every random choice', positiveInt, 1)
    .action((opts: { size: number; proposals: number; seed: number }) => {
      runDemo(opts, (line) => console.log(line));
    });

  program.addCommand(runCommand());
  program.addCommand(validateCommand());
  program.addCommand(reportCommand());
  program.addCommand(compareCommand());
  program.addCommand(checkCommand());

  program.addCommand(fuzzCommand());
  program.addCommand(nodeCommand());
  program.addCommand(clusterCommand());

  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    console.error(`frb: ${(err as Error).message.split('\n')[0]}`);
    process.exitCode = 1;
  }
}

await main();
