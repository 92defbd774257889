import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { MessageType, newMessage } from '../../src/core/types.js';
import type { Message } from '../../src/core/types.js';
import { Transport, createServer } from '../../src/transport/index.js';
import type { Conn } from '../../src/transport/index.js';
import { host, kinds, msg, receivedMsgs, startCluster, startNode, stopAll, waitFor } from './helpers.js';
import type { Node } from './helpers.js';

for (const kind of kinds) {
  test(`${kind}: two transports exchange batches, one frame per peer per send`, { timeout: 20000 }, async () => {
    let nodes: Node[] = [];
    try {
      nodes = await startCluster(2, kind);
      const [a, b] = nodes as [Node, Node];
      assert.equal(a.t.info.kind, kind);
      assert.equal(a.t.info.native, kind === 'uws');
      // 20 Readys of 50 messages each, both ways at once.
      for (let r = 0; r < 20; r++) {
        a.t.send(Array.from({ length: 50 }, (_, i) => msg(1, 2, r * 50 + i)));
        b.t.send(Array.from({ length: 50 }, (_, i) => msg(2, 1, r * 50 + i)));
      }
      await waitFor(() => receivedMsgs(a).length === 1000 && receivedMsgs(b).length === 1000, 'all 1000 messages each way');
      for (const [n, from] of [[b, 1], [a, 2]] as const) {
        assert.deepStrictEqual(receivedMsgs(n).map((m) => m.index), Array.from({ length: 1000 }, (_, i) => i), 'in order');
        assert.deepStrictEqual(receivedMsgs(n)[7], msg(from, n.t.nodeId, 7));
        assert.equal(n.received.length, 20, 'one frame per send');
        assert.ok(n.received.every((r) => r.from === from && r.msgs.length === 50));
      }
      const ma = a.t.metrics().peers.find((p) => p.peer === 2)!;
      assert.equal(ma.framesOut, 20);
      assert.equal(ma.msgsOut, 1000);
      assert.equal(ma.msgsIn, 1000);
      assert.equal(ma.framesIn, 20);
      assert.ok(ma.bytesOut > 1000 * 16);
      assert.equal(ma.connected, true);
      assert.equal(ma.dialer, true);
      assert.equal(ma.connects, 1);
      assert.match(a.t.metricsText(), /frb_transport_msgs_out_total\{node="1",peer="2"\} 1000/);
    } finally {
      await stopAll(nodes);
    }
  });

  test(`${kind}: a three-node mesh keeps one connection per pair, each way usable`, { timeout: 20000 }, async () => {
    let nodes: Node[] = [];
    try {
      nodes = await startCluster(3, kind);
      for (const a of nodes) a.t.send(nodes.filter((b) => b !== a).map((b) => msg(a.t.nodeId, b.t.nodeId, a.t.nodeId)));
      await waitFor(() => nodes.every((n) => receivedMsgs(n).length === 2), 'one message from each other node');
      for (const n of nodes) {
        assert.deepStrictEqual(n.received.map((r) => r.from).sort(), nodes.filter((b) => b !== n).map((b) => b.t.nodeId));
        for (const p of n.t.metrics().peers) {
          assert.equal(p.connects, 1, `node ${n.t.nodeId} -> ${p.peer}`);
          assert.equal(p.dialer, p.peer > n.t.nodeId, 'the lower id dials');
        }
      }
    } finally {
      await stopAll(nodes);
    }
  });

  test(`${kind}: messages to self are delivered locally; a batch over the frame limit is split`, { timeout: 20000 }, async () => {
    let nodes: Node[] = [];
    try {
      nodes = await startCluster(2, kind, { frameBytesMax: 64 * 1024, messageBytesMax: 128 * 1024, queueBytesMax: 1 << 20 });
      const [a, b] = nodes as [Node, Node];
      a.t.send([msg(1, 1, 5)]);
      await waitFor(() => a.received.length === 1, 'local delivery');
      assert.equal(a.received[0]!.from, 1);
      // 40 messages of 4 KiB: 160 KiB, over the 64 KiB frame limit; one message of 100 KiB is over alone.
      a.t.send([...Array.from({ length: 40 }, (_, i) => msg(1, 2, i, 4096)), msg(1, 2, 999, 100 * 1024)]);
      await waitFor(() => receivedMsgs(b).length === 40, '40 messages in split frames');
      assert.ok(b.received.length >= 3 && b.received.length <= 8, `${b.received.length} frames`);
      assert.deepStrictEqual(receivedMsgs(b).map((m) => m.index), Array.from({ length: 40 }, (_, i) => i));
      const p = a.t.metrics().peers.find((x) => x.peer === 2)!;
      assert.equal(p.droppedMsgs['oversize-out'], 1);
      assert.ok(a.lines.some((l) => /over the frame limit/.test(l)));
    } finally {
      await stopAll(nodes);
    }
  });

  test(`${kind}: the server hosts the client channel and HTTP handlers`, { timeout: 20000 }, async () => {
    const echo = {
      open: (_c: Conn) => {},
      message: (c: Conn, data: Uint8Array) => {
        c.send(Uint8Array.from(data).reverse());
      },
      drain: () => {},
      close: () => {},
    };
    const node = await startNode(1, kind, {
      client: echo,
      httpGet: { '/metrics': () => ({ contentType: 'text/plain', body: 'm 1\n' }), '/boom': () => { throw new Error('handler bug'); } },
      httpPost: { '/control': (body) => ({ contentType: 'application/json', body: JSON.stringify(node.t.control(JSON.parse(Buffer.from(body).toString()))) }) },
    });
    try {
      const base = `http://${host}:${node.t.port}`;
      const metrics = await fetch(`${base}/metrics`);
      assert.equal(metrics.status, 200);
      assert.equal(await metrics.text(), 'm 1\n');
      assert.equal((await fetch(`${base}/nope`)).status, 404);
      assert.equal((await fetch(`${base}/boom`)).status, 500);
      const ctl = await fetch(`${base}/control`, { method: 'POST', body: JSON.stringify({ op: 'partition', groups: [[1], [2, 3]] }) });
      const reply = (await ctl.json()) as { ok: boolean; ids: number[] };
      assert.equal(reply.ok, true);
      assert.deepStrictEqual(reply.ids, [1]);
      const bad = (await (await fetch(`${base}/control`, { method: 'POST', body: JSON.stringify({ op: 'explode' }) })).json()) as { ok: boolean; error: string };
      assert.equal(bad.ok, false);
      assert.match(bad.error, /control.op/);

      const ws = new WebSocket(`ws://${host}:${node.t.port}/client`);
      const got = await new Promise<Buffer>((resolve, reject) => {
        ws.on('open', () => ws.send(Buffer.from([1, 2, 3])));
        ws.on('message', (d: Buffer) => resolve(d));
        ws.on('error', reject);
      });
      assert.deepStrictEqual([...got], [3, 2, 1]);
      ws.terminate();
    } finally {
      await node.t.close();
    }
  });
}

test('createServer refuses a bad kind and reports its port', async () => {
  const handlers = { open: () => {}, message: () => {}, drain: () => {}, close: () => {} };
  await assert.rejects(createServer({ kind: 'tcp' as 'ws', host, port: 0, peer: handlers, messageBytesMax: 1024 }), /unknown transport 'tcp'/);
  const s = await createServer({ kind: 'ws', host, port: 0, peer: handlers, messageBytesMax: 1024 });
  assert.ok(s.port > 0);
  await s.close();
});

test('Transport options are validated', async () => {
  const base = { nodeId: 1, cluster: 'c', secret: 'a-test-secret-of-enough-bytes', kind: 'ws' as const, host, port: 0 };
  await assert.rejects(Transport.start({ ...base, secret: 'short' }), /at least 16 bytes/);
  await assert.rejects(Transport.start({ ...base, nodeId: 0 }), /positive integer/);
  await assert.rejects(Transport.start({ ...base, limits: { frameBytesMax: 10, messageBytesMax: 5 } }), /messageBytesMax/);
});

test('newMessage shapes are what the transport carries (a Ready of mixed kinds)', { timeout: 20000 }, async () => {
  let nodes: Node[] = [];
  try {
    nodes = await startCluster(2, 'uws');
    const [a, b] = nodes as [Node, Node];
    const ready: Message[] = [
      newMessage({ type: MessageType.MsgHeartbeat, from: 1, to: 2, term: 4, commit: 9 }),
      newMessage({ type: MessageType.MsgVote, from: 1, to: 2, term: 5, logTerm: 4, index: 10, context: new Uint8Array([1]) }),
      msg(1, 2, 11),
    ];
    a.t.send(ready);
    await waitFor(() => b.received.length === 1, 'the Ready');
    assert.deepStrictEqual(b.received[0]!.msgs, ready);
  } finally {
    await stopAll(nodes);
  }
});
