// Options of the Fast Raft extension (fast.ts). Every piece of fast-track state is bounded by one of
// these, so that a stalled cluster or a flood of proposals costs a fixed amount of memory.

export interface FastConfig {
  // enabled: false makes `fastraft` behave exactly like `raft` (same messages for the same seed).
  enabled: boolean;
  // windowSize: how far above its last leader-approved entry a voter accepts fast proposals, and
  // how many open indices the leader tallies; also the most hint entries a vote response carries.
  windowSize: number;
  // sideBufferSize: out-of-order fast proposals a voter holds until their prefix arrives.
  sideBufferSize: number;
  // maxPendingProposals: fast proposals of this node not yet seen committed; beyond it proposals
  // are refused (backpressure) with ErrProposalDropped.
  maxPendingProposals: number;
  // decisionTimeoutTicks: an open index with votes but no fast quorum is decided on the classic
  // track after this many ticks, even if not every voter has answered.
  decisionTimeoutTicks: number;
  // retransmitTicks: a proposer resends a fast proposal whose index is still undecided after
  // this many ticks (messages may have been lost).
  retransmitTicks: number;
}

export const defaultFastConfig: Readonly<FastConfig> = {
  enabled: true,
  windowSize: 256,
  sideBufferSize: 64,
  maxPendingProposals: 256,
  decisionTimeoutTicks: 2,
  retransmitTicks: 3,
};

// fastQuorumSize is ceil(3n/4): any classic majority of n then holds a fast-committed entry on more
// of its members than any other entry, which is what lets a new leader recover it.
export function fastQuorumSize(n: number): number {
  return Math.ceil((3 * n) / 4);
}
