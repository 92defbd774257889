import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  ExperimentFileError,
  experimentDefaults,
  formatIssue,
  parseExperiment,
} from '../../src/experiment/index.js';
import { defaultFastConfig } from '../../src/core/fast-config.js';
import { editDistance, parsePath, formatPath, suggest } from '../../src/experiment/paths.js';
import { experimentsDir, issuesOf, yaml } from './helpers.js';

// ---------------------------------------------------------------------------------------------
// Shipped experiments

const shipped = [
  'quickstart.yaml',
  'fast-vs-classic.yaml',
  'contention.yaml',
  'latency-sweep.yaml',
  'cluster-size.yaml',
  'loss-sweep.yaml',
  'leader-crash.yaml',
  'fast-vs-classic-live.yaml',
];

test('every shipped experiment validates, without warnings, and says what question it answers', () => {
  const dir = experimentsDir();
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  for (const f of shipped) assert.ok(files.includes(f), `experiments/${f} is missing`);
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    const spec = parseExperiment(text, f);
    assert.equal(spec.name, f.replace(/\.yaml$/, ''), `${f}: name matches the file`);
    assert.deepEqual(spec.warnings, [], `${f}: warnings`);
    assert.match(text, /^# .*\n#/, `${f}: starts with a comment block`);
    assert.match(text, /Question:/, `${f}: the comment says what question it answers`);
  }
});

test('quickstart is small: two 3-node runs of a few simulated seconds', () => {
  const spec = parseExperiment(readFileSync(join(experimentsDir(), 'quickstart.yaml'), 'utf8'), 'quickstart.yaml');
  assert.equal(spec.mode, 'sim');
  assert.equal(spec.runCount, 2);
  assert.equal(spec.cluster.size, 3);
  assert.ok(spec.stop.kind === 'duration' && spec.stop.durationUs <= 5_000_000);
  assert.deepEqual(spec.sweep, [{ path: 'cluster.protocol', values: ['raft', 'fastraft'] }]);
});

test('shipped experiments say what their names promise', () => {
  const load = (f: string) => parseExperiment(readFileSync(join(experimentsDir(), f), 'utf8'), f);
  const axes = (f: string) => Object.fromEntries(load(f).sweep.map((a) => [a.path, a.values]));
  assert.deepEqual(axes('fast-vs-classic.yaml'), { 'cluster.protocol': ['raft', 'fastraft'], 'cluster.size': [3, 5, 7] });
  const fvc = load('fast-vs-classic.yaml');
  assert.equal(fvc.workload.attach, 'followers');
  assert.deepEqual(fvc.network.link.latency, { dist: 'normal', meanUs: 5000, stddevUs: 500 });
  assert.deepEqual(axes('contention.yaml')['workload.proposers'], [1, 2, 3, 4, 5]);
  assert.deepEqual(axes('latency-sweep.yaml')['network.latency'], ['500us', '1ms', '2ms', '5ms', '10ms', '20ms']);
  assert.deepEqual(axes('cluster-size.yaml')['cluster.size'], [3, 5, 7, 9]);
  assert.deepEqual(axes('loss-sweep.yaml')['network.loss'], [0, '0.5%', '1%', '2%', '5%']);
  const crash = load('leader-crash.yaml');
  assert.deepEqual(crash.faults, [{ atUs: 6_000_000, action: { kind: 'crash', target: { kind: 'leader' }, restartAfterUs: 2_000_000 } }]);
  const live = load('fast-vs-classic-live.yaml');
  assert.equal(live.mode, 'live');
  assert.deepEqual(axes('fast-vs-classic-live.yaml'), {
    'cluster.protocol': ['raft', 'fastraft'],
    'cluster.size': [3, 5],
    'network.latency': ['1ms', '5ms'],
  });
});

// ---------------------------------------------------------------------------------------------
// Defaults and the typed spec

test('a minimal file gets every default, in internal units', () => {
  const spec = parseExperiment('name: tiny\n', 'tiny.yaml');
  assert.equal(spec.name, 'tiny');
  assert.equal(spec.description, '');
  assert.equal(spec.mode, 'sim');
  assert.equal(spec.seed, 1);
  assert.equal(spec.repeat, 1);
  assert.equal(spec.seeds, 'per_repetition');
  assert.deepEqual(spec.stop, { kind: 'duration', durationUs: 10_000_000 });
  assert.equal(spec.warmupUs, 0);
  assert.deepEqual(spec.cluster, {
    protocol: 'raft',
    size: 3,
    storage: 'memory',
    sync: true,
    tickUs: 10_000,
    electionTicks: 10,
    heartbeatTicks: 1,
    preVote: true,
    checkQuorum: true,
    maxInflightMsgs: 512,
    maxSizePerMsgBytes: 1 << 20,
    fast: { ...defaultFastConfig },
    disk: null,
    processing: null,
  });
  assert.deepEqual(spec.network.link.latency, { dist: 'constant', valueUs: 0 });
  assert.deepEqual(spec.workload, {
    loop: { kind: 'open', arrival: 'constant', ratePerSec: 1000 },
    clients: 8,
    attach: 'leader',
    proposers: null,
    valueBytes: 128,
    keys: { dist: 'uniform', count: 1000 },
    conflict: 0,
  });
  assert.deepEqual(spec.faults, []);
  assert.deepEqual(spec.sweep, []);
  assert.equal(spec.runCount, 1);
  assert.equal(experimentDefaults.durationUs, 10_000_000);
});

test('the name defaults to the file name', () => {
  assert.equal(parseExperiment('seed: 2\n', 'some/dir/my-exp.yml').name, 'my-exp');
});

test('every section parses to its typed form', () => {
  const spec = parseExperiment(yaml(
    'name: full',
    'description: every field',
    'mode: live',
    'seed: 42',
    'repeat: 2',
    'seeds: per_repetition',
    'proposals: 5000',
    'timeout: 1m',
    'warmup: 1s',
    'cluster:',
    '  protocol: fastraft',
    '  size: 5',
    '  storage: lmdb',
    '  sync: false',
    '  tick: 5ms',
    '  election_ticks: 20',
    '  heartbeat_ticks: 2',
    '  pre_vote: false',
    '  check_quorum: false',
    '  max_inflight_msgs: 64',
    '  max_size_per_msg: 64KiB',
    '  fast: { enabled: true, window: 128, side_buffer: 16, max_pending: 100, decision_timeout_ticks: 3, retransmit_ticks: 4 }',
    'network:',
    '  latency: { dist: lognormal, mean: 2ms, stddev: 1ms }',
    '  loss: 1%',
    '  links: { "1->2": { latency: 20ms } }',
    'workload:',
    '  mode: closed',
    '  outstanding: 4',
    '  clients: 10',
    '  attach: all',
    '  proposers: 3',
    '  value_bytes: 1KiB',
    '  keys: { count: 5000, dist: hotspot, hot_keys: 2%, hot_share: 80% }',
    '  conflict: 5%',
    'faults:',
    '  - { at: 2s, crash: follower, restart_after: 1s }',
    '  - { at: 3s, restart: all }',
    '  - { at: 4s, pause: 2, resume_after: 500ms }',
    '  - { at: 5s, resume: 2 }',
    '  - { at: 6s, isolate: random, heal_after: 1s }',
    '  - { at: 7s, partition: { groups: [[1, 2], [3, 4, 5]] }, heal_after: 2s }',
    '  - { at: 8s, network: { latency: 20ms, loss: 2% }, revert_after: 1s }',
    '  - { at: 9s, heal: true }',
  ), 'full.yaml');
  assert.equal(spec.mode, 'live');
  assert.equal(spec.seeds, 'per_repetition');
  assert.deepEqual(spec.stop, { kind: 'proposals', count: 5000, timeoutUs: 60_000_000 });
  assert.equal(spec.cluster.maxSizePerMsgBytes, 65536);
  assert.deepEqual(spec.cluster.fast, {
    enabled: true, windowSize: 128, sideBufferSize: 16, maxPendingProposals: 100, decisionTimeoutTicks: 3, retransmitTicks: 4,
  });
  assert.equal(spec.network.link.loss, 0.01);
  assert.deepEqual(spec.network.overrides, [{ from: 1, to: 2, patch: { latency: { dist: 'constant', valueUs: 20_000 } } }]);
  assert.deepEqual(spec.workload.loop, { kind: 'closed', outstanding: 4 });
  assert.deepEqual(spec.workload.keys, { dist: 'hotspot', count: 5000, hotFraction: 0.02, hotShare: 0.8 });
  assert.equal(spec.workload.valueBytes, 1024);
  assert.equal(spec.workload.conflict, 0.05);
  assert.deepEqual(spec.faults.map((f) => f.action), [
    { kind: 'crash', target: { kind: 'follower' }, restartAfterUs: 1_000_000 },
    { kind: 'restart', target: { kind: 'all' } },
    { kind: 'pause', target: { kind: 'node', id: 2 }, resumeAfterUs: 500_000 },
    { kind: 'resume', target: { kind: 'node', id: 2 } },
    { kind: 'isolate', target: { kind: 'random' }, healAfterUs: 1_000_000 },
    { kind: 'partition', partitions: [{ kind: 'groups', groups: [[1, 2], [3, 4, 5]] }], healAfterUs: 2_000_000 },
    { kind: 'network', change: { link: { latency: { dist: 'constant', valueUs: 20_000 }, loss: 0.02 }, overrides: [], partitions: [] }, revertAfterUs: 1_000_000 },
    { kind: 'heal' },
  ]);
  assert.deepEqual(spec.faults.map((f) => f.atUs), [2, 3, 4, 5, 6, 7, 8, 9].map((s) => s * 1_000_000));
});

test('simulator-only costs parse in sim mode', () => {
  const spec = parseExperiment(yaml(
    'cluster:',
    '  disk: { latency: { dist: normal, mean: 2ms, stddev: 200us } }',
    '  processing: { per_message: 20us }',
  ), 'costs.yaml');
  assert.deepEqual(spec.cluster.disk, { latency: { dist: 'normal', meanUs: 2000, stddevUs: 200 } });
  assert.deepEqual(spec.cluster.processing, { perMessageUs: 20 });
});

// ---------------------------------------------------------------------------------------------
// Broken files: each produces the expected issue at the expected place

test('unknown top-level field, with a suggestion, at the key', () => {
  assert.deepEqual(issuesOf(yaml('name: x', 'worklaod:', '  rate: 10/s')), [
    '2:1 worklaod: unknown field "worklaod" (did you mean "workload"?)',
  ]);
});

test('a unit error points at the value: the DESIGN example', () => {
  const text = yaml('name: fast-vs-classic', 'workload:', '  mode: open', '  rate: fast');
  assert.deepEqual(issuesOf(text, 'fast-vs-classic.yaml'), ['4:9 workload.rate: expected a rate like 1000/s or 50/ms, got "fast"']);
  try {
    parseExperiment(text, 'fast-vs-classic.yaml');
  } catch (err) {
    assert.ok(err instanceof ExperimentFileError);
    assert.equal(err.message, 'fast-vs-classic.yaml:4:9 workload.rate: expected a rate like 1000/s or 50/ms, got "fast"');
    assert.equal(formatIssue(err.issues[0]!), err.message);
  }
});

test('a duration without a unit is refused with the likely meaning', () => {
  assert.deepEqual(issuesOf(yaml('cluster:', '  tick: 10')), [
    '2:9 cluster.tick: expected a duration like 500us, 5ms or 10s; a bare number needs a unit, got 10 (did you mean 10ms?)',
  ]);
});

test('unknown fields inside the shared network model get a suggestion too', () => {
  assert.deepEqual(issuesOf(yaml('network:', '  laency: 5ms', '  latency: { dist: normal, mean: 5ms, stdev: 1ms }')), [
    '2:3 network.laency: unknown field "laency" (did you mean "latency"?)',
    '3:12 network.latency.stddev: required for dist normal: expected a duration like 500us',
    '3:39 network.latency.stdev: unknown field "stdev" (did you mean "stddev"?)',
  ]);
});

test('a name outside a fixed set gets a suggestion', () => {
  assert.deepEqual(issuesOf(yaml('cluster: { protocol: fastraf }', 'workload: { attach: folowers }')), [
    '1:22 cluster.protocol: expected one of raft, fastraft, got "fastraf" (did you mean "fastraft"?)',
    '2:21 workload.attach: expected one of leader, followers, random, all, got "folowers" (did you mean "followers"?)',
  ]);
});

test('a fault naming node 7 in a 5-node cluster is refused', () => {
  assert.deepEqual(issuesOf(yaml(
    'cluster: { size: 5 }',
    'faults:',
    '  - { at: 6s, crash: 7, restart_after: 2s }',
    '  - { at: 7s, partition: { groups: [[1, 2], [3, 9]] } }',
  )), [
    '3:22 faults[0].crash: node 7 does not exist in a 5-node cluster (ids 1 to 5)',
    '4:49 faults[1].partition.groups[1][1]: node 9 does not exist in a 5-node cluster (ids 1 to 5)',
  ]);
});

test('node ids in the network block must exist', () => {
  assert.deepEqual(issuesOf(yaml(
    'cluster: { size: 3 }',
    'network:',
    '  links: { "1->4": { latency: 20ms } }',
    '  partitions: [ { isolate: 5 } ]',
  )), [
    '3:12 network.links["1->4"]: node 4 does not exist in a 3-node cluster (ids 1 to 3)',
    '4:28 network.partitions[0].isolate: node 5 does not exist in a 3-node cluster (ids 1 to 3)',
  ]);
});

test('a warm-up as long as the run is refused', () => {
  assert.deepEqual(issuesOf(yaml('duration: 2s', 'warmup: 2s')), [
    '2:9 warmup: the warm-up (2s) must be shorter than the duration (2s), or nothing is measured',
  ]);
});

test('closed loop with a rate is refused at the rate', () => {
  assert.deepEqual(issuesOf(yaml('workload:', '  mode: closed', '  rate: 1000/s')), [
    '3:3 workload.rate: rate is for open-loop workloads; every run here is closed-loop (each client sends when an answer comes back; set outstanding)',
  ]);
});

test('more proposers than nodes, or than clients, is refused', () => {
  assert.deepEqual(issuesOf(yaml('cluster: { size: 3 }', 'workload: { attach: all, clients: 2, proposers: 4 }')), [
    '2:49 workload.proposers: 4 proposers on different nodes need at least 4 nodes; the cluster has 3',
    '2:49 workload.proposers: 4 proposing nodes need at least 4 clients (one per node); there are 2',
  ]);
  assert.deepEqual(issuesOf(yaml('cluster: { size: 5 }', 'workload: { attach: leader, proposers: 2 }')), [
    '2:40 workload.proposers: attach: leader puts every client on the leader, so there is 1 proposer, not 2 (use attach: all or followers)',
  ]);
});

test('Fast Raft options when every run is raft are refused; with a fastraft run they are fine', () => {
  assert.deepEqual(issuesOf(yaml('cluster:', '  protocol: raft', '  fast: { window: 64 }')), [
    '3:3 cluster.fast: Fast Raft options, but every run uses protocol raft, which has no fast track',
  ]);
  parseExperiment(yaml('cluster:', '  protocol: raft', '  fast: { window: 64 }', 'sweep:', '  cluster.protocol: [raft, fastraft]'), 'ok.yaml');
});

test('YAML syntax errors are reported with line and column', () => {
  const issues = issuesOf(yaml('name: x', 'cluster:', '  size: [3, 5', 'workload: {}'));
  assert.equal(issues.length >= 1, true);
  assert.match(issues[0]!, /^\d+:\d+ : YAML: /);
  assert.deepEqual(issuesOf(yaml('name: x', 'seed: 1', 'seed: 2')), ['3:1 : YAML: Map keys must be unique']);
  assert.deepEqual(issuesOf(yaml('name: x', '\tseed: 1')).length, 1);
});

test('a file that is not a mapping, or empty, is refused', () => {
  assert.deepEqual(issuesOf(''), ['1:1 : expected a mapping of experiment settings (name, cluster, workload, ...), got an empty file']);
  assert.deepEqual(issuesOf('- a\n- b\n'), ['1:1 : expected a mapping of experiment settings (name, cluster, workload, ...), got a list']);
});

test('sweep keys are field paths checked against the schema', () => {
  assert.deepEqual(issuesOf(yaml(
    'sweep:',
    '  cluster.sise: [3, 5]',
    '  mode: [sim, live]',
    '  cluster.size.max: [1]',
    '  workload.rate: 1000/s',
  )), [
    '2:3 sweep["cluster.sise"]: unknown field "sise" in "cluster.sise" (did you mean "cluster.size"?)',
    '3:3 sweep.mode: mode cannot be swept: one experiment runs on one driver (write a second file for mode: live)',
    '4:3 sweep["cluster.size.max"]: cluster.size holds a value, not fields: it has no field "max"',
    '5:18 sweep["workload.rate"]: expected a list of values like [3, 5, 7], got "1000/s" (a single value belongs at the field itself)',
  ]);
});

test('each sweep value is validated as if written at its field, at its list item', () => {
  assert.deepEqual(issuesOf(yaml(
    'sweep:',
    '  network.latency: [1ms, 5, 2ms]',
    '  cluster.size: [3, 0]',
    '  network.loss:',
    '    - 1%',
    '    - 1%',
  )), [
    '2:26 sweep["network.latency"][1]: expected a duration like 500us, 5ms or 10s; a bare number needs a unit, got 5 (did you mean 5ms?)',
    '3:21 sweep["cluster.size"][1]: expected a whole number from 1 to 255, got 0',
    '6:7 sweep["network.loss"][1]: repeats item 0 ("1%"): each value of an axis must be different',
  ]);
});

test('a mapping swept as a whole is checked field by field inside its item', () => {
  assert.deepEqual(issuesOf(yaml(
    'sweep:',
    '  network.latency:',
    '    - 5ms',
    '    - { dist: normal, mean: 5ms, stdev: 1ms }',
  )), [
    '4:7 sweep["network.latency"][1].stddev: required for dist normal: expected a duration like 500us',
    '4:34 sweep["network.latency"][1].stdev: unknown field "stdev" (did you mean "stddev"?)',
  ]);
});

test('a combination broken only at some sweep points names those points', () => {
  assert.deepEqual(issuesOf(yaml(
    'faults:',
    '  - { at: 6s, crash: 7, restart_after: 2s }',
    'workload: { attach: all, clients: 8 }',
    'sweep:',
    '  cluster.protocol: [raft, fastraft]',
    '  cluster.size: [3, 5, 7]',
    '  workload.proposers: [1, 4]',
  )), [
    '2:22 faults[0].crash: node 7 does not exist in the cluster (when cluster.size is 3 or 5)',
    '7:27 sweep["workload.proposers"][1]: 4 proposers on different nodes need at least 4 nodes; the cluster has 3 (when cluster.size is 3)',
  ]);
});

test('fault shapes: one action each, its own undo field, a time within the run', () => {
  assert.deepEqual(issuesOf(yaml(
    'duration: 10s',
    'faults:',
    '  - { at: 3s, crash: leader, pause: 2 }',
    '  - { at: 4s, pause: 2, restart_after: 1s }',
    '  - { at: 12s, isolate: leedr }',
    '  - { crash: leader }',
    '  - { at: 1s }',
    '  - { at: 1s, heal: yes }',
    '  - { at: 11s, heal: true }',
  )), [
    '3:37 faults[0].pause: one action per fault: this one has crash and pause (write one fault for each)',
    '4:25 faults[1].restart_after: restart_after goes with crash, not with pause',
    '5:25 faults[2].isolate: expected leader, follower, random or a node id, got "leedr" (did you mean "leader"?)',
    '6:5 faults[3].at: required: when the fault fires, like 6s (from the start of the run)',
    '7:5 faults[4]: a fault needs one action: crash, restart, pause, resume, isolate, partition, network, heal',
    '8:21 faults[5].heal: write heal: true, got "yes"',
    '9:11 faults[6].at: 11s is not before the end of the run (duration 10s): the fault would never fire',
  ]);
});

test('live mode refuses the simulator\'s modelled costs', () => {
  assert.deepEqual(issuesOf(yaml('mode: live', 'cluster:', '  disk: { latency: 2ms }', '  processing: { per_message: 20us }')), [
    '3:3 cluster.disk: a modelled cost exists only in the simulator (mode: sim); a live run pays the real one',
    '4:3 cluster.processing: a modelled cost exists only in the simulator (mode: sim); a live run pays the real one',
  ]);
});

test('cluster timing, seeds and the size of the matrix are bounded', () => {
  assert.deepEqual(issuesOf(yaml('seed: -1', 'repeat: 0', 'cluster: { election_ticks: 2, heartbeat_ticks: 2 }')), [
    '1:7 seed: expected a whole number from 0 to 4294967295, got -1',
    '2:9 repeat: expected a whole number from 1 to 1000, got 0',
    '3:28 cluster.election_ticks: must be greater than heartbeat_ticks (2), or followers campaign between two heartbeats',
  ]);
  assert.deepEqual(issuesOf(yaml('repeat: 1000', 'sweep:', '  cluster.size: [3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23]')), [
    '3:3 sweep: the matrix has 11000 runs (11 sweep points x 1000 repetitions); at most 10000',
  ]);
});

test('both duration and proposals, or a timeout without proposals, are refused', () => {
  assert.deepEqual(issuesOf(yaml('duration: 10s', 'proposals: 100', 'timeout: 1m')), [
    '2:12 proposals: give either duration or proposals, not both: a run ends at a time or after a number of proposals',
  ]);
  assert.deepEqual(issuesOf(yaml('duration: 10s', 'timeout: 1m')), [
    '2:1 timeout: timeout bounds a run that ends after a number of proposals; every run here ends at its duration',
  ]);
});

test('every problem of a file is reported at once, in file order', () => {
  const issues = issuesOf(yaml(
    'name: broken',
    'duration: 10s',
    'warmup: 12s',
    'cluster:',
    '  size: 5',
    '  tick: 10',
    '  elction_ticks: 10',
    'network:',
    '  loss: 150%',
    'workload:',
    '  rate: fast',
    'faults:',
    '  - { at: 6s, crash: 7 }',
    'sweep:',
    '  cluster.protocol: [raft, fastraftt]',
  ));
  assert.deepEqual(issues.map((i) => i.split(' ')[0] + ' ' + i.split(' ')[1]), [
    '3:9 warmup:',
    '6:9 cluster.tick:',
    '7:3 cluster.elction_ticks:',
    '9:9 network.loss:',
    '11:9 workload.rate:',
    '13:22 faults[0].crash:',
    '15:28 sweep["cluster.protocol"][1]:',
  ]);
  assert.match(issues[6]!, /did you mean "fastraft"/);
});

test('warnings flag legal but doubtful settings without refusing the file', () => {
  const spec = parseExperiment(yaml(
    'duration: 10s',
    'warmup: 2s',
    'faults:',
    '  - { at: 1s, crash: leader }',
    '  - { at: 9s, pause: 1, resume_after: 2s }',
  ), 'w.yaml');
  assert.deepEqual(spec.warnings.map(formatIssue), [
    'w.yaml:4:11 faults[0].at: fires during the warm-up (2s), which is not measured',
    'w.yaml:5:39 faults[1].resume_after: 9s + 2s is past the end of the run (duration 10s): it is never undone',
  ]);
});

// ---------------------------------------------------------------------------------------------
// Paths and suggestions

test('paths round-trip between text and segments', () => {
  for (const p of ['workload.rate', 'faults[0].crash', 'network.links["1->2"].latency', 'sweep["cluster.size"][2]', 'network.partitions[0].groups[1][0]']) {
    const segs = parsePath(p);
    assert.ok(segs !== null, p);
    assert.equal(formatPath(segs), p);
  }
  assert.deepEqual(parsePath('sweep["cluster.size"][2]'), ['sweep', 'cluster.size', 2]);
});

test('edit distance and suggestions', () => {
  assert.equal(editDistance('laency', 'latency'), 1);
  assert.equal(editDistance('sizf', 'size'), 1);
  assert.equal(editDistance('ab', 'ba'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(suggest('laency', ['latency', 'loss', 'jitter']), 'latency');
  assert.equal(suggest('Latency', ['latency']), 'latency');
  assert.equal(suggest('heartbeat', ['heartbeat_ticks', 'election_ticks']), 'heartbeat_ticks');
  assert.equal(suggest('rate', ['mode', 'clients']), undefined);
  assert.equal(suggest('zzzzzz', ['latency']), undefined);
});
