// The simulated cluster: the Ready loop over virtual time, durability across crashes, node faults,
// membership changes, clients, and the protocol registry.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeStatus, SimCluster, type SimClusterOptions } from '../../src/sim/sim-cluster.js';
import { Simulation } from '../../src/sim/simulation.js';
import { Nemesis, parseFaultScript } from '../../src/sim/nemesis.js';
import { MemoryTraceSink } from '../../src/sim/trace.js';
import { parseNetworkSpec } from '../../src/faults/index.js';
import { StateType } from '../../src/core/ready.js';
import { SpecError } from '../../src/faults/spec-error.js';

function cluster(o: Partial<SimClusterOptions> = {}): SimCluster {
  return new SimCluster({ network: parseNetworkSpec({ latency: '1ms' }), ...o });
}

function kvSnapshots(c: SimCluster): string[] {
  return c.nodeIds()
    .filter((id) => c.node(id).status === NodeStatus.Up)
    .map((id) => Buffer.from(c.node(id).kv.snapshot()).toString('hex'));
}

test('a cluster elects one leader and commits client operations; replicas converge', () => {
  const c = cluster({ size: 5, seed: 3 });
  c.addClients({ count: 4, opsMax: 25, keys: 3, thinkUs: 1000 });
  assert.ok(c.runUntil(3_000_000), c.violation?.message);
  const leaders = c.nodeIds().filter((id) => c.node(id).rn!.raft.state === StateType.StateLeader);
  assert.equal(leaders.length, 1);
  assert.equal(c.clients.counters.completed, 100);
  assert.equal(c.clients.outstanding, 0);
  const snaps = kvSnapshots(c);
  assert.equal(new Set(snaps).size, 1, 'every replica reached the same state');
  assert.ok(c.counters.elections >= 1);
  assert.ok(c.network.counters.delivered > 0 && c.network.counters.bytesSent > c.network.counters.delivered);
});

test('what was persisted survives a crash; the restarted node catches up', () => {
  const c = cluster({ size: 3, seed: 5, diskLatency: { dist: 'constant', valueUs: 500 } });
  c.addClients({ count: 2, opsMax: 40, keys: 2 });
  assert.ok(c.runUntil(500_000));
  const victim = c.nodeIds().find((id) => c.node(id).rn!.raft.state !== StateType.StateLeader)!;
  const durableLast = c.node(victim).storage.lastIndex();
  assert.ok(durableLast > 5, 'the follower persisted entries');
  assert.ok(c.crash(victim));
  assert.equal(c.node(victim).status, NodeStatus.Down);
  assert.equal(c.node(victim).rn, null);
  assert.equal(c.node(victim).storage.lastIndex(), durableLast, 'the disk keeps what was written');
  assert.ok(c.runUntil(800_000));
  assert.ok(c.restart(victim));
  assert.ok(c.node(victim).rn!.raft.raftLog.lastIndex() >= durableLast, 'rebuilt from its storage');
  assert.ok(c.runUntil(3_000_000), c.violation?.message);
  assert.equal(c.clients.counters.completed, 80);
  assert.equal(new Set(kvSnapshots(c)).size, 1);
});

test('a crash loses a write still in flight on a slow disk', () => {
  const c = cluster({ size: 3, seed: 7, diskLatency: { dist: 'constant', valueUs: 50_000 } });
  assert.ok(c.runUntil(1_000_000));
  const lead = c.leaderId();
  assert.notEqual(lead, 0);
  const before = c.node(lead).storage.lastIndex();
  assert.equal(c.propose(lead, new TextEncoder().encode('not a kv command')), 0);
  assert.ok(c.runUntil(c.nowUs + 5_000));
  assert.ok(c.node(lead).rn!.raft.raftLog.lastIndex() > before, 'in memory');
  assert.equal(c.node(lead).storage.lastIndex(), before, 'not yet on disk');
  c.crash(lead);
  c.restart(lead);
  assert.equal(c.node(lead).rn!.raft.raftLog.lastIndex(), before, 'the unwritten entry is gone');
});

test('a paused node stalls, queues its input, and resumes', () => {
  const c = cluster({ size: 3, seed: 11 });
  c.addClients({ count: 2, opsMax: 1000, keys: 2, thinkUs: 2000 });
  assert.ok(c.runUntil(500_000));
  const f = c.nodeIds().find((id) => c.node(id).rn!.raft.state !== StateType.StateLeader)!;
  const applied = c.node(f).appliedIndex;
  const ticks = c.counters.ticks;
  assert.ok(c.pause(f));
  assert.ok(c.runUntil(700_000));
  assert.equal(c.node(f).appliedIndex, applied, 'nothing applied while paused');
  assert.ok(c.node(f).inbox.length > 0, 'messages queue');
  assert.ok(c.counters.ticks > ticks);
  assert.ok(c.resume(f));
  assert.ok(c.runUntil(900_000), c.violation?.message);
  assert.ok(c.node(f).appliedIndex > applied, 'caught up after resuming');
});

test('disk latency and per-message processing cost show in client latency', () => {
  const median = (extra: Partial<SimClusterOptions>): number => {
    const c = cluster({ size: 3, seed: 2, ...extra });
    c.addClients({ count: 1, opsMax: 200, keys: 1, attach: 'leader' });
    assert.ok(c.runUntil(3_000_000), c.violation?.message);
    const xs = c.clients.latenciesUs.slice().sort((a, b) => a - b);
    return xs[xs.length >> 1]!;
  };
  const base = median({});
  const disk = median({ diskLatency: { dist: 'constant', valueUs: 2000 } });
  const cpu = median({ processUs: 300 });
  assert.ok(base >= 2000 && base < 3000, `one round trip plus apply: ${base}us`);
  assert.ok(disk >= base + 4000, `leader and follower writes: ${disk}us vs ${base}us`);
  assert.ok(cpu > base + 500, `processing: ${cpu}us vs ${base}us`);
});

test('tick skew changes a node\'s tick rate', () => {
  const c = cluster({ size: 3, seed: 1, tickSkews: [0, 0, 1] });
  assert.ok(c.runUntil(1_000_000));
  assert.equal(c.node(3).tickUs, 20_000);
  c.setSkew(3, -0.5);
  assert.equal(c.node(3).tickUs, 5_000);
});

test('membership: a node is added (and brought up by a snapshot), another removed', () => {
  const c = cluster({ size: 3, seed: 9 });
  c.addClients({ count: 2, opsMax: 1000, keys: 2, thinkUs: 5000 });
  assert.ok(c.runUntil(500_000));
  const added = c.addNode(true);
  assert.equal(added, 4);
  assert.ok(c.runUntil(1_500_000), c.violation?.message);
  assert.deepEqual(c.config.voters.slice().sort(), [1, 2, 3, 4]);
  assert.equal(c.node(4).status, NodeStatus.Up);
  assert.ok(c.counters.snapshotsApplied >= 1, 'the new node started from a snapshot');
  const victim = c.nodeIds().find((id) => id !== c.leaderId() && id !== 4)!;
  assert.ok(c.removeNode(victim, false));
  assert.ok(c.runUntil(3_000_000), c.violation?.message);
  assert.ok(!c.config.voters.includes(victim));
  assert.equal(c.node(victim).status, NodeStatus.Removed);
  assert.equal(new Set(kvSnapshots(c)).size, 1);
});

test('compaction: a lagging node is caught up by a snapshot', () => {
  const c = cluster({ size: 3, seed: 4, compaction: { everyEntries: 20, keepEntries: 5 } });
  c.addClients({ count: 2, opsMax: 1000, keys: 3 });
  assert.ok(c.runUntil(300_000));
  const f = c.nodeIds().find((id) => c.node(id).rn!.raft.state !== StateType.StateLeader)!;
  c.crash(f);
  assert.ok(c.runUntil(1_500_000));
  c.restart(f);
  assert.ok(c.runUntil(2_500_000), c.violation?.message);
  assert.ok(c.counters.snapshotsSent >= 1);
  assert.ok(c.node(f).storage.snapshot().metadata.index > 1);
  c.clients.stopAll(c.nowUs);
  assert.ok(c.runUntil(4_000_000));
  assert.equal(new Set(kvSnapshots(c)).size, 1);
});

test('a scripted fault schedule runs at its times', () => {
  const script = parseFaultScript([
    { at: '300ms', crash: 'leader', restart_after: '200ms' },
    { at: '600ms', partition: [[1], [2, 3]], heal_after: '300ms' },
    { at: '1s', pause: 2, for: '100ms' },
    { at: '1200ms', transfer: 'follower' },
    { at: '1300ms', loss: '20%', for: '200ms' },
  ]);
  const c = cluster({ size: 3, seed: 6, trace: new MemoryTraceSink() });
  c.addClients({ count: 2, opsMax: 1000, keys: 2, thinkUs: 2000 });
  const n = new Nemesis(c, script, 6);
  assert.ok(c.runUntil(2_000_000), c.violation?.message);
  assert.ok(n.counters.fired >= 4);
  assert.equal(c.counters.crashes, 1);
  assert.equal(c.counters.restarts, 1);
  const faults = (c.options.trace as MemoryTraceSink).records.filter((r) => r.ev === 'fault').map((r) => `${r.fault}@${r.t}`);
  assert.ok(faults.includes('crash@300000') && faults.includes('restart@500000') && faults.includes('pause@1000000'), faults.join(' '));
});

test('fault scripts report every problem with its path', () => {
  assert.throws(
    () => parseFaultScript([{ at: '1s', crash: 'leadr' }, { crash: 1 }, { at: 'soon', heal: true }, { at: '2s', explode: 1 }]),
    (err: unknown) => {
      assert.ok(err instanceof SpecError);
      const paths = err.issues.map((i) => i.path);
      assert.ok(paths.includes('faults[0].crash'), paths.join(','));
      assert.ok(paths.includes('faults[1].at'), paths.join(','));
      assert.ok(paths.includes('faults[2].at'), paths.join(','));
      assert.ok(paths.includes('faults[3].explode'), paths.join(','));
      return true;
    },
  );
});

test('Simulation: open-loop clients, latencies and counters', () => {
  const sim = new Simulation({
    protocol: 'raft', size: 5, seed: 12, tickUs: 10_000, electionTicks: 10, heartbeatTicks: 1,
    network: { latency: { dist: 'normal', mean: '2ms', stddev: '200us' } }, diskLatency: '300us',
    faults: [{ at: '1s', crash: 'leader', restart_after: '300ms' }],
  });
  sim.addClients({ mode: 'open', ratePerSec: 500, count: 4, attach: 'followers', keys: 10, startUs: 200_000 });
  assert.ok(sim.runFor(3_000_000), sim.violation?.message);
  assert.ok(sim.healAll());
  const r = sim.results();
  assert.equal(r.violation, null);
  assert.ok(r.counters.commits > 1000, `acknowledged ${r.counters.commits}`);
  assert.equal(r.latenciesUs.length, r.counters.commits);
  assert.ok(Math.min(...r.latenciesUs) >= 4000, 'at least a forward and a round trip');
  assert.equal(r.counters.crashes, 1);
  assert.ok(r.counters.elections >= 2);
  assert.equal(sim.checkHistory().outcome, 'ok');
});

test('protocols come from the registry: fastraft with the fast path off behaves exactly like raft', () => {
  const run = (protocol: string): string => {
    const sim = new Simulation({
      protocol, protocolOptions: { fast: { enabled: false } }, size: 3, seed: 8, tickUs: 10_000, electionTicks: 10,
      heartbeatTicks: 1, network: { latency: { dist: 'uniform', min: '1ms', max: '3ms' } },
    });
    sim.addClients({ count: 3, opsMax: 30, keys: 2 });
    assert.ok(sim.runFor(2_000_000));
    return sim.results().traceHash;
  };
  assert.equal(run('fastraft'), run('raft'));
  assert.throws(() => new Simulation({ protocol: 'nope', size: 3, seed: 1, tickUs: 10_000, electionTicks: 10, heartbeatTicks: 1 }), /unknown protocol/);
});
