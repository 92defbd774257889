// `frb validate FILE...`: check experiment files and run nothing. Every problem of a file is
// printed, one per line as `file:line:column path: message`; the exit code is 1 if any file has one.

import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { ExperimentFileError, expandMatrix, experimentFileBytesMax, formatIssue, formatMatrix, parseExperiment } from '../experiment/index.js';

export interface ValidateOptions {
  // Also print the run matrix, as `frb run --dry-run` does.
  readonly matrix?: boolean;
}

// validateFiles returns the exit code; `out` receives every line printed.
export function validateFiles(files: readonly string[], opts: ValidateOptions, out: (line: string) => void): number {
  let code = 0;
  for (const file of files) {
    const prefix = files.length > 1 ? `${file}: ` : '';
    let text: string;
    try {
      const buf = readFileSync(file);
      if (buf.length > experimentFileBytesMax) throw new Error(`larger than ${experimentFileBytesMax} bytes`);
      text = buf.toString('utf8');
    } catch (err) {
      out(`${file}: cannot read: ${(err as Error).message.split('\n')[0]!}`);
      code = 1;
      continue;
    }
    try {
      const spec = parseExperiment(text, file);
      for (const w of spec.warnings) out(formatIssue({ ...w, message: `warning: ${w.message}` }));
      out(`${prefix}ok: ${spec.runCount} run${spec.runCount === 1 ? '' : 's'}`);
      if (opts.matrix === true) for (const line of formatMatrix(expandMatrix(spec))) out(line);
    } catch (err) {
      if (!(err instanceof ExperimentFileError)) throw err;
      for (const issue of err.issues) out(formatIssue(issue));
      code = 1;
    }
  }
  return code;
}

export function validateCommand(): Command {
  return new Command('validate')
    .description('check experiment files (every problem at once, with line:column) without running anything')
    .argument('<files...>', 'experiment YAML files')
    .option('--matrix', 'also print the run matrix (as frb run --dry-run)')
    .action((files: string[], opts: ValidateOptions) => {
      const code = validateFiles(files, opts, (line) => console.log(line));
      if (code !== 0) process.exitCode = code;
    });
}
