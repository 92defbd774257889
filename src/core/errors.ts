// Errors the core reports to its caller. They are singletons compared by identity, as etcd's
// sentinel errors are, so that a hot path can tell "compacted" from "unavailable" without parsing.

export class RaftError extends Error {
  override name = 'RaftError';
}

export const ErrCompacted = new RaftError('requested index is unavailable due to compaction');
export const ErrSnapOutOfDate = new RaftError('requested index is older than the existing snapshot');
export const ErrUnavailable = new RaftError('requested entry at index is unavailable');
export const ErrSnapshotTemporarilyUnavailable = new RaftError('snapshot is temporarily unavailable');
export const ErrProposalDropped = new RaftError('raft proposal dropped');
export const ErrStepLocalMsg = new RaftError('raft: cannot step raft local message');
export const ErrStepPeerNotFound = new RaftError('raft: cannot step as peer not found');
