// A node refuses what does not prove the cluster secret, and keeps serving: strangers and garbage
// on the peer route (/raft) and on the client route (/client), bad requests from an authenticated
// client (answered, connection kept), and unsigned, forged or stale control commands.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Packr } from 'msgpackr';
import WebSocket from 'ws';
import { ClusterKey, encodeHello, decodeChallenge, newNonce } from '../../src/transport/index.js';
import { ConnectionPool, KvSession, NodeConnection, clientLabel, decodeFrame, encodeFrame, signControl } from '../../src/node/index.js';
import type { ClusterConfig, LiveNode } from '../../src/node/index.js';
import { host, inProcessCluster, leaderOf, stopInProcess, waitFor } from './helpers.js';

class RawSocket {
  readonly inbox: Uint8Array[] = [];
  closeCode: number | null = null;
  opened = false;
  constructor(readonly ws: WebSocket) {
    ws.on('open', () => {
      this.opened = true;
    });
    ws.on('message', (d: Buffer) => this.inbox.push(new Uint8Array(d)));
    ws.on('close', (code: number) => {
      this.closeCode = code;
    });
    ws.on('error', () => {});
  }
  static async connect(port: number, path: string): Promise<RawSocket> {
    const s = new RawSocket(new WebSocket(`ws://${host}:${port}${path}`, { perMessageDeflate: false }));
    await waitFor(() => s.opened || s.closeCode !== null, 'socket open', 5000);
    return s;
  }
  async next(): Promise<Uint8Array> {
    await waitFor(() => this.inbox.length > 0 || this.closeCode !== null, 'a frame from the node', 5000);
    const m = this.inbox.shift();
    if (m === undefined) throw new Error(`closed (${this.closeCode}) before a frame arrived`);
    return m;
  }
  async closed(): Promise<number> {
    await waitFor(() => this.closeCode !== null, 'the node to close the socket', 5000);
    return this.closeCode!;
  }
  send(b: Uint8Array | string): void {
    this.ws.send(b);
  }
  close(): void {
    this.ws.terminate();
  }
}

function post(port: number, path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// assertPrometheusText: every line is a comment or `name{labels} value`, and no family is
// declared twice (a scraper refuses both).
function assertPrometheusText(text: string): void {
  const types = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const t = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (t !== null) {
      assert.ok(!types.has(t[1]!), `family ${t[1]} declared twice`);
      types.add(t[1]!);
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? -?[0-9.e+]+$/, `bad metrics line: ${line}`);
  }
  for (const f of ['frb_raft_term', 'frb_raft_commit_index', 'frb_raft_applied_index', 'frb_raft_campaigns_total', 'frb_transport_msgs_out_total', 'frb_transport_bytes_in_total', 'frb_transport_queue_frames', 'frb_transport_dropped_frames_total', 'frb_client_pending']) {
    assert.ok(types.has(f), `${f} exported`);
  }
}

async function stillServes(config: ClusterConfig, nodeId: number, tag: string): Promise<void> {
  const pool = new ConnectionPool(config);
  try {
    const s = new KvSession(pool, { nodeId, attemptTimeoutMs: 1000, opTimeoutMs: 8000 });
    const w = await s.put(`after-${tag}`, tag);
    assert.ok(w.ok, `put after ${tag}: ${w.error}`);
    const r = await s.get(`after-${tag}`);
    assert.deepEqual([r.ok, r.value], [true, tag]);
  } finally {
    pool.close();
  }
}

test('peer route: strangers, wrong secrets and garbage are refused; the cluster keeps committing', { timeout: 30_000 }, async () => {
  let c: Awaited<ReturnType<typeof inProcessCluster>> | null = null;
  const raws: RawSocket[] = [];
  try {
    c = await inProcessCluster(3);
    const { config, nodes } = c;
    await waitFor(() => leaderOf(nodes) !== 0, 'a leader');
    const target: LiveNode = nodes[2]!;
    const port = target.port;
    // Garbage instead of a hello.
    const garbage = await RawSocket.connect(port, '/raft');
    raws.push(garbage);
    await garbage.next(); // the challenge
    garbage.send(Buffer.from('GET /secrets HTTP/1.1'));
    assert.equal(await garbage.closed(), 4001);
    // A well-formed hello under the wrong secret, claiming to be member 1.
    const forged = await RawSocket.connect(port, '/raft');
    raws.push(forged);
    const ch = decodeChallenge(await forged.next());
    assert.ok(ch.ok);
    forged.send(encodeHello(new ClusterKey(config.clusterId, 'not-the-cluster-secret-at-all'), 1, 3, ch.serverNonce, newNonce()));
    assert.equal(await forged.closed(), 4001);
    // A flood of junk frames on new sockets.
    for (let i = 0; i < 5; i++) {
      const junk = await RawSocket.connect(port, '/raft');
      raws.push(junk);
      junk.send(new Uint8Array(1000).fill(0xc1));
    }
    await waitFor(() => raws.every((r) => r.closeCode !== null), 'every stranger closed');
    const failures = target.transport.metrics().authFailuresUnknown;
    assert.ok(failures.malformed >= 6, `malformed refusals counted: ${JSON.stringify(failures)}`);
    const text = target.metricsText();
    assert.match(text, /frb_transport_auth_failures_total\{node="3",peer="1",reason="mac"\} 1/);
    assertPrometheusText(text);
    await stillServes(config, 3, 'peer-garbage');
  } finally {
    for (const r of raws) r.close();
    await stopInProcess(c);
  }
});

test('client route: unauthenticated connections are closed; bad requests are answered and the connection kept', { timeout: 30_000 }, async () => {
  let c: Awaited<ReturnType<typeof inProcessCluster>> | null = null;
  const raws: RawSocket[] = [];
  try {
    c = await inProcessCluster(3);
    const { config, nodes } = c;
    await waitFor(() => leaderOf(nodes) !== 0, 'a leader');
    const node = nodes[1]!;
    const port = node.port;
    const open = async (): Promise<{ s: RawSocket; nonce: string }> => {
      const s = await RawSocket.connect(port, '/client');
      raws.push(s);
      const ch = decodeFrame(await s.next()).value;
      assert.equal(ch['op'], 'challenge');
      return { s, nonce: String(ch['nonce']) };
    };
    // A request before any hello.
    {
      const { s } = await open();
      s.send(encodeFrame({ id: 1, op: 'put', clientId: 1, seq: 1, key: 'x', value: 'stolen' }, 'msgpack'));
      assert.equal(await s.closed(), 4001);
    }
    // Garbage bytes, and a JSON hello with a MAC under the wrong secret.
    {
      const { s } = await open();
      s.send(Uint8Array.from([0xc1, 0xff, 0x00]));
      assert.equal(await s.closed(), 4001);
      const second = await open();
      const wrong = new ClusterKey(config.clusterId, 'not-the-cluster-secret-at-all').mac(clientLabel, Buffer.from(second.nonce, 'hex'), 0, node.id).toString('hex');
      second.s.send(JSON.stringify({ op: 'hello', cluster: config.clusterId, mac: wrong }));
      assert.equal(await second.s.closed(), 4001);
    }
    // The right MAC replayed on another connection (another nonce) fails too.
    {
      const a = await open();
      const key = new ClusterKey(config.clusterId, config.secret);
      const mac = key.mac(clientLabel, Buffer.from(a.nonce, 'hex'), 0, node.id).toString('hex');
      const b = await open();
      b.s.send(encodeFrame({ op: 'hello', cluster: config.clusterId, mac }, 'msgpack'));
      assert.equal(await b.s.closed(), 4001);
      // ... while on its own connection it works, in JSON, and bad requests are answered.
      a.s.send(JSON.stringify({ op: 'hello', cluster: config.clusterId, mac }));
      const welcome = decodeFrame(await a.s.next());
      assert.equal(welcome.encoding, 'json');
      assert.equal(welcome.value['op'], 'welcome');
      const ask = async (frame: Uint8Array | string): Promise<Record<string, unknown>> => {
        a.s.send(frame);
        return decodeFrame(await a.s.next()).value;
      };
      const packr = new Packr({ useRecords: false });
      assert.match(String((await ask(Uint8Array.from([0xc1]))).error), /^bad request: expected a map/);
      assert.match(String((await ask(Uint8Array.from([0x93, 1]))).error), /^bad request: undecodable/);
      assert.match(String((await ask('{"id": 5, "op": "drop-table"}')).error), /^bad request: op/);
      assert.match(String((await ask(packr.pack({ id: 6, op: 'put', clientId: 1, seq: 1, key: 'k', value: 7 }))).error), /^bad request: value/);
      assert.match(String((await ask(packr.pack({ id: 7, op: 'put', clientId: 0, seq: 1, key: 'k', value: 'v' }))).error), /^bad request: put: clientId/);
      assert.match(String((await ask(packr.pack({ id: 8, op: 'get', key: 'x'.repeat(5000) }))).error), /^bad request: key/);
      assert.match(String((await ask(packr.pack([1, 2, 3]))).error), /^bad request: expected a map/);
      // The connection still works: a JSON write and read.
      const put = await ask(JSON.stringify({ id: 9, op: 'put', clientId: 77, seq: 1, key: 'json-key', value: 'json-value' }));
      assert.deepEqual(put, { id: 9, ok: true });
      const got = await ask(JSON.stringify({ id: 10, op: 'get', key: 'json-key' }));
      assert.deepEqual(got, { id: 10, ok: true, value: 'json-value' });
      assert.equal(a.s.closeCode, null);
    }
    const refused = node.clientApi.stats().refused;
    assert.ok(refused.unauthenticated >= 2 && refused.mac >= 2, JSON.stringify(refused));
    assert.match(node.metricsText(), /frb_client_refused_total\{node="2",reason="mac"\} [1-9]/);
    // A proper client, through the library.
    const conn = await NodeConnection.connect(config, 2);
    assert.equal((await conn.status()).node, 2);
    conn.close();
    await stillServes(config, 2, 'client-garbage');
    // The ledger of bad writes: nothing was written by the refused connections.
    const pool = new ConnectionPool(config);
    const r = await new KvSession(pool, { nodeId: 1 }).get('x');
    pool.close();
    assert.deepEqual([r.ok, r.value], [true, null]);
  } finally {
    for (const r of raws) r.close();
    await stopInProcess(c);
  }
});

test('control channel: unsigned, forged, replayed-to-another-node and stale commands are refused', { timeout: 30_000 }, async () => {
  let c: Awaited<ReturnType<typeof inProcessCluster>> | null = null;
  try {
    c = await inProcessCluster(3);
    const { config, nodes } = c;
    await waitFor(() => leaderOf(nodes) !== 0, 'a leader');
    const port = nodes[0]!.port;
    const cmd = { op: 'partition', isolate: 1 };
    assert.equal((await post(port, '/control', JSON.stringify(cmd))).status, 400, 'unsigned');
    assert.equal((await post(port, '/control', 'not json')).status, 400);
    const forged = signControl('not-the-cluster-secret-at-all', config.clusterId, 1, cmd);
    assert.equal((await post(port, '/control', JSON.stringify(forged))).status, 403, 'wrong secret');
    const forNode2 = signControl(config.secret, config.clusterId, 2, cmd);
    assert.equal((await post(port, '/control', JSON.stringify(forNode2))).status, 403, 'signed for another node');
    const stale = signControl(config.secret, config.clusterId, 1, cmd, Date.now() - 10 * 60_000);
    assert.equal((await post(port, '/control', JSON.stringify(stale))).status, 400, 'stale');
    assert.deepEqual(nodes[0]!.transport.faults.spec().partitions, [], 'no refused command took effect');
    // A signed one works, and a bad command is answered with what is wrong.
    const ok = await post(port, '/control', JSON.stringify(signControl(config.secret, config.clusterId, 1, cmd)));
    assert.equal(ok.status, 200, ok.body);
    assert.equal(nodes[0]!.transport.faults.spec().partitions.length, 1);
    const bad = await post(port, '/control', JSON.stringify(signControl(config.secret, config.clusterId, 1, { op: 'explode' })));
    assert.equal(bad.status, 400);
    assert.match(bad.body, /control.op/);
    const heal = await post(port, '/control', JSON.stringify(signControl(config.secret, config.clusterId, 1, { op: 'heal' })));
    assert.equal(heal.status, 200);
    assert.deepEqual(nodes[0]!.transport.faults.spec().partitions, []);
  } finally {
    await stopInProcess(c);
  }
});
