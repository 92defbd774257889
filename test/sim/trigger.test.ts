// Trigger faults: faults aimed at a moment (a leader's fast commit, its commit of a configuration
// change) rather than a time, fired at once inside that moment — after the leader's Ready is
// durable, before its messages leave — or within a bound after it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeStatus, SimCluster, type FaultEventHandler, type SimClusterOptions } from '../../src/sim/sim-cluster.js';
import { Nemesis, describeFault, parseFaultScript, type ScheduledFault } from '../../src/sim/nemesis.js';
import { MemoryTraceSink } from '../../src/sim/trace.js';
import { parseNetworkSpec } from '../../src/faults/index.js';
import { SpecError } from '../../src/faults/spec-error.js';
import { StateType } from '../../src/core/ready.js';

function cluster(o: Partial<SimClusterOptions> = {}): SimCluster {
  return new SimCluster({ network: parseNetworkSpec({ latency: '1ms' }), trace: new MemoryTraceSink(), ...o });
}

function faultsOf(c: SimCluster): string[] {
  return (c.options.trace as MemoryTraceSink).records.filter((r) => r.ev === 'fault').map((r) => `${String(r.fault)}:${String(r.node)}`);
}

// Wraps the nemesis so that a test sees each moment before and after the nemesis acts on it.
function watch(c: SimCluster, before: (kind: 'fast' | 'conf', id: number) => void, after: (kind: 'fast' | 'conf', id: number) => void): void {
  const inner = c.faultHandler!;
  const h: FaultEventHandler = {
    onFault: (arg, nowUs) => inner.onFault(arg, nowUs),
    onLeaderElected: (id, term, nowUs) => inner.onLeaderElected(id, term, nowUs),
    onFastCommit: (id, term, nowUs) => {
      before('fast', id);
      inner.onFastCommit(id, term, nowUs);
      after('fast', id);
    },
    onConfCommit: (id, term, removed, nowUs) => {
      before('conf', id);
      inner.onConfCommit(id, term, removed, nowUs);
      after('conf', id);
    },
  };
  c.faultHandler = h;
}

test('trigger scripts: defaults, lists of actions, the removed target, and their descriptions', () => {
  const [one, two] = parseFaultScript([
    { at: '1s', trigger: 'fast-commit', then: { crash: 'leader', restart_after: '500ms' }, for: '2s' },
    {
      at: '2s',
      trigger: 'conf-commit',
      then: [{ isolate: 'removed', heal_after: '30ms' }, { cut: 'leader->removed', for: '40ms' }, { skew: -0.5, target: 'follower', for: '300ms' }],
      within: '2ms',
      times: 'all',
      probability: '50%',
    },
  ]) as [ScheduledFault, ScheduledFault];
  assert.deepEqual(one.action, {
    kind: 'trigger',
    on: 'fast-commit',
    then: [{ kind: 'crash', target: 'leader', durationUs: 500_000 }],
    probability: 1,
    delayMaxUs: 0,
    times: 1,
    durationUs: 2_000_000,
  });
  assert.deepEqual(two.action, {
    kind: 'trigger',
    on: 'conf-commit',
    then: [
      { kind: 'isolate', target: 'removed', durationUs: 30_000 },
      { kind: 'cut', from: 'leader', to: 'removed', durationUs: 40_000 },
      { kind: 'skew', target: 'follower', skew: -0.5, durationUs: 300_000 },
    ],
    probability: 0.5,
    delayMaxUs: 2000,
    times: null,
    durationUs: null,
  });
  assert.equal(describeFault(one), '   1.000s on fast-commit (p 1, at once, at most 1 time): crash leader (restart after 500.0ms) (stop after 2.000s)');
  assert.equal(
    describeFault(two),
    '   2.000s on conf-commit (p 0.5, within 2.0ms, every time): isolate removed (heal after 30.0ms); cut leader->removed (heal after 40.0ms); skew -0.5 on follower (restore after 300.0ms)',
  );
});

test('trigger scripts report every problem with its path', () => {
  assert.throws(
    () =>
      parseFaultScript([
        { at: '1s', trigger: 'election', then: { crash: 'leader' } },
        { at: '1s', trigger: 'fast-commit' },
        { at: '1s', trigger: 'fast-commit', then: [{ crash: 'leader' }, { trigger: 'fast-commit', then: { crash: 'leader' } }] },
        { at: '1s', trigger: 'fast-commit', then: { crash: 'leader', at: '2s' }, times: 0 },
      ]),
    (err: unknown) => {
      assert.ok(err instanceof SpecError);
      const paths = err.issues.map((i) => i.path);
      for (const p of ['faults[0].trigger', 'faults[1].then', 'faults[2].then[1]', 'faults[2].then[1].trigger', 'faults[3].then.at', 'faults[3].times']) {
        assert.ok(paths.includes(p), `${p} in ${paths.join(',')}`);
      }
      return true;
    },
  );
});

test('a fast-commit trigger crashes the leader inside the moment: its commit is durable, nobody else has it', () => {
  const c = cluster({ protocol: 'fastraft', size: 5, seed: 21, diskLatency: { dist: 'constant', valueUs: 200 } });
  c.addClients({ count: 5, attach: 'all', opsMax: 200, keys: 2, thinkUs: 1000 });
  new Nemesis(c, parseFaultScript([{ at: '300ms', trigger: 'fast-commit', then: { crash: 'leader', restart_after: '200ms' }, for: '1s' }]), 21);
  const seen: string[] = [];
  let leader = 0;
  let leaderCommit = 0;
  let othersCommitMax = 0;
  watch(
    c,
    (kind, id) => {
      if (kind !== 'fast' || leader !== 0 || c.nowUs <= 300_000) return;
      leader = id;
      leaderCommit = c.node(id).storage.hardState.commit;
      for (const n of c.nodeIds()) if (n !== id && c.node(n).rn !== null) othersCommitMax = Math.max(othersCommitMax, c.node(n).rn!.raft.raftLog.committed);
    },
    (kind, id) => {
      if (c.nowUs > 300_000) seen.push(`${kind}:${id}:${c.node(id).statusName}`);
    },
  );
  assert.ok(c.runUntil(2_000_000), c.violation?.message);
  assert.ok(leader !== 0, 'a fast commit happened while the trigger was armed');
  assert.equal(seen[0], `fast:${leader}:down`, 'the first moment after arming crashed its leader');
  assert.ok(leaderCommit > othersCommitMax, `the leader's durable commit ${leaderCommit} is ahead of everyone (${othersCommitMax})`);
  const crashes = faultsOf(c).filter((f) => f.startsWith('crash:'));
  assert.deepEqual(crashes, [`crash:${leader}`], 'at most once: times defaults to 1');
  assert.ok(faultsOf(c).includes(`restart:${leader}`));
  c.clients.stopAll(c.nowUs);
  assert.ok(c.runUntil(4_000_000), c.violation?.message);
});

test('a trigger with a delay fires after the moment, not inside it', () => {
  const c = cluster({ protocol: 'fastraft', size: 5, seed: 22 });
  c.addClients({ count: 5, attach: 'all', opsMax: 200, keys: 2, thinkUs: 1000 });
  new Nemesis(c, parseFaultScript([{ at: '300ms', trigger: 'fast-commit', then: { isolate: 'leader', heal_after: '50ms' }, within: '3ms' }]), 22);
  const statuses: string[] = [];
  watch(
    c,
    () => undefined,
    (kind, id) => statuses.push(`${kind}:${c.node(id).rn!.raft.state === StateType.StateLeader ? 'leader' : 'not'}`),
  );
  assert.ok(c.runUntil(1_500_000), c.violation?.message);
  const records = (c.options.trace as MemoryTraceSink).records;
  const armed = records.find((r) => r.ev === 'fault' && r.fault === 'trigger-fast-commit')!;
  const isolated = records.find((r) => r.ev === 'fault' && r.fault === 'isolate');
  assert.ok(isolated !== undefined, 'fired');
  assert.ok((isolated.t as number) > (armed.t as number));
  assert.ok(statuses.length > 0 && statuses[0] === 'fast:leader', 'the leader was still running right after its moment');
});

test('a conf-commit trigger cuts the removed member off before it learns that its removal committed', () => {
  const c = cluster({ protocol: 'raft', size: 5, seed: 23, removedStopDelayUs: 2_000_000 });
  c.addClients({ count: 3, opsMax: 200, keys: 2, thinkUs: 1000 });
  new Nemesis(
    c,
    parseFaultScript([
      { at: '500ms', remove_node: 5 },
      { at: '500ms', trigger: 'conf-commit', then: [{ isolate: 'removed', heal_after: '300ms' }], for: '200ms' },
    ]),
    23,
  );
  let leader = 0;
  watch(
    c,
    (kind, id) => {
      if (kind === 'conf') leader = id;
    },
    () => undefined,
  );
  assert.ok(c.runUntil(700_000), c.violation?.message);
  assert.ok(leader !== 0 && leader !== 5);
  assert.ok(faultsOf(c).includes('isolate:5'), faultsOf(c).join(' '));
  assert.deepEqual([...c.node(leader).rn!.raft.trk.config.voters.ids()].sort(), [1, 2, 3, 4]);
  assert.deepEqual([...c.node(5).rn!.raft.trk.config.voters.ids()].sort(), [1, 2, 3, 4, 5], 'node 5 never heard that its removal committed');
  assert.equal(c.node(5).status, NodeStatus.Up, 'removed members linger for removedStopDelayUs');
});
