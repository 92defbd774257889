// The control channel: POST /control on a node's port changes its injected network faults at run
// time (the transport's control commands: partition, heal, link latency, ...). A command can cut
// a node off from its cluster, so it must prove the cluster secret:
//
//   { "command": { "op": "partition", "isolate": 3 }, "ts": 1700000000000, "mac": "<hex>" }
//   mac = HMAC-SHA256(secret, "frb-control-v1\0" clusterId "\0" nodeId "\0" ts "\0" JSON(command))
//
// The MAC binds the command to one node of one cluster and to a time: a command replayed to
// another node, or more than controlSkewMsMax later, is refused.

import { createHmac, timingSafeEqual } from 'node:crypto';

export const controlPath = '/control';
export const controlSkewMsMax = 60_000;

export interface SignedControl {
  readonly command: unknown;
  readonly ts: number;
  readonly mac: string;
}

function controlMac(secret: string, clusterId: string, nodeId: number, ts: number, commandJson: string): Buffer {
  return createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(`frb-control-v1\0${clusterId}\0${nodeId}\0${ts}\0`)
    .update(commandJson)
    .digest();
}

export function signControl(secret: string, clusterId: string, nodeId: number, command: unknown, nowMs = Date.now()): SignedControl {
  const ts = Math.floor(nowMs);
  return { command, ts, mac: controlMac(secret, clusterId, nodeId, ts, JSON.stringify(command)).toString('hex') };
}

// verifyControl returns the command, or a reason to refuse it.
export function verifyControl(
  secret: string,
  clusterId: string,
  nodeId: number,
  body: Uint8Array,
  nowMs = Date.now(),
): { ok: true; command: unknown } | { ok: false; error: string } {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    return { ok: false, error: 'expected a JSON body { command, ts, mac }' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, error: 'expected a JSON body { command, ts, mac }' };
  const { command, ts, mac } = v as Record<string, unknown>;
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || typeof mac !== 'string' || !/^[0-9a-f]{64}$/.test(mac) || command === undefined) {
    return { ok: false, error: 'expected a JSON body { command, ts, mac }' };
  }
  const want = controlMac(secret, clusterId, nodeId, ts, JSON.stringify(command));
  if (!timingSafeEqual(Buffer.from(mac, 'hex'), want)) return { ok: false, error: 'authentication failed' };
  if (Math.abs(nowMs - ts) > controlSkewMsMax) return { ok: false, error: `stale command (ts ${ts} is more than ${controlSkewMsMax} ms from now)` };
  return { ok: true, command };
}
