// bench:peers without etcd or a cluster: its load generator (closed loop, payload sizes, the
// measured window), the results folders it writes (read back by the reports' own loader), and the
// table with its goals, said as met or not yet.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { closedLoop, keyBytes, keyFor, valueBytes, valueFor, type PutClient } from '../../bench/peers/load.js';
import { goalsOf, renderMarkdown, type PeerRow } from '../../bench/peers/table.js';
import { BenchFolder } from '../../bench/lib/results.js';
import { loadResults } from '../../src/report/index.js';

const repoDir = fileURLToPath(new URL('../../../', import.meta.url));

test('keys are 16 bytes and values 128, whatever the client and sequence', () => {
  for (const n of [0, 7, 123_456_789]) assert.equal(Buffer.byteLength(keyFor(n)), keyBytes);
  for (const [c, s] of [[0, 1], [63, 99_999], [1_000_000, 1_000_000_000]] as const) assert.equal(Buffer.byteLength(valueFor(c, s)), valueBytes);
});

test('closed loop: one put outstanding per client, samples inside the window, failures counted', async () => {
  let outstanding = 0;
  let outstandingMax = 0;
  const puts: string[] = [];
  const client = (fail: boolean): PutClient => ({
    async put(key, value) {
      outstanding++;
      outstandingMax = Math.max(outstandingMax, outstanding);
      assert.equal(value.length, valueBytes);
      puts.push(key);
      await new Promise((r) => setTimeout(r, 2));
      outstanding--;
      if (fail) throw new Error('refused');
    },
    close() {},
  });
  const r = await closedLoop([client(false), client(false), client(true)], { warmupUs: 50_000, durationUs: 250_000 });
  assert.ok(outstandingMax <= 3, 'never more than one put per client');
  assert.equal(r.windowStartUs, 50_000);
  assert.equal(r.windowEndUs, 250_000);
  assert.ok(r.samples.filter((s) => s.ok).length > 20);
  assert.ok(r.failures > 0 && r.errors[0]!.includes('refused'));
  assert.ok(r.samples.every((s) => s.latencyUs >= 1000 && s.latencyUs === s.latencyUncorrectedUs));
});

test('a results folder written by BenchFolder is read by the reports, window and throughput as defined', () => {
  const root = mkdtempSync(join(tmpdir(), 'frb-peers-test-'));
  try {
    const folder = new BenchFolder({
      root,
      name: 'bench-peers',
      text: 'plan',
      file: null,
      seed: 0,
      repeat: 1,
      axes: [{ path: 'cluster.protocol', values: ['etcd', 'raft'] }],
      repoDir,
      toolVersion: 'test',
    });
    for (const [i, system] of ['etcd', 'raft'].entries()) {
      // 1000 operations of 2 ms in [0, 2 s); the window is [1 s, 2 s]: 500 of them, 500/s.
      const samples = Array.from({ length: 1000 }, (_v, k) => ({ ok: true, completeUs: (k + 1) * 2000 - 1, latencyUs: 2000, latencyUncorrectedUs: 2000 }));
      folder.add({
        runId: `protocol=${system},rep=0`,
        index: i,
        rep: 0,
        seed: 0,
        params: { 'cluster.protocol': system },
        spec: { system },
        protocol: system,
        size: 3,
        samples,
        windowStartUs: 1_000_000,
        windowEndUs: 2_000_000,
        offeredPerSec: null,
        fast: null,
        messages: system === 'etcd' ? null : { total: 2000, bytesTotal: 100_000 },
        elections: 0,
        methodology: { workload: 'closed loop', placement: 'leader', valueBytes: 128, durability: 'test' },
      });
    }
    folder.finish();
    const loaded = loadResults(folder.dir);
    assert.equal(loaded.runs.length, 2);
    const raft = loaded.runs.find((r) => r.summary.protocol === 'raft')!.summary;
    assert.equal(raft.mode, 'live');
    assert.equal(raft.commitLatency.count, 500);
    assert.equal(raft.commitLatency.p50Us, 2000);
    assert.equal(raft.throughput.achievedPerSec, 500);
    assert.equal(raft.messages.perCommit, 4);
    const etcd = loaded.runs.find((r) => r.summary.protocol === 'etcd')!.summary;
    assert.equal(etcd.messages.perCommit, 0, 'not measured for etcd');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

function row(system: string, size: number, clients: number, attach: 'leader' | 'follower', p50Us: number, opsPerSec: number): PeerRow {
  return { system, size, clients, attach, p50Us, p99Us: p50Us * 3, p999Us: p50Us * 5, opsPerSec, count: 100, failures: 0, fastPathRatio: system === 'fastraft' ? 0.9 : null };
}

test('the table states each goal for classic Raft as met or not yet, with the command and the machine', () => {
  const rows = [
    row('etcd', 3, 1, 'leader', 3000, 300),
    row('raft', 3, 1, 'leader', 2500, 350),
    row('fastraft', 3, 1, 'leader', 2400, 360),
    row('etcd', 3, 64, 'leader', 40_000, 1500),
    row('raft', 3, 64, 'leader', 50_000, 1200),
    row('fastraft', 3, 64, 'leader', 45_000, 1300),
  ];
  const goals = goalsOf(rows);
  assert.deepEqual(
    goals.map((g) => [g.what, g.met]),
    [
      ['p50 latency, 1 client', true],
      ['throughput, 64 clients', false],
    ],
  );
  assert.match(goals[1]!.text, /1200 ops\/s vs etcd 1500 ops\/s — not yet \(20% less\)/);
  const md = renderMarkdown(rows, {
    date: '2026-01-01T00:00:00Z',
    machine: 'Test CPU x2',
    node: 'v20',
    commit: 'abc',
    command: 'npm run bench:peers',
    versions: ['etcd 3.4.23'],
    durationS: 10,
    warmupS: 2,
    repeat: 1,
    loadBefore: 0.5,
    loadAfter: 0.7,
    cores: 2,
    resultsDir: 'results/bench-peers/x',
  });
  assert.match(md, /Measured 2026-01-01T00:00:00Z on Test CPU x2/);
  assert.match(md, /```sh\nnpm run bench:peers\n```/);
  assert.match(md, /\| frb Raft \| 3 \| leader \| 2\.50 \| 7\.50 \| 12\.5 \| 350 \|/);
  assert.match(md, /1 of 2 goals not yet met on this run/);
});
