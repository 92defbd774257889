// Linearizability checking for KV histories, as Porcupine does it:
// - P-compositionality: a history of independent registers is linearizable iff each key's
//   sub-history is, so each key is checked on its own (exponentially cheaper than the whole).
// - Per key, the Wing & Gong search with Lowe's memoization: walk the time-ordered list of
//   call/return events; try to linearize each pending call whose call precedes the first
//   outstanding return; backtrack when a return is reached whose call was not linearized; and
//   remember every (set of linearized operations, register state) already explored, so that no
//   configuration is explored twice.
// - Pending operations (no completion) may have taken effect at any time after invocation: their
//   return is placed at +infinity, so the search may linearize them anywhere (or last, which is
//   equivalent to "never" since nothing observes them). Pending reads constrain nothing and are
//   dropped.
// - The search is bounded by a step limit; past it the answer is "unknown", never a hang.
// - On failure the failing key's history is shrunk (delta debugging) to a sub-history that is
//   still not linearizable and from which no single operation can be removed without either
//   making it linearizable or removing the only write of a value some read in it returned.

import { describeOperation } from './history.js';
import type { Operation } from './history.js';

export type CheckOutcome = 'ok' | 'illegal' | 'unknown';

export interface CheckOptions {
  // Search steps allowed per key (one step = one look at an event).
  readonly stepsMax?: number;
  // Shrink a failing key's history to a minimal counterexample.
  readonly shrink?: boolean;
  // Checks the shrinker may run (each bounded by stepsMax).
  readonly shrinkChecksMax?: number;
}

export interface KeyCheck {
  readonly key: string;
  readonly outcome: CheckOutcome;
  readonly operations: number;
  readonly steps: number;
}

export interface Counterexample {
  readonly key: string;
  // The sub-history, in invocation order.
  readonly operations: readonly Operation[];
  // How many operations the key's full history had.
  readonly operationsTotal: number;
  // True when no single operation can be removed (1-minimal, keeping the write of every value read);
  // false if the shrink budget ran out first.
  readonly minimal: boolean;
}

export interface CheckResult {
  readonly outcome: CheckOutcome;
  readonly keys: readonly KeyCheck[];
  // Present when outcome is 'illegal': the first failing key's counterexample.
  readonly counterexample?: Counterexample;
}

export const stepsMaxDefault = 10_000_000;
const shrinkChecksMaxDefault = 5_000;

export function checkLinearizable(ops: readonly Operation[], options: CheckOptions = {}): CheckResult {
  const stepsMax = options.stepsMax ?? stepsMaxDefault;
  const byKey = new Map<string, Operation[]>();
  for (const op of ops) {
    let list = byKey.get(op.key);
    if (list === undefined) {
      list = [];
      byKey.set(op.key, list);
    }
    list.push(op);
  }
  const keys: KeyCheck[] = [];
  let outcome: CheckOutcome = 'ok';
  let failing: readonly Operation[] | null = null;
  for (const [key, list] of byKey) {
    const r = checkRegister(list, stepsMax);
    keys.push({ key, outcome: r.outcome, operations: list.length, steps: r.steps });
    if (r.outcome === 'illegal') {
      if (failing === null) failing = list;
      outcome = 'illegal';
    } else if (r.outcome === 'unknown' && outcome === 'ok') {
      outcome = 'unknown';
    }
  }
  if (failing === null) return { outcome, keys };
  const counterexample = options.shrink === false
    ? { key: failing[0]!.key, operations: sortByInvoke(failing), operationsTotal: failing.length, minimal: false }
    : shrinkCounterexample(failing, stepsMax, options.shrinkChecksMax ?? shrinkChecksMaxDefault);
  return { outcome, keys, counterexample };
}

export interface RegisterCheck {
  readonly outcome: CheckOutcome;
  readonly steps: number;
}

// checkRegister checks operations on one key against a single-register model (initially absent).
export function checkRegister(opsIn: readonly Operation[], stepsMax = stepsMaxDefault): RegisterCheck {
  // A pending read constrains nothing.
  const ops = opsIn.filter((op) => !(op.kind === 'get' && op.completeUs === null));
  const n = ops.length;
  if (n === 0) return { outcome: 'ok', steps: 0 };

  // Values become small integers so that states compare and hash cheaply; 0 is "absent".
  const valueIds = new Map<string, number>();
  const intern = (v: string | null): number => {
    if (v === null) return 0;
    let id = valueIds.get(v);
    if (id === undefined) {
      id = valueIds.size + 1;
      valueIds.set(v, id);
    }
    return id;
  };
  const isPut = new Uint8Array(n);
  const valueOf = new Int32Array(n); // put: value written; get: value read
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    isPut[i] = op.kind === 'put' ? 1 : 0;
    valueOf[i] = intern(op.kind === 'put' ? op.valueIn : op.valueOut);
  }

  // Events: 2i is op i's call, 2i+1 its return. Calls sort before returns at the same time, so
  // operations that merely touch in time count as concurrent (the lenient reading, which never
  // reports a false violation because of clock granularity).
  const events: number[] = [];
  for (let i = 0; i < 2 * n; i++) events.push(i);
  const timeOf = (e: number): number => {
    const op = ops[e >> 1]!;
    return (e & 1) === 0 ? op.invokeUs : (op.completeUs ?? Infinity);
  };
  events.sort((a, b) => timeOf(a) - timeOf(b) || (a & 1) - (b & 1) || a - b);

  // Doubly linked list over list positions 1..2n; 0 is the head sentinel, -1 the end.
  const size = 2 * n + 1;
  const next = new Int32Array(size);
  const prev = new Int32Array(size);
  const eventAt = new Int32Array(size); // position -> event
  const positionOf = new Int32Array(2 * n); // event -> position
  for (let p = 1; p < size; p++) {
    eventAt[p] = events[p - 1]!;
    positionOf[events[p - 1]!] = p;
  }
  for (let p = 0; p < size; p++) {
    next[p] = p + 1 < size ? p + 1 : -1;
    prev[p] = p - 1;
  }
  const lift = (p: number): void => {
    // Remove the call at p and its return; their own links stay intact for unlift.
    const r = positionOf[eventAt[p]! | 1]!;
    next[prev[p]!] = next[p]!;
    if (next[p]! >= 0) prev[next[p]!] = prev[p]!;
    next[prev[r]!] = next[r]!;
    if (next[r]! >= 0) prev[next[r]!] = prev[r]!;
  };
  const unlift = (p: number): void => {
    // Undo lift in reverse order; valid because lifts are undone last-in first-out.
    const r = positionOf[eventAt[p]! | 1]!;
    if (next[r]! >= 0) prev[next[r]!] = r;
    next[prev[r]!] = r;
    if (next[p]! >= 0) prev[next[p]!] = p;
    next[prev[p]!] = p;
  };

  // Memo of explored configurations: Zobrist hashing of the linearized set (xor of a random
  // word per operation, two words wide) mixed with the state; buckets hold exact copies.
  const words = (n + 31) >>> 5;
  const bits = new Uint32Array(words);
  const zLo = new Uint32Array(n);
  const zHi = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    zLo[i] = mix32(i * 2 + 1);
    zHi[i] = mix32(i * 2 + 2 + 0x9e3779b9);
  }
  let hashLo = 0;
  let hashHi = 0;
  const cache = new Map<number, { readonly bits: Uint32Array; readonly state: number }[]>();
  // seen reports whether (bits, state) was explored before, and records it if not.
  const seen = (state: number): boolean => {
    const key = (hashLo >>> 0) * 0x200000 + (((hashHi ^ Math.imul(state + 1, 0x9e3779b1)) >>> 0) & 0x1fffff);
    let bucket = cache.get(key);
    if (bucket === undefined) {
      bucket = [];
      cache.set(key, bucket);
    }
    for (const e of bucket) {
      if (e.state === state && equalWords(e.bits, bits)) return true;
    }
    bucket.push({ bits: bits.slice(), state });
    return false;
  };

  const stackPos = new Int32Array(n);
  const stackState = new Int32Array(n);
  let depth = 0;
  let state = 0;
  let steps = 0;
  let p = next[0]!;
  while (next[0]! !== -1) {
    if (++steps > stepsMax) return { outcome: 'unknown', steps };
    let dead = false;
    if (p === next[0]!) {
      // A fresh level. If some candidate read (a call before the first outstanding return)
      // returned the current state, linearize it now and try nothing else here: moving a read to
      // the earliest point where it is allowed and matches never breaks a linearization (reads do
      // not change the state, and every operation it must follow is already linearized). This
      // is what keeps read-heavy, highly concurrent histories cheap.
      let q = p;
      while (q !== -1 && (eventAt[q]! & 1) === 0) {
        const i = eventAt[q]! >> 1;
        if (isPut[i] === 0 && valueOf[i] === state) break;
        q = next[q]!;
        steps++;
      }
      if (q !== -1 && (eventAt[q]! & 1) === 0) {
        const i = eventAt[q]! >> 1;
        bits[i >>> 5]! |= 1 << (i & 31);
        hashLo ^= zLo[i]!;
        hashHi ^= zHi[i]!;
        if (!seen(state)) {
          stackPos[depth] = q;
          stackState[depth] = state;
          depth++;
          lift(q);
          p = next[0]!;
          continue;
        }
        bits[i >>> 5]! &= ~(1 << (i & 31));
        hashLo ^= zLo[i]!;
        hashHi ^= zHi[i]!;
        dead = true;
      }
    }
    if (!dead) {
      const e = eventAt[p]!;
      if ((e & 1) === 0) {
        // A call. Reads were handled above (a read that does not match cannot go here); try
        // linearizing this write now.
        const i = e >> 1;
        if (isPut[i] === 1) {
          bits[i >>> 5]! |= 1 << (i & 31);
          hashLo ^= zLo[i]!;
          hashHi ^= zHi[i]!;
          if (!seen(valueOf[i]!)) {
            stackPos[depth] = p;
            stackState[depth] = state;
            depth++;
            state = valueOf[i]!;
            lift(p);
            p = next[0]!;
            continue;
          }
          bits[i >>> 5]! &= ~(1 << (i & 31));
          hashLo ^= zLo[i]!;
          hashHi ^= zHi[i]!;
        }
        p = next[p]!;
        continue;
      }
      // A return whose call is not linearized: this branch is dead.
    }
    // Undo the latest choice and try the next candidate at its level. A read chosen by the rule
    // above was the only choice of its level, so that level is dead too: keep undoing.
    for (;;) {
      if (depth === 0) return { outcome: 'illegal', steps };
      depth--;
      const q = stackPos[depth]!;
      state = stackState[depth]!;
      const j = eventAt[q]! >> 1;
      bits[j >>> 5]! &= ~(1 << (j & 31));
      hashLo ^= zLo[j]!;
      hashHi ^= zHi[j]!;
      unlift(q);
      if (isPut[j] === 1) {
        p = next[q]!;
        break;
      }
    }
  }
  return { outcome: 'ok', steps };
}

function equalWords(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function mix32(x: number): number {
  let z = Math.imul((x | 0) ^ 0x5bd1e995, 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function sortByInvoke(ops: readonly Operation[]): Operation[] {
  return ops.slice().sort((a, b) => a.invokeUs - b.invokeUs || a.id - b.id);
}

// shrinkCounterexample: first cut the history to the shortest prefix (in invocation order) that
// is still illegal, found by bisection, since a violation is usually local and everything invoked
// after it is noise; then delta debugging: remove chunks (halves, quarters, ... single
// operations) while what remains is still illegal, and repeat single removals until none helps.
// Each check gets a step budget scaled to what the original failure took, so that a candidate
// whose search explodes is skipped rather than waited for; "unknown" counts as "not shown
// illegal", so the result is always a proven violation.
export function shrinkCounterexample(ops: readonly Operation[], stepsMax = stepsMaxDefault, checksMax = shrinkChecksMaxDefault): Counterexample {
  let current = sortByInvoke(ops);
  let checks = 0;
  const first = checkRegister(current, stepsMax);
  const checkStepsMax = Math.min(stepsMax, Math.max(100_000, 4 * first.steps));
  // Removing the write a read observed always "works" (the read then sees a value nobody wrote)
  // but hides the real failure, a stale read becoming a phantom one. So a candidate keeps, for
  // every value it reads, a write of that value, unless the whole history never writes it.
  const writtenInFull = new Set<string>();
  for (const op of ops) if (op.kind === 'put' && op.valueIn !== null) writtenInFull.add(op.valueIn);
  // close adds back, from `pool`, the writes of values that reads in `candidate` returned, so that
  // removing a chunk never leaves a read unexplained (and removals succeed far more often).
  const close = (candidate: Operation[], pool: readonly Operation[]): Operation[] => {
    const written = new Set<string>();
    for (const op of candidate) if (op.kind === 'put' && op.valueIn !== null) written.add(op.valueIn);
    const needed = new Set<string>();
    for (const op of candidate) {
      if (op.kind === 'get' && op.completeUs !== null && op.valueOut !== null && writtenInFull.has(op.valueOut) && !written.has(op.valueOut)) {
        needed.add(op.valueOut);
      }
    }
    if (needed.size === 0) return candidate;
    const inCandidate = new Set(candidate);
    for (const op of pool) {
      if (op.kind === 'put' && op.valueIn !== null && needed.has(op.valueIn) && !inCandidate.has(op)) candidate.push(op);
    }
    return sortByInvoke(candidate);
  };
  const illegal = (candidate: readonly Operation[]): boolean => {
    if (candidate.length === 0) return false;
    checks++;
    return checkRegister(candidate, checkStepsMax).outcome === 'illegal';
  };
  if (first.outcome !== 'illegal') {
    return { key: ops[0]?.key ?? '', operations: current, operationsTotal: ops.length, minimal: false };
  }

  // Bisection keeps "lo is not shown illegal, hi is illegal"; it finds a boundary even though
  // illegality is not monotonic in the cut. First the end of the window, then its start.
  let lo = 0;
  let hi = current.length;
  while (hi - lo > 1 && checks < checksMax) {
    const mid = (lo + hi) >> 1;
    if (illegal(close(current.slice(0, mid), current))) hi = mid;
    else lo = mid;
  }
  current = close(current.slice(0, hi), current);
  let keep = 0; // dropping the first `keep` operations is illegal
  let drop = current.length; // dropping the first `drop` is not shown illegal
  while (drop - keep > 1 && checks < checksMax) {
    const mid = (keep + drop) >> 1;
    if (illegal(close(current.slice(mid), current))) keep = mid;
    else drop = mid;
  }
  current = close(current.slice(keep), current);

  // Each round halves the chunk or (at chunk 1) removes an operation or ends: at most
  // log2(n) + n rounds, and the check budget bounds the work inside them.
  let chunk = Math.max(1, current.length >> 1);
  let minimal = false;
  while (checks < checksMax) {
    let removedAny = false;
    let start = 0;
    while (start < current.length && checks < checksMax) {
      const candidate = close(current.slice(0, start).concat(current.slice(start + chunk)), current);
      if (candidate.length < current.length && illegal(candidate)) {
        current = candidate;
        removedAny = true;
      } else {
        start += chunk;
      }
    }
    const passComplete = start >= current.length;
    if (chunk > 1) {
      chunk = Math.max(1, chunk >> 1);
    } else if (!removedAny && passComplete) {
      minimal = true;
      break;
    }
  }
  return { key: ops[0]!.key, operations: current, operationsTotal: ops.length, minimal };
}

// formatCounterexample prints the sub-history as a table and a timeline, one row per operation,
// with times compressed to their order (only the order of invocations and completions matters).
export function formatCounterexample(ce: Counterexample): string {
  const ops = sortByInvoke(ce.operations);
  const lines: string[] = [];
  const what = ce.minimal ? 'a minimal counterexample' : 'a counterexample (shrinking stopped at its budget)';
  lines.push(`key ${JSON.stringify(ce.key)} is not linearizable: ${what}, ${ops.length} of ${ce.operationsTotal} operations.`);
  lines.push('No order of these operations that respects real time gives every read the value it returned.');
  const points = [...new Set(ops.flatMap((op) => (op.completeUs === null ? [op.invokeUs] : [op.invokeUs, op.completeUs])))].sort((a, b) => a - b);
  const col = (t: number): number => points.indexOf(t) * 4;
  const width = points.length * 4;
  const labels = ops.map((op) => `#${op.id} client ${op.clientId}  ${describeOperation(op)}`);
  const labelWidth = Math.max(...labels.map((l) => l.length));
  ops.forEach((op, k) => {
    const start = col(op.invokeUs);
    const end = op.completeUs === null ? width : col(op.completeUs);
    const bar = ' '.repeat(start) + '|' + '-'.repeat(Math.max(0, end - start - 1)) + (op.completeUs === null ? '-->' : '|');
    const times = `[${op.invokeUs}us, ${op.completeUs === null ? 'pending' : `${op.completeUs}us`}]`;
    lines.push(`  ${labels[k]!.padEnd(labelWidth)}  ${bar.padEnd(width + 3)}  ${times}`);
  });
  return lines.join('\n');
}
