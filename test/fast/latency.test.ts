// Fast Raft's latency claim, exactly: with a constant one-way delay d, no loss and no processing
// cost, a 5-node cluster and one client attached to a follower, classic Raft commits (as the
// client sees it) in 4d — proposal forwarded to the leader, append, ack, commit carried back — and
// Fast Raft in 3d — proposal broadcast, votes, decision carried back. At the leader both take 2d.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimCluster } from '../../src/sim/sim-cluster.js';
import type { NetworkSpec } from '../../src/faults/index.js';
import { parseNetworkSpec } from '../../src/faults/index.js';

interface Measured {
  latenciesUs: number[];
  fastCommits: number;
  classicCommits: number;
}

function measure(protocol: 'raft' | 'fastraft', delayUs: number, attach: 'follower' | 'leader'): Measured {
  const network: NetworkSpec = parseNetworkSpec({ latency: `${delayUs}us` }, 'network');
  const c = new SimCluster({ protocol, size: 5, seed: 7, network, checkers: true, recordHistory: false, tickUs: 10_000 });
  // Let an election happen and the new leader commit its first entry (which opens the fast track).
  assert.ok(c.runFor(2_000_000), 'warm-up ran without a violation');
  const leader = c.leaderId();
  assert.notEqual(leader, 0, 'a leader was elected');
  const target = attach === 'leader' ? leader : c.nodeIds().find((id) => id !== leader)!;
  c.addClients({ count: 1, mode: 'closed', attach: [target], readRatio: 0, keys: 1, valueBytes: 16, opsMax: 20, thinkUs: 0 });
  assert.ok(c.runFor(2_000_000), 'measurement ran without a violation');
  const lead = c.node(leader).rn!.raft;
  const stats = lead.fast?.stats;
  return {
    latenciesUs: c.clients.latenciesUs.slice(),
    fastCommits: stats?.fastCommits ?? 0,
    classicCommits: stats?.classicCommits ?? 0,
  };
}

for (const d of [1_000, 5_000]) {
  test(`client on a follower, d=${d}us: classic Raft commits in exactly 4d`, () => {
    const m = measure('raft', d, 'follower');
    assert.equal(m.latenciesUs.length, 20);
    assert.deepEqual([...new Set(m.latenciesUs)], [4 * d]);
  });

  test(`client on a follower, d=${d}us: Fast Raft commits in exactly 3d, every commit on the fast track`, () => {
    const m = measure('fastraft', d, 'follower');
    assert.equal(m.latenciesUs.length, 20);
    assert.deepEqual([...new Set(m.latenciesUs)], [3 * d]);
    assert.equal(m.fastCommits, 20);
    assert.equal(m.classicCommits, 0);
  });

  test(`client on the leader, d=${d}us: both protocols commit in exactly 2d`, () => {
    const raft = measure('raft', d, 'leader');
    const fast = measure('fastraft', d, 'leader');
    assert.deepEqual([...new Set(raft.latenciesUs)], [2 * d]);
    assert.deepEqual([...new Set(fast.latenciesUs)], [2 * d]);
    assert.equal(fast.fastCommits, 20);
  });
}
