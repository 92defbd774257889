// `frb report RESULTS_DIR`: charts (.vl.json, .svg, .png), index.html and notebook.ipynb in
// RESULTS_DIR/report/, from the results files alone.

import { Command } from 'commander';
import { relative } from 'node:path';

function shown(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel === '' ? '.' : rel.startsWith('..') ? p : rel;
}

export function reportCommand(): Command {
  return new Command('report')
    .description('draw the charts, HTML report and notebook of a results folder (reads only results files)')
    .argument('<results-dir>', 'results/<experiment>/<timestamp> (or results/<experiment>: the latest run is taken)')
    .option('--out <dir>', 'write the report here instead of <results-dir>/report')
    .option('--notebook <file>', 'also write the notebook to this file, with paths relative to it (for notebooks/)')
    .option('--quiet', 'print only the path of index.html')
    .action(async (dir: string, opts: { out?: string; notebook?: string; quiet?: boolean }) => {
      // Loaded when the command runs: vega and resvg are heavy, and other commands should not pay for them.
      const { writeReport } = await import('../report/index.js');
      const result = await writeReport(dir, {
        ...(opts.out !== undefined ? { outDir: opts.out } : {}),
        ...(opts.notebook !== undefined ? { notebookOut: opts.notebook } : {}),
      });
      const index = `${shown(result.outDir)}/index.html`;
      if (opts.quiet === true) {
        console.log(index);
        return;
      }
      console.log(`frb report: ${result.charts.length} charts, ${result.files.length} files in ${shown(result.outDir)}`);
      for (const c of result.charts) console.log(`  ${c.id}: ${c.title}`);
      for (const s of result.skipped) console.log(`  not drawn: ${s.title}: ${s.reason}`);
      for (const w of result.warnings) console.log(`warning: ${w}`);
      console.log(`open ${index}`);
    });
}
