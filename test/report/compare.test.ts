// `frb compare`: before vs after (same protocols) and classic vs fast (one protocol per folder),
// as a report folder with overlaid charts and a deltas table, and as a table in the terminal.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { parseMetricList, writeCompare } from '../../src/report/index.js';
import { doctorSlower, tempDir, writeFixture } from './fixtures.js';

const frb = fileURLToPath(new URL('../../src/cli/frb.js', import.meta.url));

describe('frb compare', () => {
  let root: string;
  let before_: string;
  let after_: string;
  before(() => {
    root = tempDir();
    before_ = writeFixture(join(root, 'a'), { latencies: ['1ms', '5ms'], repeat: 2, durationSec: 3 });
    after_ = doctorSlower(before_, join(root, 'b'), 1.2);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('before vs after: deltas per matching run group, overlaid charts, a report folder', async () => {
    const out = join(root, 'cmp');
    const r = await writeCompare([before_, after_], { outDir: out, labels: ['before', 'after'], metrics: parseMetricList('p50,p99,throughput') });
    assert.equal(r.deltas.rows.length, 4);
    const header = r.deltas.columns.map((c) => c.label);
    assert.deepEqual(header.slice(0, 5), ['run group', 'vs', 'p50 before', 'p50 other', 'p50 Δ']);
    for (const row of r.deltas.rows) {
      assert.equal(row[1], 'after');
      assert.match(row[4]!, /^\+(19\.\d|20\.\d)%$/);
    }
    assert.deepEqual(r.onlyOneSide, []);
    for (const f of ['index.html', 'notebook.ipynb', 'latency-percentiles.png', 'latency-cdf.vl.json', 'sweep-network-latency.svg']) {
      assert.ok(existsSync(join(out, f)), f);
    }
    const spec = JSON.parse(readFileSync(join(out, 'latency-cdf.vl.json'), 'utf8')) as unknown;
    const text = JSON.stringify(spec);
    for (const s of ['before · raft', 'before · fastraft', 'after · raft', 'after · fastraft']) assert.ok(text.includes(s), s);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    assert.ok(html.includes('id="deltas"'));
    assert.ok(html.includes('class="num worse"'), 'worse deltas marked');
  });

  test('classic vs fast from two folders with one protocol each', async () => {
    const classic = writeFixture(join(root, 'classic'), { name: 'classic', protocols: ['raft'], latencies: ['1ms', '5ms'], repeat: 1, durationSec: 2 });
    const fast = writeFixture(join(root, 'fast'), { name: 'fast', protocols: ['fastraft'], latencies: ['1ms', '5ms'], repeat: 1, durationSec: 2 });
    const r = await writeCompare([classic, fast], { outDir: join(root, 'cvf'), metrics: parseMetricList('p50') });
    assert.deepEqual(
      r.deltas.rows.map((row) => row[0]),
      ['network.latency=1ms · raft vs fastraft', 'network.latency=5ms · raft vs fastraft'],
    );
    assert.ok(r.deltas.rows.every((row) => row[4]!.startsWith('-')), 'fast is faster in the toy model');
  });

  test('CLI: prints the deltas table and where the report is', () => {
    const out = join(root, 'cli-cmp');
    const r = spawnSync(process.execPath, [frb, 'compare', before_, after_, '--out', out, '--labels', 'before,after', '--metrics', 'p99'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^Deltas against before \(median over repeats\)$/m);
    assert.match(r.stdout, /^run group\s+vs\s+p99 before\s+p99 other\s+p99 Δ$/m);
    assert.match(r.stdout, /network\.latency=5ms · fastraft\s+after\s+[0-9.]+ ms\s+[0-9.]+ ms\s+\+\d+\.\d%/);
    assert.ok(existsSync(join(out, 'index.html')));
    const one = spawnSync(process.execPath, [frb, 'compare', before_], { encoding: 'utf8' });
    assert.notEqual(one.status, 0);
    assert.match(one.stderr, /at least two results folders/);
  });
});
