import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { History, describeOperation } from '../../src/sim/history.js';
import type { Operation } from '../../src/sim/history.js';
import { checkLinearizable, checkRegister, formatCounterexample } from '../../src/sim/linearizability.js';

// A compact way to write histories: [client, 'put'|'get', key, value, invokeUs, completeUs|null].
type Row = readonly [number, 'put' | 'get', string, string | null, number, number | null];

function ops(rows: readonly Row[]): Operation[] {
  return rows.map(([clientId, kind, key, value, invokeUs, completeUs], id) => ({
    id, clientId, key, kind, invokeUs, completeUs,
    valueIn: kind === 'put' ? value : null,
    valueOut: kind === 'get' ? value : null,
  }));
}

const outcome = (rows: readonly Row[]): string => checkLinearizable(ops(rows)).outcome;

test('sequential and trivially linearizable histories', () => {
  assert.equal(outcome([]), 'ok');
  assert.equal(outcome([[1, 'put', 'x', 'a', 0, 10], [1, 'get', 'x', 'a', 20, 30]]), 'ok');
  assert.equal(outcome([[1, 'get', 'x', null, 0, 10]]), 'ok', 'an absent key reads as nil');
  assert.equal(outcome([[1, 'put', 'x', 'a', 0, 10], [1, 'put', 'x', null, 20, 30], [2, 'get', 'x', null, 40, 50]]), 'ok', 'delete');
});

test('stale read is caught', () => {
  assert.equal(outcome([
    [1, 'put', 'x', 'a', 0, 10],
    [1, 'put', 'x', 'b', 20, 30],
    [2, 'get', 'x', 'a', 40, 50],
  ]), 'illegal');
});

test('lost write is caught', () => {
  assert.equal(outcome([[1, 'put', 'x', 'a', 0, 10], [2, 'get', 'x', null, 20, 30]]), 'illegal');
});

test('a read of a value never written is caught', () => {
  assert.equal(outcome([[1, 'get', 'x', 'ghost', 0, 10]]), 'illegal');
});

test('concurrent operations are fine in some order', () => {
  // Two overlapping writes; readers after both see either, but then consistently.
  assert.equal(outcome([
    [1, 'put', 'x', 'a', 0, 50],
    [2, 'put', 'x', 'b', 10, 60],
    [3, 'get', 'x', 'a', 70, 80],
    [4, 'get', 'x', 'a', 90, 100],
  ]), 'ok');
  assert.equal(outcome([
    [1, 'put', 'x', 'a', 0, 50],
    [2, 'put', 'x', 'b', 10, 60],
    [3, 'get', 'x', 'b', 70, 80],
    [4, 'get', 'x', 'a', 90, 100],
  ]), 'illegal', 'after both writes end, the order cannot flip');
  // A read overlapping a write may see the old or the new value.
  assert.equal(outcome([
    [1, 'put', 'x', 'a', 0, 100],
    [2, 'get', 'x', null, 10, 20],
    [3, 'get', 'x', 'a', 30, 40],
    [2, 'get', 'x', 'a', 50, 60],
  ]), 'ok');
  // ...but not the new and then the old value.
  assert.equal(outcome([
    [1, 'put', 'x', 'a', 0, 100],
    [2, 'get', 'x', 'a', 10, 20],
    [3, 'get', 'x', null, 30, 40],
  ]), 'illegal');
});

test('operations that touch in time are concurrent', () => {
  assert.equal(outcome([[1, 'put', 'x', 'a', 0, 10], [2, 'get', 'x', null, 10, 20]]), 'ok');
  assert.equal(outcome([[1, 'put', 'x', 'a', 0, 10], [2, 'get', 'x', null, 11, 20]]), 'illegal');
});

test('pending writes may or may not have taken effect, but only once', () => {
  assert.equal(outcome([[1, 'put', 'x', 'a', 0, null], [2, 'get', 'x', 'a', 100, 110]]), 'ok');
  assert.equal(outcome([[1, 'put', 'x', 'a', 0, null], [2, 'get', 'x', null, 100, 110]]), 'ok');
  assert.equal(outcome([[1, 'put', 'x', 'a', 0, null], [2, 'get', 'x', null, 50, 60], [2, 'get', 'x', 'a', 100, 110]]), 'ok');
  assert.equal(outcome([[1, 'put', 'x', 'a', 0, null], [2, 'get', 'x', 'a', 50, 60], [2, 'get', 'x', null, 100, 110]]), 'illegal');
  assert.equal(outcome([[1, 'put', 'x', 'a', 50, null], [2, 'get', 'x', 'a', 0, 40]]), 'illegal', 'not before its invocation');
  assert.equal(outcome([[1, 'get', 'x', 'zzz', 0, null]]), 'ok', 'a pending read constrains nothing');
});

test('keys are checked independently and the failing key is reported', () => {
  const r = checkLinearizable(ops([
    [1, 'put', 'x', 'a', 0, 10],
    [1, 'put', 'y', 'a', 0, 10],
    [2, 'get', 'x', 'a', 20, 30],
    [2, 'get', 'y', null, 20, 30],
  ]));
  assert.equal(r.outcome, 'illegal');
  assert.deepEqual(r.keys.map((k) => [k.key, k.outcome]), [['x', 'ok'], ['y', 'illegal']]);
  assert.equal(r.counterexample?.key, 'y');
});

// A noisy history around a stale read: many clients, overlapping puts and gets, one bad read.
function noisyStaleRead(): Operation[] {
  const rows: Row[] = [];
  let t = 0;
  for (let i = 0; i < 40; i++) {
    rows.push([1 + (i % 4), 'put', 'x', `v${i}`, t, t + 15]);
    rows.push([5 + (i % 3), 'get', 'x', `v${i}`, t + 16, t + 25]);
    rows.push([9, 'put', 'other', `o${i}`, t, t + 30]);
    t += 30;
  }
  // The stale read: v3 long after v39 was written and read.
  rows.push([8, 'get', 'x', 'v3', t + 10, t + 20]);
  return ops(rows);
}

test('a failure shrinks to a minimal counterexample that is still a violation', () => {
  const history = noisyStaleRead();
  const r = checkLinearizable(history);
  assert.equal(r.outcome, 'illegal');
  const ce = r.counterexample!;
  assert.equal(ce.key, 'x');
  assert.equal(ce.minimal, true);
  assert.equal(ce.operationsTotal, 81);
  // put v3 ... put v(k) (a later, completed write) ... get v3: three operations suffice.
  assert.ok(ce.operations.length <= 3, formatCounterexample(ce));
  assert.equal(checkRegister(ce.operations).outcome, 'illegal');
  // The write of v3, some later completed write, and the read of v3 after it.
  const described = ce.operations.map(describeOperation);
  assert.equal(described.length, 3);
  assert.ok(described.includes('put("x", "v3")') && described.includes('get("x") -> "v3"'), described.join(', '));
  assert.match(described.find((d) => d.startsWith('put') && d !== 'put("x", "v3")')!, /^put\("x", "v([4-9]|[1-3][0-9])"\)$/);
  // Minimal: removing a write leaves the read unexplained, removing the read makes it linearizable.
  assert.equal(checkRegister(ce.operations.filter((op) => op.kind === 'put')).outcome, 'ok');
  const text = formatCounterexample(ce);
  assert.match(text, /key "x" is not linearizable: a minimal counterexample/);
  assert.match(text, /get\("x"\) -> "v3"/);
});

test('the counterexample prints readably', () => {
  const r = checkLinearizable(ops([
    [1, 'put', 'x', 'a', 0, 10],
    [1, 'put', 'x', 'b', 20, 30],
    [2, 'get', 'x', 'a', 40, 50],
    [3, 'put', 'x', 'c', 45, null],
  ]));
  const text = formatCounterexample(r.counterexample!);
  assert.equal(text, [
    'key "x" is not linearizable: a minimal counterexample, 3 of 4 operations.',
    'No order of these operations that respects real time gives every read the value it returned.',
    '  #0 client 1  put("x", "a")    |---|                        [0us, 10us]',
    '  #1 client 1  put("x", "b")            |---|                [20us, 30us]',
    '  #2 client 2  get("x") -> "a"                  |---|        [40us, 50us]',
  ].join('\n'));
});

test('histories record invoke/complete/fail', () => {
  const h = new History(10);
  const a = h.invokePut(1, 'x', 'a', 0);
  const b = h.invokeGet(2, 'x', 5);
  const c = h.invokePut(3, 'x', 'c', 6);
  const d = h.invokeGet(4, 'x', 7);
  assert.equal(h.pendingCount, 4);
  h.complete(a, null, 10);
  h.complete(b, 'a', 12);
  h.fail(c);
  assert.throws(() => h.complete(a, null, 20), /already finished/);
  assert.throws(() => h.complete(d, null, 1), /before its invocation/);
  const recorded = h.operations();
  assert.equal(recorded.length, 3, 'definite failures are left out');
  assert.deepEqual(recorded[1], { id: b, clientId: 2, key: 'x', kind: 'get', valueIn: null, valueOut: 'a', invokeUs: 5, completeUs: 12 });
  assert.equal(recorded[2]!.completeUs, null);
  assert.equal(checkLinearizable(recorded).outcome, 'ok');
  const tiny = new History(1);
  tiny.invokeGet(1, 'x', 0);
  assert.throws(() => tiny.invokeGet(1, 'x', 0), /more than 1 operations/);
});

// Property: histories produced by a real sequential execution, with each operation's interval
// stretched at random around its true linearization point, are always linearizable.
interface GenOp {
  readonly key: number;
  readonly put: boolean;
  readonly before: number;
  readonly after: number;
  readonly outcome: 'done' | 'pending-applied' | 'pending-lost';
}

const arbGenOps = fc.array(fc.record({
  key: fc.integer({ min: 0, max: 2 }),
  put: fc.boolean(),
  before: fc.integer({ min: 0, max: 60 }),
  after: fc.integer({ min: 0, max: 60 }),
  outcome: fc.constantFrom<GenOp['outcome']>('done', 'done', 'done', 'done', 'pending-applied', 'pending-lost'),
}), { maxLength: 60 });

function executeSequentially(gen: readonly GenOp[]): Operation[] {
  const store = new Map<string, string>();
  return gen.map((g, i) => {
    const key = `k${g.key}`;
    const pointUs = 100 + i * 10;
    const invokeUs = pointUs - g.before;
    const pending = g.outcome !== 'done';
    const completeUs = pending ? null : pointUs + g.after;
    if (g.put) {
      const value = `v${i}`;
      if (g.outcome !== 'pending-lost') store.set(key, value);
      return { id: i, clientId: i, key, kind: 'put' as const, valueIn: value, valueOut: null, invokeUs, completeUs };
    }
    return { id: i, clientId: i, key, kind: 'get' as const, valueIn: null, valueOut: pending ? null : store.get(key) ?? null, invokeUs, completeUs };
  });
}

test('property: real sequential executions with random overlaps are linearizable', () => {
  fc.assert(fc.property(arbGenOps, (gen) => {
    const r = checkLinearizable(executeSequentially(gen));
    assert.equal(r.outcome, 'ok', r.counterexample ? formatCounterexample(r.counterexample) : '');
  }), { numRuns: 300 });
});

test('property: corrupting one completed read makes the history illegal, and the counterexample contains it', () => {
  fc.assert(fc.property(arbGenOps, fc.nat(), (gen, pick) => {
    const history = executeSequentially(gen);
    const reads = history.filter((op) => op.kind === 'get' && op.completeUs !== null);
    fc.pre(reads.length > 0);
    const bad = reads[pick % reads.length]!;
    const corrupted = history.map((op) => (op === bad ? { ...op, valueOut: 'corrupt' } : op));
    const r = checkLinearizable(corrupted);
    assert.equal(r.outcome, 'illegal');
    assert.deepEqual(r.counterexample!.operations.map((op) => op.id), [bad.id]);
  }), { numRuns: 200 });
});

test('the search is bounded: past the step limit the answer is unknown', () => {
  // A long, highly concurrent, write-heavy history: linearizable, but not within 10k steps.
  const gen: GenOp[] = [];
  for (let i = 0; i < 2000; i++) gen.push({ key: 0, put: (i * 7) % 3 !== 0, before: (i * 37) % 150, after: (i * 53) % 150, outcome: 'done' });
  const r = checkLinearizable(executeSequentially(gen), { stepsMax: 10_000 });
  assert.equal(r.outcome, 'unknown');
  assert.ok(r.keys[0]!.steps <= 10_000 + 2000, `steps ${r.keys[0]!.steps}`);
});

test('a larger history checks quickly', () => {
  const gen: GenOp[] = [];
  for (let i = 0; i < 3000; i++) gen.push({ key: i % 5, put: i % 3 === 0, before: (i * 7) % 80, after: (i * 13) % 80, outcome: 'done' });
  const t0 = Date.now();
  const r = checkLinearizable(executeSequentially(gen));
  assert.equal(r.outcome, 'ok');
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0}ms`);
});
