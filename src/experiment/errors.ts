// The error a user causes by writing a bad experiment file. It carries every problem found, each
// with its field path and position, so that one `frb validate` shows all of them.

import type { ExperimentIssue } from './types.js';

export class ExperimentFileError extends Error {
  override name = 'ExperimentFileError';
  readonly file: string;
  readonly issues: readonly ExperimentIssue[];

  constructor(file: string, issues: readonly ExperimentIssue[]) {
    super(summarize(file, issues));
    this.file = file;
    this.issues = issues;
  }
}

// formatIssue: `fast-vs-classic.yaml:12:9 workload.rate: expected a rate like 1000/s, got "fast"`.
export function formatIssue(issue: ExperimentIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  return issue.path === '' ? `${where} ${issue.message}` : `${where} ${issue.path}: ${issue.message}`;
}

// The message's first line stands alone (the CLI prints only it on an unexpected path); the
// issues follow, one per line.
function summarize(file: string, issues: readonly ExperimentIssue[]): string {
  if (issues.length === 1) return formatIssue(issues[0]!);
  return [`${file}: ${issues.length} problems`, ...issues.map(formatIssue)].join('\n');
}
