import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNetworkSpec } from '../../src/faults/index.js';
import { FaultInjector, isActive, parseControlCommand } from '../../src/transport/index.js';
import { kinds, msg, receivedMsgs, startCluster, stopAll, waitFor } from './helpers.js';
import type { Node } from './helpers.js';

// marker sends a message with index `index` from a to b and waits for it: messages on one
// connection arrive in order, so anything sent before it that has not arrived never will.
async function marker(a: Node, b: Node, index: number): Promise<void> {
  a.t.send([msg(a.t.nodeId, b.t.nodeId, index)]);
  await waitFor(() => receivedMsgs(b).some((m) => m.index === index), `marker ${index}`);
}

function indices(n: Node): number[] {
  return receivedMsgs(n).map((m) => m.index);
}

for (const kind of kinds) {
  test(`${kind}: loss drops messages on the sending side, counted, seeded`, { timeout: 20000 }, async () => {
    let nodes: Node[] = [];
    try {
      nodes = await startCluster(2, kind);
      const [a, b] = nodes as [Node, Node];
      a.t.applyFaults({ loss: '100%' });
      for (let i = 0; i < 50; i++) a.t.send([msg(1, 2, i)]);
      assert.equal(a.t.metrics().peers[0]!.droppedMsgs['fault-loss'], 50);
      a.t.applyFaults({ loss: '30%' });
      for (let i = 100; i < 300; i++) a.t.send([msg(1, 2, i)]);
      a.t.applyFaults({});
      await marker(a, b, 1000);
      const got = indices(b).filter((i) => i < 1000);
      const lost = a.t.metrics().peers[0]!.droppedMsgs['fault-loss'] - 50;
      assert.equal(got.length + lost, 200);
      assert.ok(lost > 20 && lost < 100, `lost ${lost} of 200 at 30%`);
      assert.ok(got.every((i) => i >= 100), 'nothing from the 100% loss phase');
    } finally {
      await stopAll(nodes);
    }
  });

  test(`${kind}: two-way partitions, one-way cuts, heal; changed at run time through control()`, { timeout: 20000 }, async () => {
    let nodes: Node[] = [];
    try {
      nodes = await startCluster(3, kind);
      const [a, b, c] = nodes as [Node, Node, Node];
      // The same command on every node is the cluster's network.
      const all = (cmd: unknown): unknown[] => nodes.map((n) => n.t.control(cmd));
      all({ op: 'partition', groups: [[1], [2, 3]] });
      a.t.send([msg(1, 2, 1), msg(1, 3, 1)]);
      b.t.send([msg(2, 1, 2), msg(2, 3, 2)]);
      await marker(b, c, 100); // 2 -> 3 still works
      assert.ok(indices(c).includes(2));
      assert.equal(a.t.metrics().peers.reduce((s, p) => s + p.droppedMsgs['fault-partition'], 0), 2);
      assert.equal(b.t.metrics().peers.find((p) => p.peer === 1)!.droppedMsgs['fault-partition'], 1);
      all({ op: 'heal' });
      await marker(a, b, 101);
      await marker(b, a, 102);
      assert.ok(!indices(b).includes(1) && !indices(a).includes(2), 'partitioned messages never arrive');
      // One way: 1 -> 2 cut, 2 -> 1 open.
      const replies = all({ op: 'partition', cut: '1->2' }) as { ok: boolean; ids: number[] }[];
      assert.ok(replies.every((r) => r.ok && r.ids.length === 1));
      a.t.send([msg(1, 2, 3)]);
      await marker(b, a, 103);
      all({ op: 'heal', id: replies[0]!.ids[0] });
      await marker(a, b, 104);
      assert.ok(!indices(b).includes(3));
      assert.ok(indices(a).includes(103));
      const get = a.t.control({ op: 'get' }) as { ok: boolean; network: Record<string, unknown> };
      assert.deepStrictEqual(get.network['partitions'], undefined);
    } finally {
      await stopAll(nodes);
    }
  });

  test(`${kind}: injected latency holds messages at least that long, per link`, { timeout: 20000 }, async () => {
    let nodes: Node[] = [];
    try {
      nodes = await startCluster(3, kind);
      const [a, b, c] = nodes as [Node, Node, Node];
      const r = a.t.control({ op: 'link', link: '1->2', latency: '40ms' }) as { ok: boolean };
      assert.ok(r.ok);
      const t0 = performance.now();
      a.t.send([msg(1, 2, 1), msg(1, 2, 2), msg(1, 3, 3)]);
      await waitFor(() => receivedMsgs(b).length === 2 && receivedMsgs(c).length === 1, 'delayed and undelayed messages');
      const atB = b.received[0]!.atMs - t0;
      assert.ok(atB >= 40, `arrived after ${atB} ms`);
      assert.equal(b.received.length, 1, 'messages of one Ready delayed alike stay in one frame');
      assert.ok(c.received[0]!.atMs <= b.received[0]!.atMs, 'the undelayed link is not held');
      const err = a.t.delayError();
      assert.equal(err.count, 2);
      assert.ok(err.maxUs >= 0);
      // The typed API does the same as the control command.
      a.t.setLinkLatency(1, 3, { dist: 'constant', valueUs: 30_000 });
      const t1 = performance.now();
      a.t.send([msg(1, 3, 40)]);
      await waitFor(() => receivedMsgs(c).some((m) => m.index === 40), 'the message on the slowed link');
      assert.ok(c.received[c.received.length - 1]!.atMs - t1 >= 30);
      a.t.applyFaults({});
      // Duplicates: every message arrives twice.
      a.t.applyFaults({ duplicate: '100%' });
      a.t.send([msg(1, 3, 50)]);
      await waitFor(() => receivedMsgs(c).filter((m) => m.index === 50).length === 2, 'both copies');
    } finally {
      await stopAll(nodes);
    }
  });
}

test('control commands parse strictly and report every problem by path', () => {
  assert.deepStrictEqual(parseControlCommand({ op: 'heal' }), { op: 'heal' });
  assert.deepStrictEqual(parseControlCommand({ op: 'partition', isolate: 3 }), { op: 'partition', partitions: [{ kind: 'groups', groups: [[3]] }] });
  const cut = parseControlCommand({ op: 'partition', cut: '1<->2' });
  assert.equal(cut.op === 'partition' && cut.partitions.length, 2);
  const def = parseControlCommand({ op: 'default', latency: '1ms', loss: '1%' });
  assert.deepStrictEqual(def, { op: 'default', patch: { latency: { dist: 'constant', valueUs: 1000 }, loss: 0.01 } });
  const link = parseControlCommand({ op: 'link', link: '1->2', latency: { dist: 'normal', mean: '5ms', stddev: '1ms' } });
  assert.equal(link.op === 'link' && link.network.overrides[0]!.to, 2);
  for (const [cmd, re] of [
    [{ op: 'nope' }, /control.op: expected one of/],
    [{ op: 'heal', id: 0 }, /control.id/],
    [{ op: 'link', latency: '1ms' }, /control.link/],
    [{ op: 'link', link: '1->2' }, /expected link settings/],
    [{ op: 'default', latency: 'soon' }, /control.latency/],
    [{ op: 'default', colour: 'red' }, /colour/],
    [{ op: 'get', extra: 1 }, /control.extra/],
    [{ op: 'set', network: { loss: '200%' } }, /control.network.loss/],
    [[1], /expected a command/],
  ] as const) {
    assert.throws(() => parseControlCommand(cmd), re as RegExp, JSON.stringify(cmd));
  }
});

test('the injector is inactive (no draws) for a fault-free network and replays a seed', () => {
  assert.equal(isActive(parseNetworkSpec({})), false);
  assert.equal(isActive(parseNetworkSpec({ latency: '0us' })), false);
  assert.equal(isActive(parseNetworkSpec({ latency: '1us' })), true);
  assert.equal(isActive(parseNetworkSpec({ partitions: [{ isolate: 2 }] })), true);
  const spec = parseNetworkSpec({ loss: '50%', latency: { dist: 'exponential', mean: '1ms' } });
  const run = (): string => {
    const f = new FaultInjector(1, 42, spec);
    return Array.from({ length: 50 }, () => { const x = f.decide(2); return `${x.dropped}:${x.delayUs}`; }).join(',');
  };
  assert.equal(run(), run());
});
