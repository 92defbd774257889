// End to end on loopback, with real node processes: a 3-node cluster elects a leader; writes
// commit; the leader is SIGKILLed and a new one takes over; the old one restarts and catches up;
// a concurrent client history recorded across those faults is linearizable, and no acknowledged
// write is lost (every one is read back, with its value, from every node). For raft and fastraft
// (clients on every node), with memory storage, and once with LMDB.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalCluster } from '../../src/node/index.js';
import { Workload, assertLedgerKept, raftState, removeDir, tempDir, waitFor } from './helpers.js';

interface Scenario {
  readonly protocol: 'raft' | 'fastraft';
  readonly storage: 'memory' | 'lmdb';
  // Snapshot (and compact) every this many applied entries: small, so that the restarted node
  // is brought back by a snapshot (and an LMDB node restarts from one).
  readonly snapshotEntries: number;
}

async function leaderFailover(sc: Scenario): Promise<void> {
  const dir = tempDir(`e2e-${sc.protocol}-${sc.storage}`);
  let cluster: LocalCluster | null = null;
  let load: Workload | null = null;
  const t0 = Date.now();
  const phase = (what: string): void => {
    if (process.env['FRB_TEST_VERBOSE'] !== undefined) console.log(`  +${Date.now() - t0} ms ${what}`);
  };
  try {
    cluster = await LocalCluster.up({
      dir,
      size: 3,
      protocol: sc.protocol,
      storage: sc.storage,
      sync: false,
      snapshotEntries: sc.snapshotEntries,
      snapshotKeepEntries: 20,
      healthyTimeoutMs: 15_000,
      tiedToThisProcess: true,
    });
    const c = cluster;
    // A leader is elected, and every node knows it.
    const first = await c.waitLeader(10_000);
    await waitFor(async () => (await Promise.all(c.ids.map((id) => raftState(c, id)))).every((s) => s.leader === first), 'every node to know the leader');
    phase(`leader ${first}`);

    // Writes commit, with clients on every node.
    load = new Workload(c.target(), c.ids, { sessionsPerNode: 2, keys: 6, readShare: 0.4 });
    load.start();
    await waitFor(() => load!.acked >= 30 && load!.ledger.length >= 10, 'writes to commit', 10_000);
    phase(`writes commit (${load.acked} ops)`);

    // The leader is killed; a new one takes over.
    await c.kill(first);
    const ackedAtKill = load.acked;
    const survivors = c.ids.filter((id) => id !== first);
    const second = await c.waitLeader(10_000, survivors);
    assert.notEqual(second, first);
    phase(`killed ${first}; new leader ${second}`);
    const ledgerAfterKill = load.ledger.length;
    await waitFor(() => load!.acked >= ackedAtKill + 30 && load!.ledger.length >= ledgerAfterKill + 10, 'writes to commit under the new leader', 10_000);
    phase(`writes commit under the new leader (${load.acked} ops)`);

    // The old leader restarts and catches up (a memory node recovers first: no vote, no clients,
    // until it has applied what the leader announced).
    await c.start(first, 15_000);
    const target = (await raftState(c, second)).commit;
    await waitFor(async () => {
      const s = await raftState(c, first);
      return !s.recovering && s.applied >= target && s.leader !== 0;
    }, `node ${first} to catch up to ${target}`, 10_000);
    phase(`node ${first} restarted and caught up past ${target}`);
    const ledgerAfterRestart = load.ledger.length;
    await waitFor(() => load!.ledger.length >= ledgerAfterRestart + 10, 'writes after the restart', 10_000);
    await sleep(300);
    await load.stop();
    phase(`load stopped: ${load.acked} acknowledged, ${load.failed} failed`);

    // Every node converges on the same applied index.
    await waitFor(async () => {
      const s = await Promise.all(c.ids.map((id) => raftState(c, id)));
      return s.every((x) => x.applied === s[0]!.applied && x.applied === x.commit);
    }, 'every node to apply the same log', 10_000);

    const lin = load.checkLinearizable();
    phase(`linearizable: ${lin.ops} operations (${lin.pending} pending)`);
    assert.ok(lin.ops > 100, `only ${lin.ops} operations recorded`);
    await assertLedgerKept(c.target(), c.ids, load.ledger);
    phase(`${load.ledger.length} acknowledged ledger writes on every node`);

    // The exported state agrees with /debug/raft (the leader may have changed since: elections
    // under a loaded machine are allowed).
    const lead = await c.waitLeader(10_000);
    const metrics = await c.metrics(lead);
    assert.match(metrics, new RegExp(`frb_raft_leader\\{node="${lead}"\\} ${lead}\n`));
    assert.match(metrics, /frb_transport_msgs_out_total\{node="\d+",peer="\d+"\} [1-9]/);
    assert.match(metrics, /# TYPE frb_client_requests_total counter/);
    if (sc.protocol === 'fastraft') assert.match(metrics, /frb_fast_commits_total\{node="\d+",track="fast"\} \d+/);
    // The log was compacted behind KV snapshots on every node (taken there, or installed from the
    // leader's).
    for (const id of c.ids) {
      const first = /frb_raft_first_index\{node="\d+"\} (\d+)/.exec(await c.metrics(id));
      assert.ok(first !== null && Number(first[1]) > 2, `node ${id} compacted its log (first index ${first?.[1]})`);
    }
    // The restarted node was down long enough to need the leader's snapshot.
    const restarted = await c.metrics(first);
    const applied = /frb_node_snapshots_applied_total\{node="\d+"\} (\d+)/.exec(restarted);
    phase(`node ${first} applied ${applied?.[1]} snapshots from the leader`);
  } finally {
    if (load !== null) await load.stop().catch(() => {});
    if (cluster !== null) {
      await cluster.down(1000);
      assert.deepEqual(cluster.runningIds(), [], 'every node process is gone');
    }
    removeDir(dir);
  }
}

test('raft, memory: leader failover with a linearizable history and no lost write', { timeout: 45_000 }, async () => {
  await leaderFailover({ protocol: 'raft', storage: 'memory', snapshotEntries: 200 });
});

test('fastraft, memory, clients on every node: leader failover with a linearizable history and no lost write', { timeout: 45_000 }, async () => {
  await leaderFailover({ protocol: 'fastraft', storage: 'memory', snapshotEntries: 200 });
});

test('raft, lmdb: leader failover, restart from the store, no lost write', { timeout: 45_000 }, async () => {
  await leaderFailover({ protocol: 'raft', storage: 'lmdb', snapshotEntries: 100 });
});
