import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { deriveSeed } from '../../src/core/rand.js';
import { expandMatrix, formatMatrix, parseExperiment } from '../../src/experiment/index.js';
import { experimentsDir, yaml } from './helpers.js';

const twoAxes = yaml(
  'name: m',
  'seed: 9',
  'repeat: 2',
  'cluster: { protocol: fastraft }',
  'sweep:',
  '  cluster.protocol: [raft, fastraft]',
  '  cluster.size: [3, 5, 7]',
);

test('axes expand to the cartesian product: axes in file order, the first outermost, values in list order', () => {
  const m = expandMatrix(parseExperiment(twoAxes, 'm.yaml'));
  assert.equal(m.points, 6);
  assert.equal(m.runs.length, 12);
  assert.deepEqual(m.runs.map((r) => r.id), [
    'protocol=raft,size=3,rep=0', 'protocol=raft,size=3,rep=1',
    'protocol=raft,size=5,rep=0', 'protocol=raft,size=5,rep=1',
    'protocol=raft,size=7,rep=0', 'protocol=raft,size=7,rep=1',
    'protocol=fastraft,size=3,rep=0', 'protocol=fastraft,size=3,rep=1',
    'protocol=fastraft,size=5,rep=0', 'protocol=fastraft,size=5,rep=1',
    'protocol=fastraft,size=7,rep=0', 'protocol=fastraft,size=7,rep=1',
  ]);
  assert.deepEqual(m.runs.map((r) => r.index), [...Array(12).keys()]);
  assert.deepEqual(m.runs.map((r) => r.point), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
  assert.deepEqual(m.runs.map((r) => r.repetition), [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
  assert.deepEqual(m.runs[3]!.params, { 'cluster.protocol': 'raft', 'cluster.size': 5 });
});

test('each run gets its point substituted into a full spec', () => {
  const m = expandMatrix(parseExperiment(twoAxes, 'm.yaml'));
  for (const r of m.runs) {
    assert.equal(r.spec.cluster.protocol, r.params['cluster.protocol']);
    assert.equal(r.spec.cluster.size, r.params['cluster.size']);
    assert.equal(r.spec.name, 'm');
  }
  const lat = expandMatrix(parseExperiment(yaml('network: { latency: 1ms, loss: 1% }', 'sweep:', '  network.latency: [500us, 5ms]'), 'l.yaml'));
  assert.deepEqual(lat.runs.map((r) => r.spec.network.link.latency), [
    { dist: 'constant', valueUs: 500 },
    { dist: 'constant', valueUs: 5000 },
  ]);
  assert.deepEqual(lat.runs.map((r) => r.spec.network.link.loss), [0.01, 0.01]);
});

test('seeds derive from the experiment seed: per repetition by default (paired runs), per run on request', () => {
  const m = expandMatrix(parseExperiment(twoAxes, 'm.yaml'));
  // Common random numbers: every point of a repetition sees the same seed, so that raft and
  // fastraft (or any two points) are compared on the same schedule.
  assert.deepEqual(m.runs.map((r) => r.seed), m.runs.map((r) => deriveSeed(9, r.repetition)));
  assert.equal(new Set(m.runs.map((r) => r.seed)).size, 2);
  const again = expandMatrix(parseExperiment(twoAxes, 'm.yaml'));
  assert.deepEqual(again.runs.map((r) => [r.id, r.seed]), m.runs.map((r) => [r.id, r.seed]));

  const perRun = expandMatrix(parseExperiment(twoAxes.replace('repeat: 2', 'repeat: 2\nseeds: per_run'), 'm.yaml'));
  assert.deepEqual(perRun.runs.map((r) => r.seed), perRun.runs.map((r) => deriveSeed(9, r.index)));
  assert.equal(new Set(perRun.runs.map((r) => r.seed)).size, perRun.runs.length);
  // Fixed values: a change to deriveSeed or to the matrix order changes every recorded run.
  assert.deepEqual(perRun.runs.slice(0, 3).map((r) => r.seed), [deriveSeed(9, 0), deriveSeed(9, 1), deriveSeed(9, 2)]);
});

test('no sweep: one point, ids by repetition', () => {
  const m = expandMatrix(parseExperiment('repeat: 3\n', 'r.yaml'));
  assert.equal(m.points, 1);
  assert.deepEqual(m.runs.map((r) => r.id), ['rep=0', 'rep=1', 'rep=2']);
  assert.deepEqual(m.runs[0]!.params, {});
});

test('run ids are filesystem-safe, short and unique even for awkward values', () => {
  const spec = parseExperiment(yaml(
    'network: { latency: 1ms }',
    'cluster: { disk: { latency: 1ms } }',
    'sweep:',
    '  network.loss: [0, 0.5%, 1%]',
    // " 5ms" and "5ms" are different values that read the same once made safe.
    '  network.latency: [5ms, " 5ms", { dist: normal, mean: 5ms, stddev: 500us }, { dist: lognormal, mean: 5000us, stddev: 2500us, max: 1000000us }]',
    '  cluster.disk.latency: [1ms, 2ms]',
    '  network.links.1->2.latency: [10ms, 20ms]',
  ), 'ids.yaml');
  const m = expandMatrix(spec);
  assert.equal(m.runs.length, 3 * 4 * 2 * 2);
  const ids = m.runs.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) {
    assert.match(id, /^[A-Za-z0-9][A-Za-z0-9._,=~+-]*$/, id);
    assert.ok(id.length <= 120, id);
  }
  // Axes sharing a last field name are told apart by the one before it.
  assert.equal(ids[0], 'loss=0,network.latency=5ms~0,disk.latency=1ms,1-2.latency=10ms,rep=0');
  assert.ok(ids.includes('loss=0.5pct,network.latency=5ms~1,disk.latency=2ms,1-2.latency=20ms,rep=0'), ids.join('\n'));
  assert.ok(ids.includes('loss=1pct,network.latency=normal-5ms-500us,disk.latency=1ms,1-2.latency=10ms,rep=0'), ids.join('\n'));
  assert.ok(ids.some((id) => id.includes('network.latency=v3,')), 'long values fall back to their position');
  assert.deepEqual(m.runs[0]!.spec.network.overrides.map((o) => [o.from, o.to]), [[1, 2]]);
});

test('every shipped experiment expands, with unique ids and seeds', () => {
  const dir = experimentsDir();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml'))) {
    const spec = parseExperiment(readFileSync(join(dir, f), 'utf8'), f);
    const m = expandMatrix(spec);
    assert.equal(m.runs.length, spec.runCount, f);
    assert.equal(new Set(m.runs.map((r) => r.id)).size, m.runs.length, `${f}: ids unique`);
    // One seed per repetition, shared by every point of it.
    assert.equal(new Set(m.runs.map((r) => r.seed)).size, spec.repeat, `${f}: one seed per repetition`);
  }
});

test('the dry-run table lists every run with its seed and point', () => {
  const lines = formatMatrix(expandMatrix(parseExperiment(twoAxes, 'm.yaml')));
  assert.equal(lines[0], 'm: 6 points x 2 repetitions = 12 runs (mode sim, seed 9, seeds per_repetition)');
  assert.match(lines[1]!, /^#\s+run id\s+seed\s+cluster\.protocol\s+cluster\.size$/);
  assert.equal(lines.length, 2 + 12);
  assert.match(lines[2]!, new RegExp(`^0\\s+protocol=raft,size=3,rep=0\\s+${deriveSeed(9, 0)}\\s+raft\\s+3$`));
});
