// The run matrix: the cartesian product of the sweep axes (axes in file order, the first one
// outermost; values in list order), each point repeated `repeat` times with derived seeds.
// Order, ids and seeds depend only on the file, so a matrix is the same on every machine and a
// run can be named (and re-run) by its id.

import { deriveSeed } from '../core/rand.js';
import { isPlainObject } from '../faults/index.js';
import { resolvePoint } from './schema.js';
import type { ExperimentSpec, PlannedRun, RunMatrix, SweepAxis } from './types.js';

// A run id is a directory name under results/<experiment>/<timestamp>/runs/.
const idLengthMax = 120;
const labelLengthMax = 32;

// expandMatrix lists every run of a validated experiment.
export function expandMatrix(spec: ExperimentSpec): RunMatrix {
  const axes = spec.sweep;
  const lengths = axes.map((a) => a.values.length);
  const points = lengths.reduce((n, l) => n * l, 1);
  const keys = axisKeys(axes);
  const labels = axes.map(valueLabels);
  const runs: PlannedRun[] = [];
  const tuple = new Array<number>(axes.length).fill(0);
  for (let point = 0; point < points; point++) {
    for (let i = axes.length - 1, rest = point; i >= 0; i--) {
      tuple[i] = rest % lengths[i]!;
      rest = Math.floor(rest / lengths[i]!);
    }
    const params: Record<string, unknown> = {};
    axes.forEach((a, i) => {
      params[a.path] = a.values[tuple[i]!];
    });
    const pointId = axes.map((_, i) => `${keys[i]!}=${labels[i]![tuple[i]!]!}`).join(',');
    const runSpec = resolvePoint(spec, tuple);
    for (let rep = 0; rep < spec.repeat; rep++) {
      const index = runs.length;
      let id = pointId === '' ? `rep=${rep}` : `${pointId},rep=${rep}`;
      // Long ids (many axes, long values) fall back to positions, which are unique too.
      if (id.length > idLengthMax) id = `point=${point},rep=${rep}`;
      runs.push({
        index,
        point,
        repetition: rep,
        id,
        params: Object.freeze({ ...params }),
        seed: deriveSeed(spec.seed, spec.seeds === 'per_run' ? index : rep),
        spec: runSpec,
      });
    }
  }
  return { name: spec.name, mode: spec.mode, seed: spec.seed, seeds: spec.seeds, repeat: spec.repeat, axes, points, runs };
}

function safe(text: string): string {
  return text
    .replace(/%/g, 'pct')
    .replace(/\//g, 'per')
    .replace(/<->/g, '-')
    .replace(/->/g, '-')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._-]+/, '');
}

// axisKeys names each axis in run ids by its last field name, or by as many trailing field
// names as it takes to tell it from the other axes (`disk.latency` beside `network.latency`).
function axisKeys(axes: readonly SweepAxis[]): string[] {
  const parts = axes.map((a) => a.path.split('.'));
  const depth = parts.map(() => 1);
  for (let round = 0; round < 16; round++) {
    const names = parts.map((p, i) => p.slice(-depth[i]!).join('.'));
    let clash = false;
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i || names.lastIndexOf(n) !== i) {
        clash = true;
        depth[i] = Math.min(depth[i]! + 1, parts[i]!.length);
      }
    });
    if (!clash) break;
  }
  return parts.map((p, i) => safe(p.slice(-depth[i]!).join('.')));
}

function leafText(v: unknown): string {
  if (Array.isArray(v)) return v.map(leafText).join('+');
  if (isPlainObject(v)) return Object.values(v).map(leafText).join('-');
  return String(v);
}

// valueLabels writes each value of an axis short and filesystem-safe, unique within the axis.
function valueLabels(axis: SweepAxis): string[] {
  const labels = axis.values.map((v, i) => {
    const l = safe(leafText(v));
    return l === '' || l.length > labelLengthMax ? `v${i}` : l;
  });
  // Different values may read the same once made safe (`1%` and `1pct`): add their positions.
  return labels.map((l, i) => (labels.indexOf(l) === labels.lastIndexOf(l) ? l : `${l}~${i}`));
}

function show(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

// formatMatrix is what `frb run --dry-run` prints: one line per run.
export function formatMatrix(m: RunMatrix): string[] {
  const head = `${m.name}: ${m.points} point${m.points === 1 ? '' : 's'} x ${m.repeat} repetition${m.repeat === 1 ? '' : 's'} = ${m.runs.length} run${m.runs.length === 1 ? '' : 's'} (mode ${m.mode}, seed ${m.seed}, seeds ${m.seeds})`;
  const cols = ['#', 'run id', 'seed', ...m.axes.map((a) => a.path)];
  const rows = m.runs.map((r) => [String(r.index), r.id, String(r.seed), ...m.axes.map((a) => show(r.params[a.path]))]);
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [head, line(cols), ...rows.map(line)];
}
