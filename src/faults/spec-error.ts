// Errors a user causes by writing a bad experiment or network description. Every problem carries
// the field path it was found at, so that a whole file can be validated in one pass and all of its
// mistakes reported together (rather than fixed one per run). The experiment layer maps paths to
// YAML line numbers; this module knows nothing about files.

export interface SpecIssue {
  // Dotted path of the offending field, e.g. `network.latency.stddev` or `network.links["1->2"]`.
  readonly path: string;
  readonly message: string;
}

export class SpecError extends Error {
  override name = 'SpecError';
  readonly issues: readonly SpecIssue[];

  constructor(issues: readonly SpecIssue[]) {
    super(formatIssues(issues));
    this.issues = issues;
  }
}

export function formatIssues(issues: readonly SpecIssue[]): string {
  if (issues.length === 1) {
    const only = issues[0]!;
    return `${only.path}: ${only.message}`;
  }
  return `${issues.length} problems:\n` + issues.map((i) => `  ${i.path}: ${i.message}`).join('\n');
}

// IssueList collects problems while a validator keeps going, and throws them all at the end.
export class IssueList {
  readonly issues: SpecIssue[] = [];

  add(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  // attempt runs one field parser; a SpecError it throws is recorded and `fallback` returned, so
  // that validation of the sibling fields continues.
  attempt<T>(fallback: T, parse: () => T): T {
    try {
      return parse();
    } catch (err) {
      if (err instanceof SpecError) {
        for (const issue of err.issues) this.issues.push(issue);
        return fallback;
      }
      throw err;
    }
  }

  get empty(): boolean {
    return this.issues.length === 0;
  }

  throwIfAny(): void {
    if (this.issues.length > 0) throw new SpecError(this.issues.slice());
  }
}

// describeValue shows what the user wrote, short enough for a one-line message.
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 37) + '...' : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
