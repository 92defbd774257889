// Child process of the SIGKILL crash test (lmdb-crash.test.ts). Inert unless FRB_CRASH_CHILD_DIR is
// set, because the test runner also loads every file under dist/test/.
//
// It opens the store, prints "R", then performs random operations forever, printing for each
// "B <op as JSON>" before it starts and "A <seq>" once LmdbStorage has returned (the operation is
// then durable). Inside the store it prints "W" before a write-ahead log record is written, "w"
// once it is durable, "C" when a checkpoint into LMDB starts and "c" when it has committed (the open
// itself may checkpoint, before "R"), so that the parent can tell where a kill landed. The
// checkpoint thresholds come from the parent, small enough that checkpoints are frequent. The
// parent kills it at a random moment and checks the store against those lines.

import * as fs from 'node:fs';
import { Rng } from '../../src/core/rand.js';
import { LmdbStorage, type StorageTraceEvent } from '../../src/storage/index.js';
import { applyOp, nextOp } from './crash-model.js';

const TRACE: Record<StorageTraceEvent, string> = { 'wal-write': 'W\n', 'wal-written': 'w\n', checkpoint: 'C\n', checkpointed: 'c\n' };

const dir = process.env['FRB_CRASH_CHILD_DIR'];
if (dir !== undefined && dir !== '') {
  const seed = Number(process.env['FRB_CRASH_CHILD_SEED'] ?? '1');
  const opsMax = Number(process.env['FRB_CRASH_CHILD_OPS_MAX'] ?? '100000');
  const walCheckpointBytes = Number(process.env['FRB_CRASH_CHILD_WAL_CHECKPOINT_BYTES'] ?? 1 << 20);
  const checkpointEntries = Number(process.env['FRB_CRASH_CHILD_CHECKPOINT_ENTRIES'] ?? 2048);
  const rng = new Rng(seed);
  const s = LmdbStorage.open({
    dir,
    clusterId: 'crash',
    nodeId: 1,
    walCheckpointBytes,
    checkpointEntries,
    trace: (event) => fs.writeSync(1, TRACE[event]),
  });
  fs.writeSync(1, 'R\n');
  // Bounded: the parent kills us long before; the bound keeps a lost child from running forever.
  for (let seq = seed * 1_000_000; seq < seed * 1_000_000 + opsMax; seq++) {
    const op = nextOp(s, rng, seq);
    fs.writeSync(1, `B ${JSON.stringify(op)}\n`);
    applyOp(s, op);
    fs.writeSync(1, `A ${seq}\n`);
  }
  await s.close();
}
