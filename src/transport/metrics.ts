// What the transport counts, per peer and for the node, and its Prometheus text for /metrics.
// Counters only grow; gauges (queue depth, connected) are read when a snapshot is taken.

import type { AuthFailReason } from './auth.js';
import { authFailReasons } from './auth.js';

// Why a frame or message was dropped.
//   Outbound: queue-full (the peer's bounded queue dropped its oldest), oversize-out (one message
//     too large for any frame), no-address (a peer we must dial has no address), fault-loss and
//     fault-partition (injected), delay-full (the delay scheduler is at its bound), socket (the
//     socket refused the write: closed under us).
//   Inbound: oversize (over the frame limit), undecodable (not msgpack), shape (msgpack, but not a
//     valid frame), wrong-cluster, wrong-sender (frame or message from someone other than the
//     authenticated peer), wrong-recipient (a message for another node), unauthenticated (data
//     before the handshake completed).
export type DropReason =
  | 'queue-full'
  | 'oversize-out'
  | 'no-address'
  | 'fault-loss'
  | 'fault-partition'
  | 'delay-full'
  | 'socket'
  | 'oversize'
  | 'undecodable'
  | 'shape'
  | 'wrong-cluster'
  | 'wrong-sender'
  | 'wrong-recipient'
  | 'unauthenticated';

export const dropReasons: readonly DropReason[] = [
  'queue-full', 'oversize-out', 'no-address', 'fault-loss', 'fault-partition', 'delay-full', 'socket',
  'oversize', 'undecodable', 'shape', 'wrong-cluster', 'wrong-sender', 'wrong-recipient', 'unauthenticated',
];

export type DropCounts = Record<DropReason, number>;
export type AuthFailCounts = Record<AuthFailReason, number>;

export function newDropCounts(): DropCounts {
  const out = {} as DropCounts;
  for (const r of dropReasons) out[r] = 0;
  return out;
}

export function newAuthFailCounts(): AuthFailCounts {
  const out = {} as AuthFailCounts;
  for (const r of authFailReasons) out[r] = 0;
  return out;
}

export class PeerCounters {
  msgsOut = 0;
  framesOut = 0;
  bytesOut = 0;
  msgsIn = 0;
  framesIn = 0;
  bytesIn = 0;
  readonly droppedFrames: DropCounts = newDropCounts();
  readonly droppedMsgs: DropCounts = newDropCounts();
  readonly authFailures: AuthFailCounts = newAuthFailCounts();
  // Successful connections (dialed or accepted), and those after the first.
  connects = 0;
  reconnects = 0;
  // Dial attempts that did not end in an authenticated connection.
  dialFailures = 0;
}

export interface PeerMetrics {
  readonly peer: number;
  readonly connected: boolean;
  readonly dialer: boolean;
  readonly queueFrames: number;
  readonly queueBytes: number;
  readonly socketBufferedBytes: number;
  readonly msgsOut: number;
  readonly framesOut: number;
  readonly bytesOut: number;
  readonly msgsIn: number;
  readonly framesIn: number;
  readonly bytesIn: number;
  readonly droppedFrames: Readonly<DropCounts>;
  readonly droppedMsgs: Readonly<DropCounts>;
  readonly authFailures: Readonly<AuthFailCounts>;
  readonly connects: number;
  readonly reconnects: number;
  readonly dialFailures: number;
}

export interface DelayErrorSummary {
  readonly count: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
  readonly meanUs: number;
}

export interface TransportMetrics {
  readonly nodeId: number;
  readonly kind: string;
  readonly peers: readonly PeerMetrics[];
  // Connections refused before a peer id was proven (strangers, wrong secrets), by reason.
  readonly authFailuresUnknown: Readonly<AuthFailCounts>;
  readonly delayedPending: number;
  readonly delayError: DelayErrorSummary;
}

function line(out: string[], name: string, labels: string, value: number): void {
  out.push(`${name}${labels === '' ? '' : `{${labels}}`} ${value}`);
}

// prometheusText renders a snapshot in the text exposition format (counters end in _total).
export function prometheusText(m: TransportMetrics): string {
  const out: string[] = [];
  const node = `node="${m.nodeId}"`;
  const counters: [keyof PeerMetrics, string][] = [
    ['msgsOut', 'frb_transport_msgs_out_total'],
    ['framesOut', 'frb_transport_frames_out_total'],
    ['bytesOut', 'frb_transport_bytes_out_total'],
    ['msgsIn', 'frb_transport_msgs_in_total'],
    ['framesIn', 'frb_transport_frames_in_total'],
    ['bytesIn', 'frb_transport_bytes_in_total'],
    ['connects', 'frb_transport_connects_total'],
    ['reconnects', 'frb_transport_reconnects_total'],
    ['dialFailures', 'frb_transport_dial_failures_total'],
  ];
  for (const [field, name] of counters) {
    out.push(`# TYPE ${name} counter`);
    for (const p of m.peers) line(out, name, `${node},peer="${p.peer}"`, p[field] as number);
  }
  out.push('# TYPE frb_transport_connected gauge');
  for (const p of m.peers) line(out, 'frb_transport_connected', `${node},peer="${p.peer}"`, p.connected ? 1 : 0);
  out.push('# TYPE frb_transport_queue_frames gauge');
  for (const p of m.peers) line(out, 'frb_transport_queue_frames', `${node},peer="${p.peer}"`, p.queueFrames);
  out.push('# TYPE frb_transport_queue_bytes gauge');
  for (const p of m.peers) line(out, 'frb_transport_queue_bytes', `${node},peer="${p.peer}"`, p.queueBytes);
  out.push('# TYPE frb_transport_dropped_frames_total counter');
  for (const p of m.peers) {
    for (const r of Object.keys(p.droppedFrames) as DropReason[]) {
      if (p.droppedFrames[r] > 0) line(out, 'frb_transport_dropped_frames_total', `${node},peer="${p.peer}",reason="${r}"`, p.droppedFrames[r]);
    }
  }
  out.push('# TYPE frb_transport_dropped_msgs_total counter');
  for (const p of m.peers) {
    for (const r of Object.keys(p.droppedMsgs) as DropReason[]) {
      if (p.droppedMsgs[r] > 0) line(out, 'frb_transport_dropped_msgs_total', `${node},peer="${p.peer}",reason="${r}"`, p.droppedMsgs[r]);
    }
  }
  out.push('# TYPE frb_transport_auth_failures_total counter');
  for (const p of m.peers) {
    for (const r of authFailReasons) {
      if (p.authFailures[r] > 0) line(out, 'frb_transport_auth_failures_total', `${node},peer="${p.peer}",reason="${r}"`, p.authFailures[r]);
    }
  }
  for (const r of authFailReasons) {
    if (m.authFailuresUnknown[r] > 0) line(out, 'frb_transport_auth_failures_total', `${node},peer="unknown",reason="${r}"`, m.authFailuresUnknown[r]);
  }
  out.push('# TYPE frb_transport_delayed_pending gauge');
  line(out, 'frb_transport_delayed_pending', node, m.delayedPending);
  out.push('# TYPE frb_transport_delay_error_us gauge');
  line(out, 'frb_transport_delay_error_us', `${node},quantile="0.5"`, m.delayError.p50Us);
  line(out, 'frb_transport_delay_error_us', `${node},quantile="0.99"`, m.delayError.p99Us);
  line(out, 'frb_transport_delay_error_us', `${node},quantile="1"`, m.delayError.maxUs);
  return out.join('\n') + '\n';
}
