// Our core (src/core) behind BenchCluster: three RawNodes over MemoryStorage driven by a tight Ready
// loop. src/sim/in-process-cluster.ts does the same job with more generality (isolation, conf
// changes, callbacks); this loop keeps only what the workload needs, and coaty.ts mirrors it line
// for line so that the two implementations are driven identically.

import { RawNode } from '../../src/core/raw-node.js';
import { MemoryStorage } from '../../src/core/storage.js';
import { StateType } from '../../src/core/ready.js';
import { isEmptyHardState, isEmptySnap, type ConfState, type Message } from '../../src/core/types.js';
import type { BenchCluster } from './workload.js';

const nodeCount = 3;
const leaderId = 1;
// Options shared with coaty.ts: etcd's usual ones (InProcessCluster's defaults).
const electionTick = 10;
const heartbeatTick = 1;
const maxSizePerMsgBytes = 1024 * 1024;
const maxInflightMsgs = 256;

class OursCluster implements BenchCluster {
  private readonly nodes: RawNode[] = [];
  private readonly storages: MemoryStorage[] = [];
  private readonly applied: number[] = [];
  private queue: Message[] = [];
  private delivered = 0;
  private payloads: readonly Uint8Array[] = [];
  private nextPayload = 0;
  // checksum makes the applied payloads observable, so that applying them cannot be optimised away.
  checksum = 0;

  constructor() {
    const voters: number[] = [];
    for (let id = 1; id <= nodeCount; id++) voters.push(id);
    const cs: ConfState = { voters, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    for (let id = 1; id <= nodeCount; id++) {
      const storage = new MemoryStorage();
      // Start every node from the same snapshot of the configuration, as etcd's tests do.
      storage.applySnapshot({ data: new Uint8Array(0), metadata: { index: 1, term: 1, confState: cs } });
      this.storages.push(storage);
      this.nodes.push(new RawNode({ id, electionTick, heartbeatTick, storage, maxSizePerMsg: maxSizePerMsgBytes, maxInflightMsgs }));
      this.applied.push(0);
    }
    this.nodes[leaderId - 1]!.campaign();
    for (let r = 0; r < 100 && this.nodes[leaderId - 1]!.raft.state !== StateType.StateLeader; r++) this.round();
    if (this.nodes[leaderId - 1]!.raft.state !== StateType.StateLeader) throw new Error('ours: node 1 failed to become leader');
  }

  load(payloads: readonly Uint8Array[]): void {
    this.payloads = payloads;
    this.nextPayload = 0;
  }

  proposeNext(): void {
    const p = this.payloads[this.nextPayload++];
    if (p === undefined) throw new Error('ours: no payload loaded for this proposal');
    this.nodes[leaderId - 1]!.propose(p);
  }

  round(): number {
    let leaderApplied = 0;
    for (let i = 0; i < nodeCount; i++) {
      const rn = this.nodes[i]!;
      if (!rn.hasReady()) continue;
      const rd = rn.ready();
      const st = this.storages[i]!;
      // Durable first (DESIGN.md, the Ready loop): snapshot, entries, hard state; then send.
      if (!isEmptySnap(rd.snapshot)) st.applySnapshot(rd.snapshot!);
      if (rd.entries.length > 0) st.append(rd.entries);
      if (!isEmptyHardState(rd.hardState)) st.setHardState(rd.hardState);
      const msgs = rd.messages;
      for (let k = 0; k < msgs.length; k++) this.queue.push(msgs[k]!);
      const ents = rd.committedEntries;
      let n = 0;
      for (let k = 0; k < ents.length; k++) {
        const data = ents[k]!.data;
        if (data.length === 0) continue;
        this.checksum = (this.checksum + data[0]!) | 0;
        n++;
      }
      this.applied[i]! += n;
      if (i === leaderId - 1) leaderApplied = n;
      rn.advance(rd);
    }
    // Messages produced while delivering wait for the next round: each round is one hop.
    const q = this.queue;
    this.queue = [];
    for (let k = 0; k < q.length; k++) {
      const m = q[k]!;
      this.nodes[m.to - 1]!.step(m);
    }
    this.delivered += q.length;
    return leaderApplied;
  }

  messagesDelivered(): number {
    return this.delivered;
  }

  appliedCounts(): number[] {
    return this.applied.slice();
  }
}

export function makeOursCluster(): BenchCluster {
  return new OursCluster();
}
