// `frb fuzz` end to end: exit status, the JSON summary, replay with a JSON-lines trace.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const frb = fileURLToPath(new URL('../../src/cli/frb.js', import.meta.url));

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [frb, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('frb fuzz passes clean schedules with exit status 0 and prints a summary', () => {
  const r = run(['fuzz', '--seeds', '4', '--jobs', '2', '--json', '--no-progress']);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  assert.equal(summary['schedules'], 4);
  assert.equal(summary['violations'], 0);
  for (const k of ['events', 'messages', 'commits', 'elections']) assert.ok((summary[k] as number) > 0, k);
});

test('frb fuzz --mutant fails with exit status 1 and prints the replay command', () => {
  const r = run(['fuzz', '--mutant', 'vote-without-log-check', '--seeds', '30', '--fail-fast', '--jobs', '1', '--shrink-runs', '20', '--no-progress']);
  assert.equal(r.status, 1, r.stderr + r.stdout);
  assert.match(r.stdout, /FAILED seed \d+: /);
  assert.match(r.stdout, /replay: frb fuzz --protocol raft --replay \d+ --mutant vote-without-log-check/);
  assert.match(r.stdout, /1 violation/);
});

test('frb fuzz --replay SEED --trace writes the run as JSON lines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'frb-fuzz-'));
  try {
    const file = join(dir, 'out.jsonl');
    const r = run(['fuzz', '--replay', '2', '--trace', file]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /PASSED/);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.ok(lines.length > 1000);
    const kinds = new Set(lines.map((l) => (JSON.parse(l) as { ev: string }).ev));
    for (const k of ['send', 'recv', 'tick', 'fault', 'state', 'persist']) assert.ok(kinds.has(k), `trace has ${k} records`);
    const again = run(['fuzz', '--replay', '2', '--trace', file + '.2']);
    assert.equal(readFileSync(file + '.2', 'utf8'), readFileSync(file, 'utf8'), 'a replay is byte for byte the same');
    assert.equal(again.stdout.match(/trace hash ([0-9a-f]+)/)?.[1], r.stdout.match(/trace hash ([0-9a-f]+)/)?.[1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
