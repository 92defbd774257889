// notebook.ipynb: the report as a Jupyter notebook (nbformat 4.5). Markdown cells carry the
// methodology and the tables; each chart is a code cell that loads its .vl.json and displays it,
// saved together with its output (the vega-lite spec as application/vnd.vegalite.v5+json, a PNG
// fallback for viewers without vega, and a text/plain line), so the notebook reads complete
// without being run, on GitHub as well as in JupyterLab.

import type { Chart, SkippedChart } from './charts/common.js';
import type { MethodologySection } from './html.js';
import type { Table } from './tables.js';
import { tableMarkdown } from './tables.js';

export const vegaLiteMime = 'application/vnd.vegalite.v5+json';

export interface NotebookChart {
  readonly chart: Chart;
  readonly png: Buffer;
}

export interface NotebookInput {
  readonly title: string;
  readonly subtitle: string;
  readonly methodology: readonly MethodologySection[];
  readonly charts: readonly NotebookChart[];
  readonly skipped: readonly SkippedChart[];
  readonly tables: readonly Table[];
  readonly warnings: readonly string[];
  // Where the .vl.json files are, relative to the notebook (posix separators).
  readonly specDir: string;
  // Results folders the report was drawn from, relative to the notebook.
  readonly resultsDirs: readonly string[];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface NotebookCell {
  readonly id: string;
  readonly cell_type: 'markdown' | 'code';
  readonly metadata: Record<string, Json>;
  readonly source: string[];
  readonly outputs?: Json[];
  readonly execution_count?: number | null;
}

export interface Notebook {
  readonly nbformat: 4;
  readonly nbformat_minor: 5;
  readonly metadata: Record<string, Json>;
  readonly cells: NotebookCell[];
}

// nbformat stores text as a list of lines, each but the last ending in "\n".
export function lines(text: string): string[] {
  const parts = text.split('\n');
  return parts.map((p, i) => (i < parts.length - 1 ? `${p}\n` : p)).filter((p) => p !== '');
}

function cellId(stem: string): string {
  // nbformat 4.5: ^[a-zA-Z0-9-_]+$, 1 to 64 characters.
  return stem.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 64);
}

function markdown(id: string, text: string): NotebookCell {
  return { id: cellId(id), cell_type: 'markdown', metadata: {}, source: lines(text) };
}

function code(id: string, text: string, outputs: Json[] = []): NotebookCell {
  return { id: cellId(id), cell_type: 'code', metadata: {}, source: lines(text), outputs, execution_count: null };
}

function pyString(s: string): string {
  return JSON.stringify(s);
}

export function buildNotebook(input: NotebookInput): Notebook {
  const cells: NotebookCell[] = [];
  const meth = input.methodology
    .map(
      (m) =>
        `### ${m.heading}\n\n` +
        m.items.map((i) => `- **${i.label}**: ${i.value.replace(/\n/g, ' ')}`).join('\n') +
        `\n\n<details><summary>experiment file as run</summary>\n\n\`\`\`yaml\n${m.experimentText.trimEnd()}\n\`\`\`\n\n</details>`,
    )
    .join('\n\n');
  cells.push(markdown('title', `# ${input.title}\n\n${input.subtitle}`));
  cells.push(markdown('methodology', `## Methodology\n\n${meth}`));
  if (input.warnings.length > 0) {
    cells.push(markdown('warnings', `**Warnings**\n\n${input.warnings.map((w) => `- ${w}`).join('\n')}`));
  }
  cells.push(
    code(
      'setup',
      [
        '# The charts are vega-lite specs next to this report; each cell below displays one.',
        '# Saved outputs make the notebook readable without running it; re-run to redraw from the files.',
        'import json',
        'from pathlib import Path',
        'from IPython.display import display',
        '',
        `REPORT_DIR = Path(${pyString(input.specDir)})`,
        '',
        'def show(name):',
        "    spec = json.loads((REPORT_DIR / f'{name}.vl.json').read_text())",
        `    display({${pyString(vegaLiteMime)}: spec, 'text/plain': f'<vega-lite chart {name}>'}, raw=True)`,
      ].join('\n'),
    ),
  );
  cells.push(markdown('charts', '## Charts'));
  for (const { chart, png } of input.charts) {
    cells.push(markdown(`md-${chart.id}`, `### ${chart.title}\n\n${chart.description}`));
    cells.push(
      code(`chart-${chart.id}`, `show(${pyString(chart.id)})`, [
        {
          output_type: 'display_data',
          data: {
            [vegaLiteMime]: chart.spec as { [key: string]: Json },
            'image/png': png.toString('base64'),
            'text/plain': [`<vega-lite chart ${chart.id}>`],
          },
          metadata: {},
        },
      ]),
    );
  }
  if (input.skipped.length > 0) {
    cells.push(markdown('not-drawn', `### Not drawn\n\n${input.skipped.map((s) => `- **${s.title}**: ${s.reason}`).join('\n')}`));
  }
  cells.push(markdown('tables', '## Tables'));
  input.tables.forEach((t, i) => cells.push(markdown(`table-${i}`, `### ${t.title}\n\n${tableMarkdown(t)}`)));
  cells.push(
    code(
      'explore',
      [
        '# Every run summary as a list of dicts, for your own analysis (pandas: pd.json_normalize(runs)).',
        `RESULTS = [Path(p) for p in ${JSON.stringify(input.resultsDirs)}]`,
        "runs = [json.loads(f.read_text()) for d in RESULTS for f in sorted(d.glob('runs/*/summary.json'))]",
        "print(len(runs), 'runs')",
      ].join('\n'),
    ),
  );
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' },
      language_info: { name: 'python' },
      title: input.title,
    },
    cells,
  };
}
