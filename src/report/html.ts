// index.html: one self-contained page (vega and vega-lite inlined from node_modules, the specs
// and data embedded) so that a report folder can be mailed, archived or opened from a file with
// no network. Charts are drawn in the browser from the same .vl.json specs as the PNGs.
//
// The page records its own progress in window.frbReport ({ total, rendered, failed, done }) and
// marks every chart element data-rendered="true" or "failed": that is what the browser test reads.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Chart, SkippedChart } from './charts/common.js';
import type { MethodologyItem, Table } from './tables.js';
import { escapeHtml, tableHtml } from './tables.js';

const require = createRequire(import.meta.url);

// The packages export only their ES entry points; the browser builds sit beside them.
function bundlePath(pkg: 'vega' | 'vega-lite'): string {
  const entry = require.resolve(pkg);
  return pkg === 'vega' ? join(dirname(entry), 'vega.min.js') : join(dirname(entry), 'vega-lite.min.js');
}

// inlineScript keeps a bundle from closing its own <script> element early.
export function inlineScript(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

// inlineJson embeds data in a <script type="application/json"> safely: no '<' survives.
export function inlineJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export interface MethodologySection {
  readonly heading: string;
  readonly items: readonly MethodologyItem[];
  readonly experimentText: string;
}

export interface PageInput {
  readonly title: string;
  readonly subtitle: string;
  readonly methodology: readonly MethodologySection[];
  readonly charts: readonly Chart[];
  readonly skipped: readonly SkippedChart[];
  readonly tables: readonly Table[];
  readonly warnings: readonly string[];
  // Extra sections (the compare report's deltas), already HTML.
  readonly preamble?: string;
}

const style = `
:root { --fg: #1d1d1f; --muted: #5a5a5f; --rule: #dcdcdf; --bg-alt: #f6f6f8; --accent: #4c78a8; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 "DejaVu Sans", system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg); }
header, main { max-width: 1400px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; border-bottom: 1px solid var(--rule); }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 12px; padding-bottom: 4px; border-bottom: 1px solid var(--rule); }
h3 { font-size: 16px; margin: 28px 0 6px; }
.sub { color: var(--muted); margin: 0 0 16px; }
nav { margin: 8px 0 16px; font-size: 14px; }
nav a { margin-right: 14px; color: var(--accent); text-decoration: none; }
dl.meth { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 0; }
dl.meth dt { font-weight: bold; color: var(--muted); }
dl.meth dd { margin: 0; }
details { margin: 10px 0; }
pre { background: var(--bg-alt); padding: 10px 12px; overflow-x: auto; font-size: 13px; border-radius: 4px; }
.chart-block { margin: 28px 0 36px; }
.chart-block p { color: var(--muted); margin: 4px 0 4px; max-width: 70em; }
.chart { overflow-x: auto; min-height: 60px; }
.files { font-size: 13px; color: var(--muted); }
.files a { color: var(--accent); }
.table-wrap { overflow-x: auto; max-height: 640px; border: 1px solid var(--rule); border-radius: 4px; }
table { border-collapse: collapse; font-size: 13px; width: max-content; min-width: 100%; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--rule); text-align: left; white-space: nowrap; }
th { background: var(--bg-alt); position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fbfbfc; }
td.worse { color: #b22222; font-weight: bold; }
td.better { color: #2e7d32; }
.warn { background: #fff7e0; border: 1px solid #f0d68a; padding: 8px 12px; border-radius: 4px; }
.warn li { margin: 2px 0; }
footer { max-width: 1400px; margin: 40px auto 24px; padding: 0 24px; color: var(--muted); font-size: 13px; }
`;

const pageScript = `
(function () {
  var status = { total: 0, rendered: 0, failed: [], done: false };
  window.frbReport = status;
  var charts = JSON.parse(document.getElementById('frb-charts').textContent);
  status.total = charts.length;
  var jobs = charts.map(function (c) {
    var el = document.getElementById('chart-' + c.id);
    try {
      var compiled = vegaLite.compile(c.spec).spec;
      var view = new vega.View(vega.parse(compiled), { renderer: 'svg', container: el, hover: true });
      return view.runAsync().then(function () {
        el.setAttribute('data-rendered', 'true');
        status.rendered++;
      }, function (err) { fail(el, c.id, err); });
    } catch (err) {
      fail(el, c.id, err);
      return Promise.resolve();
    }
  });
  function fail(el, id, err) {
    el.setAttribute('data-rendered', 'failed');
    el.textContent = 'This chart could not be drawn: ' + (err && err.message ? err.message : err);
    status.failed.push(id);
    console.error('chart ' + id + ' failed: ' + (err && err.message ? err.message : err));
  }
  Promise.all(jobs).then(function () { status.done = true; });
})();
`;

export function buildPage(input: PageInput): string {
  const vegaJs = readFileSync(bundlePath('vega'), 'utf8');
  const vegaLiteJs = readFileSync(bundlePath('vega-lite'), 'utf8');
  const nav = [
    ...(input.preamble !== undefined ? ['<a href="#deltas">deltas</a>'] : []),
    '<a href="#charts">charts</a>',
    '<a href="#tables">tables</a>',
    '<a href="#methodology">methodology</a>',
  ].join('');
  const warnings =
    input.warnings.length === 0
      ? ''
      : `<div class="warn"><strong>Warnings</strong><ul>${input.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul></div>`;
  const chartsHtml = input.charts
    .map(
      // The chart draws its own title; the paragraph under it says how to read it.
      (c) => `<section class="chart-block" id="${escapeHtml(c.id)}">
<div class="chart" id="chart-${escapeHtml(c.id)}" data-chart="${escapeHtml(c.id)}" data-rendered="pending"></div>
<noscript><img src="${escapeHtml(c.id)}.png" alt="${escapeHtml(c.title)}" width="100%"></noscript>
<p>${escapeHtml(c.description)}</p>
<div class="files">files: <a href="${escapeHtml(c.id)}.vl.json">${escapeHtml(c.id)}.vl.json</a> · <a href="${escapeHtml(c.id)}.svg">.svg</a> · <a href="${escapeHtml(c.id)}.png">.png</a></div>
</section>`,
    )
    .join('\n');
  const skippedHtml =
    input.skipped.length === 0
      ? ''
      : `<h3>Not drawn</h3><ul>${input.skipped.map((s) => `<li><strong>${escapeHtml(s.title)}</strong>: ${escapeHtml(s.reason)}</li>`).join('')}</ul>`;
  const tablesHtml = input.tables
    .map((t) => `<h3>${escapeHtml(t.title)}</h3>\n<div class="table-wrap">${tableHtml(t)}</div>`)
    .join('\n');
  const methHtml = input.methodology
    .map(
      (m) => `<h3>${escapeHtml(m.heading)}</h3>
<dl class="meth">${m.items.map((i) => `<dt>${escapeHtml(i.label)}</dt><dd>${escapeHtml(i.value)}</dd>`).join('')}</dl>
<details><summary>experiment file as run</summary><pre>${escapeHtml(m.experimentText)}</pre></details>`,
    )
    .join('\n');
  const chartData = input.charts.map((c) => ({ id: c.id, spec: c.spec }));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(input.title)}</title>
<style>${style}</style>
</head>
<body>
<header>
<h1>${escapeHtml(input.title)}</h1>
<p class="sub">${escapeHtml(input.subtitle)}</p>
<nav>${nav}</nav>
</header>
<main>
${warnings}
${input.preamble ?? ''}
<h2 id="charts">Charts</h2>
${chartsHtml}
${skippedHtml}
<h2 id="tables">Tables</h2>
${tablesHtml}
<h2 id="methodology">Methodology</h2>
${methHtml}
</main>
<footer>Written by <code>frb</code> from the results folder only. Charts: vega ${escapeHtml(versionOf('vega'))} and vega-lite ${escapeHtml(versionOf('vega-lite'))}, inlined.</footer>
<script type="application/json" id="frb-charts">${inlineJson(chartData)}</script>
<script>${inlineScript(vegaJs)}</script>
<script>${inlineScript(vegaLiteJs)}</script>
<script>${pageScript}</script>
</body>
</html>
`;
}

function versionOf(pkg: 'vega' | 'vega-lite'): string {
  // package.json sits two folders above the browser bundle (build/…min.js).
  const file = join(dirname(dirname(bundlePath(pkg))), 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}
