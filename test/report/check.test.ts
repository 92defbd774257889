// `frb check`, the regression gate: it passes on an identical copy, fails on a doctored slower
// copy (saying which metric, by how much and where), tolerates changes within the tolerance, and
// reports runs that exist on one side only. Through the functions and through the CLI's exit code.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { checkRegression, loadResults, parseMetricList, parseTolerance } from '../../src/report/index.js';
import { doctorSlower, tempDir, writeFixture } from './fixtures.js';

const frb = fileURLToPath(new URL('../../src/cli/frb.js', import.meta.url));

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [frb, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('frb check', () => {
  let root: string;
  let baseline: string;
  let identical: string;
  let slower: string;
  let slightly: string;
  before(() => {
    root = tempDir();
    baseline = writeFixture(join(root, 'baseline'), { latencies: ['1ms', '5ms'], repeat: 2, durationSec: 3 });
    identical = join(root, 'identical');
    cpSync(baseline, identical, { recursive: true });
    slower = doctorSlower(baseline, join(root, 'slower'), 1.3);
    slightly = doctorSlower(baseline, join(root, 'slightly'), 1.05);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  const metrics = parseMetricList('p50,p99,throughput');

  test('an identical copy passes', () => {
    const r = checkRegression(loadResults(identical), loadResults(baseline), { tolerancePct: 10, metrics });
    assert.equal(r.ok, true, r.reason);
    assert.equal(r.compared, 4);
    assert.equal(r.findings.length, 12);
    assert.ok(r.findings.every((f) => f.changePct === 0));
  });

  test('a copy 30% slower fails on every metric of every run group, and says where', () => {
    const r = checkRegression(loadResults(slower), loadResults(baseline), { tolerancePct: 10, metrics });
    assert.equal(r.ok, false);
    assert.equal(r.regressions.length, 12);
    const p99 = r.regressions.find((f) => f.metric === 'p99' && f.where === 'network.latency=5ms · fastraft')!;
    assert.ok(Math.abs(p99.changePct - 30) < 0.5, `p99 +${p99.changePct}%`);
    const tput = r.regressions.find((f) => f.metric === 'throughput')!;
    assert.ok(tput.changePct < -20, 'throughput fell');
    assert.ok(tput.worsePct > 20, 'and falling is worse');
    assert.deepEqual(p99.currentRuns.length, 2, 'the repeats are named');
  });

  test('a copy 5% slower passes a 10% tolerance and fails a 2% one', () => {
    const current = loadResults(slightly);
    const base = loadResults(baseline);
    assert.equal(checkRegression(current, base, { tolerancePct: 10, metrics }).ok, true);
    assert.equal(checkRegression(current, base, { tolerancePct: 2, metrics }).ok, false);
  });

  test('faster is never a regression', () => {
    const r = checkRegression(loadResults(baseline), loadResults(slower), { tolerancePct: 0, metrics });
    assert.equal(r.ok, true, r.reason);
  });

  test('run groups on one side only are reported, and can fail the check', () => {
    const partial = writeFixture(join(root, 'partial'), { latencies: ['1ms', '20ms'], repeat: 2, durationSec: 3 });
    const r = checkRegression(loadResults(partial), loadResults(baseline), { tolerancePct: 10, metrics });
    assert.equal(r.compared, 2);
    assert.equal(r.onlyInBaseline.length, 2);
    assert.equal(r.onlyInCurrent.length, 2);
    assert.match(r.onlyInBaseline.join('\n'), /network\.latency=5ms · raft/);
    assert.match(r.onlyInCurrent.join('\n'), /network\.latency=20ms · fastraft/);
    assert.equal(r.ok, true, 'reported, not failed, by default');
    assert.equal(checkRegression(loadResults(partial), loadResults(baseline), { tolerancePct: 10, metrics, failOnMissing: true }).ok, false);
  });

  test('nothing in common fails', () => {
    const other = writeFixture(join(root, 'other'), { latencies: ['50ms'], repeat: 1, durationSec: 2 });
    const r = checkRegression(loadResults(other), loadResults(baseline), { tolerancePct: 10, metrics });
    assert.equal(r.ok, false);
    assert.match(r.reason, /no run of the current results matches/);
  });

  test('tolerances and metric names', () => {
    assert.equal(parseTolerance('10%'), 10);
    assert.equal(parseTolerance('2.5'), 2.5);
    assert.throws(() => parseTolerance('ten'), /percentage/);
    assert.deepEqual(
      parseMetricList('p50, p999,tput').map((m) => m.name),
      ['p50', 'p99.9', 'throughput'],
    );
    assert.throws(() => parseMetricList('p42'), /unknown metric "p42"; known: p50/);
  });

  test('CLI: exit 0 on the identical copy, 1 on the slower one with a line per regression', () => {
    const ok = run(['check', identical, '--baseline', baseline]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^PASS: /m);
    const bad = run(['check', slower, '--baseline', baseline, '--tolerance', '10%']);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /^REGRESSION p99 \+30\.\d% \([0-9.]+ ms -> [0-9.]+ ms, lower is better\) at network\.latency=1ms · raft/m);
    assert.match(bad.stdout, /^FAIL: 12 regressions beyond 10%/m);
  });

  test('CLI: --json for machines', () => {
    const bad = run(['check', slower, '--baseline', baseline, '--json', '--metrics', 'p99']);
    assert.equal(bad.code, 1);
    const j = JSON.parse(bad.stdout) as { ok: boolean; regressions: Array<{ metric: string; where: string; changePct: number }> };
    assert.equal(j.ok, false);
    assert.equal(j.regressions.length, 4);
    assert.ok(j.regressions.every((f) => f.metric === 'p99'));
  });

  test('CLI: a missing folder is a one-line error, not a stack trace', () => {
    const r = run(['check', join(root, 'missing'), '--baseline', baseline]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^frb: .*missing: not a folder/);
    const noBaseline = run(['check', identical]);
    assert.notEqual(noBaseline.code, 0);
    assert.match(noBaseline.stderr, /--baseline/);
  });
});
