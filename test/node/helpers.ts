// Shared by the live-node tests: temporary folders, bounded waits, a concurrent KV workload that
// records a History (for the linearizability checker) and a ledger of acknowledged writes (to
// prove none is lost), and in-process clusters for tests that do not need separate processes.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { History } from '../../src/sim/history.js';
import { checkLinearizable, formatCounterexample } from '../../src/sim/linearizability.js';
import {
  ConnectionPool,
  KvSession,
  LiveNode,
  freePorts,
  type ClusterConfig,
  type ClusterTarget,
  type LocalCluster,
} from '../../src/node/index.js';

export const host = '127.0.0.1';

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `frb-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

// waitFor polls cond every 20 ms for at most timeoutMs (bounded; fails saying what it waited for).
// A condition that throws (a node too busy to answer) counts as not yet true.
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (true) {
    try {
      if (await cond()) return;
    } catch (err) {
      last = ` (last error: ${(err as Error).message})`;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}${last}`);
    await sleep(20);
  }
}

export interface AckedWrite {
  readonly key: string;
  readonly value: string;
}

// Workload: sessions on the given nodes in closed loops of puts and gets over a few shared keys
// (recorded in a History), plus one ledger session writing a fresh key per operation (every
// acknowledged one recorded), until stop().
export class Workload {
  readonly history = new History();
  readonly ledger: AckedWrite[] = [];
  readonly pool: ConnectionPool;
  private readonly origin = performance.now() * 1000;
  private readonly clock = (): number => performance.now() * 1000 - this.origin;
  private stopped = false;
  private loops: Promise<void>[] = [];
  acked = 0;
  failed = 0;
  errors: string[] = [];

  constructor(
    target: ClusterTarget,
    private readonly nodes: readonly number[],
    private readonly opts: { sessionsPerNode: number; keys: number; readShare: number },
  ) {
    this.pool = new ConnectionPool(target, { downBackoffMs: 50 });
  }

  start(): void {
    let n = 0;
    for (const node of this.nodes) {
      for (let i = 0; i < this.opts.sessionsPerNode; i++) {
        const s = new KvSession(this.pool, { nodeId: node, history: this.history, clock: this.clock, attemptTimeoutMs: 700, opTimeoutMs: 6000 });
        const seed = ++n;
        this.loops.push(this.loop(s, seed));
      }
    }
    const ledger = new KvSession(this.pool, { nodeId: this.nodes[0]!, attemptTimeoutMs: 700, opTimeoutMs: 6000 });
    this.loops.push(this.ledgerLoop(ledger));
  }

  private async loop(s: KvSession, seed: number): Promise<void> {
    let x = seed * 7919;
    const rand = (): number => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x / 2147483648;
    };
    while (!this.stopped) {
      const key = `k${Math.floor(rand() * this.opts.keys)}`;
      const r = rand() < this.opts.readShare ? await s.get(key) : await s.put(key, `${s.clientId.toString(36)}-${s.lastSeq + 1}`);
      if (r.ok) this.acked++;
      else {
        this.failed++;
        if (this.errors.length < 20) this.errors.push(r.error ?? 'error');
      }
    }
  }

  private async ledgerLoop(s: KvSession): Promise<void> {
    let i = 0;
    while (!this.stopped) {
      const key = `ledger-${i++}`;
      const value = `v${i}`;
      const r = await s.put(key, value);
      if (r.ok) this.ledger.push({ key, value });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    this.pool.close();
  }

  // check: the recorded history is linearizable.
  checkLinearizable(): { ops: number; pending: number } {
    const ops = this.history.operations();
    const r = checkLinearizable(ops, { stepsMax: 20_000_000 });
    if (r.outcome !== 'ok') {
      throw new Error(`history of ${ops.length} operations is ${r.outcome}${r.counterexample !== undefined ? `:\n${formatCounterexample(r.counterexample)}` : ''}`);
    }
    return { ops: ops.length, pending: ops.filter((o) => o.completeUs === null).length };
  }
}

// readAll reads keys through one node (linearizable gets, all in flight at once) and returns the
// values (null: absent).
export async function readAll(target: ClusterTarget, nodeId: number, keys: readonly string[]): Promise<Map<string, string | null>> {
  const pool = new ConnectionPool(target);
  try {
    const conn = await pool.get(nodeId);
    const out = new Map<string, string | null>();
    for (let i = 0; i < keys.length; i += 512) {
      const chunk = keys.slice(i, i + 512);
      const replies = await Promise.all(chunk.map((key) => conn.request({ op: 'get', key }, 5000)));
      replies.forEach((r, j) => {
        if (!r.ok) throw new Error(`get ${chunk[j]} on node ${nodeId}: ${r.error}`);
        out.set(chunk[j]!, r.value ?? null);
      });
    }
    return out;
  } finally {
    pool.close();
  }
}

// assertLedgerKept: every acknowledged ledger write is readable, with its value, on every node.
export async function assertLedgerKept(target: ClusterTarget, nodes: readonly number[], ledger: readonly AckedWrite[]): Promise<void> {
  for (const id of nodes) {
    const got = await readAll(target, id, ledger.map((w) => w.key));
    const lost = ledger.filter((w) => got.get(w.key) !== w.value);
    if (lost.length > 0) {
      throw new Error(`node ${id}: ${lost.length} of ${ledger.length} acknowledged writes lost, e.g. ${lost.slice(0, 3).map((w) => `${w.key}=${w.value} read ${String(got.get(w.key))}`).join(', ')}`);
    }
  }
}

export async function raftState(c: LocalCluster, id: number): Promise<{ role: string; term: number; commit: number; applied: number; leader: number; recovering: boolean }> {
  const s = await c.debugRaft(id, 3000);
  return { role: String(s['role']), term: Number(s['term']), commit: Number(s['commit']), applied: Number(s['applied']), leader: Number(s['leader']), recovering: s['recovering'] === true };
}

// inProcessCluster starts n LiveNodes in this process (memory storage, no log files): faster
// than processes, for tests of the node's behaviour rather than of process faults.
export async function inProcessCluster(n: number, extra: Partial<ClusterConfig> = {}): Promise<{ config: ClusterConfig; nodes: LiveNode[]; dir: string }> {
  const ports = await freePorts(n, host);
  const config: ClusterConfig = {
    schema: 1,
    clusterId: 'frb-test',
    secret: 'a-test-secret-of-enough-bytes-0123456789',
    protocol: 'raft',
    fast: {},
    storage: 'memory',
    sync: false,
    dataDir: '.',
    tickMs: 10,
    electionTicks: 10,
    heartbeatTicks: 1,
    preVote: true,
    checkQuorum: true,
    maxSizePerMsgBytes: 1024 * 1024,
    maxInflightMsgs: 256,
    snapshotEntries: 10_000,
    snapshotKeepEntries: 1000,
    requestTimeoutMs: 3000,
    transport: 'uws',
    network: null,
    nodes: ports.map((port, i) => ({ id: i + 1, host, port })),
    ...extra,
  };
  const dir = tempDir('inproc');
  const nodes: LiveNode[] = [];
  try {
    for (const a of config.nodes) nodes.push(await LiveNode.start({ config, dataDir: dir, nodeId: a.id, logFile: null }));
  } catch (err) {
    for (const nd of nodes) await nd.stop();
    removeDir(dir);
    throw err;
  }
  return { config, nodes, dir };
}

export async function stopInProcess(c: { nodes: LiveNode[]; dir: string } | null): Promise<void> {
  if (c === null) return;
  for (const n of c.nodes) await n.stop().catch(() => {});
  removeDir(c.dir);
}

export function leaderOf(nodes: readonly LiveNode[]): number {
  for (const n of nodes) if (n.rawNode.raft.lead === n.id) return n.id;
  return 0;
}
