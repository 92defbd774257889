// `frb compare A B [...]`: results folders side by side; overlaid charts and a deltas table as a
// report folder, and the deltas printed as a table.

import { Command } from 'commander';

export const compareMetricsDefault = 'p50,p99,throughput,fast-path,messages';

export function compareCommand(): Command {
  return new Command('compare')
    .description('compare two or more results folders (the first is the reference): overlaid charts and deltas per matching run')
    .argument('<results-dirs...>', 'two or more results folders')
    .option('--out <dir>', 'report folder to write', 'compare-report')
    .option('--labels <names>', 'comma-separated names of the folders, in order (default: experiment names)')
    .option('--metrics <list>', 'metrics in the deltas table', compareMetricsDefault)
    .action(async (dirs: string[], opts: { out: string; labels?: string; metrics: string }) => {
      // Loaded when the command runs: vega and resvg are heavy, and other commands should not pay for them.
      const { parseMetricList, tableText, writeCompare } = await import('../report/index.js');
      if (dirs.length < 2) throw new Error('compare needs at least two results folders');
      const metrics = parseMetricList(opts.metrics);
      const labels = opts.labels?.split(',').map((l) => l.trim());
      const result = await writeCompare(dirs, { outDir: opts.out, metrics, ...(labels !== undefined ? { labels } : {}) });
      console.log(result.deltas.title);
      console.log(tableText(result.deltas));
      for (const l of result.onlyOneSide) console.log(l);
      for (const w of result.warnings) console.log(`warning: ${w}`);
      console.log(`report: ${result.outDir}/index.html`);
    });
}
