import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/core/rand.js';
import {
  FaultModel,
  LatencySampler,
  SpecError,
  distMeanUs,
  networkSpecToPlain,
  newMessageFate,
  parseLatencyDist,
  parseNetworkSpec,
} from '../../src/faults/index.js';
import type { LatencyDist } from '../../src/faults/index.js';

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SpecError, `expected SpecError, got ${String(err)}`);
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('expected a SpecError');
}

test('the DESIGN.md network line parses', () => {
  const spec = parseNetworkSpec({ latency: { dist: 'normal', mean: '5ms', stddev: '500us' }, loss: 0 });
  assert.deepEqual(spec.link.latency, { dist: 'normal', meanUs: 5000, stddevUs: 500 });
  assert.equal(spec.link.loss, 0);
  assert.deepEqual(parseNetworkSpec({ latency: '5ms' }).link.latency, { dist: 'constant', valueUs: 5000 });
  assert.deepEqual(parseNetworkSpec(undefined).link.latency, { dist: 'constant', valueUs: 0 });
});

test('every distribution parses', () => {
  assert.deepEqual(parseLatencyDist({ dist: 'uniform', min: '1ms', max: '3ms' }), { dist: 'uniform', minUs: 1000, maxUs: 3000 });
  assert.deepEqual(parseLatencyDist({ dist: 'lognormal', mean: '5ms', stddev: '2ms', max: '1s' }),
    { dist: 'lognormal', meanUs: 5000, stddevUs: 2000, capUs: 1_000_000 });
  assert.deepEqual(parseLatencyDist({ dist: 'exponential', mean: '2ms' }), { dist: 'exponential', meanUs: 2000 });
  assert.deepEqual(parseLatencyDist({ dist: 'pareto', scale: '1ms', shape: 2.5 }), { dist: 'pareto', scaleUs: 1000, shape: 2.5 });
  assert.deepEqual(parseLatencyDist({ dist: 'pareto', min: '1ms', shape: 3 }), { dist: 'pareto', scaleUs: 1000, shape: 3 });
  assert.deepEqual(parseLatencyDist({ dist: 'constant', value: '2ms' }), { dist: 'constant', valueUs: 2000 });
});

test('every problem is reported with its field path, in one error', () => {
  const issues = issuesOf(() => parseNetworkSpec({
    latency: { dist: 'normal', mean: '5ms', stddev: 'wide' },
    loss: '150%',
    jitter: 3,
    colour: 'blue',
    links: { '1->2': { latency: '-1ms' }, 'a->b': {} },
    partitions: [{ groups: [[1, 2], [2, 3]] }, { cut: '4->4' }, { groups: [[1]], cut: '1->2' }],
  }));
  const expected = [
    /^network\.colour: unknown field/,
    /^network\.latency\.stddev: expected a duration like 500us/,
    /^network\.jitter: .*bare number/,
    /^network\.loss: .*between 0 and 1/,
    /^network\.links\["1->2"\]\.latency: .*must not be negative/,
    /^network\.links\["a->b"\]: expected a link like/,
    /^network\.partitions\[0\]\.groups\[1\]\[0\]: node 2 is in more than one group/,
    /^network\.partitions\[1\]\.cut: a link from node 4 to itself/,
    /^network\.partitions\[2\]: expected exactly one of groups, isolate, cut/,
  ];
  assert.equal(issues.length, expected.length, issues.join('\n'));
  for (const re of expected) assert.ok(issues.some((i) => re.test(i)), `missing ${re}:\n${issues.join('\n')}`);
});

test('distribution parameter errors name the field', () => {
  assert.match(issuesOf(() => parseLatencyDist({ dist: 'gamma' }, 'n.latency'))[0]!, /^n\.latency\.dist: expected one of constant, uniform/);
  assert.match(issuesOf(() => parseLatencyDist({ dist: 'normal', mean: '1ms' }, 'n.latency'))[0]!, /^n\.latency\.stddev: required/);
  assert.match(issuesOf(() => parseLatencyDist({ dist: 'uniform', min: '3ms', max: '1ms' }, 'l'))[0]!, /^l\.max: must be >= min/);
  assert.match(issuesOf(() => parseLatencyDist({ dist: 'pareto', scale: '1ms', shape: -1 }, 'l'))[0]!, /^l\.shape: expected a positive number/);
  assert.match(issuesOf(() => parseLatencyDist({ dist: 'exponential', mean: '1ms', stddev: '1ms' }, 'l'))[0]!, /^l\.stddev: unknown field/);
  assert.match(issuesOf(() => parseLatencyDist([1, 2], 'l'))[0]!, /^l: expected a duration like 5ms or a mapping/);
});

test('link overrides: exact beats wildcard, <-> gives both directions, list form works', () => {
  const model = FaultModel.fromPlain({
    latency: '5ms',
    links: { '3->*': { latency: '50ms' }, '1<->2': { latency: '1ms', loss: '10%' }, '3->1': { loss: 1 } },
  });
  assert.equal(model.linkModel(1, 2).sampler.dist.dist, 'constant');
  assert.equal(model.linkModel(1, 2).loss, 0.1);
  assert.equal(model.linkModel(2, 1).loss, 0.1);
  assert.deepEqual(model.linkModel(3, 2).spec.latency, { dist: 'constant', valueUs: 50_000 });
  assert.deepEqual(model.linkModel(3, 1).spec.latency, { dist: 'constant', valueUs: 50_000 });
  assert.equal(model.linkModel(3, 1).loss, 1);
  assert.deepEqual(model.linkModel(2, 3).spec.latency, { dist: 'constant', valueUs: 5_000 });

  const listed = parseNetworkSpec({ links: [{ from: 1, to: 2, latency: '7ms' }, { between: [2, 3], jitter: '1ms' }] });
  assert.equal(listed.overrides.length, 3);
  assert.deepEqual(listed.overrides[0], { from: 1, to: 2, patch: { latency: { dist: 'constant', valueUs: 7000 } } });
});

test('partitions: two-way groups with an implicit rest group, one-way cuts, isolate, heal', () => {
  const model = FaultModel.fromPlain({ partitions: [{ groups: [[1, 2], [3]] }, { cut: '4->5' }] });
  assert.equal(model.reachable(1, 2), true);
  assert.equal(model.reachable(1, 3), false);
  assert.equal(model.reachable(3, 1), false);
  assert.equal(model.reachable(1, 4), false, 'unnamed nodes form their own group');
  assert.equal(model.reachable(4, 6), true);
  assert.equal(model.reachable(4, 5), false);
  assert.equal(model.reachable(5, 4), true, 'a cut is one-way');
  assert.equal(model.heal(), 2);
  assert.equal(model.reachable(1, 3), true);

  const iso = model.isolate(2);
  const cut = model.cut(1, '*');
  assert.equal(model.reachable(2, 3), false);
  assert.equal(model.reachable(3, 1), true);
  assert.equal(model.reachable(1, 3), false);
  assert.equal(model.heal(cut), 1);
  assert.equal(model.reachable(1, 3), true);
  assert.equal(model.reachable(1, 2), false);
  assert.equal(model.heal(iso), 1);
  assert.equal(model.reachable(1, 2), true);
  assert.throws(() => model.partition([[1], [1]]), SpecError);
});

test('decide: partitions drop without drawing, loss and duplication draw', () => {
  const model = FaultModel.fromPlain({ latency: '2ms', partitions: [{ cut: '1->2' }] });
  const rng = new Rng(7);
  const before = new Rng(7).nextU32();
  const fate = newMessageFate();
  model.decide(1, 2, rng, fate);
  assert.deepEqual(fate, { dropped: true, dropReason: 'partition', copies: 0, delayUs: 0, duplicateDelayUs: 0 });
  assert.equal(rng.nextU32(), before, 'no draw for a partitioned link or a constant latency');

  model.heal();
  model.setDefault({ duplicate: 1 });
  model.decide(1, 2, rng, fate);
  assert.deepEqual(fate, { dropped: false, dropReason: null, copies: 2, delayUs: 2000, duplicateDelayUs: 2000 });
  model.setDefault({ loss: 1 });
  assert.equal(model.decide(1, 2, rng, newMessageFate()).dropReason, 'loss');
});

test('run-time link changes take effect at once', () => {
  const model = FaultModel.fromPlain({ latency: '1ms' });
  const rng = new Rng(1);
  assert.equal(model.linkModel(1, 2).sampleDelayUs(rng), 1000);
  model.setLinkLatency(1, 2, { dist: 'constant', valueUs: 9000 });
  assert.equal(model.linkModel(1, 2).sampleDelayUs(rng), 9000);
  assert.equal(model.linkModel(2, 1).sampleDelayUs(rng), 1000);
  model.clearLink(1, 2);
  assert.equal(model.linkModel(1, 2).sampleDelayUs(rng), 1000);
});

test('the current spec writes back to plain data that parses to the same spec', () => {
  const plain = {
    latency: { dist: 'lognormal', mean: '5ms', stddev: '1ms', max: '100ms' },
    jitter: '100us', loss: '1%', duplicate: '0.5%', reorder: '2%', reorder_delay: '10ms',
    links: { '1->2': { latency: { dist: 'pareto', scale: '1ms', shape: 1.5 } } },
    partitions: [{ groups: [[1], [2, 3]] }, { cut: '3->*' }],
  };
  const spec = parseNetworkSpec(plain);
  const again = parseNetworkSpec(networkSpecToPlain(new FaultModel(spec).spec()));
  assert.deepEqual(again, spec);
});

function stats(dist: LatencyDist, n: number, seed = 42): { mean: number; stddev: number; min: number; max: number } {
  const sampler = new LatencySampler(dist);
  const rng = new Rng(seed);
  let sum = 0;
  let sumSq = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = sampler.sampleUs(rng);
    sum += x;
    sumSq += x * x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const mean = sum / n;
  return { mean, stddev: Math.sqrt(sumSq / n - mean * mean), min, max };
}

test('samplers have the documented means and spreads', () => {
  const n = 200_000;
  const near = (actual: number, expected: number, rel: number, what: string): void =>
    assert.ok(Math.abs(actual - expected) <= rel * expected, `${what}: ${actual} not within ${rel * 100}% of ${expected}`);

  const u = stats({ dist: 'uniform', minUs: 1000, maxUs: 3000 }, n);
  near(u.mean, 2000, 0.01, 'uniform mean');
  assert.ok(u.min >= 1000 && u.max < 3000);

  const nrm = stats({ dist: 'normal', meanUs: 5000, stddevUs: 500 }, n);
  near(nrm.mean, 5000, 0.01, 'normal mean');
  near(nrm.stddev, 500, 0.02, 'normal stddev');

  const trunc = stats({ dist: 'normal', meanUs: 100, stddevUs: 1000 }, n);
  assert.ok(trunc.min >= 0, 'a truncated normal never goes negative');

  const ln = stats({ dist: 'lognormal', meanUs: 5000, stddevUs: 2000 }, n);
  near(ln.mean, 5000, 0.01, 'lognormal mean is the mean of the delay');
  near(ln.stddev, 2000, 0.05, 'lognormal stddev is the stddev of the delay');

  const ex = stats({ dist: 'exponential', meanUs: 3000 }, n);
  near(ex.mean, 3000, 0.02, 'exponential mean');
  near(ex.stddev, 3000, 0.03, 'exponential stddev');

  const pareto: LatencyDist = { dist: 'pareto', scaleUs: 1000, shape: 3 };
  const pa = stats(pareto, n);
  near(pa.mean, distMeanUs(pareto), 0.02, 'pareto mean');
  assert.ok(pa.min >= 1000, 'pareto never goes below its scale');

  const capped = stats({ dist: 'pareto', scaleUs: 1000, shape: 0.5, capUs: 50_000 }, n);
  assert.ok(capped.max <= 50_000, 'max caps a heavy tail');
});

test('delays are whole, non-negative and replay exactly for a seed', () => {
  const model = FaultModel.fromPlain({
    latency: { dist: 'normal', mean: '200us', stddev: '1ms' }, jitter: '500us', loss: '10%', duplicate: '5%', reorder: '5%',
  });
  const run = (seed: number): number[] => {
    const rng = new Rng(seed);
    const fate = newMessageFate();
    const out: number[] = [];
    for (let i = 0; i < 5000; i++) {
      model.decide(1 + (i % 3), 1 + ((i + 1) % 3), rng, fate);
      out.push(fate.copies, fate.delayUs, fate.duplicateDelayUs);
      assert.ok(Number.isInteger(fate.delayUs) && fate.delayUs >= 0);
    }
    return out;
  };
  const a = run(9);
  assert.deepEqual(run(9), a);
  assert.notDeepEqual(run(10), a);
  const drops = a.filter((_, i) => i % 3 === 0 && a[i] === 0).length;
  assert.ok(drops > 350 && drops < 650, `about 10% dropped, got ${drops}/5000`);
});
