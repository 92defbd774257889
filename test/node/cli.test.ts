// The commands: frb cluster up, status and down on a real cluster; frb node refusing what it
// cannot run, with exit status 1 and a one-line reason.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { LocalCluster, defaultFrbPath } from '../../src/node/index.js';
import { removeDir, tempDir } from './helpers.js';

const run = promisify(execFile);

async function frb(args: string[], timeoutMs = 30_000, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [defaultFrbPath(), ...args], { timeout: timeoutMs, env });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

test('frb cluster up, status and down', { timeout: 60_000 }, async () => {
  const dir = tempDir('cli');
  try {
    // The nodes outlive `frb cluster up`, but not this test (FRB_EXIT_WITH_PID), should it die.
    const up = await frb(['cluster', 'up', '--size', '3', '--protocol', 'fastraft', '--dir', dir], 30_000, { ...process.env, FRB_EXIT_WITH_PID: String(process.pid) });
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /node \d is the leader/);
    assert.match(up.stdout, /cluster frb-[0-9a-f]+ up in \d+ ms/);
    const again = await frb(['cluster', 'up', '--size', '3', '--dir', dir]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^frb: a cluster is already running in .*; stop it with: frb cluster down/);
    const st = await frb(['cluster', 'status', '--dir', dir, '--json']);
    assert.equal(st.code, 0, st.stderr);
    const status = JSON.parse(st.stdout) as { protocol: string; nodes: { health: string; role: string }[] };
    assert.equal(status.protocol, 'fastraft');
    assert.deepEqual(status.nodes.map((n) => n.health), ['up', 'up', 'up']);
    assert.equal(status.nodes.filter((n) => n.role === 'leader').length, 1);
    const text = await frb(['cluster', 'status', '--dir', dir]);
    assert.match(text.stdout, /node\s+port\s+pid\s+health\s+role\s+term\s+leader\s+commit\s+applied/);
    const down = await frb(['cluster', 'down', '--dir', dir]);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /stopped nodes 1, 2, 3/);
    const after = await frb(['cluster', 'status', '--dir', dir]);
    assert.equal(after.code, 1);
    assert.match(after.stderr, /3 of 3 nodes not up/);
  } finally {
    await LocalCluster.open(dir).down(500).catch(() => {});
    removeDir(dir);
  }
});

test('frb node refuses a bad config, an unknown id and a missing file with one line', { timeout: 30_000 }, async () => {
  const dir = tempDir('cli-node');
  try {
    const missing = await frb(['node', '--config', path.join(dir, 'nope.json'), '--id', '1']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^frb: .*nope\.json: no such file/);
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ clusterId: 'x', secret: 'short', nodes: [] }));
    const r = await frb(['node', '--config', bad, '--id', '1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^frb: .*bad\.json: \d+ problems: /);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    const good = path.join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ clusterId: 'frb-x', secret: '0123456789abcdef0123456789abcdef', nodes: [{ id: 1, host: '127.0.0.1', port: 1 }] }));
    const unknown = await frb(['node', '--config', good, '--id', '9']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^frb: node 9 is not in the cluster/);
    // Without a native uWebSockets.js build the node refuses to run on its slow fallback.
    const noUws = await frb(['node', '--config', good, '--id', '1'], 30_000, { ...process.env, UWS_USE_FALLBACK: '1' });
    assert.equal(noUws.code, 1);
    assert.match(noUws.stderr, /^frb: uWebSockets.js would run its slow JavaScript fallback.*--transport ws/);
    const help = await frb(['node', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--config <file>/);
  } finally {
    removeDir(dir);
  }
});
