// Storage benchmark: what durability costs on this disk, measured in one run on one folder.
//
//   raw floor        write of a 64-byte record + fdatasync, in place in a preallocated file (the
//                    least a durable write can cost here); the same appended to a growing file is
//                    reported beside it
//   single append    LmdbStorage.saveReady of one entry (128-byte payload) and a hard state, durable
//   batch of 64      LmdbStorage.saveReady of 64 entries and a hard state, durable: entries/s
//   durable paths    lmdb-js's two ways to know a commit is on disk, on the same records:
//                    transactionSync on an environment with overlappingSync: false (what LmdbStorage
//                    uses), and overlappingSync: true with `await flushed` (after a batched put, or
//                    after a transactionSync that does not wait for the flush)
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
import { open as lmdbOpen } from 'lmdb';
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

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'frb-bench-storage-'));
  try {
    // Raw floor: a preallocated file overwritten in place, and a growing file.
    const rawPath = path.join(root, 'raw.bin');
    fs.writeFileSync(rawPath, Buffer.alloc(1 << 20));
    const rawFd = fs.openSync(rawPath, 'r+');
    fs.fdatasyncSync(rawFd);
    const growPath = path.join(root, 'grow.bin');
    const growFd = fs.openSync(growPath, 'w');
    let growOffset = 0;
    const record = Buffer.alloc(RAW_RECORD_BYTES, 0x72);

    // LmdbStorage, durable and not.
    const durable = LmdbStorage.open({ dir: path.join(root, 'durable'), clusterId: 'bench', nodeId: 1 });
    const nosync = LmdbStorage.open({ dir: path.join(root, 'nosync'), clusterId: 'bench', nodeId: 2, sync: false });
    const batchStore = LmdbStorage.open({ dir: path.join(root, 'batch'), clusterId: 'bench', nodeId: 3 });
    let dIndex = 0;
    let nIndex = 0;
    let bIndex = 0;

    // The overlappingSync path, on the same records, through lmdb-js directly.
    // Same layout as LmdbStorage: entries under number keys and the hard state under a string key,
    // in the main database.
    const ovEnv = lmdbOpen<Buffer, number | string>({ path: path.join(root, 'overlapping'), overlappingSync: true, encoding: 'binary', mapSize: 64 * 1024 * 1024 * 1024, cache: false });
    const ovLog = ovEnv;
    const ovMeta = ovEnv;
    let ovIndex = 0;

    const rawSamples: number[] = [];
    const growSamples: number[] = [];
    const singleSamples: number[] = [];
    const nosyncSamples: number[] = [];
    const flushedSamples: number[] = [];
    const txnFlushedSamples: number[] = [];
    const batchSamples: number[] = [];
    let batchEntries = 0;
    let batchTimeUs = 0;

    const rawOnce = (): number => {
      const t0 = nowUs();
      fs.writeSync(rawFd, record, 0, RAW_RECORD_BYTES, 4096);
      fs.fdatasyncSync(rawFd);
      return nowUs() - t0;
    };
    const growOnce = (): number => {
      const t0 = nowUs();
      fs.writeSync(growFd, record, 0, RAW_RECORD_BYTES, growOffset);
      growOffset += RAW_RECORD_BYTES;
      fs.fdatasyncSync(growFd);
      return nowUs() - t0;
    };
    const singleOnce = (s: LmdbStorage, index: number): number => {
      const e = entry(index, 1);
      const t0 = nowUs();
      s.saveReady([e], { term: 1, vote: 1, commit: index }, null);
      return nowUs() - t0;
    };
    const flushedOnce = async (): Promise<number> => {
      const index = ++ovIndex;
      const t0 = nowUs();
      void ovLog.put(index, encodeEntry(entry(index, 1)));
      void ovMeta.put('hardState', encodeHardState({ term: 1, vote: 1, commit: index }));
      await ovEnv.flushed;
      return nowUs() - t0;
    };
    const txnFlushedOnce = async (): Promise<number> => {
      const index = ++ovIndex;
      const t0 = nowUs();
      // 0x10000: commit without waiting for the flush (lmdb-js TransactionFlags.NO_SYNC_FLUSH).
      ovEnv.transactionSync(() => {
        void ovLog.put(index, encodeEntry(entry(index, 1)));
        void ovMeta.put('hardState', encodeHardState({ term: 1, vote: 1, commit: index }));
      }, 0x10000);
      await ovEnv.flushed;
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

    for (let k = 0; k < WARMUP; k++) {
      rawOnce();
      growOnce();
      singleOnce(durable, ++dIndex);
      singleOnce(nosync, ++nIndex);
      await flushedOnce();
      await txnFlushedOnce();
      batchOnce();
    }
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate the kinds sample by sample so that a slow patch of the disk hits all of them.
      for (let k = 0; k < SAMPLES_PER_ROUND; k++) {
        rawSamples.push(rawOnce());
        singleSamples.push(singleOnce(durable, ++dIndex));
        growSamples.push(growOnce());
        flushedSamples.push(await flushedOnce());
        txnFlushedSamples.push(await txnFlushedOnce());
        nosyncSamples.push(singleOnce(nosync, ++nIndex));
      }
      for (let k = 0; k < BATCHES_PER_ROUND; k++) {
        const us = batchOnce();
        batchSamples.push(us);
        batchEntries += BATCH_ENTRIES;
        batchTimeUs += us;
      }
      // Keep the logs short, as a node that snapshots would.
      durable.compact(dIndex - 10);
      nosync.compact(nIndex - 10);
      batchStore.compact(bIndex - 10);
    }

    fs.closeSync(rawFd);
    fs.closeSync(growFd);
    await durable.close();
    await nosync.close();
    await batchStore.close();
    await ovEnv.close();

    const raw = dist(rawSamples);
    const single = dist(singleSamples);
    const flushed = dist(flushedSamples);
    const txnFlushed = dist(txnFlushedSamples);
    const batch = dist(batchSamples);
    const ratio = (d: Dist): number => Math.round((d.p50Us / raw.p50Us) * 100) / 100;
    const batchEntriesPerS = Math.round(batchEntries / (batchTimeUs / 1e6));
    const batchEntriesPerSAtP50 = Math.round(BATCH_ENTRIES / (batch.p50Us / 1e6));
    const result = {
      bench: 'storage',
      schema: 1,
      dir: root,
      device: disk(root),
      node: process.version,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      lmdb: durable.describe().lmdbVersion,
      payloadBytes: PAYLOAD_BYTES,
      rounds: ROUNDS,
      rawFloor: { ...raw, recordBytes: RAW_RECORD_BYTES, how: 'pwrite in place + fdatasync' },
      rawAppend: { ...dist(growSamples), how: 'append to a growing file + fdatasync' },
      singleAppend: { ...single, ratioToRawP50: ratio(single), path: 'transactionSync, overlappingSync: false' },
      durablePaths: {
        transactionSync: { ...single, ratioToRawP50: ratio(single) },
        putAwaitFlushed: { ...flushed, ratioToRawP50: ratio(flushed) },
        transactionSyncNoWaitAwaitFlushed: { ...txnFlushed, ratioToRawP50: ratio(txnFlushed) },
      },
      noSync: { ...dist(nosyncSamples), ratioToRawP50: ratio(dist(nosyncSamples)) },
      batch64: { ...batch, entriesPerS: batchEntriesPerS, entriesPerSAtP50: batchEntriesPerSAtP50 },
      targets: {
        singleRatioMax: TARGET_SINGLE_RATIO,
        singleRatioMet: ratio(single) <= TARGET_SINGLE_RATIO,
        batchEntriesPerSMin: TARGET_BATCH_ENTRIES_PER_S,
        batchEntriesPerSMet: batchEntriesPerS >= TARGET_BATCH_ENTRIES_PER_S,
      },
    };
    const line = (name: string, d: Dist, extra = ''): string =>
      `${name.padEnd(44)} p50 ${d.p50Us.toFixed(1).padStart(8)} us  p90 ${d.p90Us.toFixed(1).padStart(8)} us  p99 ${d.p99Us.toFixed(1).padStart(8)} us  n=${d.count}${extra}`;
    console.log(`storage bench on ${result.device} (${root}), ${ROUNDS} rounds, lmdb ${result.lmdb}, ${process.version}`);
    console.log(line('raw floor (64 B write + fdatasync)', raw));
    console.log(line('raw append to a growing file', dist(growSamples)));
    console.log(line('LmdbStorage single append (transactionSync)', single, `  ${ratio(single)}x floor`));
    console.log(line('lmdb-js put + await flushed (overlapping)', flushed, `  ${ratio(flushed)}x floor`));
    console.log(line('lmdb-js txn (no flush wait) + await flushed', txnFlushed, `  ${ratio(txnFlushed)}x floor`));
    console.log(line('LmdbStorage single append, sync: false', dist(nosyncSamples)));
    console.log(line('LmdbStorage batch of 64 (durable)', batch, `  ${batchEntriesPerS} entries/s`));
    console.log(
      `targets: single p50 <= ${TARGET_SINGLE_RATIO}x floor: ${result.targets.singleRatioMet ? 'met' : 'MISSED'} (${ratio(single)}x); ` +
        `batch >= ${TARGET_BATCH_ENTRIES_PER_S} entries/s: ${result.targets.batchEntriesPerSMet ? 'met' : 'MISSED'} (${batchEntriesPerS})`,
    );
    console.log(JSON.stringify(result));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
