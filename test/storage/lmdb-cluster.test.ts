// The Raft invariants with LmdbStorage under the core: clusters of RawNodes (classic Raft and Fast
// Raft) whose nodes persist every Ready through LmdbStorage.saveReady before their messages leave,
// driven by random schedules (ticks, proposals at any node, messages delivered out of order or
// dropped) with crashes: a crashed node loses everything but its store's files as a kill would
// leave them (copied while the store is open: LMDB as of its last checkpoint and the write-ahead log
// after it; odd nodes checkpoint every few records, even ones every 64 KiB of log), which are opened
// again, and the RawNode is rebuilt from them. Checked throughout: entries applied at an index are the
// same on every node (state machine safety), at most one leader per term (election safety), a
// restarted node's durable commit index never goes back (commit-only Readies are not flushed, as on
// a live node, so the one in memory may) and its log holds exactly the committed
// entries; at the end, healed, every node applies a final proposal and the committed logs match.
//
// The simulator in src/sim drives MemoryStorage and has no storage factory yet, so this test drives
// the Ready loop itself, in the way src/sim/in-process-cluster.ts does. The stores run with
// sync: false: what survives a crash here is what LmdbStorage wrote and reads back, which is the
// point; surviving SIGKILL with flushes is the crash test's (lmdb-crash.test.ts).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RawNode } from '../../src/core/raw-node.js';
import { StateType } from '../../src/core/ready.js';
import { Rng } from '../../src/core/rand.js';
import { getProtocol } from '../../src/core/protocols.js';
import { decodeEntryConfChange, type Config } from '../../src/core/raft.js';
import { Approval, EntryType, type Entry, type Message } from '../../src/core/types.js';
import { LmdbStorage, storageDirFor } from '../../src/storage/index.js';
import { crashImage, tempRoot } from './helpers.js';

const STEPS = Number(process.env['FRB_LMDB_CLUSTER_STEPS'] ?? 5000);
const HEAL_ROUNDS_MAX = 3000;
const QUEUE_MAX = 5000;

interface Node {
  id: number;
  storage: LmdbStorage;
  rn: RawNode | null; // null while crashed
  applied: number;
}

function key(e: Entry): string {
  return `${e.term}/${e.type}/${Buffer.from(e.data).toString('hex')}`;
}

class LmdbCluster {
  readonly nodes: Node[] = [];
  readonly ids: number[];
  queue: Message[] = [];
  // Global record of what was applied at each index, and who led each term.
  readonly committed = new Map<number, string>();
  readonly leaders = new Map<number, number>();
  readonly durableCommitAtCrash = new Map<number, number>();
  crashes = 0;
  proposals = 0;
  selfApprovedWrites = 0;

  constructor(
    private readonly root: string,
    private readonly protocol: string,
    size: number,
    private readonly rng: Rng,
  ) {
    this.ids = Array.from({ length: size }, (_, i) => i + 1);
  }

  // Each node's store lives in the folder of its generation; a crash copies it into the next one.
  private readonly generation = new Map<number, number>();

  private dir(id: number): string {
    return storageDirFor(path.join(this.root, `gen-${this.generation.get(id) ?? 0}`), 'sim', id);
  }

  private open(id: number): LmdbStorage {
    // Small logs: a crash copies the log's whole file.
    const checkpoints = id % 2 === 1 ? { walCheckpointBytes: 4096, checkpointEntries: 16 } : { walCheckpointBytes: 65_536 };
    return LmdbStorage.open({ dir: this.dir(id), clusterId: 'sim', nodeId: id, sync: false, ...checkpoints });
  }

  private rawNode(id: number, storage: LmdbStorage): RawNode {
    const base: Config = { id, electionTick: 10, heartbeatTick: 1, storage, maxSizePerMsg: 4096, maxInflightMsgs: 64, preVote: true, checkQuorum: true, rng: this.rng.fork(id * 1000 + this.crashes) };
    return new RawNode(getProtocol(this.protocol).configure(base, {}));
  }

  start(): void {
    const voters = this.ids.slice();
    for (const id of this.ids) {
      const storage = this.open(id);
      storage.applySnapshot({ data: new Uint8Array(0), metadata: { index: 1, term: 1, confState: { voters, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } });
      this.nodes.push({ id, storage, rn: this.rawNode(id, storage), applied: 1 });
    }
  }

  node(id: number): Node {
    return this.nodes[id - 1]!;
  }

  // processReady: persist (one transaction), then send, then apply, then advance.
  processReady(n: Node): boolean {
    const rn = n.rn;
    if (rn === null || !rn.hasReady()) return false;
    const rd = rn.ready();
    // As a live node does: a Ready that only moves the commit index is not flushed.
    n.storage.saveReady(rd.entries, rd.hardState, rd.snapshot, !rd.mustSync);
    for (const e of rd.entries) if (e.approval === Approval.SelfApproved) this.selfApprovedWrites++;
    for (const m of rd.messages) if (this.queue.length < QUEUE_MAX) this.queue.push(m);
    for (const e of rd.committedEntries) {
      assert.equal(e.index, n.applied + 1, `node ${n.id} applies ${e.index} after ${n.applied}`);
      n.applied = e.index;
      const k = key(e);
      const seen = this.committed.get(e.index);
      if (seen === undefined) this.committed.set(e.index, k);
      else assert.equal(k, seen, `node ${n.id} applied a different entry at ${e.index}`);
      if (e.type !== EntryType.EntryNormal) {
        const cc = decodeEntryConfChange(e);
        if (cc !== null) rn.applyConfChange(cc);
      }
    }
    rn.advance(rd);
    if (rn.raft.state === StateType.StateLeader) {
      const lead = this.leaders.get(rn.raft.term);
      if (lead === undefined) this.leaders.set(rn.raft.term, n.id);
      else assert.equal(lead, n.id, `two leaders in term ${rn.raft.term}`);
    }
    return true;
  }

  deliver(drop: boolean): void {
    if (this.queue.length === 0) return;
    const i = this.rng.intn(this.queue.length);
    const m = this.queue[i]!;
    this.queue[i] = this.queue[this.queue.length - 1]!;
    this.queue.pop();
    if (drop) return;
    const rn = this.node(m.to).rn;
    if (rn === null) return;
    try {
      rn.step(m);
    } catch {
      // A message from a removed peer or a dropped proposal: normal here.
    }
  }

  propose(n: Node, data: Uint8Array): void {
    if (n.rn === null) return;
    try {
      n.rn.propose(data);
      this.proposals++;
    } catch {
      // No leader known, or backpressure: the client would retry.
    }
  }

  async crash(n: Node): Promise<void> {
    if (n.rn === null) return;
    n.rn = null;
    this.durableCommitAtCrash.set(n.id, n.storage.durableCommitIndex);
    const from = this.dir(n.id);
    this.generation.set(n.id, (this.generation.get(n.id) ?? 0) + 1);
    crashImage(from, this.dir(n.id));
    await n.storage.close();
    fs.rmSync(from, { recursive: true });
    this.crashes++;
  }

  restart(n: Node): void {
    if (n.rn !== null) return;
    const storage = this.open(n.id);
    const hs = storage.initialState().hardState;
    const before = this.durableCommitAtCrash.get(n.id) ?? 0;
    assert.ok(hs.commit >= before, `node ${n.id}: durable commit went back from ${before} to ${hs.commit}`);
    // The log holds exactly what was committed, up to the durable commit index.
    const first = storage.firstIndex();
    if (hs.commit >= first) {
      for (const e of storage.entries(first, hs.commit + 1, Infinity)) {
        const seen = this.committed.get(e.index);
        if (seen !== undefined) assert.equal(key(e), seen, `node ${n.id}: entry ${e.index} after restart is not the committed one`);
      }
    }
    n.storage = storage;
    n.rn = this.rawNode(n.id, storage);
    n.applied = storage.snapshot().metadata.index;
  }

  async close(): Promise<void> {
    for (const n of this.nodes) await n.storage.close();
  }
}

async function run(protocol: string, size: number, seed: number): Promise<string> {
  const { root, cleanup } = tempRoot(`cluster-${protocol}-${seed}`);
  const rng = new Rng(seed);
  const c = new LmdbCluster(path.join(root, 'nodes'), protocol, size, rng);
  try {
    c.start();
    let seq = 0;
    for (let step = 0; step < STEPS; step++) {
      const n = c.node(1 + rng.intn(size));
      const r = rng.intn(100);
      if (r < 15) n.rn?.tick();
      else if (r < 25) c.propose(n, new TextEncoder().encode(`p${seed}-${++seq}`));
      else if (r < 55) c.processReady(n);
      else if (r < 97) c.deliver(rng.intn(20) === 0);
      else if (r < 98) await c.crash(n);
      else c.restart(n);
    }
    // Heal: everyone up, no more loss, until a final proposal is applied everywhere.
    for (const n of c.nodes) c.restart(n);
    const final = new TextEncoder().encode(`final-${seed}`);
    let finalIndex = 0;
    for (let round = 0; round < HEAL_ROUNDS_MAX && finalIndex === 0; round++) {
      for (const n of c.nodes) n.rn!.tick();
      for (let k = 0; k < 50; k++) {
        let moved = false;
        for (const n of c.nodes) if (c.processReady(n)) moved = true;
        while (c.queue.length > 0) {
          c.deliver(false);
          moved = true;
        }
        if (!moved) break;
      }
      if (round % 20 === 10) for (const n of c.nodes) c.propose(n, final);
      for (const [i, k] of c.committed) if (k.endsWith(Buffer.from(final).toString('hex')) && c.nodes.every((n) => n.applied >= i)) finalIndex = i;
    }
    assert.ok(finalIndex > 0, `${protocol} seed ${seed}: the healed cluster did not apply a final proposal everywhere`);
    // Committed logs match, and match what was applied.
    const minCommit = Math.min(...c.nodes.map((n) => n.storage.initialState().hardState.commit));
    const logs = c.nodes.map((n) => n.storage.entries(2, minCommit + 1, Infinity).map(key));
    for (const l of logs) assert.deepEqual(l, logs[0]);
    for (let i = 2; i <= minCommit; i++) assert.equal(logs[0]![i - 2], c.committed.get(i), `index ${i}`);
    if (protocol === 'fastraft') assert.ok(c.selfApprovedWrites > 0, 'Fast Raft wrote self-approved entries through the store');
    return `${protocol} n=${size} seed ${seed}: ${c.proposals} proposals, ${c.committed.size} entries committed, ${c.crashes} crashes, ${c.leaders.size} terms with a leader, ${c.selfApprovedWrites} self-approved entries written`;
  } finally {
    await c.close();
    cleanup();
  }
}

for (const protocol of ['raft', 'fastraft']) {
  test(`${protocol} with LmdbStorage: random schedules with crashes keep the invariants`, { timeout: 120_000 }, async () => {
    for (const [size, seed] of [
      [3, 1],
      [5, 2],
      [3, 3],
      [5, 4],
    ] as const) {
      console.log(await run(protocol, size, seed));
    }
  });
}
