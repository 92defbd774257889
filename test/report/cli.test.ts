// The report commands from the outside: --help, success, and a one-line reason on failure.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { tempDir, writeFixture } from './fixtures.js';

const frb = fileURLToPath(new URL('../../src/cli/frb.js', import.meta.url));

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [frb, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('frb report / compare / check CLI', () => {
  let root: string;
  let dir: string;
  before(() => {
    root = tempDir();
    dir = writeFixture(root, { latencies: ['1ms', '5ms'], repeat: 1, durationSec: 3 });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('--help for each command', () => {
    for (const cmd of ['report', 'compare', 'check']) {
      const r = run([cmd, '--help']);
      assert.equal(r.code, 0, cmd);
      assert.match(r.stdout, new RegExp(`^Usage: frb ${cmd} `, 'm'));
    }
  });

  test('report: writes the folder and lists the charts', () => {
    const r = run(['report', join(root, 'fast-vs-classic')]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^frb report: 7 charts, 23 files in /m);
    assert.match(r.stdout, /^  latency-percentiles: Commit latency by percentile$/m);
    assert.ok(existsSync(join(dir, 'report', 'index.html')));
    const quiet = run(['report', dir, '--quiet', '--out', join(root, 'elsewhere')]);
    assert.equal(quiet.code, 0);
    assert.match(quiet.stdout.trim(), /elsewhere\/index\.html$/);
  });

  test('report: not a results folder is a one-line error', () => {
    const r = run(['report', root]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^frb: .*no manifest\.json here/);
  });
});
