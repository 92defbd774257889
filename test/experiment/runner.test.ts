// The runner end to end in sim mode: a results folder in DESIGN.md's layout, determinism (the same
// experiment and seed give identical summary.json, .hgrm and .hlog files), and --resume that skips
// finished runs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseExperiment } from '../../src/experiment/schema.js';
import { runExperiment } from '../../src/experiment/runner.js';

const text = [
  'name: tiny',
  'mode: sim',
  'seed: 3',
  'duration: 1s',
  'warmup: 200ms',
  'cluster: { protocol: raft, size: 3 }',
  'network: { latency: 1ms }',
  'workload: { mode: open, rate: 200/s, clients: 2, attach: followers, value_bytes: 64 }',
  'sweep:',
  '  cluster.protocol: [raft, fastraft]',
  '',
].join('\n');

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const run of readdirSync(join(dir, 'runs'))) {
    for (const f of ['summary.json', 'commit.hgrm', 'commit.hlog', 'params.json']) out.set(`${run}/${f}`, readFileSync(join(dir, 'runs', run, f), 'utf8'));
  }
  return out;
}

test('a sim experiment writes the results layout, and the same seed gives identical files', async () => {
  const root = mkdtempSync(join(tmpdir(), 'frb-runner-'));
  try {
    const spec = parseExperiment(text, 'tiny.yaml');
    const opts = { outRoot: root, toolVersion: 'test', repoDir: process.cwd() };
    const a = await runExperiment(spec, opts);
    await new Promise((r) => setTimeout(r, 1100)); // a new UTC-second folder
    const b = await runExperiment(spec, opts);
    assert.notEqual(a.dir, b.dir);
    const manifest = JSON.parse(readFileSync(join(a.dir, 'manifest.json'), 'utf8')) as { schema: number; matrix: unknown[]; finished: string[]; endedAt: string | null };
    assert.equal(manifest.schema, 1);
    assert.equal(manifest.matrix.length, 2);
    assert.equal(manifest.finished.length, 2);
    assert.ok(manifest.endedAt !== null);
    const fa = files(a.dir);
    const fb = files(b.dir);
    assert.equal(fa.size, 8);
    for (const [k, v] of fa) assert.equal(fb.get(k), v, `${k} differs between two runs of the same seed`);
    const s = JSON.parse(fa.get('protocol=raft,rep=0/summary.json')!) as { commitLatency: { count: number; p50Us: number }; leaderCommitLatency: { count: number } };
    assert.ok(s.commitLatency.count > 100);
    // 4 one-way delays of 1 ms for a client on a follower under classic Raft.
    assert.equal(Math.round(s.commitLatency.p50Us / 1000), 4);
    assert.ok(s.leaderCommitLatency.count > 100);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('--resume continues a results folder without redoing finished runs', async () => {
  const root = mkdtempSync(join(tmpdir(), 'frb-resume-'));
  try {
    const spec = parseExperiment(text, 'tiny.yaml');
    const opts = { outRoot: root, toolVersion: 'test', repoDir: process.cwd() };
    const first = await runExperiment(spec, opts);
    // Pretend the second run never finished: its summary is what marks a run done.
    const second = join(first.dir, 'runs', 'protocol=fastraft,rep=0', 'summary.json');
    const before = readFileSync(second, 'utf8');
    unlinkSync(second);
    const resumed = await runExperiment(spec, { ...opts, resumeDir: first.dir });
    assert.equal(resumed.skipped, 1);
    assert.equal(resumed.finished.length, 1);
    assert.ok(existsSync(second));
    assert.equal(readFileSync(second, 'utf8'), before);
    // A different experiment file cannot resume this folder.
    await assert.rejects(runExperiment(parseExperiment(text.replace('seed: 3', 'seed: 4'), 'tiny.yaml'), { ...opts, resumeDir: first.dir }), /different experiment/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
