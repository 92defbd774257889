// cluster.json: defaults, every problem reported with its field, round trips, clear file errors;
// the client protocol's request validation; control-channel signatures.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  ClusterConfigError,
  clusterConfigToPlain,
  dataDirOf,
  decodeFrame,
  encodeFrame,
  loadClusterConfig,
  parseClusterConfig,
  parseRequest,
  saveClusterConfig,
  signControl,
  verifyControl,
} from '../../src/node/index.js';
import { placeClients, valueFor, KeyPicker } from '../../src/node/live-runner.js';
import { Rng } from '../../src/core/rand.js';
import { removeDir, tempDir } from './helpers.js';

const minimal = {
  clusterId: 'frb-abc',
  secret: '0123456789abcdef0123456789abcdef',
  nodes: [
    { id: 1, host: '127.0.0.1', port: 4001 },
    { id: 2, host: '127.0.0.1', port: 4002 },
    { id: 3, host: '127.0.0.1', port: 4003 },
  ],
};

test('a minimal cluster.json gets the defaults', () => {
  const c = parseClusterConfig(minimal);
  assert.equal(c.protocol, 'raft');
  assert.equal(c.storage, 'memory');
  assert.equal(c.transport, 'uws');
  assert.equal(c.tickMs, 10);
  assert.equal(c.electionTicks, 10);
  assert.equal(c.network, null);
  assert.deepEqual(c.nodes.map((n) => n.id), [1, 2, 3]);
});

test('every problem is reported, each with its field', () => {
  let err: unknown;
  try {
    parseClusterConfig(
      {
        ...minimal,
        clusterId: 'no spaces allowed',
        secret: 'short',
        protocol: 'paxos',
        storage: 'floppy',
        tickMs: 0,
        electionTicks: 1,
        fast: { windowSize: -1, turbo: true },
        network: { latency: 'fast' },
        nodes: [{ id: 1, host: '127.0.0.1', port: 4001 }, { id: 1, host: '127.0.0.1', port: 70000 }],
        colour: 'blue',
      },
      'bad.json',
    );
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ClusterConfigError);
  const fields = err.problems.map((p) => p.split(':')[0]);
  for (const f of ['colour', 'clusterId', 'secret', 'protocol', 'fast.turbo', 'fast.windowSize', 'storage', 'tickMs', 'electionTicks', 'network.latency', 'nodes[1].id', 'nodes[1].port']) {
    assert.ok(fields.includes(f), `${f} reported in: ${err.problems.join(' | ')}`);
  }
  assert.match(err.message, /^bad\.json: \d+ problems: /);
  assert.ok(!err.message.includes('\n'), 'one line');
});

test('save and load round-trip, the network in its input syntax; file errors say what is wrong', () => {
  const dir = tempDir('config');
  try {
    const file = path.join(dir, 'cluster.json');
    const c = parseClusterConfig({ ...minimal, protocol: 'fastraft', fast: { windowSize: 64 }, network: { latency: '2ms', partitions: [{ isolate: 3 }] }, dataDir: 'data' });
    saveClusterConfig(file, c);
    const back = loadClusterConfig(file);
    assert.deepEqual(clusterConfigToPlain(back), clusterConfigToPlain(c));
    assert.equal(back.network?.link.latency.dist, 'constant');
    assert.equal(dataDirOf(back, file), path.join(dir, 'data'));
    assert.throws(() => loadClusterConfig(path.join(dir, 'missing.json')), /missing\.json: no such file/);
    writeFileSync(path.join(dir, 'broken.json'), '{ "clusterId": ');
    assert.throws(() => loadClusterConfig(path.join(dir, 'broken.json')), /broken\.json: not valid JSON/);
    writeFileSync(path.join(dir, 'list.json'), '[]');
    assert.throws(() => loadClusterConfig(path.join(dir, 'list.json')), /list\.json: expected a JSON object/);
  } finally {
    removeDir(dir);
  }
});

test('client requests are validated before use', () => {
  assert.deepEqual(parseRequest({ id: 1, op: 'put', clientId: 3, seq: 4, key: 'k', value: 'v' }), { req: { id: 1, op: 'put', clientId: 3, seq: 4, key: 'k', value: 'v' } });
  assert.deepEqual(parseRequest({ id: 2, op: 'get', key: 'k' }), { req: { id: 2, op: 'get', clientId: 0, seq: 0, key: 'k' } });
  assert.deepEqual(parseRequest({ id: 3, op: 'status' }), { req: { id: 3, op: 'status' } });
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ op: 'get', key: 'k' }, /^id/],
    [{ id: -1, op: 'get', key: 'k' }, /^id/],
    [{ id: 1, op: 'del', key: 'k' }, /^op/],
    [{ id: 1, op: 'get', key: '' }, /^key/],
    [{ id: 1, op: 'get', key: 5 }, /^key/],
    [{ id: 1, op: 'put', clientId: 1, seq: 1, key: 'k' }, /^value/],
    [{ id: 1, op: 'put', clientId: 1, seq: 0, key: 'k', value: 'v' }, /clientId and seq/],
    [{ id: 1, op: 'put', clientId: 1.5, seq: 1, key: 'k', value: 'v' }, /^clientId/],
  ];
  for (const [frame, why] of bad) {
    const r = parseRequest(frame);
    assert.ok('problem' in r, JSON.stringify(frame));
    assert.match(r.problem, why);
  }
  for (const enc of ['json', 'msgpack'] as const) {
    const back = decodeFrame(encodeFrame({ id: 1, op: 'get', key: 'k' }, enc));
    assert.equal(back.encoding, enc);
    assert.deepEqual(back.value, { id: 1, op: 'get', key: 'k' });
  }
  assert.throws(() => decodeFrame(new Uint8Array(0)), /empty frame/);
  assert.throws(() => decodeFrame(Buffer.from('{"id":')), /undecodable json/);
});

test('control commands are bound to the secret, the cluster, the node and the time', () => {
  const secret = '0123456789abcdef0123456789abcdef';
  const now = 1_700_000_000_000;
  const signed = signControl(secret, 'frb-a', 2, { op: 'heal' }, now);
  const body = (v: unknown): Uint8Array => Buffer.from(JSON.stringify(v));
  assert.deepEqual(verifyControl(secret, 'frb-a', 2, body(signed), now), { ok: true, command: { op: 'heal' } });
  assert.equal(verifyControl(secret, 'frb-b', 2, body(signed), now).ok, false);
  assert.equal(verifyControl(secret, 'frb-a', 3, body(signed), now).ok, false);
  assert.equal(verifyControl(secret, 'frb-a', 2, body({ ...signed, command: { op: 'reset' } }), now).ok, false);
  assert.match(String((verifyControl(secret, 'frb-a', 2, body(signed), now + 120_000) as { error: string }).error), /stale/);
});

test('live runner placement, keys and values', () => {
  const ids = [1, 2, 3, 4, 5];
  const rng = new Rng(1);
  assert.deepEqual(placeClients({ attach: 'leader', clients: 3, proposers: null }, ids, 4, rng), [4, 4, 4]);
  assert.deepEqual(placeClients({ attach: 'followers', clients: 5, proposers: null }, ids, 4, rng), [1, 2, 3, 5, 1]);
  assert.deepEqual(placeClients({ attach: 'followers', clients: 4, proposers: 2 }, ids, 4, rng), [1, 2, 1, 2]);
  assert.deepEqual(placeClients({ attach: 'all', clients: 6, proposers: null }, ids, 4, rng), [1, 2, 3, 4, 5, 1]);
  const random = placeClients({ attach: 'random', clients: 50, proposers: 3 }, ids, 4, rng);
  assert.equal(new Set(random).size, 3);
  assert.equal(valueFor(36, 7, 12), '10-7........');
  const picker = new KeyPicker({ dist: 'zipfian', count: 100, theta: 0.99 }, 0, new Rng(2));
  const counts = new Map<string, number>();
  for (let i = 0; i < 5000; i++) {
    const k = picker.next();
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  assert.ok((counts.get('k0') ?? 0) > (counts.get('k50') ?? 0) * 10, 'rank 0 dominates');
  const shared = new KeyPicker({ dist: 'uniform', count: 10 }, 1, new Rng(3));
  assert.equal(shared.next(), 'k-shared');
});
