// The CI regression gate (bench/ci/gate.ts) bites: it passes a build equal to its baseline and
// fails one that is slower.
//   - sim half: a baseline made from the gate's experiment passes the same experiment exactly and
//     fails it once every message costs more simulated processing time (exit 1, naming the
//     simulated latency that moved); the comparison itself finds a doctored field and nothing in a
//     copy;
//   - live half: the current build with an injected slowdown (FRB_SLOWDOWN_US_PER_MSG, CPU per
//     peer message in the current build's nodes only) fails against the same build without it.
// Through the compiled gate's command line and exit code, as .ci/run runs it.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { compareDeterministic, diffJson } from '../../bench/ci/sim-gate.js';

const repoDir = fileURLToPath(new URL('../../../', import.meta.url));
const gate = join(repoDir, 'dist', 'bench', 'ci', 'gate.js');

interface GateRun {
  code: number | null;
  out: string;
  verdict: { gate: string; sim: { status: string; differences: number } | null; live: { status: string; ratios: Array<{ metric: string; changePct: number }> } | null };
}

function runGate(args: string[], env: Record<string, string> = {}, timeoutMs = 180_000): GateRun {
  const r = spawnSync(process.execPath, [gate, ...args], { cwd: repoDir, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, ...env } });
  const out = `${r.stdout}${r.stderr}`;
  const last = r.stdout.trim().split('\n').pop() ?? '';
  let verdict: GateRun['verdict'];
  try {
    verdict = JSON.parse(last) as GateRun['verdict'];
  } catch {
    throw new Error(`the gate printed no JSON last line (exit ${r.status}):\n${out}`);
  }
  return { code: r.status, out, verdict };
}

// A smaller copy of the gate's sim experiment (3 nodes only, 2 simulated seconds), so that the
// test costs a few seconds.
function smallSimExperiment(perMessage: string): string {
  const text = readFileSync(join(repoDir, 'bench', 'ci', 'sim-gate.yaml'), 'utf8');
  const out = text
    .replace('duration: 3s', 'duration: 2s')
    .replace('warmup: 1s', 'warmup: 500ms')
    .replace('per_message: 20us', `per_message: ${perMessage}`)
    .replace('cluster.size: [3, 5]', 'cluster.size: [3]');
  assert.notEqual(out, text);
  return out;
}

describe('bench/ci gate: sim half', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'frb-gate-test-'));
    writeFileSync(join(dir, 'sim.yaml'), smallSimExperiment('20us'));
    writeFileSync(join(dir, 'sim-slow.yaml'), smallSimExperiment('60us'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a baseline made from a build passes the same build, exactly; a slower one fails', () => {
    const baseline = join(dir, 'baseline');
    const made = runGate(['--sim-only', '--update-baseline', '--experiment', join(dir, 'sim.yaml'), '--baseline', baseline]);
    assert.equal(made.code, 0, made.out);
    assert.equal(made.verdict.sim?.status, 'updated');

    const same = runGate(['--sim-only', '--experiment', join(dir, 'sim.yaml'), '--baseline', baseline]);
    assert.equal(same.code, 0, same.out);
    assert.equal(same.verdict.gate, 'pass');
    assert.equal(same.verdict.sim?.differences, 0);
    assert.match(same.out, /PASS: 2 runs equal to the baseline exactly/);

    // 60us instead of 20us of processing per message: every commit takes longer in virtual time.
    const slow = runGate(['--sim-only', '--experiment', join(dir, 'sim-slow.yaml'), '--baseline', baseline]);
    assert.equal(slow.code, 1, slow.out);
    assert.equal(slow.verdict.gate, 'fail');
    assert.equal(slow.verdict.sim?.status, 'fail');
    const p50 = /protocol=raft,size=3,rep=0 summary\.json commitLatency\.p50Us: (\d+) -> (\d+)/.exec(slow.out);
    assert.ok(p50 !== null, `the raft p50 difference is named:\n${slow.out}`);
    assert.ok(Number(p50[2]) > Number(p50[1]), 'and it went up');
    assert.match(slow.out, /regenerate the baseline: npm run bench:ci -- --update-baseline/);
  });

  test('the comparison names a doctored field and finds nothing in a copy', () => {
    const committed = join(repoDir, 'bench', 'baselines', 'sim-gate');
    const copy = join(dir, 'copy');
    cpSync(committed, copy, { recursive: true });
    assert.deepEqual(compareDeterministic(committed, copy), []);
    const summaryFile = join(copy, 'runs', 'protocol=raft,size=3,rep=0', 'summary.json');
    const s = JSON.parse(readFileSync(summaryFile, 'utf8')) as { messages: { perCommit: number } };
    s.messages.perCommit += 0.001;
    writeFileSync(summaryFile, JSON.stringify(s, null, 2));
    const diffs = compareDeterministic(committed, copy);
    assert.equal(diffs.length, 1);
    assert.equal(diffs[0]!.path, 'messages.perCommit');
    assert.equal(diffs[0]!.run, 'protocol=raft,size=3,rep=0');
    rmSync(join(copy, 'runs', 'protocol=fastraft,size=5,rep=0'), { recursive: true });
    assert.ok(compareDeterministic(committed, copy).some((d) => d.run === 'protocol=fastraft,size=5,rep=0' && d.current === 'missing'));
  });

  test('diffJson lists leaf paths both ways', () => {
    const out: Array<{ path: string; baseline: string; current: string }> = [];
    diffJson({ a: 1, b: { c: [1, 2] }, d: 'x' }, { a: 1, b: { c: [1, 3] }, e: true }, '', out);
    assert.deepEqual(
      out.map((d) => `${d.path}:${d.baseline}->${d.current}`),
      ['b.c.1:2->3', 'd:"x"->(absent)', 'e:(absent)->true'],
    );
  });
});

describe('bench/ci gate: live half', { skip: process.env['FRB_GATE_LIVE'] === '0' ? 'FRB_GATE_LIVE=0' : false }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'frb-gate-live-test-'));
    // The gate's live experiment, shortened to one protocol and a few seconds.
    const text = readFileSync(join(repoDir, 'bench', 'ci', 'live-gate.yaml'), 'utf8')
      .replace(/^duration: .*$/m, 'duration: 3s')
      .replace(/^warmup: .*$/m, 'warmup: 1s')
      .replace(/^sweep:\n(?:  .*\n?)*/m, '');
    writeFileSync(join(dir, 'live.yaml'), text);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the current build with an injected slowdown per message fails against the same build without it', () => {
    // Baseline: this very build (no worktree to build); current: the same with 1.5 ms of CPU per
    // peer message, several times the work a commit costs, so that no amount of machine noise
    // can hide it. One round (A B), then one confirmation round (B A).
    const r = runGate(
      ['--live-only', '--baseline-build', '.', '--rounds', '1', '--confirm-rounds', '1', '--live-experiment', join(dir, 'live.yaml'), '--out', join(dir, 'results')],
      { FRB_SLOWDOWN_US_PER_MSG: '1500' },
    );
    assert.equal(r.verdict.live?.status, 'fail', r.out);
    assert.equal(r.code, 1, r.out);
    assert.equal(r.verdict.gate, 'fail');
    assert.match(r.out, /with FRB_SLOWDOWN_US_PER_MSG=1500 \(injected slowdown\)/);
    assert.match(r.out, /REGRESSION (p50|throughput)/);
    // The first round failed, the confirmation round was run, and the regression persisted.
    assert.match(r.out, /confirming with 1 more round\(s\); the check is then made on all 2/);
    assert.match(r.out, /round 2\/2 current .*\n.*round 2\/2 baseline /, 'the second round runs the current build first');
    const p50 = r.verdict.live?.ratios.find((x) => x.metric === 'p50');
    assert.ok(p50 !== undefined && p50.changePct > 25, `p50 rose beyond the tolerance: ${JSON.stringify(r.verdict.live?.ratios)}\n${r.out}`);
  });
});
