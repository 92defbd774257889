import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket, { WebSocketServer } from 'ws';
import type { Dropped } from '../../src/transport/index.js';
import { ClusterKey, FrameCodec, SendQueue, encodeChallenge, encodeWelcome, newNonce, verifyHello } from '../../src/transport/index.js';
import { cluster, host, kinds, msg, RawPeer, secret, startNode } from './helpers.js';
import type { Node } from './helpers.js';

const limits = { queueFramesMax: 64, queueBytesMax: 1 << 20, socketBufferedBytesMax: 256 * 1024, frameBytesMax: 128 * 1024, messageBytesMax: 256 * 1024 };
const frameBytes = 64 * 1024;

function socketOf(ws: WebSocket): Socket {
  return (ws as unknown as { _socket: Socket })._socket;
}

// flood sends `frames` one-message frames of ~64 KiB to `to`, checking after each that memory
// held for the peer stays bounded, and returns the largest figures seen.
async function flood(node: Node, to: number, frames: number): Promise<{ queueBytes: number; queueFrames: number; socketBytes: number }> {
  const max = { queueBytes: 0, queueFrames: 0, socketBytes: 0 };
  for (let i = 0; i < frames; i++) {
    node.t.send([msg(node.t.nodeId, to, i, frameBytes)]);
    const p = node.t.metrics().peers.find((x) => x.peer === to)!;
    max.queueBytes = Math.max(max.queueBytes, p.queueBytes);
    max.queueFrames = Math.max(max.queueFrames, p.queueFrames);
    max.socketBytes = Math.max(max.socketBytes, p.socketBufferedBytes);
    if (i % 25 === 0) await sleep(1);
  }
  return max;
}

function assertBounded(max: { queueBytes: number; queueFrames: number; socketBytes: number }): void {
  assert.ok(max.queueFrames <= limits.queueFramesMax, `queue frames ${max.queueFrames}`);
  assert.ok(max.queueBytes <= limits.queueBytesMax, `queue bytes ${max.queueBytes}`);
  // The socket backlog may exceed the mark by the one frame that crossed it.
  assert.ok(max.socketBytes <= limits.socketBufferedBytesMax + frameBytes + 1024, `socket backlog ${max.socketBytes}`);
}

test('a stalled server peer: the dialer queue stays bounded and drops its oldest', { timeout: 60000 }, async () => {
  // A fake node 2 that authenticates properly, then stops reading.
  const key = new ClusterKey(cluster, secret);
  const wss = new WebSocketServer({ host, port: 0, perMessageDeflate: false });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const port = (wss.address() as { port: number }).port;
  wss.on('connection', (ws: WebSocket) => {
    const nonce = newNonce();
    ws.send(encodeChallenge(nonce));
    ws.once('message', (d: Buffer) => {
      const v = verifyHello(key, 2, nonce, new Uint8Array(d));
      if (!v.ok) return ws.terminate();
      ws.send(encodeWelcome(key, 2, v.dialerId, v.dialerNonce));
      socketOf(ws).pause();
    });
  });
  const node = await startNode(1, 'ws', { peers: { 2: `${host}:${port}` } }, limits);
  try {
    for (let i = 0; i < 400 && !node.t.connected(2); i++) await sleep(5);
    assert.ok(node.t.connected(2));
    const max = await flood(node, 2, 600);
    assertBounded(max);
    const p = node.t.metrics().peers[0]!;
    assert.ok(p.droppedFrames['queue-full'] > 0, 'oldest frames dropped');
    assert.equal(p.droppedMsgs['queue-full'], p.droppedFrames['queue-full']);
    assert.ok(node.lines.some((l) => /queue to node 2 is full/.test(l)));
  } finally {
    await node.t.close();
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  }
});

for (const kind of kinds) {
  test(`${kind}: a stalled dialing peer: the server side stays bounded, and the newest frames survive`, { timeout: 60000 }, async () => {
    const node = await startNode(2, kind, {}, limits);
    let raw: RawPeer | null = null;
    try {
      raw = await RawPeer.connect(node.t.port);
      assert.ok(await raw.handshake({ selfId: 1, serverId: 2 }));
      for (let i = 0; i < 400 && !node.t.connected(1); i++) await sleep(5);
      socketOf(raw.ws).pause();
      const max = await flood(node, 1, 600);
      assertBounded(max);
      const p = node.t.metrics().peers[0]!;
      assert.ok(p.droppedFrames['queue-full'] > 0, 'oldest frames dropped');
      // Let it read again: what arrives ends with the newest frame.
      socketOf(raw.ws).resume();
      const codec = new FrameCodec();
      let last = -1;
      for (let i = 0; i < 2000 && last !== 599; i++) {
        while (raw.inbox.length > 0) last = codec.decode(raw.inbox.shift()!).msgs[0]!.index;
        if (last !== 599) await sleep(5);
      }
      assert.equal(last, 599);
    } finally {
      raw?.close();
      await node.t.close();
    }
  });
}

test('SendQueue drops oldest first, by frames and by bytes', () => {
  const q = new SendQueue({ framesMax: 3, bytesMax: 10 });
  const d: Dropped = { frames: 0, msgs: 0, bytes: 0 };
  for (let i = 1; i <= 4; i++) q.push(new Uint8Array(2).fill(i), i, d);
  assert.deepStrictEqual(d, { frames: 1, msgs: 1, bytes: 2 });
  assert.deepStrictEqual([q.length, q.byteLength, q.peek()![0]], [3, 6, 2]);
  q.push(new Uint8Array(8).fill(9), 5, d); // needs 8 of 10 bytes: frames 2 and 3 go
  assert.deepStrictEqual(d, { frames: 3, msgs: 6, bytes: 6 });
  assert.deepStrictEqual([q.length, q.byteLength, q.peekMsgs()], [2, 10, 4]);
  q.push(new Uint8Array(11), 1, d); // larger than the whole queue: itself dropped
  assert.deepStrictEqual([d.frames, q.length], [4, 2]);
  assert.equal(q.shift()![0], 4);
  assert.equal(q.shift()![0], 9);
  assert.equal(q.shift(), undefined);
});
