import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs } from '../../src/transport/index.js';
import { host, kinds, msg, receivedMsgs, startCluster, startNode, stopAll, waitFor } from './helpers.js';
import type { Node } from './helpers.js';
import type { ServerKind } from '../../src/transport/index.js';

// restartOn starts node `id` on a given port, retrying briefly while the old socket lets go.
async function restartOn(id: number, kind: ServerKind, port: number): Promise<Node> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await startNode(id, kind, { port });
    } catch (err) {
      if (attempt >= 40) throw err;
      await sleep(50);
    }
  }
}

for (const kind of kinds) {
  test(`${kind}: the dialer reconnects after its peer restarts, and queued frames go through`, { timeout: 30000 }, async () => {
    const nodes: (Node | null)[] = await startCluster(2, kind);
    try {
      const a = nodes[0]!;
      const port = nodes[1]!.t.port;
      await nodes[1]!.t.close();
      nodes[1] = null;
      await waitFor(() => !a.t.connected(2), 'node 1 to notice');
      // Sent while the peer is down: held in the bounded queue.
      a.t.send([msg(1, 2, 1)]);
      a.t.send([msg(1, 2, 2)]);
      await waitFor(() => a.t.metrics().peers[0]!.dialFailures >= 2, 'a few refused dials (backoff keeps going)');
      assert.equal(a.t.metrics().peers[0]!.queueFrames, 2);
      const b = await restartOn(2, kind, port);
      nodes[1] = b;
      await waitFor(() => receivedMsgs(b).length === 2, 'the queued messages after the restart');
      assert.deepStrictEqual(receivedMsgs(b).map((m) => m.index), [1, 2]);
      const p = a.t.metrics().peers[0]!;
      assert.equal(p.reconnects, 1);
      assert.equal(p.connects, 2);
      assert.equal(p.queueFrames, 0);
      b.t.send([msg(2, 1, 3)]);
      await waitFor(() => receivedMsgs(a).length === 1, 'the other direction on the new connection');
    } finally {
      await stopAll(nodes);
    }
  });

  test(`${kind}: the accepting side takes the restarted dialer's new connection`, { timeout: 30000 }, async () => {
    const nodes: (Node | null)[] = await startCluster(2, kind);
    try {
      const b = nodes[1]!;
      await nodes[0]!.t.close();
      nodes[0] = null;
      await waitFor(() => !b.t.connected(1), 'node 2 to notice');
      const a = await startNode(1, kind, { peers: { 2: `${host}:${b.t.port}` } });
      nodes[0] = a;
      await waitFor(() => b.t.connected(1), 'node 1 dialing again');
      b.t.send([msg(2, 1, 7)]);
      await waitFor(() => receivedMsgs(a).length === 1, 'delivery on the accepted connection');
      assert.equal(b.t.metrics().peers[0]!.reconnects, 1);
    } finally {
      await stopAll(nodes);
    }
  });
}

test('backoff grows exponentially with jitter, within bounds', () => {
  let x = 0;
  const rnd = (): number => (x = (x + 0.37) % 1);
  for (let k = 0; k < 20; k++) {
    const base = Math.min(2000, 50 * 2 ** k);
    const w = backoffMs(k, 50, 2000, rnd);
    assert.ok(w >= base / 2 && w <= base, `attempt ${k}: ${w}`);
  }
  assert.equal(backoffMs(3, 50, 2000, () => 0), 200);
  assert.equal(backoffMs(1000, 50, 2000, () => 1), 2000);
});
