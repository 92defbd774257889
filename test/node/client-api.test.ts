// The client API of a node: writes are exactly-once per (clientId, seq) whichever node a retry
// reaches; reads see every acknowledged write on every node; a node with no leader says so
// clearly (error 'no leader', leader 0) instead of hanging.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionPool, KvSession, NodeConnection } from '../../src/node/index.js';
import { inProcessCluster, leaderOf, stopInProcess, waitFor } from './helpers.js';

test('a write retried with the same (clientId, seq) on other nodes takes effect once; an older seq is refused', { timeout: 30_000 }, async () => {
  let c: Awaited<ReturnType<typeof inProcessCluster>> | null = null;
  const conns: NodeConnection[] = [];
  try {
    c = await inProcessCluster(3);
    const { config, nodes } = c;
    await waitFor(() => leaderOf(nodes) !== 0 && nodes.every((n) => n.leader !== 0), 'a leader known to all');
    for (const id of [1, 2, 3]) conns.push(await NodeConnection.connect(config, id));
    const [n1, n2, n3] = conns as [NodeConnection, NodeConnection, NodeConnection];
    const put = (conn: NodeConnection, seq: number, value: string): Promise<Record<string, unknown>> =>
      conn.request({ op: 'put', clientId: 4242, seq, key: 'acct', value }, 5000) as unknown as Promise<Record<string, unknown>>;
    assert.deepEqual(await put(n1, 1, 'a'), { id: 1, ok: true });
    // The same write again, through other nodes: answered ok, not applied again.
    assert.equal((await put(n2, 1, 'a')).ok, true);
    assert.equal((await put(n3, 1, 'a')).ok, true);
    assert.equal((await put(n2, 2, 'b')).ok, true);
    // A late copy of seq 2 carrying another value (a client bug, or a replay): answered from the
    // session table, the state keeps the first application's effect.
    assert.equal((await put(n3, 2, 'c')).ok, true);
    // An older seq than the last applied: refused.
    const stale = await put(n1, 1, 'a');
    assert.deepEqual([stale['ok'], stale['error']], [false, 'stale']);
    for (const conn of conns) {
      const r = await conn.request({ op: 'get', key: 'acct' }, 5000);
      assert.deepEqual([r.ok, r.value], [true, 'b'], `read on node ${conn.nodeId}`);
    }
    // Every node applied the same commands: three copies of seq 1, two of seq 2, one stale.
    await waitFor(() => nodes.every((n) => n.applied === nodes[0]!.applied), 'every node applied the same log');
    const sessions = nodes.map((n) => n.kv.sessionCount);
    assert.deepEqual(sessions, [1, 1, 1]);
  } finally {
    for (const conn of conns) conn.close();
    await stopInProcess(c);
  }
});

test("a node that knows no leader answers 'no leader' at once", { timeout: 30_000 }, async () => {
  let c: Awaited<ReturnType<typeof inProcessCluster>> | null = null;
  let conn: NodeConnection | null = null;
  try {
    c = await inProcessCluster(3);
    const { config, nodes } = c;
    await waitFor(() => leaderOf(nodes) !== 0, 'a leader');
    // Leave node 3 alone: with check-quorum a leader steps down, and pre-vote makes a follower
    // forget its leader when it starts to campaign.
    const lone = nodes[2]!;
    await nodes[0]!.stop();
    await nodes[1]!.stop();
    await waitFor(() => lone.leader === 0, 'node 3 to know no leader', 10_000);
    conn = await NodeConnection.connect(config, 3);
    const started = Date.now();
    const put = await conn.request({ op: 'put', clientId: 1, seq: 1, key: 'k', value: 'v' }, 5000);
    const get = await conn.request({ op: 'get', key: 'k' }, 5000);
    assert.ok(Date.now() - started < 2000, 'answered at once, not after a timeout');
    assert.deepEqual([put.ok, put.error, put.leader], [false, 'no leader', 0]);
    assert.deepEqual([get.ok, get.error, get.leader], [false, 'no leader', 0]);
    const st = await conn.status();
    assert.equal(st.leader, 0);
    // The library retries, then gives up saying why.
    const pool = new ConnectionPool(config);
    const r = await new KvSession(pool, { nodeId: 3, opTimeoutMs: 300, rotateAfter: 1000 }).put('k', 'v');
    pool.close();
    assert.equal(r.ok, false);
    assert.match(r.error ?? '', /gave up after \d+ attempts \(last: no leader\)/);
  } finally {
    conn?.close();
    await stopInProcess(c);
  }
});
