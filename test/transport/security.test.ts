import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Packr } from 'msgpackr';
import { WebSocketServer } from 'ws';
import type WebSocket from 'ws';
import { MessageType, newMessage } from '../../src/core/types.js';
import { ClusterKey, FrameCodec, encodeChallenge, encodeWelcome, newNonce, verifyHello } from '../../src/transport/index.js';
import { cluster, host, kinds, msg, RawPeer, receivedMsgs, secret, startNode, waitFor } from './helpers.js';

for (const kind of kinds) {
  test(`${kind}: connections from outside the cluster are refused and counted`, { timeout: 20000 }, async () => {
    const node = await startNode(2, kind, { peers: { 1: `${host}:1` } }, { handshakeTimeoutMs: 300 });
    const raws: RawPeer[] = [];
    try {
      const port = node.t.port;
      const connect = async (): Promise<RawPeer> => {
        const p = await RawPeer.connect(port);
        raws.push(p);
        return p;
      };
      // Garbage instead of a hello.
      const garbage = await connect();
      await garbage.next(); // the challenge
      garbage.ws.send(Buffer.from('GET /secrets'));
      assert.equal(await garbage.waitClosed(), 4001);
      // Wrong secret, claiming to be node 1 (a known peer) and node 7 (unknown).
      assert.equal(await (await connect()).handshake({ selfId: 1, serverId: 2, secret: 'not-the-cluster-secret!' }), false);
      assert.equal(await (await connect()).handshake({ selfId: 7, serverId: 2, secret: 'not-the-cluster-secret!' }), false);
      // The right secret but another cluster's name, a wrong recipient, the wrong direction.
      assert.equal(await (await connect()).handshake({ selfId: 1, serverId: 2, cluster: 'another-cluster' }), false);
      assert.equal(await (await connect()).handshake({ selfId: 1, serverId: 3 }), false);
      assert.equal(await (await connect()).handshake({ selfId: 5, serverId: 2 }), false);
      // Silence past the handshake timeout.
      const silent = await connect();
      assert.equal(await silent.waitClosed(), 4002);
      const m = node.t.metrics();
      const p1 = m.peers.find((p) => p.peer === 1)!;
      assert.equal(p1.authFailures.mac, 1, 'wrong secret claiming node 1');
      assert.equal(m.authFailuresUnknown.mac, 1, 'wrong secret claiming node 7');
      assert.equal(p1.authFailures.cluster, 1);
      assert.equal(p1.authFailures.recipient, 1);
      assert.equal(m.authFailuresUnknown.malformed, 1);
      assert.equal(m.authFailuresUnknown.direction, 1, 'node 5 is unknown');
      assert.equal(m.authFailuresUnknown.timeout, 1);
      assert.match(node.t.metricsText(), /frb_transport_auth_failures_total\{node="2",peer="1",reason="mac"\} 1/);
      assert.ok(node.lines.some((l) => /refused a connection .*mac: wrong secret/.test(l)), node.lines.join('\n'));
      // The node still serves members.
      const member = await connect();
      assert.equal(await member.handshake({ selfId: 1, serverId: 2 }), true);
      await waitFor(() => node.t.connected(1), 'member connected');
    } finally {
      for (const r of raws) r.close();
      await node.t.close();
    }
  });

  test(`${kind}: bad frames are dropped, counted and logged, and the node keeps running`, { timeout: 20000 }, async () => {
    const node = await startNode(2, kind, {}, { frameBytesMax: 4096, messageBytesMax: 16384, queueBytesMax: 65536 });
    let raw: RawPeer | null = null;
    try {
      raw = await RawPeer.connect(node.t.port);
      assert.equal(await raw.handshake({ selfId: 1, serverId: 2 }), true);
      const codec = new FrameCodec();
      const plain = new Packr({ useRecords: false });
      const send = (b: Uint8Array): void => raw!.ws.send(b);
      send(new Uint8Array(8000)); // over frameBytesMax, under messageBytesMax
      send(Uint8Array.from([0xc1, 0xc1, 0xc1])); // 0xc1 is never used in msgpack
      send(plain.pack({ cluster, from: 1, msgs: [{ hello: 'world' }] }));
      send(codec.encode({ cluster: 'other', from: 1, msgs: [msg(1, 2, 1)] }));
      send(codec.encode({ cluster, from: 3, msgs: [msg(3, 2, 2)] }));
      send(codec.encode({ cluster, from: 1, msgs: [msg(1, 2, 3), msg(3, 2, 4), msg(1, 5, 5), msg(1, 2, 6)] }));
      await waitFor(() => node.received.length === 1, 'the good messages of the mixed frame');
      assert.deepStrictEqual(receivedMsgs(node).map((m) => m.index), [3, 6]);
      const p = node.t.metrics().peers.find((x) => x.peer === 1)!;
      assert.equal(p.droppedFrames.oversize, 1);
      assert.equal(p.droppedFrames.undecodable, 1);
      assert.equal(p.droppedFrames.shape, 1);
      assert.equal(p.droppedFrames['wrong-cluster'], 1);
      assert.equal(p.droppedFrames['wrong-sender'], 1);
      assert.equal(p.droppedMsgs['wrong-sender'], 2);
      assert.equal(p.droppedMsgs['wrong-recipient'], 1);
      assert.equal(p.msgsIn, 2);
      for (const re of [/oversize|over the limit/, /does not decode/, /unexpected field 'hello'/, /cluster 'other'/, /claiming to be from node 3/, /addressed to node 5/]) {
        assert.ok(node.lines.some((l) => re.test(l)), `log line ${re}: ${node.lines.join('\n')}`);
      }
      assert.equal(raw.closeCode, null, 'the connection survives bad frames');
      // A message over the socket limit ends that connection, not the node.
      send(new Uint8Array(20000));
      await raw.waitClosed();
      raw.close();
      raw = await RawPeer.connect(node.t.port);
      assert.equal(await raw.handshake({ selfId: 1, serverId: 2 }), true);
      send(codec.encode({ cluster, from: 1, msgs: [newMessage({ type: MessageType.MsgHeartbeat, from: 1, to: 2, term: 1 })] }));
      await waitFor(() => node.received.length === 2, 'a frame after reconnecting');
      assert.equal(node.t.metrics().peers.find((x) => x.peer === 1)!.reconnects, 1);
    } finally {
      raw?.close();
      await node.t.close();
    }
  });
}

test('a dialer refuses a server that cannot prove the secret, and counts it', { timeout: 20000 }, async () => {
  const wrong = new ClusterKey(cluster, 'a-different-secret-entirely');
  const wss = new WebSocketServer({ host, port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const port = (wss.address() as { port: number }).port;
  let hellos = 0;
  wss.on('connection', (ws: WebSocket) => {
    const nonce = newNonce();
    ws.send(encodeChallenge(nonce));
    ws.on('message', (d: Buffer) => {
      hellos++;
      // It cannot check the hello (wrong key) and answers as if it could.
      const v = verifyHello(new ClusterKey(cluster, secret), 2, nonce, new Uint8Array(d));
      assert.ok(v.ok);
      ws.send(encodeWelcome(wrong, 2, 1, v.dialerNonce));
    });
  });
  const node = await startNode(1, 'ws', { peers: { 2: `${host}:${port}` } });
  try {
    await waitFor(() => (node.t.metrics().peers[0]?.authFailures.mac ?? 0) >= 2, 'two refused attempts');
    const p = node.t.metrics().peers[0]!;
    assert.equal(p.connected, false);
    assert.equal(p.connects, 0);
    assert.ok(p.dialFailures >= 2);
    assert.ok(hellos >= 2);
    node.t.send([msg(1, 2, 1)]);
    assert.equal(node.t.metrics().peers[0]!.framesOut, 0, 'nothing is sent to an unproven server');
  } finally {
    await node.t.close();
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  }
});
