// /metrics of a live node, in the Prometheus text exposition format (version 0.0.4): the node's
// Raft state (term, leader, commit and applied index), its counters (elections, Readies, durable
// writes, snapshots), Fast Raft's (fast and classic commits, conflicts, fallbacks), its client
// channel (requests by op and outcome, pending queues, connections, refused frames), followed by
// the transport's own (messages, frames and bytes in and out per peer, queue depths, dropped
// frames and messages by reason, authentication failures).

import type { LiveNode } from './live-node.js';

interface Family {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  readonly samples: readonly (readonly [labels: string, value: number])[];
}

function render(out: string[], f: Family): void {
  out.push(`# HELP ${f.name} ${f.help}`);
  out.push(`# TYPE ${f.name} ${f.type}`);
  for (const [labels, value] of f.samples) out.push(`${f.name}${labels === '' ? '' : `{${labels}}`} ${Number.isFinite(value) ? value : 0}`);
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function nodeMetricsText(node: LiveNode): string {
  const out: string[] = [];
  const n = `node="${node.id}"`;
  const r = node.rawNode.raft;
  const c = node.counters;
  const g = (name: string, help: string, value: number): void => render(out, { name, type: 'gauge', help, samples: [[n, value]] });
  const k = (name: string, help: string, value: number): void => render(out, { name, type: 'counter', help, samples: [[n, value]] });

  render(out, {
    name: 'frb_node_info',
    type: 'gauge',
    help: 'Static facts of the node process (value is always 1).',
    samples: [[`${n},protocol="${escapeLabel(node.protocol)}",storage="${node.storageKind}",transport="${node.transportKind}",pid="${process.pid}"`, 1]],
  });
  g('frb_raft_term', 'Current Raft term.', r.term);
  g('frb_raft_leader', 'Id of the leader this node knows (0: none).', r.lead);
  g('frb_raft_is_leader', '1 when this node is the leader.', r.lead === node.id && r.lead !== 0 ? 1 : 0);
  g('frb_raft_state', 'Raft role: 0 follower, 1 candidate, 2 leader, 3 pre-candidate.', r.state);
  g('frb_raft_commit_index', 'Highest log index known committed.', r.raftLog.committed);
  g('frb_raft_applied_index', 'Highest log index applied to the KV state machine.', node.applied);
  g('frb_raft_last_index', 'Last index of the log.', r.raftLog.lastIndex());
  g('frb_raft_first_index', 'First index still in the log (earlier ones are in the snapshot).', r.raftLog.firstIndex());
  g('frb_node_recovering', '1 while a node restarted without durable state catches up before voting.', node.recovering ? 1 : 0);
  g('frb_node_uptime_seconds', 'Seconds since this process started the node.', (Date.now() - node.startedAtMs) / 1000);
  k('frb_raft_campaigns_total', 'Elections (and pre-votes) this node started.', c.campaigns);
  k('frb_raft_elections_won_total', 'Times this node became leader.', c.becameLeader);
  k('frb_raft_leader_changes_total', 'Changes of the leader this node knows (including to none).', c.leaderChanges);
  k('frb_node_readies_total', 'Ready structs handled (one per event-loop turn with work).', c.readies);
  k('frb_node_persists_total', 'Durable writes (one per Ready with entries, hard state or snapshot).', c.persists);
  k('frb_node_persist_microseconds_total', 'Time spent in durable writes.', Math.round(c.persistUsTotal));
  g('frb_node_persist_microseconds_max', 'Longest durable write since start.', Math.round(c.persistUsMax));
  k('frb_node_ready_microseconds_total', 'Time spent handling Readies (persist, send, apply, advance).', Math.round(c.readyUsTotal));
  g('frb_node_ready_microseconds_max', 'Longest Ready since start.', Math.round(c.readyUsMax));
  k('frb_node_entries_persisted_total', 'Log entries written to storage.', c.entriesPersisted);
  k('frb_node_entries_applied_total', 'Committed entries applied.', c.entriesApplied);
  k('frb_node_messages_sent_total', 'Raft messages handed to the transport.', c.messagesSent);
  k('frb_node_messages_dropped_unreachable_total', 'Raft messages dropped because their peer was not connected.', c.messagesDroppedUnreachable);
  k('frb_node_snapshots_sent_total', 'Snapshots sent to followers.', c.snapshotsSent);
  k('frb_node_snapshots_applied_total', 'Snapshots received and applied.', c.snapshotsApplied);
  k('frb_node_snapshots_created_total', 'KV snapshots taken for compaction.', c.snapshotsCreated);
  k('frb_node_compactions_total', 'Log compactions.', c.compactions);
  k('frb_node_step_errors_total', 'Messages the core refused (e.g. from a peer not in the configuration).', c.stepErrors);
  k('frb_node_read_index_requests_total', 'ReadIndex requests (one per batch of gets).', c.readIndexRequests);
  k('frb_node_reproposals_total', 'Waiting writes proposed again after a leader change (classic Raft).', c.reproposals);
  k('frb_node_votes_dropped_recovering_total', 'Vote requests ignored while recovering.', c.votesDroppedRecovering);

  const fast = node.fastStats;
  if (fast !== null) {
    render(out, {
      name: 'frb_fast_commits_total',
      type: 'counter',
      help: 'Client entries this node committed as leader, by the track that decided them.',
      samples: [
        [`${n},track="fast"`, fast.fastCommits],
        [`${n},track="classic"`, fast.classicCommits],
      ],
    });
    k('frb_fast_conflicts_total', 'Indices at which the leader saw votes for more than one entry.', fast.conflicts);
    k('frb_fast_fallbacks_total', 'Indices decided on the classic track.', fast.fallbacks);
    k('frb_fast_noop_decisions_total', 'Indices decided with an empty entry.', fast.noopDecisions);
    k('frb_fast_reproposals_total', 'Proposals of this node proposed again after losing their index.', fast.reproposals);
    k('frb_fast_recovered_entries_total', 'Entries a new leader carried over from vote hints.', fast.recoveredEntries);
    k('frb_fast_unknown_outcomes_total', 'Proposals whose index a snapshot covered before their outcome was seen.', fast.unknownOutcomes);
    k('frb_fast_backpressure_drops_total', 'Proposals refused because the window or the pending limit was full.', fast.backpressureDrops);
    k('frb_fast_dropped_proposals_total', 'Fast proposals dropped (side buffer full or outside the window).', fast.droppedProposals);
  }

  const requests: [string, number][] = [];
  for (const [key, v] of node.requestCounts) {
    const [op, outcome] = key.split('\0') as [string, string];
    requests.push([`${n},op="${escapeLabel(op)}",outcome="${escapeLabel(outcome)}"`, v]);
  }
  render(out, { name: 'frb_client_requests_total', type: 'counter', help: 'Client requests answered, by op and outcome.', samples: requests });
  const pending = node.pendingCounts();
  render(out, {
    name: 'frb_client_pending',
    type: 'gauge',
    help: 'Client requests waiting in the node, by kind.',
    samples: [
      [`${n},kind="put"`, pending.puts],
      [`${n},kind="get"`, pending.reads],
    ],
  });
  const cs = node.clientApi.stats();
  g('frb_client_connections', 'Open client connections (authenticated or not).', cs.connections);
  k('frb_client_connections_total', 'Client connections accepted.', cs.accepted);
  render(out, {
    name: 'frb_client_refused_total',
    type: 'counter',
    help: 'Client connections and frames refused, by reason.',
    samples: Object.entries(cs.refused).map(([reason, v]) => [`${n},reason="${escapeLabel(reason)}"`, v] as const),
  });

  return `${out.join('\n')}\n${node.transport.metricsText()}`;
}
