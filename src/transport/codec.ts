// The wire format between peers: one Frame per (Ready, peer) carrying every message of that Ready
// for that peer, packed with msgpackr records.
//
// Records need both ends to agree on the record structures. They are fixed here, up front, in one
// list (`wireStructures`), and the Packr is told it may not share any structure beyond them
// (maxSharedStructures = their count, shouldShareStructure = never): an object of a shape not in
// the list (a message built with a different key order, say) is still encoded correctly, with its
// record definition inline in that frame only. Nothing learnt from one frame carries over to the
// next, so frames decode independently, in any order, on any connection, after any restart.
// Changing the list changes the format: bump `wireVersion` (the handshake carries it).
//
// Decoding validates the whole shape strictly (every field, its type, its range, no extra fields,
// bounded counts) because a frame comes from a socket: whatever arrives, decodeFrame returns a
// Frame or throws a FrameError, and nothing else.

import { Packr } from 'msgpackr';
import type { Message } from '../core/types.js';
import { Approval, EntryType, MessageType } from '../core/types.js';
import { nodeIdMax } from '../faults/index.js';

export const wireVersion = 1;

export interface Frame {
  readonly cluster: string;
  readonly from: number;
  readonly msgs: Message[];
}

export type FrameErrorReason = 'oversize' | 'undecodable' | 'shape';

export class FrameError extends Error {
  override name = 'FrameError';
  constructor(
    readonly reason: FrameErrorReason,
    message: string,
  ) {
    super(message);
  }
}

// Key lists in the order newMessage / newEntry and the core's snapshot helpers build objects, so
// that the common shapes hit a shared record.
const frameKeys = ['cluster', 'from', 'msgs'] as const;
const messageKeys = [
  'type', 'to', 'from', 'term', 'logTerm', 'index', 'entries', 'commit', 'vote', 'snapshot', 'reject',
  'rejectHint', 'context', 'responses',
] as const;
const entryKeys = ['term', 'index', 'type', 'data'] as const;
const snapshotKeys = ['data', 'metadata'] as const;
const metadataKeys = ['confState', 'index', 'term'] as const;
const confStateKeys = ['voters', 'learners', 'votersOutgoing', 'learnersNext', 'autoLeave'] as const;

const wireStructures: readonly (readonly string[])[] = Object.freeze([
  frameKeys,
  messageKeys,
  entryKeys,
  [...entryKeys, 'approval', 'digest'],
  [...entryKeys, 'approval'],
  [...entryKeys, 'digest'],
  snapshotKeys,
  metadataKeys,
  confStateKeys,
]);

// Bounds on what one frame may hold, beyond its byte size. They guard the decoder's work per frame;
// real Readys are far below them.
export interface CodecLimits {
  readonly frameBytesMax: number;
  readonly msgsPerFrameMax: number;
  readonly entriesPerMsgMax: number;
  readonly nodesPerConfStateMax: number;
  readonly clusterNameBytesMax: number;
}

export const defaultCodecLimits: CodecLimits = Object.freeze({
  frameBytesMax: 16 * 1024 * 1024,
  msgsPerFrameMax: 65536,
  entriesPerMsgMax: 65536,
  nodesPerConfStateMax: 4096,
  clusterNameBytesMax: 256,
});

// `responses` nest messages; on the wire only one level is meaningful (etcd's local storage
// messages carry them and never leave the node), two levels are accepted, more is a bad frame.
const responsesDepthMax = 2;

function newPackr(): Packr {
  return new Packr({
    useRecords: true,
    // A private copy: msgpackr annotates and extends the array it is given.
    structures: wireStructures.map((s) => s.slice()),
    maxSharedStructures: wireStructures.length,
    shouldShareStructure: () => false,
    // Binary fields get their own copies: uWebSockets.js hands out a buffer that is only valid
    // during its callback, and an entry kept in a log must not pin the whole frame it came in.
    copyBuffers: true,
    // Keep decoding plain: no Date, Map or Set types from the wire.
    mapsAsObjects: true,
    moreTypes: false,
  });
}

// FrameCodec owns one Packr (msgpackr keeps per-instance encoding state); one per transport.
export class FrameCodec {
  private readonly packr = newPackr();
  private readonly unpackr = newPackr();

  constructor(readonly limits: CodecLimits = defaultCodecLimits) {}

  // encode returns a view into msgpackr's output buffer. msgpackr never writes over bytes it has
  // returned (it moves on, and starts a fresh buffer when one is full), so a queued frame may keep
  // the view without a copy.
  encode(frame: Frame): Uint8Array {
    return this.packr.pack(frame);
  }

  decode(bytes: Uint8Array): Frame {
    if (bytes.byteLength > this.limits.frameBytesMax) {
      throw new FrameError('oversize', `frame of ${bytes.byteLength} bytes is over the limit of ${this.limits.frameBytesMax}`);
    }
    // A plain Uint8Array view (not a Buffer), so that binary fields come out as plain Uint8Array
    // copies whichever socket library delivered the frame.
    const view = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let value: unknown;
    try {
      value = this.unpackr.unpack(view);
    } catch (err) {
      throw new FrameError('undecodable', `frame does not decode: ${err instanceof Error ? err.message : String(err)}`);
    }
    return validateFrame(value, this.limits);
  }
}

// ---------------------------------------------------------------------------------------------
// Validation. Checks are predicates; the path of a failure is built only when one fails, so a good
// frame costs no string or closure per message. The first problem ends the frame.

function bad(path: string, what: string): never {
  throw new FrameError('shape', `${path}: ${what}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function isUint(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isNodeId(v: unknown): v is number {
  return isUint(v) && v <= nodeIdMax;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  return typeof v;
}

// hasExactly is true when obj has exactly the listed own keys (and optionally some of `optional`,
// after them). Decoded records come with their keys in structure order, so the common case is one
// in-order walk; any other order takes the slower set comparison.
function hasExactly(obj: Record<string, unknown>, keys: readonly string[], optional: readonly string[] = []): boolean {
  let j = 0;
  let o = 0;
  for (const k in obj) {
    if (j < keys.length) {
      if (k === keys[j]) {
        j++;
        continue;
      }
      return hasExactlyUnordered(obj, keys, optional);
    }
    while (o < optional.length && optional[o] !== k) o++;
    if (o === optional.length) return hasExactlyUnordered(obj, keys, optional);
    o++;
  }
  return j === keys.length && ownKeysOnly(obj);
}

// ownKeysOnly rules out enumerable inherited keys (for...in sees them; a record has none).
function ownKeysOnly(obj: Record<string, unknown>): boolean {
  return Object.getPrototypeOf(obj) === Object.prototype || Object.getPrototypeOf(obj) === null;
}

function hasExactlyUnordered(obj: Record<string, unknown>, keys: readonly string[], optional: readonly string[]): boolean {
  let n = 0;
  for (const k in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, k)) return false;
    if (!keys.includes(k) && !optional.includes(k)) return false;
    n++;
  }
  let required = 0;
  for (let i = 0; i < keys.length; i++) {
    if (!Object.prototype.hasOwnProperty.call(obj, keys[i]!)) return false;
    required++;
  }
  return n >= required;
}

// keysProblem explains why hasExactly failed (only called on failure).
function keysProblem(obj: Record<string, unknown>, keys: readonly string[], optional: readonly string[] = []): string {
  for (const k of Object.keys(obj)) if (!keys.includes(k) && !optional.includes(k)) return `unexpected field '${k}'`;
  for (const k of keys) if (!Object.prototype.hasOwnProperty.call(obj, k)) return `missing field '${k}'`;
  return 'fields do not match';
}

function isList(v: unknown, max: number): v is unknown[] {
  return Array.isArray(v) && v.length <= max;
}

function listProblem(v: unknown, max: number): string {
  return Array.isArray(v) ? `${v.length} items is over the limit of ${max}` : `expected a list, got ${describe(v)}`;
}

function at(parent: string, i: number, field: string): string {
  return `${parent}[${i}]${field === '' ? '' : '.' + field}`;
}

export function validateFrame(value: unknown, limits: CodecLimits = defaultCodecLimits): Frame {
  if (!isObject(value)) bad('frame', `expected a frame record, got ${describe(value)}`);
  if (!hasExactly(value, frameKeys)) bad('frame', keysProblem(value, frameKeys));
  const cluster = value['cluster'];
  if (typeof cluster !== 'string' || cluster.length === 0 || cluster.length > limits.clusterNameBytesMax) {
    bad('frame.cluster', `expected a cluster name of 1..${limits.clusterNameBytesMax} characters, got ${describe(cluster)}`);
  }
  if (!isNodeId(value['from'])) bad('frame.from', `expected a node id, got ${describe(value['from'])}`);
  const msgs = value['msgs'];
  if (!isList(msgs, limits.msgsPerFrameMax)) bad('frame.msgs', listProblem(msgs, limits.msgsPerFrameMax));
  for (let i = 0; i < msgs.length; i++) validateMessage(msgs[i], limits, 0, 'frame.msgs', i);
  return value as unknown as Frame;
}

const messageTypeMax = MessageType.MsgFastVote;
const messageUintFields = ['term', 'logTerm', 'index', 'commit', 'rejectHint'] as const;
const messageNodeFields = ['to', 'from', 'vote'] as const;

function validateMessage(v: unknown, limits: CodecLimits, depth: number, parent: string, i: number): void {
  if (!isObject(v)) bad(at(parent, i, ''), `expected a message record, got ${describe(v)}`);
  const m = v;
  if (!hasExactly(m, messageKeys)) bad(at(parent, i, ''), keysProblem(m, messageKeys));
  const type = m['type'];
  if (typeof type !== 'number' || !Number.isInteger(type) || type < 0 || type > messageTypeMax) {
    bad(at(parent, i, 'type'), `unknown message type ${describe(type)}`);
  }
  for (let k = 0; k < messageUintFields.length; k++) {
    const f = messageUintFields[k]!;
    if (!isUint(m[f])) bad(at(parent, i, f), `expected a non-negative integer, got ${describe(m[f])}`);
  }
  for (let k = 0; k < messageNodeFields.length; k++) {
    const f = messageNodeFields[k]!;
    if (!isNodeId(m[f])) bad(at(parent, i, f), `expected a node id, got ${describe(m[f])}`);
  }
  if (typeof m['reject'] !== 'boolean') bad(at(parent, i, 'reject'), `expected a boolean, got ${describe(m['reject'])}`);
  if (!(m['context'] instanceof Uint8Array)) bad(at(parent, i, 'context'), `expected bytes, got ${describe(m['context'])}`);
  const entries = m['entries'];
  if (!isList(entries, limits.entriesPerMsgMax)) bad(at(parent, i, 'entries'), listProblem(entries, limits.entriesPerMsgMax));
  for (let j = 0; j < entries.length; j++) validateEntry(entries[j], parent, i, j);
  const snap = m['snapshot'];
  if (snap !== null) validateSnapshot(snap, limits, at(parent, i, 'snapshot'));
  const responses = m['responses'];
  if (!isList(responses, limits.msgsPerFrameMax)) bad(at(parent, i, 'responses'), listProblem(responses, limits.msgsPerFrameMax));
  if (responses.length > 0 && depth + 1 >= responsesDepthMax) bad(at(parent, i, 'responses'), 'nested too deep');
  for (let j = 0; j < responses.length; j++) validateMessage(responses[j], limits, depth + 1, at(parent, i, 'responses'), j);
}

const entryOptionalKeys = ['approval', 'digest'] as const;

function validateEntry(v: unknown, parent: string, i: number, j: number): void {
  if (!isObject(v)) bad(at(at(parent, i, 'entries'), j, ''), `expected an entry record, got ${describe(v)}`);
  const e = v;
  if (!hasExactly(e, entryKeys, entryOptionalKeys)) bad(at(at(parent, i, 'entries'), j, ''), keysProblem(e, entryKeys, entryOptionalKeys));
  if (!isUint(e['term'])) bad(at(at(parent, i, 'entries'), j, 'term'), `expected a non-negative integer, got ${describe(e['term'])}`);
  if (!isUint(e['index'])) bad(at(at(parent, i, 'entries'), j, 'index'), `expected a non-negative integer, got ${describe(e['index'])}`);
  const type = e['type'];
  if (type !== EntryType.EntryNormal && type !== EntryType.EntryConfChange && type !== EntryType.EntryConfChangeV2) {
    bad(at(at(parent, i, 'entries'), j, 'type'), `unknown entry type ${describe(type)}`);
  }
  if (!(e['data'] instanceof Uint8Array)) bad(at(at(parent, i, 'entries'), j, 'data'), `expected bytes, got ${describe(e['data'])}`);
  if (Object.prototype.hasOwnProperty.call(e, 'approval')) {
    const a = e['approval'];
    if (a !== Approval.Unknown && a !== Approval.SelfApproved && a !== Approval.LeaderApproved) {
      bad(at(at(parent, i, 'entries'), j, 'approval'), `unknown approval ${describe(a)}`);
    }
  }
  if (Object.prototype.hasOwnProperty.call(e, 'digest') && !isUint(e['digest'])) {
    bad(at(at(parent, i, 'entries'), j, 'digest'), `expected a non-negative integer, got ${describe(e['digest'])}`);
  }
}

function validateSnapshot(v: unknown, limits: CodecLimits, path: string): void {
  if (!isObject(v)) bad(path, `expected a snapshot record or null, got ${describe(v)}`);
  if (!hasExactly(v, snapshotKeys)) bad(path, keysProblem(v, snapshotKeys));
  if (!(v['data'] instanceof Uint8Array)) bad(`${path}.data`, `expected bytes, got ${describe(v['data'])}`);
  const md = v['metadata'];
  if (!isObject(md)) bad(`${path}.metadata`, `expected a record, got ${describe(md)}`);
  if (!hasExactly(md, metadataKeys)) bad(`${path}.metadata`, keysProblem(md, metadataKeys));
  if (!isUint(md['index'])) bad(`${path}.metadata.index`, `expected a non-negative integer, got ${describe(md['index'])}`);
  if (!isUint(md['term'])) bad(`${path}.metadata.term`, `expected a non-negative integer, got ${describe(md['term'])}`);
  const cs = md['confState'];
  if (!isObject(cs)) bad(`${path}.metadata.confState`, `expected a record, got ${describe(cs)}`);
  if (!hasExactly(cs, confStateKeys)) bad(`${path}.metadata.confState`, keysProblem(cs, confStateKeys));
  for (const k of ['voters', 'learners', 'votersOutgoing', 'learnersNext'] as const) {
    const ids = cs[k];
    if (!isList(ids, limits.nodesPerConfStateMax)) bad(`${path}.metadata.confState.${k}`, listProblem(ids, limits.nodesPerConfStateMax));
    for (let n = 0; n < ids.length; n++) {
      if (!isNodeId(ids[n])) bad(`${path}.metadata.confState.${k}[${n}]`, `expected a node id, got ${describe(ids[n])}`);
    }
  }
  if (typeof cs['autoLeave'] !== 'boolean') bad(`${path}.metadata.confState.autoLeave`, `expected a boolean, got ${describe(cs['autoLeave'])}`);
}
