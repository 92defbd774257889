// The client protocol over a node's /client WebSocket. Frames are msgpack maps, or JSON objects
// (a frame whose first byte is '{'), which makes the channel usable from a WebSocket console;
// a node answers in the encoding of the request.
//
//   node   -> client  { op: 'challenge', nonce: <hex>, node: 2 }                      on connect
//   client -> node    { op: 'hello', cluster: 'frb-..', mac: <hex> }                   first frame
//   node   -> client  { op: 'welcome', node: 2, leader: 1, term: 4 }
//   client -> node    { id: 7, op: 'put', clientId: 9, seq: 3, key: 'k', value: 'v' }
//                     { id: 8, op: 'get', key: 'k' }      (clientId and seq optional for get)
//                     { id: 9, op: 'status' }
//   node   -> client  { id: 7, ok: true }                      put applied at this node
//                     { id: 8, ok: true, value: 'v' | null }   linearizable read
//                     { id: 9, ok: true, node, leader, term, role, commit, applied }
//                     { id, ok: false, error: 'no leader', leader: 0 }   and other errors below
//
// The hello's MAC proves the client holds the cluster secret, over a nonce fresh to the
// connection (ClusterKey.mac(clientLabel, nonce, 0, nodeId)): a stranger, or a replayed hello,
// is closed with 4001 before any of its requests is read.
//
// Writes are exactly-once per (clientId, seq): a client numbers its writes 1, 2, 3, ... keeps one
// outstanding, and retries it with the same seq (on any node) until it is answered ok. Errors:
//   'no leader'      the node knows no leader now (leader: 0); retry after a short pause
//   'timeout'        not answered within the node's request timeout; the write may or may not have
//                    taken effect: retry with the same seq
//   'retry'          the outcome is unknown here (a snapshot replaced the state); retry, same seq
//   'dropped'        the node refused the proposal (backpressure, leadership transfer)
//   'recovering'     the node restarted without durable state and is catching up; try another
//   'busy'           too many requests pending on this connection
//   'superseded'     a newer seq of this client arrived
//   'stale'          an older seq than this client's last applied write
//   'store full'     the KV store is at its key limit
//   'shutting down'  the node is stopping
//   'bad request: …' the frame was not a valid request (the connection stays open)

import { Packr } from 'msgpackr';
import { keyBytesMax, valueBytesMax } from '../kv/index.js';

export const clientLabel = 'client';
export const clientPath = '/client';

export type ClientErrorCode =
  | 'no leader'
  | 'timeout'
  | 'retry'
  | 'dropped'
  | 'recovering'
  | 'busy'
  | 'superseded'
  | 'stale'
  | 'store full'
  | 'shutting down'
  | 'unauthenticated'
  | 'bad request';

export type ClientRequest =
  | { readonly id: number; readonly op: 'put'; readonly clientId: number; readonly seq: number; readonly key: string; readonly value: string }
  | { readonly id: number; readonly op: 'get'; readonly clientId: number; readonly seq: number; readonly key: string }
  | { readonly id: number; readonly op: 'status' };

export interface ClientHello {
  readonly op: 'hello';
  readonly cluster: string;
  readonly mac: string;
}

export interface NodeStatusReply {
  readonly node: number;
  readonly leader: number;
  readonly term: number;
  readonly role: string;
  readonly commit: number;
  readonly applied: number;
}

export interface ClientReply {
  readonly id: number;
  readonly ok: boolean;
  readonly value?: string | null;
  readonly error?: string;
  readonly leader?: number;
  readonly status?: NodeStatusReply;
}

// Bounds of one frame: a key and a value at their limits plus the envelope.
export const clientFrameBytesMax = keyBytesMax + valueBytesMax + 1024;

// Plain msgpack (maps as objects, no records): any client library can speak it.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });

export type FrameEncoding = 'msgpack' | 'json';

export function encodeFrame(value: unknown, encoding: FrameEncoding): Uint8Array {
  return encoding === 'json' ? Buffer.from(JSON.stringify(value), 'utf8') : packr.pack(value);
}

export class ClientFrameError extends Error {
  override name = 'ClientFrameError';
}

// decodeFrame reads one frame; ClientFrameError when it is neither a msgpack map nor a JSON
// object.
export function decodeFrame(data: Uint8Array): { value: Record<string, unknown>; encoding: FrameEncoding } {
  if (data.byteLength === 0) throw new ClientFrameError('empty frame');
  if (data.byteLength > clientFrameBytesMax) throw new ClientFrameError(`frame of ${data.byteLength} bytes over the limit of ${clientFrameBytesMax}`);
  const encoding: FrameEncoding = data[0] === 0x7b ? 'json' : 'msgpack';
  let v: unknown;
  try {
    v = encoding === 'json' ? JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')) : packr.unpack(data);
  } catch (err) {
    throw new ClientFrameError(`undecodable ${encoding} frame: ${(err as Error).message}`);
  }
  // A plain map only: msgpackr also yields arrays, byte arrays, dates and marker objects (0xc1).
  const proto = typeof v === 'object' && v !== null ? Object.getPrototypeOf(v) : undefined;
  if (proto !== Object.prototype && proto !== null) {
    throw new ClientFrameError(`expected a map, got ${Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v === 'object' ? 'another kind of object' : typeof v}`);
  }
  return { value: v as Record<string, unknown>, encoding };
}

function isWhole(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

// parseRequest validates a decoded frame as a request; a string is the problem found. `id` is
// returned whenever it could be read, so that even a bad request is answered by id.
export function parseRequest(v: Record<string, unknown>): { req: ClientRequest } | { problem: string; id: number } {
  const id = isWhole(v['id']) ? v['id'] : 0;
  if (!isWhole(v['id'])) return { problem: 'id: expected a whole number', id };
  const op = v['op'];
  if (op === 'status') return { req: { id, op } };
  if (op !== 'put' && op !== 'get') return { problem: `op: expected put, get or status, got ${JSON.stringify(op)?.slice(0, 32)}`, id };
  const key = v['key'];
  if (typeof key !== 'string' || key.length === 0) return { problem: 'key: expected a non-empty string', id };
  if (Buffer.byteLength(key) > keyBytesMax) return { problem: `key: over ${keyBytesMax} bytes`, id };
  const clientId = v['clientId'] ?? 0;
  const seq = v['seq'] ?? 0;
  if (!isWhole(clientId)) return { problem: 'clientId: expected a whole number', id };
  if (!isWhole(seq)) return { problem: 'seq: expected a whole number', id };
  if (op === 'get') return { req: { id, op, clientId, seq, key } };
  if (clientId === 0 || seq === 0) return { problem: 'put: clientId and seq must be positive (writes are deduplicated by them)', id };
  const value = v['value'];
  if (typeof value !== 'string') return { problem: 'value: expected a string', id };
  if (Buffer.byteLength(value) > valueBytesMax) return { problem: `value: over ${valueBytesMax} bytes`, id };
  return { req: { id, op, clientId, seq, key, value } };
}

export function parseHello(v: Record<string, unknown>): ClientHello | null {
  if (v['op'] !== 'hello' || typeof v['cluster'] !== 'string' || typeof v['mac'] !== 'string') return null;
  if (!/^[0-9a-f]{64}$/.test(v['mac'])) return null;
  return { op: 'hello', cluster: v['cluster'], mac: v['mac'] };
}

// Close codes of the client channel (the peer handshake's, for the same causes).
export const closeCodeClientAuthFailed = 4001;
export const closeCodeClientHandshakeTimeout = 4002;
export const closeCodeClientOverloaded = 4008;
