// The live driver of experiment runs: a run with open-loop clients on the followers and timed
// faults (crash and restart, pause, isolate) returns latency samples, applied faults and node
// counters, its history is linearizable, and every process it started is gone afterwards — also
// when the run is aborted midway.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultFastConfig } from '../../src/core/fast-config.js';
import { defaultNetworkSpec } from '../../src/faults/index.js';
import { checkLinearizable } from '../../src/sim/linearizability.js';
import { LocalCluster, runLiveCluster, type LiveRunOptions } from '../../src/node/index.js';
import { removeDir, tempDir } from './helpers.js';

function options(dir: string, over: Partial<LiveRunOptions> = {}): LiveRunOptions {
  return {
    cluster: {
      protocol: 'fastraft',
      size: 3,
      storage: 'memory',
      sync: false,
      tickUs: 10_000,
      electionTicks: 10,
      heartbeatTicks: 1,
      preVote: true,
      checkQuorum: true,
      maxInflightMsgs: 256,
      maxSizePerMsgBytes: 1024 * 1024,
      fast: defaultFastConfig,
      disk: null,
      processing: null,
    },
    network: defaultNetworkSpec,
    workload: {
      loop: { kind: 'open', arrival: 'poisson', ratePerSec: 150 },
      clients: 2,
      attach: 'followers',
      proposers: null,
      valueBytes: 32,
      keys: { dist: 'uniform', count: 20 },
      conflict: 0.05,
    },
    faults: [],
    stop: { kind: 'duration', durationUs: 5_000_000 },
    warmupUs: 500_000,
    seed: 11,
    dir,
    keepDir: true,
    recordHistory: true,
    readRatio: 0.2,
    ...over,
  };
}

test('a live run with crash, pause and isolation: samples, faults, counters, linearizable, all processes stopped', { timeout: 60_000 }, async () => {
  const dir = tempDir('runner');
  try {
    const r = await runLiveCluster(
      options(dir, {
        faults: [
          { atUs: 1_000_000, action: { kind: 'crash', target: { kind: 'leader' }, restartAfterUs: 600_000 } },
          { atUs: 2_400_000, action: { kind: 'pause', target: { kind: 'follower' }, resumeAfterUs: 300_000 } },
          { atUs: 3_000_000, action: { kind: 'isolate', target: { kind: 'node', id: 1 }, healAfterUs: 400_000 } },
        ],
      }),
    );
    assert.equal(r.aborted, false);
    assert.deepEqual(r.errors, []);
    assert.equal(r.size, 3);
    assert.ok(r.load.acknowledged > 100, `acknowledged ${r.load.acknowledged}`);
    const inWindow = r.samples.filter((s) => s.ok && s.completeUs >= r.window.startUs && s.kind === 'put');
    assert.ok(inWindow.length > 100, `${inWindow.length} puts in the window`);
    for (const s of r.samples) {
      assert.ok(s.latencyUs >= s.latencyUncorrectedUs - 1, 'corrected latency counts from the intended time');
      assert.ok(s.completeUs >= s.intendedUs);
    }
    const kinds = r.faults.map((f) => f.kind);
    for (const k of ['crash', 'restart', 'pause', 'resume', 'isolate', 'heal']) assert.ok(kinds.includes(k), `${k} in ${kinds.join(',')}`);
    const crash = r.faults.find((f) => f.kind === 'crash')!;
    assert.equal(crash.node, r.placement.leaderAtStart);
    assert.ok(crash.atUs >= 1_000_000 && crash.atUs < 2_000_000, `crash at ${crash.atUs}`);
    assert.deepEqual(r.placement.attachedTo.every((id) => id !== r.placement.leaderAtStart), true);
    assert.equal(r.nodesAtEnd.length, 3);
    assert.ok(r.nodesAtEnd.every((n) => n.up), JSON.stringify(r.nodesAtEnd.map((n) => [n.id, n.up])));
    const restarted = r.nodesAtEnd.find((n) => n.id === crash.node)!;
    assert.equal(restarted.incarnation, 2);
    assert.ok(r.windowCounters.some((n) => (n.msgsOut ?? 0) > 0), 'peer traffic counted');
    assert.ok(r.nodesAtEnd.some((n) => n.fast !== null && n.fast !== undefined), 'fast stats collected');
    const lin = checkLinearizable(r.history!, { stepsMax: 20_000_000 });
    assert.equal(lin.outcome, 'ok');
    assert.deepEqual(LocalCluster.open(dir).runningIds(), [], 'no node process left');
  } finally {
    removeDir(dir);
  }
});

test('an aborted live run stops early and still stops every process', { timeout: 60_000 }, async () => {
  const dir = tempDir('runner-abort');
  try {
    const ac = new AbortController();
    const started = Date.now();
    const run = runLiveCluster(
      options(dir, {
        workload: { loop: { kind: 'closed', outstanding: 2 }, clients: 2, attach: 'all', proposers: null, valueBytes: 16, keys: { dist: 'uniform', count: 10 }, conflict: 0 },
        stop: { kind: 'duration', durationUs: 120_000_000 },
        recordHistory: false,
        signal: ac.signal,
        onProgress: (msg) => {
          if (msg.startsWith('load:')) setTimeout(() => ac.abort(), 1000);
        },
      }),
    );
    const r = await run;
    assert.equal(r.aborted, true);
    assert.ok(Date.now() - started < 30_000, 'returned soon after the abort');
    assert.ok(r.load.acknowledged > 0);
    assert.deepEqual(LocalCluster.open(dir).runningIds(), [], 'no node process left');
  } finally {
    removeDir(dir);
  }
});
