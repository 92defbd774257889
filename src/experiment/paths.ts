// Field paths and "did you mean". A path is written the way the fault model writes it
// (`network.links["1->2"].latency`, `faults[0].crash`) so that issues from src/faults and from this
// layer name fields alike, and can be walked back to a YAML node to find a line and column.

export type Segment = string | number;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function childPath(path: string, key: string): string {
  if (IDENTIFIER.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

export function itemPath(path: string, index: number): string {
  return `${path}[${index}]`;
}

export function formatPath(segments: readonly Segment[]): string {
  let path = '';
  for (const s of segments) path = typeof s === 'number' ? itemPath(path, s) : childPath(path, s);
  return path;
}

// parsePath reads a path written by formatPath (or by the fault model) back into segments; null
// when it is not one.
export function parsePath(path: string): Segment[] | null {
  const out: Segment[] = [];
  let i = 0;
  const n = path.length;
  while (i < n) {
    const ch = path[i]!;
    if (ch === '.' && out.length > 0) {
      i++;
      continue;
    }
    if (ch === '[') {
      if (path[i + 1] === '"') {
        // A JSON string: find its closing quote, skipping escapes.
        let j = i + 2;
        while (j < n && path[j] !== '"') j += path[j] === '\\' ? 2 : 1;
        if (path[j + 1] !== ']') return null;
        try {
          out.push(JSON.parse(path.slice(i + 1, j + 1)) as string);
        } catch {
          return null;
        }
        i = j + 2;
        continue;
      }
      const close = path.indexOf(']', i);
      if (close < 0) return null;
      const index = Number(path.slice(i + 1, close));
      if (!Number.isInteger(index) || index < 0) return null;
      out.push(index);
      i = close + 1;
      continue;
    }
    let j = i;
    while (j < n && path[j] !== '.' && path[j] !== '[') j++;
    if (j === i) return null;
    out.push(path.slice(i, j));
    i = j;
  }
  return out;
}

// isUnder: `path` is `prefix` itself or a field or item inside it.
export function isUnder(path: string, prefix: string): boolean {
  if (prefix === '') return true;
  if (!path.startsWith(prefix)) return false;
  const next = path[prefix.length];
  return next === undefined || next === '.' || next === '[';
}

// editDistance is the optimal-string-alignment distance: insertions, deletions, substitutions and
// transpositions of neighbours (the usual typos) each cost 1.
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  // Three rows suffice for the transposition rule.
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  let cur = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n]!;
}

// Names longer than this are not compared (edit distance is quadratic; no field name is this long).
const suggestLengthMax = 64;

// suggest returns the candidate the user most likely meant, or undefined when none is close: a
// case difference, a few typos (about one per three letters), or a prefix of the right name.
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  if (word.length === 0 || word.length > suggestLengthMax) return undefined;
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const cand of candidates) {
    if (cand.length > suggestLengthMax) continue;
    const c = cand.toLowerCase();
    let score: number;
    if (c === lower) score = 0;
    else {
      const d = editDistance(lower, c);
      const limit = Math.max(1, Math.floor(Math.max(lower.length, c.length) / 3));
      if (d <= limit) score = d;
      else if (lower.length >= 3 && (c.startsWith(lower) || lower.startsWith(c))) score = limit + 1;
      else continue;
    }
    if (score < bestScore) {
      best = cand;
      bestScore = score;
    }
  }
  return best;
}

export function unknownFieldMessage(key: string, known: readonly string[]): string {
  const guess = suggest(key, known);
  if (guess !== undefined) return `unknown field ${JSON.stringify(key)} (did you mean ${JSON.stringify(guess)}?)`;
  return `unknown field ${JSON.stringify(key)} (expected one of: ${known.join(', ')})`;
}

// oneOfMessage is the complaint for a value outside a fixed set of names.
export function oneOfMessage(value: unknown, options: readonly string[], shown: string): string {
  const guess = typeof value === 'string' ? suggest(value, options) : undefined;
  const hint = guess !== undefined ? ` (did you mean ${JSON.stringify(guess)}?)` : '';
  return `expected one of ${options.join(', ')}, got ${shown}${hint}`;
}
