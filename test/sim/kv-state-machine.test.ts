import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KvDecodeError, KvStateMachine, decodeCommand, encodeCommand, isKvCommand } from '../../src/kv/index.js';
import type { KvCommand } from '../../src/kv/index.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const b = (s: string): Uint8Array => enc.encode(s);
const s = (v: Uint8Array | null): string | null => (v === null ? null : dec.decode(v));

const arbCommand: fc.Arbitrary<KvCommand> = fc.oneof(
  fc.record({ op: fc.constant('put' as const), clientId: fc.nat(), seq: fc.maxSafeNat(), key: fc.string({ maxLength: 20 }), value: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ op: fc.constant('get' as const), clientId: fc.maxSafeNat(), seq: fc.nat(), key: fc.string({ unit: 'grapheme', maxLength: 10 }) }),
  fc.record({ op: fc.constant('delete' as const), clientId: fc.nat(), seq: fc.nat(), key: fc.string() }),
);

test('commands round-trip through the binary encoding', () => {
  fc.assert(fc.property(arbCommand, (cmd) => {
    const bytes = encodeCommand(cmd);
    assert.ok(isKvCommand(bytes));
    assert.deepEqual(decodeCommand(bytes), { ...cmd });
  }), { numRuns: 500 });
});

test('the encoding is compact', () => {
  const bytes = encodeCommand({ op: 'put', clientId: 7, seq: 300, key: 'k1', value: new Uint8Array(128) });
  assert.equal(bytes.length, 2 + 1 + 2 + 1 + 2 + 2 + 128);
});

test('corrupt commands are refused loudly', () => {
  const good = encodeCommand({ op: 'put', clientId: 1, seq: 1, key: 'k', value: b('v') });
  assert.throws(() => decodeCommand(good.subarray(0, good.length - 1)), KvDecodeError);
  assert.throws(() => decodeCommand(new Uint8Array([...good, 0])), /trailing bytes/);
  assert.throws(() => decodeCommand(new Uint8Array([0x00, 1, 1, 1, 0])), /bad magic/);
  assert.throws(() => decodeCommand(new Uint8Array([0x4b, 9, 1, 1, 0])), /unknown op code 9/);
  assert.throws(() => decodeCommand(new Uint8Array([0x4b, 2, 1, 1, 1, 0xff])), /not valid UTF-8/);
  assert.throws(() => decodeCommand(new Uint8Array([0x4b, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])), /bad varint/);
  assert.equal(isKvCommand(new Uint8Array(0)), false);
});

test('put, get and delete', () => {
  const sm = new KvStateMachine();
  assert.deepEqual(sm.applyCommand(1, { op: 'get', clientId: 1, seq: 1, key: 'x' }), { status: 'ok', value: null });
  sm.apply(2, encodeCommand({ op: 'put', clientId: 1, seq: 2, key: 'x', value: b('a') }));
  assert.equal(s(sm.apply(3, encodeCommand({ op: 'get', clientId: 2, seq: 1, key: 'x' })).value), 'a');
  sm.applyCommand(4, { op: 'delete', clientId: 2, seq: 2, key: 'x' });
  assert.equal(sm.read('x'), null);
  assert.equal(sm.appliedIndex, 4);
});

test('a retried command is applied once and answered from the session table', () => {
  const sm = new KvStateMachine();
  sm.applyCommand(1, { op: 'put', clientId: 1, seq: 1, key: 'x', value: b('a') });
  assert.equal(s(sm.applyCommand(2, { op: 'get', clientId: 1, seq: 2, key: 'x' }).value), 'a');
  sm.applyCommand(3, { op: 'put', clientId: 2, seq: 1, key: 'x', value: b('b') });
  // Client 1's get was committed twice (its first answer was lost): the retry must return what
  // the first application read, not the current value.
  assert.deepEqual(sm.applyCommand(4, { op: 'get', clientId: 1, seq: 2, key: 'x' }), { status: 'duplicate', value: b('a') });
  // A retried put does not overwrite the later write of client 2.
  assert.equal(sm.applyCommand(5, { op: 'put', clientId: 2, seq: 1, key: 'x', value: b('b') }).status, 'duplicate');
  sm.applyCommand(6, { op: 'put', clientId: 1, seq: 3, key: 'x', value: b('c') });
  assert.equal(sm.applyCommand(7, { op: 'put', clientId: 2, seq: 1, key: 'x', value: b('b') }).status, 'duplicate');
  assert.equal(s(sm.read('x')), 'c');
  // A command older than the client's last applied one is stale: not applied.
  assert.deepEqual(sm.applyCommand(8, { op: 'put', clientId: 1, seq: 1, key: 'x', value: b('a') }), { status: 'stale', value: null });
  assert.equal(s(sm.read('x')), 'c');
  // Sessionless commands (client 0) are applied every time.
  sm.applyCommand(9, { op: 'put', clientId: 0, seq: 0, key: 'y', value: b('1') });
  assert.equal(sm.applyCommand(10, { op: 'put', clientId: 0, seq: 0, key: 'y', value: b('2') }).status, 'ok');
  assert.equal(s(sm.read('y')), '2');
});

test('entries must be applied once, in log order; non-KV entries advance the index', () => {
  const sm = new KvStateMachine();
  sm.applyCommand(5, { op: 'get', clientId: 1, seq: 1, key: 'x' });
  assert.throws(() => sm.applyCommand(5, { op: 'get', clientId: 1, seq: 2, key: 'x' }), /log order/);
  sm.advance(6);
  assert.throws(() => sm.advance(6), /log order/);
  assert.equal(sm.appliedIndex, 6);
});

test('sessions and keys are bounded, evictions are by recency', () => {
  const sm = new KvStateMachine({ sessionsMax: 2, keysMax: 2 });
  sm.applyCommand(1, { op: 'put', clientId: 1, seq: 1, key: 'a', value: b('1') });
  sm.applyCommand(2, { op: 'put', clientId: 2, seq: 1, key: 'b', value: b('2') });
  sm.applyCommand(3, { op: 'get', clientId: 1, seq: 2, key: 'a' });
  assert.equal(sm.applyCommand(4, { op: 'put', clientId: 3, seq: 1, key: 'c', value: b('3') }).status, 'full');
  assert.equal(sm.sessionCount, 2);
  // Client 2 was least recently used, so its session went; client 1's remains.
  assert.equal(sm.applyCommand(5, { op: 'get', clientId: 1, seq: 2, key: 'a' }).status, 'duplicate');
  assert.equal(sm.applyCommand(6, { op: 'get', clientId: 2, seq: 1, key: 'b' }).status, 'ok');
  assert.equal(sm.keyCount, 2);
});

function randomLog(seedCmds: readonly { client: number; key: number; put: boolean; val: number; retry: boolean }[]): KvCommand[] {
  const seqs = new Map<number, number>();
  const log: KvCommand[] = [];
  for (const c of seedCmds) {
    const last = seqs.get(c.client) ?? 0;
    const seq = c.retry && last > 0 ? last : last + 1;
    seqs.set(c.client, seq);
    const key = `k${c.key}`;
    log.push(c.put
      ? { op: 'put', clientId: c.client, seq, key, value: b(`v${c.val}`) }
      : { op: 'get', clientId: c.client, seq, key });
  }
  return log;
}

const arbLog = fc.array(fc.record({
  client: fc.integer({ min: 1, max: 5 }), key: fc.integer({ min: 0, max: 5 }), put: fc.boolean(), val: fc.nat(100), retry: fc.boolean(),
}), { maxLength: 200 });

test('snapshot/restore: same bytes on every replica, and the restored replica continues identically', () => {
  fc.assert(fc.property(arbLog, fc.nat(), (cmds, cutRaw) => {
    const log = randomLog(cmds);
    const cut = log.length === 0 ? 0 : cutRaw % (log.length + 1);
    const a = new KvStateMachine({ sessionsMax: 4 });
    log.slice(0, cut).forEach((c, i) => a.applyCommand(i + 1, c));
    const snap = a.snapshot();
    const b2 = KvStateMachine.fromSnapshot(snap, { sessionsMax: 4 });
    assert.deepEqual(b2.snapshot(), snap);
    const rest = log.slice(cut);
    const ra = rest.map((c, i) => a.applyCommand(cut + i + 1, c));
    const rb = rest.map((c, i) => b2.applyCommand(cut + i + 1, c));
    assert.deepEqual(rb, ra);
    assert.deepEqual(b2.snapshot(), a.snapshot());
  }), { numRuns: 200 });
});

test('snapshot bytes do not depend on key insertion order', () => {
  const x = new KvStateMachine();
  x.applyCommand(1, { op: 'put', clientId: 0, seq: 0, key: 'a', value: b('1') });
  x.applyCommand(2, { op: 'put', clientId: 0, seq: 0, key: 'b', value: b('2') });
  const y = new KvStateMachine();
  y.applyCommand(1, { op: 'put', clientId: 0, seq: 0, key: 'b', value: b('2') });
  y.applyCommand(2, { op: 'put', clientId: 0, seq: 0, key: 'a', value: b('1') });
  assert.deepEqual(x.snapshot(), y.snapshot());
  assert.throws(() => new KvStateMachine().restore(b('nope')), /bad magic/);
  assert.throws(() => new KvStateMachine().restore(x.snapshot().subarray(0, 8)), /truncated/);
});
