// `frb check CURRENT --baseline BASELINE`: the regression gate for CI. Exit 1 when any chosen
// metric of any matching run group is worse than the baseline by more than the tolerance (or
// when nothing matches at all); exit 0 otherwise.

import { Command } from 'commander';

export const checkMetricsDefault = 'p50,p99,throughput';

export function checkCommand(): Command {
  return new Command('check')
    .description('fail (exit 1) when the current results regress against a baseline beyond a tolerance')
    .argument('<current>', 'results folder to judge')
    .requiredOption('--baseline <dir>', 'results folder to judge against')
    .option('--tolerance <pct>', 'allowed worsening per metric, e.g. 10% (a bare number is a percentage)', '10%')
    .option('--metrics <list>', 'metrics to check (p50,p90,p99,p99.9,p99.99,max,mean,leader-p99,throughput,fast-path,messages,bytes,gap)', checkMetricsDefault)
    .option('--fail-on-missing', 'also fail when a run group exists on one side only')
    .option('--json', 'print the result as JSON')
    .action(async (current: string, opts: { baseline: string; tolerance: string; metrics: string; failOnMissing?: boolean; json?: boolean }) => {
      // Loaded when the command runs: vega and resvg are heavy, and other commands should not pay for them.
      const { checkRegression, formatCheck, loadResults, parseMetricList, parseTolerance } = await import('../report/index.js');
      const tolerancePct = parseTolerance(opts.tolerance);
      const metrics = parseMetricList(opts.metrics);
      const result = checkRegression(loadResults(current), loadResults(opts.baseline), {
        tolerancePct,
        metrics,
        failOnMissing: opts.failOnMissing === true,
      });
      if (opts.json === true) console.log(JSON.stringify(result, (_k, v: unknown) => (v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v), 2));
      else console.log(formatCheck(result));
      if (!result.ok) process.exitCode = 1;
    });
}
