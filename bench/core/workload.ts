// The two workloads of the core benchmark, written once against BenchCluster so that our core and
// @coaty/consensus.raft run exactly the same client loop; only the Ready loop behind round() is
// implementation-specific (ours.ts, coaty.ts), and those two are kept line-for-line alike.

// BenchCluster is a 3-node cluster in one process with an instant, loss-free, in-memory network.
export interface BenchCluster {
  // load takes the payloads of the next run before the clock starts, so that an implementation that
  // carries them in another form (coaty.ts, --coaty-payload=base64) converts them untimed.
  load(payloads: readonly Uint8Array[]): void;
  // proposeNext hands the next loaded payload to the leader as one proposal (never dropped: the
  // leader is stable and no ticks are given, so no election can start).
  proposeNext(): void;
  // round runs one Ready iteration on every node (persist entries and hard state to the node's
  // MemoryStorage, queue its messages, apply its committed entries, advance), then delivers every
  // queued message to its recipient. Returns how many client entries the leader applied.
  round(): number;
  // messagesDelivered counts peer messages stepped into a recipient since the cluster was made.
  messagesDelivered(): number;
  // appliedCounts lists, per node, the client entries it has applied (the election's empty entry
  // is not a client entry).
  appliedCounts(): number[];
}

// makeCluster builds a fresh cluster and elects node 1, the node every proposal goes to.
export type ClusterFactory = () => BenchCluster;

export interface Sample {
  proposals: number;
  elapsedNs: number;
  messages: number;
  rounds: number;
  proposalsPerSec: number;
  messagesPerSec: number;
}

// A commit of one proposal in a healthy 3-node cluster takes 3-4 rounds (leader append, follower
// append, leader commit and apply); a proposal that has not applied after this many is a bug, and
// the benchmark stops rather than spinning.
const roundsPerProposalMax = 100;
// Once the leader has applied everything, followers learn the commit index within a few rounds.
const settleRoundsMax = 100;

export function makePayloads(count: number, sizeBytes: number, seed: number): Uint8Array[] {
  // Made before the clock starts so that the client's allocation is not measured; distinct bytes per
  // proposal (a counter and a seed-derived filler), as a real client's commands would be.
  const out = new Array<Uint8Array>(count);
  let x = seed >>> 0;
  for (let i = 0; i < count; i++) {
    const p = new Uint8Array(sizeBytes);
    for (let k = 0; k < sizeBytes; k++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      p[k] = x >>> 24;
    }
    p[0] = i & 0xff;
    p[1] = (i >>> 8) & 0xff;
    p[2] = (i >>> 16) & 0xff;
    out[i] = p;
  }
  return out;
}

// sequential proposes one entry, runs rounds until the leader has applied it, and repeats.
function sequential(c: BenchCluster, total: number): number {
  let rounds = 0;
  for (let i = 0; i < total; i++) {
    c.proposeNext();
    let applied = 0;
    let r = 0;
    while (applied === 0) {
      applied += c.round();
      if (++r > roundsPerProposalMax) throw new Error(`proposal ${i} not applied after ${roundsPerProposalMax} rounds`);
    }
    if (applied !== 1) throw new Error(`sequential: ${applied} entries applied for one proposal`);
    rounds += r;
  }
  return rounds;
}

// pipelined keeps `window` proposals outstanding: it tops the window up, runs one round, and counts
// what the leader applied in it.
function pipelined(c: BenchCluster, total: number, window: number): number {
  const roundsMax = total * roundsPerProposalMax;
  let proposed = 0;
  let applied = 0;
  let rounds = 0;
  while (applied < total) {
    while (proposed - applied < window && proposed < total) {
      c.proposeNext();
      proposed++;
    }
    applied += c.round();
    if (applied > proposed) throw new Error(`pipelined: ${applied} applied but only ${proposed} proposed`);
    if (++rounds > roundsMax) throw new Error(`pipelined: ${total - applied} proposals not applied after ${roundsMax} rounds`);
  }
  return rounds;
}

// settle runs rounds until every node has applied `expected` client entries: the check that every
// measured proposal really was replicated and applied everywhere, not only at the leader.
function settle(c: BenchCluster, expected: number): void {
  for (let r = 0; r < settleRoundsMax; r++) {
    if (c.appliedCounts().every((n) => n === expected)) return;
    c.round();
  }
  throw new Error(`cluster did not settle: applied ${JSON.stringify(c.appliedCounts())}, expected ${expected} on every node`);
}

export interface RunOptions {
  // window: proposals kept in flight; 1 means the sequential loop.
  window: number;
  warmupProposals: number;
  measuredProposals: number;
  payloadSizeBytes: number;
  seed: number;
}

// measure builds a fresh cluster (so that every repetition starts from the same log length), warms
// it up with the same workload, and times `measuredProposals` of it.
export function measure(factory: ClusterFactory, o: RunOptions): Sample {
  const c = factory();
  const run = o.window === 1 ? sequential : (cl: BenchCluster, total: number) => pipelined(cl, total, o.window);
  c.load(makePayloads(o.warmupProposals, o.payloadSizeBytes, o.seed));
  run(c, o.warmupProposals);
  settle(c, o.warmupProposals);
  c.load(makePayloads(o.measuredProposals, o.payloadSizeBytes, o.seed + 1));
  collectGarbage();
  const messages0 = c.messagesDelivered();
  const t0 = process.hrtime.bigint();
  const rounds = run(c, o.measuredProposals);
  const elapsedNs = Number(process.hrtime.bigint() - t0);
  const messages = c.messagesDelivered() - messages0;
  settle(c, o.warmupProposals + o.measuredProposals);
  return {
    proposals: o.measuredProposals,
    elapsedNs,
    messages,
    rounds,
    proposalsPerSec: o.measuredProposals / (elapsedNs / 1e9),
    messagesPerSec: messages / (elapsedNs / 1e9),
  };
}

// With --expose-gc, each timed section starts from a collected heap, so that one implementation does
// not pay for the garbage the previous one left behind.
function collectGarbage(): void {
  const gc: unknown = (globalThis as { gc?: unknown }).gc;
  if (typeof gc === 'function') (gc as () => void)();
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of nothing');
  const s = xs.slice().sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
