// `frb demo`: a 3-node classic Raft cluster in one process, elected by its own timeouts, committing
// proposals. The quickest proof that the core works on this machine; the experiment runner builds
// on the same Ready loop.

import { InProcessCluster } from '../sim/in-process-cluster.js';
import { EntryType } from '../core/types.js';

export interface DemoOptions {
  size: number;
  proposals: number;
  seed: number;
}

export interface DemoResult {
  leader: number;
  term: number;
  ticksToElect: number;
  committed: number;
  appliedPerNode: Record<string, number>;
  messagesDelivered: number;
}

export function runDemo(opts: DemoOptions, log: (line: string) => void): DemoResult {
  const applied = new Map<number, number>();
  const cluster = new InProcessCluster({
    size: opts.size,
    seed: opts.seed,
    onApply: (id, e) => {
      if (e.type === EntryType.EntryNormal && e.data.length > 0) applied.set(id, (applied.get(id) ?? 0) + 1);
    },
  });
  let ticks = 0;
  const maxTicks = 1000;
  while (cluster.leader() === 0) {
    if (ticks >= maxTicks) throw new Error(`no leader elected within ${maxTicks} ticks`);
    cluster.tickAll();
    cluster.stabilize();
    ticks++;
  }
  const leader = cluster.leader();
  log(`node ${leader} elected leader at term ${cluster.node(leader).raft.term} after ${ticks} ticks`);
  const enc = new TextEncoder();
  for (let i = 0; i < opts.proposals; i++) {
    // Spread proposals over every node: followers forward them to the leader.
    const proposer = cluster.ids[i % cluster.ids.length]!;
    cluster.node(proposer).propose(enc.encode(`put k${i} v${i}`));
    cluster.stabilize();
  }
  const appliedPerNode: Record<string, number> = {};
  for (const id of cluster.ids) appliedPerNode[String(id)] = applied.get(id) ?? 0;
  const committed = cluster.node(leader).raft.raftLog.committed;
  log(`${opts.proposals} proposals committed; commit index ${committed}; applied per node ${JSON.stringify(appliedPerNode)}`);
  log(`${cluster.messagesDelivered} messages delivered`);
  return { leader, term: cluster.node(leader).raft.term, ticksToElect: ticks, committed, appliedPerNode, messagesDelivered: cluster.messagesDelivered };
}
