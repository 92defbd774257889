// Peer authentication: each connection proves that both ends hold the cluster secret, over nonces
// fresh to that connection, before any Raft message crosses it.
//
//   server -> dialer   challenge  [tag, version, serverNonce]
//   dialer -> server   hello      [tag, version, cluster, dialerId, serverId, dialerNonce,
//                                  HMAC(secret, "hello" | serverNonce | cluster | dialerId | serverId)]
//   server -> dialer   welcome    [tag, version,
//                                  HMAC(secret, "welcome" | dialerNonce | cluster | serverId | dialerId)]
//
// The hello proves the dialer (a replayed hello fails: the server's nonce is new per connection);
// the welcome proves the server to the dialer, since the one connection carries traffic both
// ways. MACs are compared in constant time. Both ids and the cluster are inside the MAC, so a
// member of one cluster cannot pose as another node or as a member of another cluster that
// happens to share the secret.
//
// This module is pure (bytes in, verdict out); the acceptor and the dialer drive it.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Packr } from 'msgpackr';
import { nodeIdMax } from '../faults/index.js';
import { wireVersion } from './codec.js';
import { TransportConfigError } from './errors.js';

export const nonceBytes = 32;
const macBytes = 32;
export const secretBytesMin = 16;

const challengeTag = 'frb-challenge';
const helloTag = 'frb-hello';
const welcomeTag = 'frb-welcome';

// Why a connection was refused. 'timeout' and 'closed' are decided by the drivers.
export type AuthFailReason =
  | 'malformed' // not a handshake message of ours (a stranger, or garbage)
  | 'version' // a different wire version
  | 'cluster' // another cluster's name
  | 'recipient' // it meant to reach a different node
  | 'self' // it claims our own id
  | 'direction' // it should not dial us: the lower id dials the higher
  | 'mac' // wrong secret (or tampered)
  | 'timeout' // no valid handshake in time
  | 'closed'; // the peer closed during the handshake

export const authFailReasons: readonly AuthFailReason[] = [
  'malformed', 'version', 'cluster', 'recipient', 'self', 'direction', 'mac', 'timeout', 'closed',
];

// Plain msgpack (no records): handshake messages are few and must parse for any stranger.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, copyBuffers: true, moreTypes: false });

export class ClusterKey {
  private readonly secret: Buffer;

  constructor(
    readonly cluster: string,
    secret: string | Uint8Array,
  ) {
    this.secret = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
    if (this.secret.byteLength < secretBytesMin) {
      throw new TransportConfigError(`the cluster secret must be at least ${secretBytesMin} bytes, got ${this.secret.byteLength}`);
    }
    if (cluster.length === 0) throw new TransportConfigError('the cluster name must not be empty');
  }

  mac(label: string, nonce: Uint8Array, a: number, b: number): Buffer {
    const ids = Buffer.allocUnsafe(8);
    ids.writeUInt32BE(a, 0);
    ids.writeUInt32BE(b, 4);
    const cluster = Buffer.from(this.cluster, 'utf8');
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(cluster.byteLength, 0);
    // Fixed-size fields plus a length-prefixed cluster name: no two inputs share an encoding.
    return createHmac('sha256', this.secret)
      .update(`frb-auth-v${wireVersion}:${label}\0`)
      .update(nonce)
      .update(len)
      .update(cluster)
      .update(ids)
      .digest();
  }
}

export function newNonce(): Uint8Array {
  return new Uint8Array(randomBytes(nonceBytes));
}

function macEqual(got: Uint8Array, want: Buffer): boolean {
  return got.byteLength === want.byteLength && timingSafeEqual(got, want);
}

function unpackList(bytes: Uint8Array): unknown[] | null {
  // A handshake message is small; anything big is not one (and is not worth decoding).
  if (bytes.byteLength > 1024) return null;
  try {
    const v: unknown = packr.unpack(bytes);
    return Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

function isBytes(v: unknown, n: number): v is Uint8Array {
  return v instanceof Uint8Array && v.byteLength === n;
}

function isNodeId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= nodeIdMax;
}

// ---------------------------------------------------------------------------------------------
// Server side

export function encodeChallenge(serverNonce: Uint8Array): Uint8Array {
  return packr.pack([challengeTag, wireVersion, serverNonce]);
}

export type HelloVerdict =
  | { readonly ok: true; readonly dialerId: number; readonly dialerNonce: Uint8Array }
  | { readonly ok: false; readonly reason: AuthFailReason; readonly detail: string; readonly claimedId: number | null };

// verifyHello checks a dialer's answer to our challenge. `selfId` is this server's node id.
export function verifyHello(key: ClusterKey, selfId: number, serverNonce: Uint8Array, bytes: Uint8Array): HelloVerdict {
  const v = unpackList(bytes);
  if (v === null || v.length !== 7 || v[0] !== helloTag) {
    return { ok: false, reason: 'malformed', detail: 'not a hello message', claimedId: null };
  }
  const [, version, cluster, dialerId, serverId, dialerNonce, mac] = v;
  const claimedId = isNodeId(dialerId) ? dialerId : null;
  if (version !== wireVersion) return { ok: false, reason: 'version', detail: `wire version ${String(version)}, want ${wireVersion}`, claimedId };
  if (typeof cluster !== 'string' || !isNodeId(dialerId) || !isNodeId(serverId) || !isBytes(dialerNonce, nonceBytes) || !isBytes(mac, macBytes)) {
    return { ok: false, reason: 'malformed', detail: 'bad hello fields', claimedId };
  }
  // Another cluster's name is told apart first (a misconfiguration worth naming); every other
  // claim is believed only once the MAC over it checks.
  if (cluster !== key.cluster) return { ok: false, reason: 'cluster', detail: `cluster '${cluster.slice(0, 64)}'`, claimedId };
  if (!macEqual(mac, key.mac('hello', serverNonce, dialerId, serverId))) {
    return { ok: false, reason: 'mac', detail: `wrong secret (claims node ${dialerId})`, claimedId };
  }
  if (serverId !== selfId) return { ok: false, reason: 'recipient', detail: `meant for node ${serverId}`, claimedId };
  if (dialerId === selfId) return { ok: false, reason: 'self', detail: `claims our own id ${selfId}`, claimedId };
  if (dialerId > selfId) return { ok: false, reason: 'direction', detail: `node ${dialerId} > ${selfId} should be dialed, not dial`, claimedId };
  return { ok: true, dialerId, dialerNonce };
}

export function encodeWelcome(key: ClusterKey, selfId: number, dialerId: number, dialerNonce: Uint8Array): Uint8Array {
  return packr.pack([welcomeTag, wireVersion, key.mac('welcome', dialerNonce, selfId, dialerId)]);
}

// ---------------------------------------------------------------------------------------------
// Dialer side

export type ChallengeVerdict = { readonly ok: true; readonly serverNonce: Uint8Array } | { readonly ok: false; readonly reason: AuthFailReason; readonly detail: string };

export function decodeChallenge(bytes: Uint8Array): ChallengeVerdict {
  const v = unpackList(bytes);
  if (v === null || v.length !== 3 || v[0] !== challengeTag) return { ok: false, reason: 'malformed', detail: 'not a challenge message' };
  if (v[1] !== wireVersion) return { ok: false, reason: 'version', detail: `wire version ${String(v[1])}, want ${wireVersion}` };
  if (!isBytes(v[2], nonceBytes)) return { ok: false, reason: 'malformed', detail: 'bad challenge nonce' };
  return { ok: true, serverNonce: v[2] };
}

export function encodeHello(key: ClusterKey, selfId: number, serverId: number, serverNonce: Uint8Array, dialerNonce: Uint8Array): Uint8Array {
  return packr.pack([helloTag, wireVersion, key.cluster, selfId, serverId, dialerNonce, key.mac('hello', serverNonce, selfId, serverId)]);
}

export function verifyWelcome(
  key: ClusterKey,
  selfId: number,
  serverId: number,
  dialerNonce: Uint8Array,
  bytes: Uint8Array,
): { readonly ok: true } | { readonly ok: false; readonly reason: AuthFailReason; readonly detail: string } {
  const v = unpackList(bytes);
  if (v === null || v.length !== 3 || v[0] !== welcomeTag) return { ok: false, reason: 'malformed', detail: 'not a welcome message' };
  if (v[1] !== wireVersion) return { ok: false, reason: 'version', detail: `wire version ${String(v[1])}, want ${wireVersion}` };
  if (!isBytes(v[2], macBytes) || !macEqual(v[2], key.mac('welcome', dialerNonce, serverId, selfId))) {
    return { ok: false, reason: 'mac', detail: `node ${serverId} did not prove the cluster secret` };
  }
  return { ok: true };
}

// Close codes of the handshake (4000-4999 is the application range).
export const closeCodeAuthFailed = 4001;
export const closeCodeHandshakeTimeout = 4002;
export const closeCodeReplaced = 4003;
