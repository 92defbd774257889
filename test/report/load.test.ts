// Reading results folders: the contract's files parse, the HdrHistogram files decode to the same
// figures the recorder summarised, and a folder that is not what it claims is refused with the
// file and field named.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ResultsFormatError, loadResults, parseHgrm, parseHlog, resolveResultsDir } from '../../src/report/index.js';
import { faultsInWindow } from '../../src/report/load.js';
import { describeAxis } from '../../src/report/model.js';
import { tempDir, writeFixture } from './fixtures.js';

describe('loadResults', () => {
  let root: string;
  let dir: string;
  before(() => {
    root = tempDir();
    dir = writeFixture(root, { latencies: ['1ms', '5ms'], repeat: 2, durationSec: 4, crashAtSec: 1 });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('reads the manifest and every run with its distribution and intervals', () => {
    const set = loadResults(dir);
    assert.equal(set.manifest.experiment.name, 'fast-vs-classic');
    assert.equal(set.runs.length, 2 * 2 * 2);
    assert.deepEqual(set.warnings, []);
    for (const run of set.runs) {
      assert.ok(run.distribution.length > 10, `${run.runId} has a percentile distribution`);
      assert.equal(run.intervals.length, 4, `${run.runId} has one interval per second of the 4 s window`);
      const last = run.distribution[run.distribution.length - 1]!;
      assert.equal(last.percentile, 1);
      assert.equal(last.totalCount, run.summary.commitLatency.count);
    }
  });

  test('the .hgrm median and the .hlog intervals agree with the summary', () => {
    const run = loadResults(dir).runs[0]!;
    const atMedian = run.distribution.find((p) => p.percentile >= 0.5)!;
    assert.equal(atMedian.valueUs, run.summary.commitLatency.p50Us);
    const total = run.intervals.reduce((n, iv) => n + iv.count, 0);
    assert.equal(total, run.summary.commitLatency.count);
    assert.deepEqual(
      run.intervals.map((iv) => iv.startSec),
      [0, 1, 2, 3],
    );
  });

  test('an experiment folder resolves to its latest timestamp, and says so', () => {
    const later = writeFixture(root, { latencies: ['1ms'], repeat: 1, durationSec: 2, timestamp: '2026-02-01T00-00-00Z' });
    const resolved = resolveResultsDir(join(root, 'fast-vs-classic'));
    assert.equal(resolved.dir, later);
    assert.match(resolved.note ?? '', /using the latest, 2026-02-01T00-00-00Z/);
    rmSync(later, { recursive: true });
  });

  test('a folder without a manifest is refused', () => {
    assert.throws(() => loadResults(root + '/nope'), ResultsFormatError);
    const empty = join(root, 'empty');
    mkdirSync(empty, { recursive: true });
    assert.throws(() => loadResults(empty), /no manifest\.json/);
  });

  test('an unknown schema and a malformed summary field are named', () => {
    const copy = join(root, 'bad');
    rmSync(copy, { recursive: true, force: true });
    const src = writeFixture(copy, { latencies: ['1ms'], protocols: ['raft'], repeat: 1, durationSec: 2 });
    const manifestFile = join(src, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(manifestFile, JSON.stringify({ ...manifest, schema: 2 }));
    assert.throws(() => loadResults(src), /manifest\.json \(schema\): this version of frb reads schema 1, the file says 2/);
    writeFileSync(manifestFile, JSON.stringify(manifest));
    const runId = (manifest['matrix'] as Array<{ runId: string }>)[0]!.runId;
    const summaryFile = join(src, 'runs', runId, 'summary.json');
    const summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as { commitLatency: Record<string, unknown> };
    summary.commitLatency['p99Us'] = 'slow';
    writeFileSync(summaryFile, JSON.stringify(summary));
    assert.throws(() => loadResults(src), (err: unknown) => {
      assert.ok(err instanceof ResultsFormatError);
      assert.equal(err.field, 'commitLatency.p99Us');
      assert.ok(err.file.endsWith('summary.json'));
      return true;
    });
  });

  test('a run without its .hgrm or .hlog loads with a warning', () => {
    const copy = join(root, 'partial');
    const src = writeFixture(copy, { latencies: ['1ms'], protocols: ['raft'], repeat: 1, durationSec: 2 });
    const set0 = loadResults(src);
    const runDir = set0.runs[0]!.dir;
    rmSync(join(runDir, 'commit.hgrm'));
    rmSync(join(runDir, 'commit.hlog'));
    const set = loadResults(src);
    assert.equal(set.runs[0]!.distribution.length, 0);
    assert.ok(set.warnings.some((w) => /no commit\.hgrm/.test(w)));
    assert.ok(set.warnings.some((w) => /no commit\.hlog/.test(w)));
  });

  test('faults are placed on the window clock', () => {
    const run = loadResults(dir).runs[0]!;
    const faults = faultsInWindow(run.summary);
    assert.deepEqual(
      faults.map((f) => [f.tSec, f.event.kind]),
      [
        [1, 'crash'],
        [3, 'restart'],
      ],
    );
  });
});

describe('parsers', () => {
  test('parseHgrm refuses a line that is not a distribution row', () => {
    assert.throws(() => parseHgrm('   12.0 0.5 3 2.0\nhello world\n'), /unexpected line/);
    assert.deepEqual(parseHgrm('       Value     Percentile TotalCount 1/(1-Percentile)\n\n 12.000 0.500000 3 2.00\n#[Max = 12]\n'), [
      { valueUs: 12, percentile: 0.5, totalCount: 3 },
    ]);
  });

  test('parseHlog of an empty log is empty', () => {
    assert.deepEqual(parseHlog('#[Histogram log format version 1.3]\n'), []);
  });
});

describe('axes', () => {
  test('units are recognised, including bare zeros next to quantities', () => {
    const loss = describeAxis('network.loss', [0, '0.5%', '1%', '5%']);
    assert.equal(loss.kind, 'probability');
    assert.equal(loss.title, 'message loss (%)');
    assert.deepEqual(loss.values.map((v) => loss.toNumber(v)), [0, 0.5, 1, 5]);
    const latency = describeAxis('network.latency', ['500us', '1ms', '20ms']);
    assert.equal(latency.title, 'injected latency (ms)');
    assert.deepEqual(latency.values.map((v) => latency.toNumber(v)), [0.5, 1, 20]);
    const size = describeAxis('cluster.size', [3, 5, 7]);
    assert.equal(size.title, 'cluster size (nodes)');
    const proposers = describeAxis('workload.proposers', [1, 2, 3]);
    assert.ok(proposers.contention);
    assert.equal(describeAxis('workload.dist', ['uniform', 'zipf']).kind, 'nominal');
  });
});
