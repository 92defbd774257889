// Reading an experiment file: YAML text -> plain data, plus a way back from a field path to the
// line and column where that field is written, so that every issue can point into the file.

import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node, Pair } from 'yaml';
import { parsePath } from './paths.js';

export interface Position {
  readonly line: number;
  readonly column: number;
}

export interface SyntaxIssue extends Position {
  readonly message: string;
}

export interface YamlSource {
  // The document as plain data (mappings are plain objects, sequences arrays); undefined when the
  // file has syntax errors.
  readonly data: unknown;
  readonly errors: readonly SyntaxIssue[];
  // locate finds the position of the field at `path` (of its key when `atKey`), or of the deepest
  // enclosing node that exists when the field itself is not written.
  locate(path: string, atKey: boolean): Position;
}

// An alias may expand to a copy of a large subtree; a file with many of them (the "billion laughs"
// document) would otherwise expand exponentially.
const aliasCountMax = 1000;
// Bound on the file itself: an experiment is a page of settings, not a data set.
export const experimentFileBytesMax = 1 << 20;

const start: Position = { line: 1, column: 1 };

export function loadYaml(text: string): YamlSource {
  const lineCounter = new LineCounter();
  const position = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  if (text.length > experimentFileBytesMax) {
    return { data: undefined, errors: [{ ...start, message: `file is larger than ${experimentFileBytesMax} bytes` }], locate: () => start };
  }
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: true });
  const errors: SyntaxIssue[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    errors.push({ ...position(e.pos[0]), message: `YAML: ${e.message.split('\n')[0]!}` });
  }
  let data: unknown;
  if (errors.length === 0) {
    try {
      data = doc.toJS({ maxAliasCount: aliasCountMax });
    } catch (err) {
      errors.push({ ...start, message: `YAML: ${(err as Error).message.split('\n')[0]!}` });
    }
  }
  return {
    data,
    errors,
    locate: (path, atKey) => {
      const offset = findOffset(doc, path, atKey);
      return offset === undefined ? start : position(offset);
    },
  };
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}

function resolve(doc: Document, node: unknown): unknown {
  // Aliases point at their anchor; a chain is bounded by the document's size.
  for (let guard = 0; guard < aliasCountMax && isAlias(node); guard++) node = node.resolve(doc);
  return node;
}

function keyMatches(pair: Pair, key: string): boolean {
  return isScalar(pair.key) ? String(pair.key.value) === key : false;
}

// findPair looks for `key` in a mapping, then in the mappings merged into it with `<<`.
function findPair(doc: Document, map: unknown, key: string, depth = 0): Pair | undefined {
  if (!isMap(map) || depth > 8) return undefined;
  for (const item of map.items) {
    if (isPair(item) && keyMatches(item, key)) return item;
  }
  for (const item of map.items) {
    if (!isPair(item) || !keyMatches(item, '<<')) continue;
    const merged = resolve(doc, item.value);
    const sources = isSeq(merged) ? merged.items.map((n) => resolve(doc, n)) : [merged];
    for (const s of sources) {
      const found = findPair(doc, s, key, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function findOffset(doc: Document, path: string, atKey: boolean): number | undefined {
  const segments = parsePath(path);
  let node: unknown = doc.contents;
  let best = rangeStart(node);
  if (segments === null) return best;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    node = resolve(doc, node);
    const last = i === segments.length - 1;
    if (isMap(node)) {
      const pair = findPair(doc, node, String(seg));
      if (pair === undefined) return best;
      if (last && atKey) return rangeStart(pair.key) ?? best;
      // `key:` with nothing after it has no value node; its key is the best place to point.
      if (pair.value === null || pair.value === undefined) return rangeStart(pair.key) ?? best;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) return best;
      node = item;
    } else {
      return best;
    }
    best = rangeStart(node) ?? best;
  }
  return best;
}
