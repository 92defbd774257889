// Crash safety of LmdbStorage under SIGKILL: a child process (crash-child.ts) appends, overwrites
// conflicting suffixes, commits, compacts and snapshots through LmdbStorage, reporting each
// operation before ("B") and after ("A") it runs; it is killed at a random moment, often in the
// middle of a transaction, sometimes while it opens the store. After every kill the store must open,
// and hold exactly the state after the last acknowledged operation, or after the one that was
// running (a transaction is all or nothing). The parent keeps that expected state on a MemoryStorage.
//
// FRB_CRASH_ITERATIONS sets the number of kills (default 200, 50 when CI is set).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import { MemoryStorage } from '../../src/core/storage.js';
import { Rng } from '../../src/core/rand.js';
import { LmdbStorage } from '../../src/storage/index.js';
import { applyOp, type CrashOp } from './crash-model.js';
import { tempRoot } from './helpers.js';

const childPath = fileURLToPath(new URL('./crash-child.js', import.meta.url));
const iterations = Number(process.env['FRB_CRASH_ITERATIONS'] ?? (process.env['CI'] ? 50 : 200));
// The child is killed this long after it reported the store open (uniform), or, one time in eight,
// this long after it was spawned, which lands in startup or in the open itself.
const KILL_DELAY_MS_MAX = 60;
const CHILD_TIMEOUT_MS = 20_000;

interface ChildRun {
  lines: string[];
  signal: NodeJS.Signals | null;
  code: number | null;
  stderr: string;
}

function runChild(dir: string, seed: number, rng: Rng): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childPath], {
      env: { ...process.env, FRB_CRASH_CHILD_DIR: dir, FRB_CRASH_CHILD_SEED: String(seed) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stderr = '';
    let armed = false;
    const kill = (): void => {
      child.kill('SIGKILL');
    };
    const arm = (): void => {
      if (armed) return;
      armed = true;
      setTimeout(kill, rng.intn(KILL_DELAY_MS_MAX + 1));
    };
    const guard = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child ${seed} did not finish within ${CHILD_TIMEOUT_MS} ms`));
    }, CHILD_TIMEOUT_MS);
    if (rng.intn(8) === 0) setTimeout(kill, 20 + rng.intn(60));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (!armed && out.startsWith('R\n')) arm();
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ lines: out.split('\n'), signal, code, stderr });
    });
  });
}

function state(s: MemoryStorage | LmdbStorage): unknown {
  const first = s.firstIndex();
  const last = s.lastIndex();
  return {
    first,
    last,
    init: s.initialState(),
    snapshot: s.snapshot(),
    termBeforeFirst: s.term(first - 1),
    entries: last >= first ? s.entries(first, last + 1, Infinity) : [],
  };
}

function sameState(a: unknown, b: unknown): boolean {
  try {
    assert.deepEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

test(`SIGKILL at random moments never loses an acknowledged write (${iterations} kills)`, { timeout: 600_000 }, async () => {
  const { root, cleanup } = tempRoot('crash');
  const dir = path.join(root, 'crash-node-1');
  const rng = new Rng(Number(process.env['FRB_CRASH_SEED'] ?? Date.now() % 1_000_000));
  const model = new MemoryStorage();
  let acked = 0;
  let midTransaction = 0;
  let killedBeforeOpen = 0;
  try {
    for (let it = 1; it <= iterations; it++) {
      const run = await runChild(dir, it, rng);
      assert.equal(run.signal, 'SIGKILL', `child ${it} ended by itself (code ${run.code}): ${run.stderr}`);
      if (run.lines[0] !== 'R') killedBeforeOpen++;
      let pending: CrashOp | null = null;
      for (const line of run.lines) {
        if (line.startsWith('B ')) {
          pending = JSON.parse(line.slice(2)) as CrashOp;
        } else if (line.startsWith('A ')) {
          assert.ok(pending !== null && String(pending.seq) === line.slice(2), `child ${it}: ack without its operation`);
          applyOp(model, pending);
          acked++;
          pending = null;
        }
      }
      const s = LmdbStorage.open({ dir, clusterId: 'crash', nodeId: 1 });
      try {
        const got = state(s);
        if (!sameState(got, state(model))) {
          assert.ok(pending !== null, `child ${it}: the store differs from what was acknowledged, and no operation was running`);
          applyOp(model, pending);
          midTransaction++;
          assert.deepEqual(got, state(model), `child ${it}: the store is neither the acknowledged state nor the one after ${JSON.stringify(pending)}`);
        }
      } finally {
        await s.close();
      }
    }
  } finally {
    cleanup();
  }
  // The kills must have exercised something (how much depends on the disk's speed).
  assert.ok(acked > 0, 'no operation was acknowledged');
  console.log(`crash test: ${iterations} kills, ${acked} acknowledged operations, ${midTransaction} kills after a commit and before its ack, ${killedBeforeOpen} before the store was open; final log [${model.firstIndex()}, ${model.lastIndex()}]`);
});
