// `frb check`: the regression gate. Every chosen metric of every run group present in both the
// current results and the baseline is compared (median over repeats); one that is worse than the
// baseline by more than the tolerance fails the check. Groups on one side only are listed, never
// silently dropped: a benchmark that stopped running a case must not pass for that reason.

import type { LoadedResults } from './load.js';
import type { MetricDef } from './metrics.js';
import { changePct, fmtChange, worsePct } from './metrics.js';
import { describeGroup, groupValue, matchRuns } from './match.js';

export interface CheckOptions {
  readonly tolerancePct: number;
  readonly metrics: readonly MetricDef[];
  // Fail as well when a run group exists on one side only.
  readonly failOnMissing?: boolean;
}

export interface CheckFinding {
  readonly where: string;
  readonly metric: string;
  readonly better: 'lower' | 'higher';
  readonly baseline: number;
  readonly current: number;
  readonly baselineText: string;
  readonly currentText: string;
  // Signed change (current vs baseline) and the same signed so that positive is worse.
  readonly changePct: number;
  readonly worsePct: number;
  readonly regression: boolean;
  readonly baselineRuns: readonly string[];
  readonly currentRuns: readonly string[];
}

export interface CheckResult {
  readonly ok: boolean;
  readonly reason: string;
  readonly tolerancePct: number;
  readonly metrics: readonly string[];
  readonly current: string;
  readonly baseline: string;
  readonly compared: number;
  readonly findings: readonly CheckFinding[];
  readonly regressions: readonly CheckFinding[];
  readonly onlyInBaseline: readonly string[];
  readonly onlyInCurrent: readonly string[];
  // A metric that did not apply on one side (e.g. fast-path ratio of a raft run).
  readonly notComparable: readonly string[];
  readonly warnings: readonly string[];
}

// parseTolerance accepts "10%", "10" (percent) or "0.1"? No: a bare number is percent, because
// "--tolerance 5" meaning 500% would pass every regression.
export function parseTolerance(text: string): number {
  const t = text.trim();
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*%?$/.exec(t);
  if (m === null) throw new Error(`tolerance must be a percentage like 10% or 2.5, got "${text}"`);
  const pct = Number(m[1]);
  if (!(pct >= 0 && pct <= 1000)) throw new Error(`tolerance must be between 0% and 1000%, got "${text}"`);
  return pct;
}

export function checkRegression(current: LoadedResults, baseline: LoadedResults, options: CheckOptions): CheckResult {
  const { matched, onlyBase, onlyOther } = matchRuns(baseline, current);
  const findings: CheckFinding[] = [];
  const notComparable: string[] = [];
  const warnings = [...baseline.warnings.map((w) => `baseline: ${w}`), ...current.warnings.map((w) => `current: ${w}`)];
  if (baseline.manifest.mode !== current.manifest.mode) {
    warnings.push(`the baseline ran in ${baseline.manifest.mode} mode and the current results in ${current.manifest.mode} mode`);
  }
  for (const m of matched) {
    for (const def of options.metrics) {
      const b = groupValue(def, m.base);
      const c = groupValue(def, m.other);
      if (b === null || c === null) {
        if (b !== c) notComparable.push(`${def.name} at ${m.where}: ${b === null ? 'baseline' : 'current'} has no value`);
        continue;
      }
      const worse = worsePct(def, b, c);
      findings.push({
        where: m.where,
        metric: def.name,
        better: def.better,
        baseline: b,
        current: c,
        baselineText: def.format(b),
        currentText: def.format(c),
        changePct: changePct(b, c),
        worsePct: worse,
        regression: worse > options.tolerancePct,
        baselineRuns: m.base.runs.map((r) => r.runId),
        currentRuns: m.other.runs.map((r) => r.runId),
      });
    }
  }
  const regressions = findings.filter((f) => f.regression);
  const onlyInBaseline = onlyBase.map(describeGroup);
  const onlyInCurrent = onlyOther.map(describeGroup);
  let reason: string;
  let ok: boolean;
  if (matched.length === 0) {
    ok = false;
    reason = 'no run of the current results matches a run of the baseline (compare their swept parameters)';
  } else if (regressions.length > 0) {
    ok = false;
    const worst = regressions.reduce((w, f) => (f.worsePct > w.worsePct ? f : w));
    reason = `${regressions.length} regression${regressions.length > 1 ? 's' : ''} beyond ${options.tolerancePct}%; worst: ${worst.metric} ${fmtChange(worst.changePct)} at ${worst.where}`;
  } else if (options.failOnMissing === true && onlyInBaseline.length + onlyInCurrent.length > 0) {
    ok = false;
    reason = `${onlyInBaseline.length} run group(s) only in the baseline, ${onlyInCurrent.length} only in the current results`;
  } else {
    ok = true;
    reason = `${findings.length} comparisons over ${matched.length} run groups within ${options.tolerancePct}%`;
  }
  return {
    ok,
    reason,
    tolerancePct: options.tolerancePct,
    metrics: options.metrics.map((m) => m.name),
    current: current.dir,
    baseline: baseline.dir,
    compared: matched.length,
    findings,
    regressions,
    onlyInBaseline,
    onlyInCurrent,
    notComparable,
    warnings,
  };
}

export function formatCheck(r: CheckResult): string {
  const out: string[] = [];
  out.push(`frb check: ${r.current}`);
  out.push(`  against baseline ${r.baseline}`);
  out.push(`  metrics ${r.metrics.join(', ')}; tolerance ${r.tolerancePct}%; ${r.compared} run groups matched`);
  for (const w of r.warnings) out.push(`warning: ${w}`);
  for (const f of r.regressions) {
    out.push(
      `REGRESSION ${f.metric} ${fmtChange(f.changePct)} (${f.baselineText} -> ${f.currentText}, ${f.better} is better) at ${f.where}` +
        ` [current runs ${f.currentRuns.join(', ')}]`,
    );
  }
  for (const g of r.onlyInBaseline) out.push(`only in the baseline: ${g}`);
  for (const g of r.onlyInCurrent) out.push(`only in the current results: ${g}`);
  for (const n of r.notComparable) out.push(`not comparable: ${n}`);
  out.push(`${r.ok ? 'PASS' : 'FAIL'}: ${r.reason}`);
  return out.join('\n');
}
