// `frb compare A B [...]`: two or more results folders side by side (classic vs fast, before vs
// after a change). The first folder is the reference: the deltas table gives, for every run group
// matched by parameters, each metric in the reference and in every other folder with the change.
// The charts are the report's, with one series per folder (and protocol), overlaid.

import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { buildCharts } from './charts/index.js';
import { buildPage } from './html.js';
import type { LoadedResults } from './load.js';
import { loadResults } from './load.js';
import { describeGroup, groupValue, matchRuns } from './match.js';
import type { MetricDef } from './metrics.js';
import { changePct, fmtChange, worsePct } from './metrics.js';
import { buildModel } from './model.js';
import { fontWarning } from './render.js';
import { methodologySection, reportTables, writeCharts, writeNotebook } from './report.js';
import type { Column, Table } from './tables.js';
import { escapeHtml, tableHtml } from './tables.js';

export interface CompareOptions {
  readonly outDir: string;
  readonly labels?: readonly string[];
  readonly metrics: readonly MetricDef[];
}

export interface CompareResult {
  readonly outDir: string;
  readonly files: string[];
  readonly deltas: Table;
  readonly onlyOneSide: string[];
  readonly warnings: string[];
}

// defaultLabels names each folder as briefly as keeps the names apart.
export function defaultLabels(sets: readonly LoadedResults[]): string[] {
  const names = sets.map((s) => s.manifest.experiment.name);
  if (new Set(names).size === names.length) return names;
  const stamped = sets.map((s) => `${s.manifest.experiment.name}/${basename(s.dir)}`);
  if (new Set(stamped).size === stamped.length) return stamped;
  return stamped.map((l, i) => `#${i + 1} ${l}`);
}

export function deltasTable(sets: readonly LoadedResults[], metrics: readonly MetricDef[]): { table: Table; onlyOneSide: string[] } {
  const ref = sets[0]!;
  const columns: Column[] = [{ label: 'run group', numeric: false }, { label: 'vs', numeric: false }];
  for (const m of metrics) {
    columns.push({ label: `${m.name} ${ref.label}`, numeric: true }, { label: `${m.name} other`, numeric: true }, { label: `${m.name} Δ`, numeric: true });
  }
  const rows: string[][] = [];
  const classes: string[][] = [];
  const onlyOneSide: string[] = [];
  for (const other of sets.slice(1)) {
    const { matched, onlyBase, onlyOther } = matchRuns(ref, other);
    for (const g of onlyBase) onlyOneSide.push(`only in ${ref.label}: ${describeGroup(g)}`);
    for (const g of onlyOther) onlyOneSide.push(`only in ${other.label}: ${describeGroup(g)}`);
    for (const m of matched) {
      const row = [m.where, other.label];
      const cls = ['', ''];
      for (const def of metrics) {
        const b = groupValue(def, m.base);
        const c = groupValue(def, m.other);
        row.push(b === null ? '-' : def.format(b), c === null ? '-' : def.format(c));
        cls.push('', '');
        if (b === null || c === null) {
          row.push('-');
          cls.push('');
        } else {
          const worse = worsePct(def, b, c);
          row.push(fmtChange(changePct(b, c)));
          cls.push(worse > 0 ? 'worse' : worse < 0 ? 'better' : '');
        }
      }
      rows.push(row);
      classes.push(cls);
    }
  }
  return { table: { title: `Deltas against ${ref.label} (median over repeats)`, columns, rows, classes }, onlyOneSide };
}

export async function writeCompare(dirs: readonly string[], options: CompareOptions): Promise<CompareResult> {
  if (dirs.length < 2) throw new Error('compare needs at least two results folders');
  if (options.labels !== undefined && options.labels.length !== dirs.length) {
    throw new Error(`${options.labels.length} labels for ${dirs.length} results folders`);
  }
  const loaded = dirs.map((d) => loadResults(d));
  const labels = options.labels ?? defaultLabels(loaded);
  const sets = loaded.map((s, i) => ({ ...s, label: labels[i]! }));
  const outDir = options.outDir;
  mkdirSync(outDir, { recursive: true });
  const warnings = sets.flatMap((s) => s.warnings.map((w) => `${s.label}: ${w}`));
  const fonts = fontWarning();
  if (fonts !== null) warnings.push(fonts);
  const modes = new Set(sets.map((s) => s.manifest.mode));
  if (modes.size > 1) warnings.push(`the folders mix modes (${[...modes].join(', ')}): live figures include costs the simulator does not model (CPU, disk, the real network stack), so read the deltas as the model's error`);
  const model = buildModel(sets, { bySet: true });
  const { charts, skipped } = buildCharts(model);
  const files: string[] = [];
  const rendered = await writeCharts(outDir, charts, files, warnings);
  const { table: deltas, onlyOneSide } = deltasTable(sets, options.metrics);
  const title = `Comparison: ${labels.join(' vs ')}`;
  const subtitle = sets.map((s) => `${s.label} = ${s.dir}`).join('; ');
  const tables = [deltas, ...reportTables(model)];
  const meth = sets.map((s) => methodologySection(s, s.label));
  const preamble =
    `<h2 id="deltas">Deltas</h2>\n<p class="sub">Run groups matched by their swept parameters and protocol; each figure is the median over repeats. ` +
    `Red: worse than ${escapeHtml(sets[0]!.label)}; green: better.</p>\n<div class="table-wrap">${tableHtml(deltas)}</div>` +
    (onlyOneSide.length > 0 ? `\n<h3>Not matched</h3><ul>${onlyOneSide.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>` : '');
  const html = buildPage({ title, subtitle, methodology: meth, charts, skipped, tables: tables.slice(1), warnings, preamble });
  const htmlFile = join(outDir, 'index.html');
  writeFileSync(htmlFile, html);
  files.push(htmlFile);
  const nbFile = join(outDir, 'notebook.ipynb');
  writeNotebook(nbFile, outDir, { title, subtitle, methodology: meth, rendered, skipped, tables, warnings, resultsDirs: sets.map((s) => s.dir) });
  files.push(nbFile);
  return { outDir, files, deltas, onlyOneSide, warnings };
}
