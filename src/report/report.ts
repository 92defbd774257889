// `frb report`: a results folder -> report/ with every chart as .vl.json, .svg and .png, one
// self-contained index.html and notebook.ipynb. Reads only the results files.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { buildCharts } from './charts/index.js';
import type { Chart, ChartSet } from './charts/common.js';
import { buildPage } from './html.js';
import type { MethodologySection } from './html.js';
import type { LoadedResults } from './load.js';
import { loadResults } from './load.js';
import { buildModel } from './model.js';
import type { ChartModel } from './model.js';
import { buildNotebook } from './notebook.js';
import { fontWarning, renderSvg, svgToPng } from './render.js';
import { headlineTable, methodology, pointTable, runTable } from './tables.js';
import type { Table } from './tables.js';

export interface ReportOptions {
  // Default: <results>/report.
  readonly outDir?: string;
  // Also write the notebook here (for notebooks/ in the repository), with paths relative to it.
  readonly notebookOut?: string;
}

export interface ReportResult {
  readonly outDir: string;
  readonly files: string[];
  readonly charts: readonly Chart[];
  readonly skipped: ChartSet['skipped'];
  readonly warnings: string[];
}

export interface RenderedChart {
  readonly chart: Chart;
  readonly png: Buffer;
}

function posix(p: string): string {
  return p.split(sep).join('/');
}

// writeCharts renders and writes every chart; a chart vega-lite or vega warns about is still
// written, and the warning reported (a broken encoding is a bug to fix, not a reason to lose the rest).
export async function writeCharts(outDir: string, charts: readonly Chart[], files: string[], warnings: string[]): Promise<RenderedChart[]> {
  const rendered: RenderedChart[] = [];
  for (const chart of charts) {
    const { svg, warnings: w } = await renderSvg(chart.spec);
    for (const m of w) warnings.push(`chart ${chart.id}: ${m}`);
    const png = svgToPng(svg);
    const stem = join(outDir, chart.id);
    writeFileSync(`${stem}.vl.json`, JSON.stringify(chart.spec, null, 2) + '\n');
    writeFileSync(`${stem}.svg`, svg);
    writeFileSync(`${stem}.png`, png);
    files.push(`${stem}.vl.json`, `${stem}.svg`, `${stem}.png`);
    rendered.push({ chart, png });
  }
  return rendered;
}

export function methodologySection(set: LoadedResults, heading = 'How these figures were obtained'): MethodologySection {
  return { heading, items: methodology(set), experimentText: set.manifest.experiment.text };
}

export function writeNotebook(
  file: string,
  specDir: string,
  input: { title: string; subtitle: string; methodology: MethodologySection[]; rendered: RenderedChart[]; skipped: ChartSet['skipped']; tables: Table[]; warnings: string[]; resultsDirs: string[] },
): void {
  const base = dirname(resolve(file));
  const rel = (p: string): string => posix(relative(base, resolve(p))) || '.';
  const nb = buildNotebook({
    title: input.title,
    subtitle: input.subtitle,
    methodology: input.methodology,
    charts: input.rendered,
    skipped: input.skipped,
    tables: input.tables,
    warnings: input.warnings,
    specDir: rel(specDir),
    resultsDirs: input.resultsDirs.map(rel),
  });
  mkdirSync(base, { recursive: true });
  writeFileSync(file, JSON.stringify(nb, null, 1) + '\n');
}

export function reportTables(model: ChartModel): Table[] {
  const headline = headlineTable(model);
  return [...(headline !== null ? [headline] : []), pointTable(model), runTable(model)];
}

export async function writeReport(resultsDir: string, options: ReportOptions = {}): Promise<ReportResult> {
  const set = loadResults(resultsDir);
  const outDir = options.outDir ?? join(set.dir, 'report');
  mkdirSync(outDir, { recursive: true });
  const warnings = [...set.warnings];
  const fonts = fontWarning();
  if (fonts !== null) warnings.push(fonts);
  const model = buildModel([set]);
  const { charts, skipped } = buildCharts(model);
  const files: string[] = [];
  const rendered = await writeCharts(outDir, charts, files, warnings);
  const m = set.manifest;
  const title = `${m.experiment.name}: ${model.series.join(' vs ')}`;
  const subtitle =
    `${m.mode} mode, ${set.runs.length} runs (${model.points.length} matrix points × ${model.series.length} protocols, repeat ${m.repeat}), ` +
    `started ${m.startedAt}, commit ${m.gitCommit?.slice(0, 12) ?? 'unknown'}`;
  const tables = reportTables(model);
  const meth = [methodologySection(set)];
  const html = buildPage({ title, subtitle, methodology: meth, charts, skipped, tables, warnings });
  const htmlFile = join(outDir, 'index.html');
  writeFileSync(htmlFile, html);
  files.push(htmlFile);
  const nbInput = { title, subtitle, methodology: meth, rendered, skipped, tables, warnings, resultsDirs: [set.dir] };
  const nbFile = join(outDir, 'notebook.ipynb');
  writeNotebook(nbFile, outDir, nbInput);
  files.push(nbFile);
  if (options.notebookOut !== undefined) {
    writeNotebook(options.notebookOut, outDir, nbInput);
    files.push(options.notebookOut);
  }
  return { outDir, files, charts, skipped, warnings };
}
