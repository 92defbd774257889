import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExperimentFileError, parseExperiment } from '../../src/experiment/index.js';

// experimentsDir finds the repository's experiments/ folder upwards from the compiled test (so
// that a build into another outDir still finds it), or under the working directory.
export function experimentsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here, i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'experiments', 'quickstart.yaml'))) return join(dir, 'experiments');
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return resolve('experiments');
}

// issuesOf parses `text` and returns its issues as `line:column path: message`.
export function issuesOf(text: string, fileName = 'test.yaml'): string[] {
  try {
    parseExperiment(text, fileName);
  } catch (err) {
    assert.ok(err instanceof ExperimentFileError, `expected ExperimentFileError, got ${String(err)}`);
    return err.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);
  }
  assert.fail('expected an ExperimentFileError');
}

// Text lines joined: keeps YAML in tests readable with exact line numbers.
export function yaml(...lines: string[]): string {
  return lines.join('\n') + '\n';
}
