// A cluster of RawNodes in one process with an instant, loss-free network: messages are delivered
// in send order once each node has persisted its Ready. It is the smallest faithful driver of the
// Ready loop, used by tests of the Raft rules, the core benchmark and the demo. The discrete-event
// simulator (virtual time, faults) lives beside it.

import { RawNode } from '../core/raw-node.js';
import { MemoryStorage } from '../core/storage.js';
import { EntryType, type ConfState, type Entry, type Message } from '../core/types.js';
import { Rng } from '../core/rand.js';
import { StateType } from '../core/ready.js';
import { decodeEntryConfChange, type Config } from '../core/raft.js';

export interface InProcessClusterOptions {
  size: number;
  seed?: number;
  electionTick?: number;
  heartbeatTick?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  maxInflightMsgs?: number;
  maxSizePerMsg?: number;
  // onApply sees every committed entry a node applies, in order.
  onApply?: (nodeId: number, e: Entry) => void;
  configure?: (c: Config) => void;
}

export class InProcessCluster {
  readonly nodes = new Map<number, RawNode>();
  readonly storages = new Map<number, MemoryStorage>();
  readonly ids: number[];
  private queue: Message[] = [];
  private queueHead = 0;
  messagesDelivered = 0;
  // Nodes whose incoming messages are dropped (a crude isolation for tests).
  readonly isolated = new Set<number>();
  private readonly onApply: ((nodeId: number, e: Entry) => void) | undefined;

  constructor(opts: InProcessClusterOptions) {
    this.ids = Array.from({ length: opts.size }, (_, i) => i + 1);
    this.onApply = opts.onApply;
    const rng = new Rng(opts.seed ?? 1);
    const cs: ConfState = { voters: this.ids.slice(), learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    for (const id of this.ids) {
      const storage = new MemoryStorage();
      storage.applySnapshot({ data: new Uint8Array(0), metadata: { index: 1, term: 1, confState: cs } });
      const config: Config = {
        id,
        electionTick: opts.electionTick ?? 10,
        heartbeatTick: opts.heartbeatTick ?? 1,
        storage,
        maxSizePerMsg: opts.maxSizePerMsg ?? 1024 * 1024,
        maxInflightMsgs: opts.maxInflightMsgs ?? 256,
        preVote: opts.preVote ?? false,
        checkQuorum: opts.checkQuorum ?? false,
        rng: rng.fork(id),
      };
      opts.configure?.(config);
      this.storages.set(id, storage);
      this.nodes.set(id, new RawNode(config));
    }
  }

  node(id: number): RawNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  leader(): number {
    let lead = 0;
    for (const [id, n] of this.nodes) {
      if (n.raft.state === StateType.StateLeader && (lead === 0 || n.raft.term > this.node(lead).raft.term)) lead = id;
    }
    return lead;
  }

  // processReady runs one Ready iteration of a node in DESIGN.md's order: persist, send, apply,
  // advance. Returns whether there was anything to do.
  processReady(id: number): boolean {
    const rn = this.node(id);
    if (!rn.hasReady()) return false;
    const rd = rn.ready();
    const st = this.storages.get(id)!;
    if (rd.snapshot !== null && rd.snapshot.metadata.index > 0) st.applySnapshot(rd.snapshot);
    if (rd.entries.length > 0) st.append(rd.entries);
    if (rd.hardState.term !== 0 || rd.hardState.vote !== 0 || rd.hardState.commit !== 0) st.setHardState(rd.hardState);
    for (const m of rd.messages) this.queue.push(m);
    for (const e of rd.committedEntries) {
      if (e.type !== EntryType.EntryNormal) {
        const cc = decodeEntryConfChange(e);
        if (cc !== null) rn.applyConfChange(cc);
      }
      this.onApply?.(id, e);
    }
    rn.advance(rd);
    return true;
  }

  // deliverAll hands every queued message to its recipient (in FIFO order).
  deliverAll(): number {
    let n = 0;
    while (this.queueHead < this.queue.length) {
      const m = this.queue[this.queueHead++]!;
      if (this.isolated.has(m.to) || this.isolated.has(m.from)) continue;
      const rn = this.nodes.get(m.to);
      if (rn === undefined) continue;
      try {
        rn.step(m);
      } catch {
        // Dropped proposals and messages from unknown peers are a normal outcome here.
      }
      n++;
    }
    this.queue.length = 0;
    this.queueHead = 0;
    this.messagesDelivered += n;
    return n;
  }

  // stabilize alternates Ready handling and delivery until nothing moves; bounded so that a bug
  // that ping-pongs forever fails loudly instead of hanging.
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      let moved = false;
      for (const id of this.ids) if (this.processReady(id)) moved = true;
      if (this.deliverAll() > 0) moved = true;
      if (!moved) return;
    }
    throw new Error(`cluster did not stabilize within ${maxRounds} rounds`);
  }

  tickAll(): void {
    for (const id of this.ids) this.node(id).tick();
  }

  // elect makes `id` the leader by campaigning and letting the cluster settle.
  elect(id: number): void {
    this.node(id).campaign();
    this.stabilize();
    if (this.node(id).raft.state !== StateType.StateLeader) throw new Error(`node ${id} failed to become leader`);
  }
}
