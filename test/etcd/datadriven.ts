// A reader and runner for cockroachdb/datadriven test files, the format of etcd-io/raft's
// transcripts. It must read them exactly as the Go library does, or a file that passes in etcd
// could fail (or worse, pass vacuously) here:
//
//   # comment
//   <cmd> [key | key=val | key=(v1, v2, ...)]...
//   <input lines>
//   ----
//   <expected output, ended by a blank line>
//
// and, for output containing blank lines, the doubled form
//
//   ----
//   ----
//   <output>
//   ----
//   ----

import { AssertionError } from 'node:assert';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CmdArg {
  key: string;
  vals: string[];
}

export interface TestData {
  // file:line of the directive, for error messages.
  pos: string;
  cmd: string;
  cmdArgs: CmdArg[];
  input: string;
  expected: string;
}

export function cmdArgString(arg: CmdArg): string {
  switch (arg.vals.length) {
    case 0: return arg.key;
    case 1: return `${arg.key}=${arg.vals[0]!}`;
    default: return `${arg.key}=(${arg.vals.join(', ')})`;
  }
}

class ParseLineError extends Error {
  override name = 'ParseLineError';
}

// parseLine splits a directive into its command and arguments (datadriven's ParseLine). Values in
// parentheses may themselves contain balanced parentheses.
export function parseLine(lineIn: string): { cmd: string; cmdArgs: CmdArg[] } {
  const origLine = lineIn.trim();
  let line = origLine;
  if (line === '') return { cmd: '', cmdArgs: [] };
  const fail = (): never => {
    const column = origLine.length - line.length + 1;
    throw new ParseLineError(`cannot parse directive at column ${column}: ${origLine}`);
  };
  const until = (chars: string): string => {
    let idx = line.length;
    for (let i = 0; i < line.length; i++) {
      if (chars.includes(line[i]!)) {
        idx = i;
        break;
      }
    }
    const res = line.slice(0, idx);
    line = line.slice(idx);
    return res;
  };

  const cmd = until(' ');
  if (cmd === '') fail();
  line = line.trim();
  const cmdArgs: CmdArg[] = [];
  while (line !== '') {
    const key = until(' =');
    if (key === '') fail();
    const arg: CmdArg = { key, vals: [] };
    if (line !== '' && line[0] === '=') {
      line = line.slice(1);
      if (line === '' || line[0] === ' ') {
        arg.vals = [''];
      } else if (line[0] !== '(') {
        arg.vals = [until(' ')];
      } else {
        line = line.slice(1);
        for (let done = false; !done;) {
          const runes = Array.from(line);
          let pos = 0;
          // Advances pos past the ')' matching an already consumed '('.
          const untilMatchedParen = (): void => {
            while (pos < runes.length) {
              pos++;
              if (runes[pos - 1] === ')') return;
              if (runes[pos - 1] === '(') untilMatchedParen();
            }
            fail();
          };
          while (pos < runes.length && runes[pos] !== ')' && runes[pos] !== ',') {
            pos++;
            if (runes[pos - 1] === '(') untilMatchedParen();
          }
          if (pos === runes.length) fail();
          done = runes[pos] === ')';
          arg.vals.push(runes.slice(0, pos).join(''));
          line = runes.slice(pos + 1).join('').trim();
        }
      }
    }
    cmdArgs.push(arg);
    line = line.trim();
  }
  return { cmd, cmdArgs };
}

// Lines as Go's bufio.Scanner yields them: split on \n, a trailing \r dropped, and no empty last
// line for a file that ends in a newline.
function scanLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.endsWith('\r')) lines[i] = l.slice(0, -1);
  }
  return lines;
}

export function parseDatadriven(text: string, fileName: string): TestData[] {
  const lines = scanLines(text);
  const out: TestData[] = [];
  let next = 0; // index of the next line to scan; line numbers are 1-based
  const scan = (): string | undefined => (next < lines.length ? lines[next++] : undefined);

  for (let raw = scan(); raw !== undefined; raw = scan()) {
    const pos = `${fileName}:${next}`;
    let line = raw.trim();
    if (line.startsWith('#')) continue;
    // A directive may be wrapped over several lines with a trailing backslash.
    while (line.endsWith('\\')) {
      const cont = scan();
      if (cont === undefined) break;
      line = line.slice(0, -1) + ' ' + cont.trim();
    }
    let parsed: { cmd: string; cmdArgs: CmdArg[] };
    try {
      parsed = parseLine(line);
    } catch (e) {
      throw new Error(`${pos}: ${(e as Error).message}`);
    }
    if (parsed.cmd === '') continue;
    const d: TestData = { pos, cmd: parsed.cmd, cmdArgs: parsed.cmdArgs, input: '', expected: '' };
    out.push(d);
    if (parsed.cmd === 'subtest') continue;

    let input = '';
    let separator = false;
    for (let l = scan(); l !== undefined; l = scan()) {
      if (l === '----') {
        separator = true;
        break;
      }
      input += l + '\n';
    }
    d.input = input.trim();
    if (separator) d.expected = readExpected(scan);
  }
  return out;
}

function readExpected(scan: () => string | undefined): string {
  let buf = '';
  let line = scan();
  if (line === '----') {
    // Doubled separator: the output ends at the next "----" directly followed by "----".
    for (let l = scan(); l !== undefined; l = scan()) {
      if (l === '----') {
        const l2 = scan();
        if (l2 !== undefined) {
          if (l2 === '----') break;
          buf += l + '\n' + l2 + '\n';
          continue;
        }
      }
      buf += l + '\n';
    }
    return buf;
  }
  // Single separator: the output ends at the first blank (or all-whitespace) line.
  while (line !== undefined && line.trim() !== '') {
    buf += line + '\n';
    line = scan();
  }
  return buf;
}

// runDatadriven runs every directive of already parsed text through handler and throws on the
// first output that differs from the expectation.
export function runDatadriven(cases: readonly TestData[], handler: (d: TestData) => string): number {
  let n = 0;
  for (const d of cases) {
    let actual: string;
    try {
      actual = handler(d);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      throw new Error(`${d.pos}: ${d.cmd}: ${err.message}`, { cause: err });
    }
    if (!actual.endsWith('\n')) actual += '\n';
    if (actual !== d.expected) {
      const directive = [d.cmd, ...d.cmdArgs.map(cmdArgString)].join(' ');
      throw new AssertionError({
        message: `\n${d.pos}: ${directive}\n${d.input}\nexpected:\n${d.expected}\nfound:\n${actual}`,
        actual,
        expected: d.expected,
        operator: 'strictEqual',
      });
    }
    n++;
  }
  return n;
}

// runDatadrivenFile returns the number of directives checked.
export function runDatadrivenFile(path: string, handler: (d: TestData) => string): number {
  return runDatadriven(parseDatadriven(readFileSync(path, 'utf8'), path), handler);
}

// Names datadriven.Walk skips: hidden files, editor backups and autosaves.
export function isTempFileName(name: string): boolean {
  return /(^\..*)|(.*~$)|(^#.*#$)/.test(name);
}

function repositoryRoot(): string {
  // This file compiles to <root>/dist/test/etcd/datadriven.js; look for package.json upwards so
  // that a build into another outDir still finds the repository when it sits inside it.
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here, i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return resolve(here, '..', '..', '..');
}

// etcdTestdataPath is where the etcd testdata is expected (whether or not it exists).
export function etcdTestdataPath(): string {
  const env = process.env['ETCD_RAFT_TESTDATA'];
  if (env !== undefined && env !== '') return resolve(env);
  return resolve(repositoryRoot(), '..', 'shared', 'etcd-raft-testdata');
}

export function etcdTestdataRoot(): string | null {
  const p = etcdTestdataPath();
  try {
    return statSync(p).isDirectory() ? p : null;
  } catch {
    return null;
  }
}

export function etcdTestdataSkipMessage(): string {
  return `etcd testdata not found at ${etcdTestdataPath()}; set ETCD_RAFT_TESTDATA`;
}

// ---- argument helpers (datadriven's ScanArgs / CmdArg.Scan) ----

export function findArg(d: TestData, key: string): CmdArg | undefined {
  return d.cmdArgs.find((a) => a.key === key);
}

export function hasArg(d: TestData, key: string): boolean {
  return findArg(d, key) !== undefined;
}

// scanArg returns the values of the first argument named key; it throws when there is none.
export function scanArg(d: TestData, key: string): string[] {
  const a = findArg(d, key);
  if (a === undefined) throw new Error(`${d.pos}: missing argument: ${key}`);
  return a.vals;
}

function single(d: TestData, key: string): string {
  const vals = scanArg(d, key);
  if (vals.length !== 1) throw new Error(`${d.pos}: ${key}: got 1 destinations, but ${vals.length} values`);
  return vals[0]!;
}

// parseGoUint accepts what strconv.ParseUint(s, 10, 64) accepts, within the exact integer range.
export function parseGoUint(s: string): number {
  if (!/^[0-9]+$/.test(s)) throw new Error(`strconv.ParseUint: parsing ${JSON.stringify(s)}: invalid syntax`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new Error(`strconv.ParseUint: parsing ${JSON.stringify(s)}: value out of range`);
  return n;
}

export function parseGoInt(s: string): number {
  if (!/^[+-]?[0-9]+$/.test(s)) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(s)}: value out of range`);
  return n;
}

export function parseGoBool(s: string): boolean {
  switch (s) {
    case '1': case 't': case 'T': case 'true': case 'TRUE': case 'True': return true;
    case '0': case 'f': case 'F': case 'false': case 'FALSE': case 'False': return false;
    default: throw new Error(`strconv.ParseBool: parsing ${JSON.stringify(s)}: invalid syntax`);
  }
}

export function stringArg(d: TestData, key: string): string;
export function stringArg(d: TestData, key: string, dflt: string): string;
export function stringArg(d: TestData, key: string, dflt?: string): string {
  if (dflt !== undefined && !hasArg(d, key)) return dflt;
  return single(d, key);
}

export function intArg(d: TestData, key: string): number;
export function intArg(d: TestData, key: string, dflt: number): number;
export function intArg(d: TestData, key: string, dflt?: number): number {
  if (dflt !== undefined && !hasArg(d, key)) return dflt;
  const v = single(d, key);
  try {
    return parseGoInt(v);
  } catch (e) {
    throw new Error(`${d.pos}: ${key}: ${(e as Error).message}`);
  }
}

export function uintArg(d: TestData, key: string): number;
export function uintArg(d: TestData, key: string, dflt: number): number;
export function uintArg(d: TestData, key: string, dflt?: number): number {
  if (dflt !== undefined && !hasArg(d, key)) return dflt;
  const v = single(d, key);
  try {
    return parseGoUint(v);
  } catch (e) {
    throw new Error(`${d.pos}: ${key}: ${(e as Error).message}`);
  }
}

export function boolArg(d: TestData, key: string): boolean;
export function boolArg(d: TestData, key: string, dflt: boolean): boolean;
export function boolArg(d: TestData, key: string, dflt?: boolean): boolean {
  if (dflt !== undefined && !hasArg(d, key)) return dflt;
  const v = single(d, key);
  try {
    return parseGoBool(v);
  } catch (e) {
    throw new Error(`${d.pos}: ${key}: ${(e as Error).message}`);
  }
}

// uintListArg parses every value of key as an unsigned integer (e.g. voters=(1,2,3)).
export function uintListArg(d: TestData, key: string): number[] {
  return scanArg(d, key).map((v) => {
    try {
      return parseGoUint(v);
    } catch (e) {
      throw new Error(`${d.pos}: ${key}: ${(e as Error).message}`);
    }
  });
}
