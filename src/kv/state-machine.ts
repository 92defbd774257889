// The KV state machine applied from the committed log. Every replica applies the same commands in
// the same order and must reach the same state, byte for byte (its snapshot), so nothing here
// depends on time, randomness or Map iteration order that differs between replicas.
//
// Exactly-once (Raft dissertation section 6.3): each command carries (clientId, seq). A client
// numbers its commands 1, 2, 3, ... and retries a command with the same seq until it gets an
// answer. The session table remembers, per client, the last seq applied and its result; a retry
// that is committed twice (the first attempt was committed but its answer lost) returns the cached
// result instead of being applied a second time. One outstanding command per client is assumed:
// an older seq than the last applied is answered `stale` and not applied.

import { ByteReader, ByteWriter, KvDecodeError, fromUtf8, utf8, varintBytes } from './codec.js';

export type KvCommand =
  | { readonly op: 'put'; readonly clientId: number; readonly seq: number; readonly key: string; readonly value: Uint8Array }
  | { readonly op: 'get'; readonly clientId: number; readonly seq: number; readonly key: string }
  | { readonly op: 'delete'; readonly clientId: number; readonly seq: number; readonly key: string };

export type KvOpName = KvCommand['op'];

// ok: applied now. duplicate: applied before; `value` is the first application's answer.
// stale: older than the client's last applied command; not applied, answer unknown.
// full: the store or session table is at its limit; not applied (deterministically on every replica).
export type KvStatus = 'ok' | 'duplicate' | 'stale' | 'full';

export interface KvResult {
  readonly status: KvStatus;
  // get: the value read (null if absent). put and delete: null.
  readonly value: Uint8Array | null;
}

export { KvDecodeError } from './codec.js';

// Limits on what one command may carry; a command beyond them is a client bug or an attack.
export const keyBytesMax = 1024;
export const valueBytesMax = 1 << 20;

const COMMAND_MAGIC = 0x4b; // 'K'
const enum OpCode {
  Put = 1,
  Get = 2,
  Delete = 3,
}

// encodeCommand: magic, op, varint clientId, varint seq, key (varint length + UTF-8),
// for put also value (varint length + bytes). 128-byte values cost 128 + ~8 bytes.
export function encodeCommand(cmd: KvCommand): Uint8Array {
  const key = utf8(cmd.key);
  if (key.length > keyBytesMax) throw new RangeError(`encodeCommand: key of ${key.length} bytes exceeds ${keyBytesMax}`);
  let size = 2 + varintBytes(cmd.clientId) + varintBytes(cmd.seq) + varintBytes(key.length) + key.length;
  if (cmd.op === 'put') {
    if (cmd.value.length > valueBytesMax) throw new RangeError(`encodeCommand: value of ${cmd.value.length} bytes exceeds ${valueBytesMax}`);
    size += varintBytes(cmd.value.length) + cmd.value.length;
  }
  const w = new ByteWriter(size);
  w.byte(COMMAND_MAGIC);
  w.byte(opCode(cmd.op));
  w.varint(cmd.clientId);
  w.varint(cmd.seq);
  w.bytes(key);
  if (cmd.op === 'put') w.bytes(cmd.value);
  return w.finish();
}

function opCode(op: KvOpName): OpCode {
  switch (op) {
    case 'put':
      return OpCode.Put;
    case 'get':
      return OpCode.Get;
    case 'delete':
      return OpCode.Delete;
    default: {
      const unreachable: never = op;
      throw new Error(`unknown op ${String(unreachable)}`);
    }
  }
}

// decodeCommand validates as it reads: entries come from the log, and a corrupt one must stop the
// replica loudly rather than apply garbage.
export function decodeCommand(data: Uint8Array): KvCommand {
  const r = new ByteReader(data, 'kv command');
  if (r.byte() !== COMMAND_MAGIC) throw new KvDecodeError('kv command: bad magic byte (not a KV command)');
  const code = r.byte();
  const clientId = r.varint();
  const seq = r.varint();
  const key = fromUtf8(r.bytes(keyBytesMax), 'kv command');
  let cmd: KvCommand;
  switch (code) {
    case OpCode.Put:
      cmd = { op: 'put', clientId, seq, key, value: r.bytes(valueBytesMax) };
      break;
    case OpCode.Get:
      cmd = { op: 'get', clientId, seq, key };
      break;
    case OpCode.Delete:
      cmd = { op: 'delete', clientId, seq, key };
      break;
    default:
      throw new KvDecodeError(`kv command: unknown op code ${code}`);
  }
  r.end();
  return cmd;
}

// isKvCommand tells a KV entry from other data in the log (empty entries, configuration changes).
export function isKvCommand(data: Uint8Array): boolean {
  return data.length >= 2 && data[0] === COMMAND_MAGIC;
}

interface Session {
  seq: number;
  result: KvResult;
}

export interface KvStateMachineOptions {
  // Sessions beyond this evict the least recently used one (by apply order, identical on every
  // replica). A client evicted mid-retry could see its command applied twice; size it well
  // above the number of live clients.
  readonly sessionsMax?: number;
  readonly keysMax?: number;
}

const OK_EMPTY: KvResult = Object.freeze({ status: 'ok', value: null });
const STALE: KvResult = Object.freeze({ status: 'stale', value: null });
const FULL: KvResult = Object.freeze({ status: 'full', value: null });

const SNAPSHOT_MAGIC = [0x4b, 0x56, 0x53, 0x31]; // "KVS1"

export class KvStateMachine {
  private readonly data = new Map<string, Uint8Array>();
  // Insertion order is recency order: a session is deleted and re-set when used, so the first
  // entry is always the least recently used.
  private readonly sessions = new Map<number, Session>();
  private applied = 0;
  readonly sessionsMax: number;
  readonly keysMax: number;

  constructor(options: KvStateMachineOptions = {}) {
    this.sessionsMax = options.sessionsMax ?? 100_000;
    this.keysMax = options.keysMax ?? 10_000_000;
  }

  get appliedIndex(): number {
    return this.applied;
  }

  get keyCount(): number {
    return this.data.size;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  // apply decodes and applies the command in a committed entry at `index`.
  apply(index: number, data: Uint8Array): KvResult {
    return this.applyCommand(index, decodeCommand(data));
  }

  // advance records that entry `index` held no KV command (an empty entry a new leader appends, a
  // configuration change), so that appliedIndex follows the log.
  advance(index: number): void {
    this.checkIndex(index);
    this.applied = index;
  }

  applyCommand(index: number, cmd: KvCommand): KvResult {
    this.checkIndex(index);
    this.applied = index;
    // clientId 0 is sessionless (tools, probes): applied every time, never deduplicated.
    if (cmd.clientId === 0) return this.execute(cmd);
    const session = this.sessions.get(cmd.clientId);
    if (session !== undefined) {
      if (cmd.seq === session.seq) {
        return session.result.status === 'ok' ? { status: 'duplicate', value: session.result.value } : session.result;
      }
      if (cmd.seq < session.seq) return STALE;
    }
    const result = this.execute(cmd);
    if (session !== undefined) {
      this.sessions.delete(cmd.clientId);
      session.seq = cmd.seq;
      session.result = result;
      this.sessions.set(cmd.clientId, session);
    } else {
      if (this.sessions.size >= this.sessionsMax) {
        const lru = this.sessions.keys().next();
        if (!lru.done) this.sessions.delete(lru.value);
      }
      this.sessions.set(cmd.clientId, { seq: cmd.seq, result });
    }
    return result;
  }

  // read is a local read of the applied state. It is linearizable only when the caller has
  // established (ReadIndex, or a lease) that this replica has applied everything committed
  // before the read began.
  read(key: string): Uint8Array | null {
    return this.data.get(key) ?? null;
  }

  private execute(cmd: KvCommand): KvResult {
    switch (cmd.op) {
      case 'get':
        return { status: 'ok', value: this.data.get(cmd.key) ?? null };
      case 'put':
        if (!this.data.has(cmd.key) && this.data.size >= this.keysMax) return FULL;
        this.data.set(cmd.key, cmd.value);
        return OK_EMPTY;
      case 'delete':
        this.data.delete(cmd.key);
        return OK_EMPTY;
      default: {
        const unreachable: never = cmd;
        throw new Error(`unknown command ${JSON.stringify(unreachable)}`);
      }
    }
  }

  private checkIndex(index: number): void {
    if (!Number.isSafeInteger(index) || index <= this.applied) {
      throw new Error(`kv: apply at index ${index} after ${this.applied}; entries must be applied once, in log order`);
    }
  }

  // snapshot encodes the whole state: applied index, keys in sorted order (so that replicas that
  // reached the same state by different routes, e.g. one restored from a snapshot, produce the
  // same bytes) and sessions in recency order (which is itself replicated state: it decides
  // evictions).
  //   "KVS1" varint(appliedIndex) varint(keyCount) (key value)* varint(sessionCount)
  //   (varint(clientId) varint(seq) byte(status) byte(hasValue) [value])*
  snapshot(): Uint8Array {
    const keys = [...this.data.keys()].sort();
    const keyBytes = keys.map(utf8);
    let size = 4 + varintBytes(this.applied) + varintBytes(keys.length) + varintBytes(this.sessions.size);
    for (let i = 0; i < keys.length; i++) {
      const v = this.data.get(keys[i]!)!;
      size += varintBytes(keyBytes[i]!.length) + keyBytes[i]!.length + varintBytes(v.length) + v.length;
    }
    for (const [clientId, s] of this.sessions) {
      size += varintBytes(clientId) + varintBytes(s.seq) + 2;
      if (s.result.value !== null) size += varintBytes(s.result.value.length) + s.result.value.length;
    }
    const w = new ByteWriter(size);
    for (const b of SNAPSHOT_MAGIC) w.byte(b);
    w.varint(this.applied);
    w.varint(keys.length);
    for (let i = 0; i < keys.length; i++) {
      w.bytes(keyBytes[i]!);
      w.bytes(this.data.get(keys[i]!)!);
    }
    w.varint(this.sessions.size);
    for (const [clientId, s] of this.sessions) {
      w.varint(clientId);
      w.varint(s.seq);
      w.byte(statusCode(s.result.status));
      w.byte(s.result.value === null ? 0 : 1);
      if (s.result.value !== null) w.bytes(s.result.value);
    }
    return w.finish();
  }

  // restore replaces the whole state with a snapshot's.
  restore(snapshot: Uint8Array): void {
    const r = new ByteReader(snapshot, 'kv snapshot');
    for (const b of SNAPSHOT_MAGIC) {
      if (r.byte() !== b) throw new KvDecodeError('kv snapshot: bad magic (not a KV snapshot)');
    }
    const applied = r.varint();
    const data = new Map<string, Uint8Array>();
    const keyCount = r.varint();
    if (keyCount > this.keysMax) throw new KvDecodeError(`kv snapshot: ${keyCount} keys exceed the limit ${this.keysMax}`);
    for (let i = 0; i < keyCount; i++) {
      const key = fromUtf8(r.bytes(keyBytesMax), 'kv snapshot');
      data.set(key, r.bytes(valueBytesMax));
    }
    const sessions = new Map<number, Session>();
    const sessionCount = r.varint();
    if (sessionCount > this.sessionsMax) {
      throw new KvDecodeError(`kv snapshot: ${sessionCount} sessions exceed the limit ${this.sessionsMax}`);
    }
    for (let i = 0; i < sessionCount; i++) {
      const clientId = r.varint();
      const seq = r.varint();
      const status = statusFromCode(r.byte());
      const hasValue = r.byte();
      const value = hasValue === 1 ? r.bytes(valueBytesMax) : null;
      sessions.set(clientId, { seq, result: { status, value } });
    }
    r.end();
    this.applied = applied;
    this.data.clear();
    for (const [k, v] of data) this.data.set(k, v);
    this.sessions.clear();
    for (const [c, s] of sessions) this.sessions.set(c, s);
  }

  static fromSnapshot(snapshot: Uint8Array, options: KvStateMachineOptions = {}): KvStateMachine {
    const sm = new KvStateMachine(options);
    sm.restore(snapshot);
    return sm;
  }
}

const statusCodes: readonly KvStatus[] = ['ok', 'duplicate', 'stale', 'full'];

function statusCode(s: KvStatus): number {
  return statusCodes.indexOf(s);
}

function statusFromCode(code: number): KvStatus {
  const s = statusCodes[code];
  if (s === undefined) throw new KvDecodeError(`kv snapshot: bad status code ${code}`);
  return s;
}
