// `frb report`: the files of a report folder, the self-contained page with its methodology and
// tables, and the notebook, validated against the nbformat 4.5 schema.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { vegaLiteMime, writeReport } from '../../src/report/index.js';
import type { ReportResult } from '../../src/report/index.js';
import { lines } from '../../src/report/notebook.js';
import { nbformatV45Schema } from './nbformat-schema.js';
import { tempDir, writeFixture } from './fixtures.js';

interface NotebookJson {
  nbformat: number;
  nbformat_minor: number;
  cells: Array<{ id: string; cell_type: string; source: string[]; outputs?: Array<{ output_type: string; data: Record<string, unknown> }> }>;
}

function validator(): (nb: unknown) => string[] {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(nbformatV45Schema);
  return (nb) => (validate(nb) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`));
}

describe('frb report', () => {
  let root: string;
  let dir: string;
  let result: ReportResult;
  let notebookOut: string;
  before(async () => {
    root = tempDir();
    dir = writeFixture(root, { latencies: ['1ms', '5ms', '20ms'], repeat: 2, durationSec: 5, crashAtSec: 2 });
    notebookOut = join(root, 'notebooks', 'fast-vs-classic.ipynb');
    result = await writeReport(dir, { notebookOut });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('writes a spec, an SVG and a PNG per chart, index.html and notebook.ipynb into report/', () => {
    assert.equal(result.outDir, join(dir, 'report'));
    assert.equal(result.charts.length, 7);
    for (const c of result.charts) {
      for (const ext of ['.vl.json', '.svg', '.png']) assert.ok(existsSync(join(result.outDir, c.id + ext)), c.id + ext);
      const spec = JSON.parse(readFileSync(join(result.outDir, `${c.id}.vl.json`), 'utf8')) as { $schema: string };
      assert.match(spec.$schema, /vega-lite\/v5\.json$/);
    }
    assert.ok(existsSync(join(result.outDir, 'index.html')));
    assert.ok(existsSync(join(result.outDir, 'notebook.ipynb')));
    assert.ok(existsSync(notebookOut));
    assert.deepEqual(result.warnings, []);
  });

  test('index.html is self-contained: inline vega and vega-lite, no external resource', () => {
    const html = readFileSync(join(result.outDir, 'index.html'), 'utf8');
    assert.ok(!/<script[^>]+src=/i.test(html), 'no external script');
    assert.ok(!/<link[^>]+href=/i.test(html), 'no external stylesheet');
    assert.ok(!/(src|href)="https?:/i.test(html), 'nothing fetched from the network');
    assert.ok(html.includes('.vega={}') || html.includes('vega={}'), 'vega inlined');
    assert.ok(html.includes('vegaLite'), 'vega-lite inlined');
    for (const c of result.charts) assert.ok(html.includes(`id="chart-${c.id}"`), c.id);
    // </script> inside inlined code would end the element early.
    const scripts = html.split('<script').length - 1;
    assert.equal(scripts, html.split('</script>').length - 1);
  });

  test('index.html carries the methodology and the tables', () => {
    const html = readFileSync(join(result.outDir, 'index.html'), 'utf8');
    for (const label of ['mode', 'durability', 'client placement', 'payload', 'offered vs achieved rate', 'machine', 'commit']) {
      assert.ok(html.includes(`<dt>${label}</dt>`), label);
    }
    assert.ok(html.includes('memory (simulated disk 0us)'));
    assert.ok(html.includes('followers'));
    assert.ok(html.includes('128 B values'));
    assert.ok(html.includes('offered 400/s, achieved'));
    assert.ok(html.includes('Test CPU @ 1.00GHz x2'));
    assert.ok(html.includes('0123456789abcdef0123456789abcdef01234567'));
    assert.ok(html.includes('<th class="num">p99 ms</th>'));
    assert.ok(html.includes('r000-raft-1ms-rep0'));
  });

  test('notebook.ipynb is valid nbformat 4.5 with vega-lite outputs and PNG fallbacks', () => {
    const validate = validator();
    for (const file of [join(result.outDir, 'notebook.ipynb'), notebookOut]) {
      const nb = JSON.parse(readFileSync(file, 'utf8')) as NotebookJson;
      assert.deepEqual(validate(nb), [], file);
      assert.equal(nb.nbformat, 4);
      assert.equal(nb.nbformat_minor, 5);
      const ids = nb.cells.map((c) => c.id);
      assert.equal(new Set(ids).size, ids.length, 'cell ids are unique');
      const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
      assert.equal(outputs.length, result.charts.length);
      for (const o of outputs) {
        assert.equal(o.output_type, 'display_data');
        assert.equal(typeof o.data[vegaLiteMime], 'object');
        const png = Buffer.from(o.data['image/png'] as string, 'base64');
        assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
      }
      const md = nb.cells.filter((c) => c.cell_type === 'markdown').map((c) => c.source.join('')).join('\n');
      assert.match(md, /\*\*durability\*\*: memory/);
      assert.match(md, /\| p50 ms \|/);
    }
  });

  test('the notebook written elsewhere points back at the report folder', () => {
    const nb = JSON.parse(readFileSync(notebookOut, 'utf8')) as NotebookJson;
    const setup = nb.cells.find((c) => c.id === 'setup')!.source.join('');
    assert.match(setup, /REPORT_DIR = Path\("\.\.\/fast-vs-classic\/2026-01-01T00-00-00Z\/report"\)/);
  });

  test('the schema rejects what nbformat 4.5 rejects', () => {
    const validate = validator();
    const nb = JSON.parse(readFileSync(notebookOut, 'utf8')) as NotebookJson & Record<string, unknown>;
    const noId = structuredClone(nb);
    delete (noId.cells[0] as Partial<NotebookJson['cells'][number]>).id;
    assert.notDeepEqual(validate(noId), []);
    const badId = structuredClone(nb);
    badId.cells[0]!.id = 'has space';
    assert.notDeepEqual(validate(badId), []);
    assert.notDeepEqual(validate({ ...nb, nbformat_minor: 4 }), []);
    assert.notDeepEqual(validate({ ...nb, extra: true }), []);
    const badMime = structuredClone(nb);
    const out = badMime.cells.find((c) => c.outputs !== undefined && c.outputs.length > 0)!.outputs![0]!;
    out.data['image/png'] = { not: 'text' };
    assert.notDeepEqual(validate(badMime), []);
  });

  test('nbformat multiline strings keep their newlines', () => {
    assert.deepEqual(lines('a\nb\n'), ['a\n', 'b\n']);
    assert.deepEqual(lines('a\nb'), ['a\n', 'b']);
  });
});
