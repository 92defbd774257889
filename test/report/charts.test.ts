// Chart specs: every chart the issue lists is built from a fast-vs-classic results folder, every
// spec compiles and renders with no vega-lite or vega warning, axes carry units, and the
// HdrHistogram axis is labelled in percentiles.

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { buildCharts, buildModel, compileSpec, loadResults, renderSvg, svgToPng } from '../../src/report/index.js';
import type { Chart, ChartModel, LoadedResults } from '../../src/report/index.js';
import { dejaVuWidth } from '../../src/report/text-width.js';
import { tempDir, writeFixture } from './fixtures.js';

// Quantitative axis titles: the `title` of quantitative x/y encodings anywhere in a spec.
function axisTitles(spec: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        const enc = x as { title?: unknown; type?: unknown } | null;
        if ((k === 'x' || k === 'y') && typeof enc === 'object' && enc !== null && typeof enc.title === 'string' && enc.type === 'quantitative') {
          out.push(enc.title);
        }
        walk(x);
      }
    }
  };
  walk(spec);
  return out;
}

describe('charts of a fast-vs-classic latency sweep', () => {
  let root: string;
  let set: LoadedResults;
  let model: ChartModel;
  let charts: Chart[];
  before(() => {
    root = tempDir();
    set = loadResults(writeFixture(root, { latencies: ['1ms', '5ms', '20ms'], repeat: 2, durationSec: 6, crashAtSec: 3 }));
    model = buildModel([set]);
    charts = buildCharts(model).charts;
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('every chart of the issue is drawn', () => {
    assert.deepEqual(
      charts.map((c) => c.id),
      [
        'latency-percentiles',
        'latency-cdf',
        'sweep-network-latency',
        'throughput-latency',
        'fast-path-ratio',
        'latency-over-time',
        'messages-per-commit',
      ],
    );
    assert.deepEqual(model.series, ['raft', 'fastraft']);
  });

  test('every spec compiles and renders without a warning', async () => {
    for (const chart of charts) {
      assert.deepEqual(compileSpec(chart.spec).warnings, [], chart.id);
      const { svg, warnings } = await renderSvg(chart.spec);
      assert.deepEqual(warnings, [], chart.id);
      assert.match(svg, /^<svg/);
      assert.ok(svg.includes(chart.title), `${chart.id}: the title is drawn`);
      const png = svgToPng(svg);
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${chart.id}: a PNG`);
    }
  });

  test('axes carry units and legends name the protocols', async () => {
    for (const chart of charts) {
      const titles = axisTitles(chart.spec);
      assert.ok(titles.length > 0, chart.id);
      for (const t of titles) {
        assert.match(t, /\((ms|%|commits\/s|s|nodes|B)\)$|^percentile$|^messages per commit$/, `${chart.id}: axis title "${t}" has a unit`);
      }
      if (chart.id !== 'fast-path-ratio') {
        const { svg } = await renderSvg(chart.spec);
        assert.ok(svg.includes('>raft<') && svg.includes('>fastraft<'), `${chart.id}: legend lists both protocols`);
      }
    }
  });

  test('the percentile axis is HdrHistogram style', async () => {
    const chart = charts.find((c) => c.id === 'latency-percentiles')!;
    const { svg } = await renderSvg(chart.spec);
    for (const label of ['50%', '90%', '99%', '99.9%']) assert.ok(svg.includes(`>${label}<`), `label ${label}`);
    const text = JSON.stringify(chart.spec);
    assert.match(text, /"type":"log"/);
  });

  test('latency over time marks the injected faults', async () => {
    const chart = charts.find((c) => c.id === 'latency-over-time')!;
    const { svg } = await renderSvg(chart.spec);
    assert.ok(svg.includes('crash n1 leader'));
    assert.ok(svg.includes('restart n1'));
  });

  test('the sweep chart draws p50 and p99 with the spread over repeats', () => {
    const chart = charts.find((c) => c.id === 'sweep-network-latency')!;
    const rows = (chart.spec['data'] as { values: Array<Record<string, unknown>> }).values;
    assert.equal(rows.length, 2 /* protocols */ * 3 /* latencies */ * 2 /* p50, p99 */);
    for (const r of rows) {
      assert.equal(r['n'], 2);
      assert.ok((r['min'] as number) <= (r['latencyMs'] as number) && (r['latencyMs'] as number) <= (r['max'] as number));
    }
    assert.deepEqual([...new Set(rows.map((r) => r['x']))], [1, 5, 20]);
  });
});

describe('charts of other experiment shapes', () => {
  let root: string;
  before(() => {
    root = tempDir();
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('a contention sweep puts the fast-path ratio against contention', () => {
    const set = loadResults(
      writeFixture(root, { name: 'contention', latencies: ['5ms'], contention: [0, 0.2, 0.5], repeat: 1, durationSec: 3, crashAtSec: null }),
    );
    const { charts } = buildCharts(buildModel([set]));
    const fast = charts.find((c) => c.id === 'fast-path-ratio')!;
    assert.match(JSON.stringify(fast.spec), /"title":"contention"/);
    const rows = (fast.spec['data'] as { values: Array<{ ratioPct: number; x: number }> }).values;
    assert.deepEqual(
      rows.map((r) => r.x),
      [0, 0.2, 0.5],
    );
    assert.ok(rows[0]!.ratioPct > rows[2]!.ratioPct, 'more contention, fewer fast commits');
    assert.ok(charts.some((c) => c.id === 'sweep-workload-contention'));
  });

  test('an offered-rate sweep joins the throughput-latency points into curves', async () => {
    const set = loadResults(writeFixture(root, { name: 'rate', latencies: ['5ms'], rates: [200, 400, 800], repeat: 2, durationSec: 2, crashAtSec: null }));
    const { charts } = buildCharts(buildModel([set]));
    const chart = charts.find((c) => c.id === 'throughput-latency')!;
    const layers = chart.spec['layer'] as Array<{ mark: { type: string }; data: { values: Array<{ offered: number }> } }>;
    assert.deepEqual(
      layers.map((l) => l.mark.type),
      ['line', 'point'],
    );
    assert.deepEqual([...new Set(layers[0]!.data.values.map((v) => v.offered))].sort((a, b) => a - b), [200, 400, 800]);
    assert.deepEqual((await renderSvg(chart.spec)).warnings, []);
    const saturated = set.runs.filter((r) => r.summary.throughput.saturated).length;
    assert.equal(saturated, 4, 'the 800/s runs saturate in the toy model');
  });

  test('raft alone: no fast-path chart, and the report says why', () => {
    const set = loadResults(writeFixture(root, { name: 'raft-only', protocols: ['raft'], latencies: ['1ms'], repeat: 1, durationSec: 2 }));
    const { charts, skipped } = buildCharts(buildModel([set]));
    assert.ok(!charts.some((c) => c.id === 'fast-path-ratio'));
    assert.ok(skipped.some((s) => s.id === 'fast-path-ratio' && /no fastraft/.test(s.reason)));
    assert.ok(skipped.some((s) => s.id === 'sweep'), 'one latency: nothing swept');
  });
});

describe('text measurement', () => {
  test('DejaVu Sans widths: digits are 0.636 em, bold is wider', () => {
    assert.equal(Math.round(dejaVuWidth('0000', 10, false) * 100) / 100, 25.44);
    assert.ok(dejaVuWidth('latency', 12, true) > dejaVuWidth('latency', 12, false));
  });
});
