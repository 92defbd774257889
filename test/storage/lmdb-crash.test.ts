// Crash safety of LmdbStorage under SIGKILL: a child process (crash-child.ts) appends, overwrites
// conflicting suffixes, commits, compacts and snapshots through LmdbStorage, reporting each
// operation before ("B") and after ("A") it runs, and each write-ahead log record ("W" ... "w") and
// checkpoint into LMDB ("C" ... "c") inside it; it is killed at a random moment: in the middle of a
// log write or its fdatasync, in the middle of a checkpoint (its thresholds are set small, so
// checkpoints are frequent, and large snapshots skip the log and are checkpoints of their own),
// between them, sometimes while it opens the store (which replays the log and checkpoints). After
// every kill the store must open, and hold exactly the state after the last acknowledged operation,
// or after the one that was running (a mutation is all or nothing). The parent keeps that expected
// state on a MemoryStorage.
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

// Checkpoint thresholds of the children, picked at random per child: from a checkpoint every few
// records to the defaults.
const WAL_CHECKPOINT_BYTES = [4096, 16_384, 65_536, 1 << 20];
const CHECKPOINT_ENTRIES = [4, 32, 256, 2048];

function runChild(dir: string, seed: number, rng: Rng): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childPath], {
      env: {
        ...process.env,
        FRB_CRASH_CHILD_DIR: dir,
        FRB_CRASH_CHILD_SEED: String(seed),
        FRB_CRASH_CHILD_WAL_CHECKPOINT_BYTES: String(WAL_CHECKPOINT_BYTES[rng.intn(WAL_CHECKPOINT_BYTES.length)]),
        FRB_CRASH_CHILD_CHECKPOINT_ENTRIES: String(CHECKPOINT_ENTRIES[rng.intn(CHECKPOINT_ENTRIES.length)]),
      },
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
      if (!armed && /(^|\n)R\n/.test(out)) arm();
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
  let replayed = 0;
  // Where the kills landed: the last thing the child reported before it died.
  const landed = { openCheckpoint: 0, walWrite: 0, checkpoint: 0, restOfOperation: 0, betweenOperations: 0 };
  try {
    for (let it = 1; it <= iterations; it++) {
      const run = await runChild(dir, it, rng);
      assert.equal(run.signal, 'SIGKILL', `child ${it} ended by itself (code ${run.code}): ${run.stderr}`);
      let opened = false;
      let phase: keyof typeof landed | 'open' = 'open';
      let pending: CrashOp | null = null;
      for (const line of run.lines) {
        if (line === 'R') {
          opened = true;
          phase = 'betweenOperations';
        } else if (line === 'W') {
          phase = 'walWrite';
        } else if (line === 'C') {
          phase = opened ? 'checkpoint' : 'openCheckpoint';
        } else if (line === 'w' || line === 'c') {
          phase = opened ? 'restOfOperation' : 'open';
        } else if (line.startsWith('B ')) {
          pending = JSON.parse(line.slice(2)) as CrashOp;
          phase = 'restOfOperation';
        } else if (line.startsWith('A ')) {
          assert.ok(pending !== null && String(pending.seq) === line.slice(2), `child ${it}: ack without its operation`);
          applyOp(model, pending);
          acked++;
          pending = null;
          phase = 'betweenOperations';
        }
      }
      if (phase === 'open') killedBeforeOpen++;
      else landed[phase]++;
      const s = LmdbStorage.open({ dir, clusterId: 'crash', nodeId: 1 });
      replayed += s.recovery.replayedRecords;
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
  assert.ok(replayed > 0, 'no open replayed the write-ahead log');
  if (iterations >= 40) {
    assert.ok(landed.walWrite > 0 && landed.checkpoint > 0, `no kill landed in a log write or in a checkpoint: ${JSON.stringify(landed)}`);
  }
  console.log(
    `crash test: ${iterations} kills, ${acked} acknowledged operations, ${midTransaction} kills after a durable write and before its ack, ` +
      `${killedBeforeOpen} before the store was open; kills landed: ${JSON.stringify(landed)}; ${replayed} log records replayed at opens; ` +
      `final log [${model.firstIndex()}, ${model.lastIndex()}]`,
  );
});
