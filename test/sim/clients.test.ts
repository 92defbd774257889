// Simulated clients: the hand-written command encoder matches the KV codec byte for byte, and
// closed- and open-loop sessions behave as documented.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeAsciiCommand } from '../../src/sim/clients.js';
import { decodeCommand, encodeCommand, type KvCommand } from '../../src/kv/index.js';
import { SimCluster } from '../../src/sim/sim-cluster.js';
import { parseNetworkSpec } from '../../src/faults/index.js';

test('encodeAsciiCommand writes exactly what encodeCommand writes', () => {
  const ascii = fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, 'x'));
  const cmd: fc.Arbitrary<KvCommand> = fc.oneof(
    fc.record({
      op: fc.constant('put' as const),
      clientId: fc.integer({ min: 0, max: 2 ** 40 }),
      seq: fc.integer({ min: 0, max: 2 ** 45 }),
      key: ascii,
      value: fc.uint8Array({ maxLength: 300 }),
    }),
    fc.record({ op: fc.constant('get' as const), clientId: fc.nat(), seq: fc.nat(), key: ascii }),
    fc.record({ op: fc.constant('delete' as const), clientId: fc.nat(), seq: fc.nat(), key: fc.string({ maxLength: 10 }) }),
  );
  fc.assert(fc.property(cmd, (c) => {
    const fast = encodeAsciiCommand(c);
    assert.deepEqual(fast, encodeCommand(c));
    assert.deepEqual({ ...decodeCommand(fast) }, { ...c });
  }));
  // Non-ASCII keys take the codec's own path.
  const k: KvCommand = { op: 'get', clientId: 1, seq: 2, key: 'clé' };
  assert.deepEqual(encodeAsciiCommand(k), encodeCommand(k));
});

test('closed-loop sessions keep one operation outstanding, open-loop arrivals follow the rate', () => {
  const c = new SimCluster({ size: 3, seed: 4, network: parseNetworkSpec({ latency: '1ms' }) });
  c.addClients({ mode: 'closed', count: 3, opsMax: 10, keys: 2, thinkUs: 5000 });
  c.addClients({ mode: 'open', ratePerSec: 200, poisson: false, count: 2, keys: 2, startUs: 500_000, stopUs: 1_500_000 });
  assert.ok(c.runUntil(3_000_000), c.violation?.message);
  const n = c.clients.counters;
  assert.equal(n.invoked, 30 + 200);
  assert.equal(n.completed, n.invoked);
  assert.equal(n.gaveUp, 0);
  const ops = c.clients.history!.operations();
  for (let id = 1; id <= 3; id++) {
    const mine = ops.filter((o) => o.clientId === id).sort((a, b) => a.invokeUs - b.invokeUs);
    for (let i = 1; i < mine.length; i++) assert.ok(mine[i]!.invokeUs >= mine[i - 1]!.completeUs! + 5000, 'think time between operations');
  }
  assert.ok(c.clients.sessionCount < 20, 'the open-loop pool stays small when the cluster keeps up');
});

test('a client whose node crashes resends through another node and gets its answer exactly once', () => {
  const c = new SimCluster({ size: 3, seed: 9, network: parseNetworkSpec({ latency: '1ms' }) });
  c.addClients({ mode: 'closed', count: 1, opsMax: 50, keys: 1, attach: [1], retryUs: 50_000 });
  assert.ok(c.runUntil(300_000));
  c.crash(1);
  assert.ok(c.runUntil(2_000_000), c.violation?.message);
  c.restart(1);
  assert.ok(c.runUntil(3_000_000), c.violation?.message);
  assert.equal(c.clients.counters.completed, 50);
  assert.ok(c.clients.counters.refused + c.clients.counters.resent > 0);
});
