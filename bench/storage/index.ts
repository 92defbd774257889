// Storage benchmark: what durability costs on this disk, measured in one run on one folder.
//
//   raw floor        write of a 64-byte record + fdatasync, in place in a preallocated file (the
//                    least a durable write can cost here); beside it the same appended to a growing
//                    file (what a log opened with O_APPEND pays: the file system journals the new
//                    size too) and written at increasing offsets of a preallocated file (what
//                    LmdbStorage's write-ahead log does)
//   single append    LmdbStorage.saveReady of one entry (128-byte payload) and a hard state, durable
//   batch of 64      LmdbStorage.saveReady of 64 entries and a hard state, durable: entries/s, all
//                    time counted (checkpoints into LMDB included)
//   before           the path LmdbStorage took before its write-ahead log, on the same records through
//                    lmdb-js: one LMDB transaction per Ready committed with transactionSync
//                    (overlappingSync: false), two flushes per commit (data pages, then meta page)
//   variant          the write-ahead log with each Ready also committed to LMDB without a flush
//                    (MDB_NOSYNC), the log record written the same way: not taken (see the header
//                    of src/storage/lmdb-storage.ts), measured for its cost
//   sync: false      LmdbStorage without flushes, for reference
//
// Measurements are interleaved in rounds so that every figure sees the same disk conditions;
// latencies are medians (and p90/p99) over all samples of the run. The last line of stdout is one
// JSON object with the figures, the ratios to the raw floor and whether the targets are met.
//
// Options: --samples=N (single appends per kind and round), --batches=N (per round), --rounds=N.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execSync } from 'node:child_process';
import { open as lmdbOpen, type RootDatabase } from 'lmdb';
import { LmdbStorage } from '../../src/storage/index.js';
import { encodeEntry, encodeHardState } from '../../src/storage/codec.js';
import { EntryType, type Entry } from '../../src/core/types.js';

function arg(name: string, dflt: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? dflt : Number(a.slice(name.length + 3));
}

const SAMPLES_PER_ROUND = arg('samples', 300);
const BATCHES_PER_ROUND = arg('batches', 60);
const ROUNDS = arg('rounds', 5);
const WARMUP = 50;
const BATCH_ENTRIES = 64;
const PAYLOAD_BYTES = 128;
const RAW_RECORD_BYTES = 64;
const TARGET_SINGLE_RATIO = 1.6;
const TARGET_BATCH_ENTRIES_PER_S = 100_000;
const PREALLOC_BYTES = 64 << 20;

function nowUs(): number {
  return Number(process.hrtime.bigint()) / 1000;
}

interface Dist {
  p50Us: number;
  p90Us: number;
  p99Us: number;
  count: number;
}

function dist(samples: number[]): Dist {
  const s = samples.slice().sort((a, b) => a - b);
  const q = (p: number): number => Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]! * 10) / 10;
  return { p50Us: q(0.5), p90Us: q(0.9), p99Us: q(0.99), count: s.length };
}

const payload = new Uint8Array(PAYLOAD_BYTES).fill(0x61);

function entry(index: number, term: number): Entry {
  return { term, index, type: EntryType.EntryNormal, data: payload };
}

function disk(dir: string): string {
  try {
    return execSync(`df -P ${JSON.stringify(dir)} | tail -1`, { encoding: 'utf8' }).trim().split(/\s+/)[0] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function lmdbEnv(dir: string, noSync: boolean): RootDatabase<Buffer, number | string> {
  // LmdbStorage's layout and settings: entries under number keys and the hard state under a string
  // key, in the main database.
  return lmdbOpen<Buffer, number | string>({ path: dir, encoding: 'binary', mapSize: 64 * 1024 * 1024 * 1024, overlappingSync: false, noSync, noMemInit: true, cache: false });
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'frb-bench-storage-'));
  try {
    // Raw: a preallocated file overwritten in place or written at increasing offsets, and a growing
    // file.
    const rawPath = path.join(root, 'raw.bin');
    fs.writeFileSync(rawPath, Buffer.alloc(PREALLOC_BYTES));
    const rawFd = fs.openSync(rawPath, 'r+');
    fs.fsyncSync(rawFd);
    let seqOffset = 1 << 20;
    const growFd = fs.openSync(path.join(root, 'grow.bin'), 'a');
    const record = Buffer.alloc(RAW_RECORD_BYTES, 0x72);

    // LmdbStorage, durable and not.
    const durable = LmdbStorage.open({ dir: path.join(root, 'durable'), clusterId: 'bench', nodeId: 1 });
    const nosync = LmdbStorage.open({ dir: path.join(root, 'nosync'), clusterId: 'bench', nodeId: 2, sync: false });
    const batchStore = LmdbStorage.open({ dir: path.join(root, 'batch'), clusterId: 'bench', nodeId: 3 });
    let dIndex = 0;
    let nIndex = 0;
    let bIndex = 0;

    // Before: one durable LMDB transaction per Ready.
    const beforeEnv = lmdbEnv(path.join(root, 'before'), false);
    const beforeBatchEnv = lmdbEnv(path.join(root, 'before-batch'), false);
    let beforeIndex = 0;
    let beforeBatchIndex = 0;
    // Variant: log record + fdatasync, then an LMDB transaction without a flush.
    const variantEnv = lmdbEnv(path.join(root, 'variant'), true);
    const variantLogPath = path.join(root, 'variant-log.bin');
    fs.writeFileSync(variantLogPath, Buffer.alloc(PREALLOC_BYTES));
    const variantLogFd = fs.openSync(variantLogPath, 'r+');
    fs.fsyncSync(variantLogFd);
    let variantOffset = 0;
    let variantIndex = 0;

    const samples = {
      raw: [] as number[],
      grow: [] as number[],
      seq: [] as number[],
      single: [] as number[],
      nosync: [] as number[],
      before: [] as number[],
      variant: [] as number[],
      batch: [] as number[],
      beforeBatch: [] as number[],
    };

    const rawOnce = (): number => {
      const t0 = nowUs();
      fs.writeSync(rawFd, record, 0, RAW_RECORD_BYTES, 4096);
      fs.fdatasyncSync(rawFd);
      return nowUs() - t0;
    };
    const growOnce = (): number => {
      const t0 = nowUs();
      fs.writeSync(growFd, record, 0, RAW_RECORD_BYTES);
      fs.fdatasyncSync(growFd);
      return nowUs() - t0;
    };
    const seqOnce = (): number => {
      if (seqOffset + RAW_RECORD_BYTES > PREALLOC_BYTES) seqOffset = 1 << 20;
      const t0 = nowUs();
      fs.writeSync(rawFd, record, 0, RAW_RECORD_BYTES, seqOffset);
      fs.fdatasyncSync(rawFd);
      seqOffset += RAW_RECORD_BYTES;
      return nowUs() - t0;
    };
    const singleOnce = (s: LmdbStorage, index: number): number => {
      const e = entry(index, 1);
      const t0 = nowUs();
      s.saveReady([e], { term: 1, vote: 1, commit: index }, null);
      return nowUs() - t0;
    };
    const beforeOnce = (): number => {
      const index = ++beforeIndex;
      const e = entry(index, 1);
      const t0 = nowUs();
      beforeEnv.transactionSync(() => {
        void beforeEnv.put(index, encodeEntry(e));
        void beforeEnv.put('hardState', encodeHardState({ term: 1, vote: 1, commit: index }));
      });
      return nowUs() - t0;
    };
    const variantOnce = (): number => {
      const index = ++variantIndex;
      const e = entry(index, 1);
      const t0 = nowUs();
      const rec = Buffer.concat([encodeEntry(e), encodeHardState({ term: 1, vote: 1, commit: index })]);
      if (variantOffset + rec.length > PREALLOC_BYTES) variantOffset = 0;
      fs.writeSync(variantLogFd, rec, 0, rec.length, variantOffset);
      fs.fdatasyncSync(variantLogFd);
      variantOffset += (rec.length + 7) & ~7;
      variantEnv.transactionSync(() => {
        void variantEnv.put(index, encodeEntry(e));
        void variantEnv.put('hardState', encodeHardState({ term: 1, vote: 1, commit: index }));
      });
      return nowUs() - t0;
    };
    const batchOnce = (): number => {
      const ents: Entry[] = new Array<Entry>(BATCH_ENTRIES);
      for (let k = 0; k < BATCH_ENTRIES; k++) ents[k] = entry(bIndex + 1 + k, 1);
      bIndex += BATCH_ENTRIES;
      const t0 = nowUs();
      batchStore.saveReady(ents, { term: 1, vote: 1, commit: bIndex }, null);
      return nowUs() - t0;
    };
    const beforeBatchOnce = (): number => {
      const ents: Entry[] = new Array<Entry>(BATCH_ENTRIES);
      for (let k = 0; k < BATCH_ENTRIES; k++) ents[k] = entry(beforeBatchIndex + 1 + k, 1);
      beforeBatchIndex += BATCH_ENTRIES;
      const t0 = nowUs();
      beforeBatchEnv.transactionSync(() => {
        for (const e of ents) void beforeBatchEnv.put(e.index, encodeEntry(e));
        void beforeBatchEnv.put('hardState', encodeHardState({ term: 1, vote: 1, commit: beforeBatchIndex }));
      });
      return nowUs() - t0;
    };

    for (let k = 0; k < WARMUP; k++) {
      rawOnce();
      growOnce();
      seqOnce();
      singleOnce(durable, ++dIndex);
      singleOnce(nosync, ++nIndex);
      beforeOnce();
      variantOnce();
      batchOnce();
      beforeBatchOnce();
    }
    const checkpointsBefore = { single: durable.stats.checkpoints, batch: batchStore.stats.checkpoints };
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate the kinds sample by sample so that a slow patch of the disk hits all of them.
      for (let k = 0; k < SAMPLES_PER_ROUND; k++) {
        samples.raw.push(rawOnce());
        samples.single.push(singleOnce(durable, ++dIndex));
        samples.before.push(beforeOnce());
        samples.grow.push(growOnce());
        samples.seq.push(seqOnce());
        samples.variant.push(variantOnce());
        samples.nosync.push(singleOnce(nosync, ++nIndex));
      }
      for (let k = 0; k < BATCHES_PER_ROUND; k++) {
        samples.batch.push(batchOnce());
        samples.beforeBatch.push(beforeBatchOnce());
      }
      // Keep the logs short, as a node that snapshots would.
      durable.compact(dIndex - 10);
      nosync.compact(nIndex - 10);
      batchStore.compact(bIndex - 10);
    }
    const checkpoints = { single: durable.stats.checkpoints - checkpointsBefore.single, batch: batchStore.stats.checkpoints - checkpointsBefore.batch };
    const description = durable.describe();

    fs.closeSync(rawFd);
    fs.closeSync(growFd);
    fs.closeSync(variantLogFd);
    await durable.close();
    await nosync.close();
    await batchStore.close();
    await beforeEnv.close();
    await beforeBatchEnv.close();
    await variantEnv.close();

    const raw = dist(samples.raw);
    const ratio = (d: Dist): number => Math.round((d.p50Us / raw.p50Us) * 100) / 100;
    const withRatio = (d: Dist): Dist & { ratioToRawP50: number } => ({ ...d, ratioToRawP50: ratio(d) });
    const entriesPerS = (xs: number[]): number => Math.round((xs.length * BATCH_ENTRIES) / (xs.reduce((a, b) => a + b, 0) / 1e6));
    const single = dist(samples.single);
    const batch = dist(samples.batch);
    const beforeSingle = dist(samples.before);
    const beforeBatch = dist(samples.beforeBatch);
    const batchEntriesPerS = entriesPerS(samples.batch);
    const path_ =
      `write-ahead log: one record per Ready written into a preallocated file (pwrite) + fdatasync; ` +
      `checkpoint into LMDB (one durable transactionSync) every ${description.wal.checkpointBytes} log bytes or ${description.wal.checkpointEntries} entries`;
    const result = {
      bench: 'storage',
      schema: 2,
      dir: root,
      device: disk(root),
      node: process.version,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      lmdb: description.lmdbVersion,
      payloadBytes: PAYLOAD_BYTES,
      rounds: ROUNDS,
      path: path_,
      rawFloor: { ...raw, recordBytes: RAW_RECORD_BYTES, how: 'pwrite in place + fdatasync' },
      rawAppend: { ...withRatio(dist(samples.grow)), how: 'append to a growing file (O_APPEND) + fdatasync' },
      rawPreallocated: { ...withRatio(dist(samples.seq)), how: 'pwrite at increasing offsets of a preallocated file + fdatasync' },
      singleAppend: { ...withRatio(single), checkpoints: checkpoints.single },
      batch64: { ...withRatio(batch), entriesPerS: batchEntriesPerS, entriesPerSAtP50: Math.round(BATCH_ENTRIES / (batch.p50Us / 1e6)), checkpoints: checkpoints.batch },
      before: {
        path: 'one LMDB transaction per Ready, transactionSync with overlappingSync: false (two flushes per commit)',
        singleAppend: withRatio(beforeSingle),
        batch64: { ...withRatio(beforeBatch), entriesPerS: entriesPerS(samples.beforeBatch) },
      },
      variantLogPlusLmdbNoSync: withRatio(dist(samples.variant)),
      noSync: withRatio(dist(samples.nosync)),
      targets: {
        singleRatioMax: TARGET_SINGLE_RATIO,
        singleRatioMet: ratio(single) <= TARGET_SINGLE_RATIO,
        batchEntriesPerSMin: TARGET_BATCH_ENTRIES_PER_S,
        batchEntriesPerSMet: batchEntriesPerS >= TARGET_BATCH_ENTRIES_PER_S,
      },
    };
    const line = (name: string, d: Dist, extra = ''): string =>
      `${name.padEnd(48)} p50 ${d.p50Us.toFixed(1).padStart(8)} us  p90 ${d.p90Us.toFixed(1).padStart(8)} us  p99 ${d.p99Us.toFixed(1).padStart(8)} us  n=${d.count}${extra}`;
    console.log(`storage bench on ${result.device} (${root}), ${ROUNDS} rounds, lmdb ${result.lmdb}, ${process.version}`);
    console.log(`path: ${path_}`);
    console.log(line('raw floor (64 B pwrite in place + fdatasync)', raw));
    console.log(line('raw append to a growing file', dist(samples.grow), `  ${ratio(dist(samples.grow))}x floor`));
    console.log(line('raw pwrite at increasing offsets, preallocated', dist(samples.seq), `  ${ratio(dist(samples.seq))}x floor`));
    console.log(line('LmdbStorage single append', single, `  ${ratio(single)}x floor, ${checkpoints.single} checkpoints`));
    console.log(line('LmdbStorage batch of 64', batch, `  ${batchEntriesPerS} entries/s, ${checkpoints.batch} checkpoints`));
    console.log(line('before: LMDB transactionSync per Ready, single', beforeSingle, `  ${ratio(beforeSingle)}x floor`));
    console.log(line('before: LMDB transactionSync per Ready, batch 64', beforeBatch, `  ${result.before.batch64.entriesPerS} entries/s`));
    console.log(line('variant: log + LMDB txn without flush, single', dist(samples.variant), `  ${ratio(dist(samples.variant))}x floor`));
    console.log(line('LmdbStorage single append, sync: false', dist(samples.nosync)));
    console.log(
      `targets: single p50 <= ${TARGET_SINGLE_RATIO}x floor: ${result.targets.singleRatioMet ? 'met' : 'MISSED'} (${ratio(single)}x, before ${ratio(beforeSingle)}x); ` +
        `batch >= ${TARGET_BATCH_ENTRIES_PER_S} entries/s: ${result.targets.batchEntriesPerSMet ? 'met' : 'MISSED'} (${batchEntriesPerS}, before ${result.before.batch64.entriesPerS})`,
    );
    console.log(JSON.stringify(result));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
