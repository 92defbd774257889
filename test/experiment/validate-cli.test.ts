import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateFiles } from '../../src/cli/validate.js';
import { experimentsDir, yaml } from './helpers.js';

function run(files: string[], matrix = false): { code: number; lines: string[] } {
  const lines: string[] = [];
  const code = validateFiles(files, { matrix }, (l) => lines.push(l));
  return { code, lines };
}

test('frb validate: ok with the run count, exit 0', () => {
  const r = run([join(experimentsDir(), 'quickstart.yaml')]);
  assert.equal(r.code, 0);
  assert.deepEqual(r.lines, ['ok: 2 runs']);
  const m = run([join(experimentsDir(), 'quickstart.yaml')], true);
  assert.equal(m.lines.length, 1 + 2 + 2);
  assert.match(m.lines[1]!, /^quickstart: 2 points x 1 repetition = 2 runs/);
});

test('frb validate: every issue on its own line, exit 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'frb-validate-'));
  try {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, yaml('name: bad', 'workload:', '  rate: fast', '  atach: leader'));
    const r = run([bad]);
    assert.equal(r.code, 1);
    assert.deepEqual(r.lines, [
      `${bad}:3:9 workload.rate: expected a rate like 1000/s or 50/ms, got "fast"`,
      `${bad}:4:3 workload.atach: unknown field "atach" (did you mean "attach"?)`,
    ]);
    const missing = run([join(dir, 'nope.yaml'), join(experimentsDir(), 'quickstart.yaml')]);
    assert.equal(missing.code, 1);
    assert.match(missing.lines[0]!, /nope\.yaml: cannot read: ENOENT/);
    assert.match(missing.lines[1]!, /quickstart\.yaml: ok: 2 runs$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
