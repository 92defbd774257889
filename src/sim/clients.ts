// Simulated KV clients. Each session has a client id and numbers its commands 1, 2, 3, ...; it
// keeps one command outstanding and retries it with the same (client id, seq) until a node it
// talks to applies it, so that the KV state machine's session table makes every command take
// effect at most once (Raft dissertation §6.3). Clients record what they saw in a History
// (invoke and complete times, answers) for the linearizability checker, and the latency of every
// acknowledged operation for the experiment runner.
//
// Closed loop: a session issues its next command a think time after the previous one completed.
// Open loop: arrivals come at a given rate whatever the cluster does (so a slow cluster builds a
// queue, and latency is measured from the intended send time, which is the arrival time), each
// served by a free session of a bounded pool.
//
// A client is attached to a node (leader, a follower, a random node, round-robin over all, or a
// fixed list) and hears an answer when that node applies the command. If the node is down or the
// answer does not come within the retry interval, the command is resent, possibly through another
// node; past the operation timeout the client gives up and the operation stays pending in the
// history (it may or may not have taken effect).

import { decodeCommand, encodeCommand, type KvCommand, type KvResult } from '../kv/index.js';
import type { Rng } from '../core/rand.js';
import { History } from './history.js';
import type { Scheduler } from './scheduler.js';
import type { TraceRecord, TraceSink } from './trace.js';

export type AttachPolicy = 'leader' | 'followers' | 'random' | 'all' | readonly number[];

export const enum ProposeOutcome {
  Accepted = 0,
  // The node refused it at once (no leader known, a transfer in progress, backpressure).
  Dropped = 1,
  // The node is crashed or gone.
  Down = 2,
}

// What clients need from the cluster they talk to.
export interface ClientHost {
  readonly sched: Scheduler<unknown>;
  propose(nodeId: number, data: Uint8Array): ProposeOutcome;
  // The leader most recently observed (0: none known).
  leaderId(): number;
  // Members that are running (paused ones included: a client cannot tell a stall from slowness),
  // in increasing id order. The returned array must not be kept.
  liveMemberIds(): readonly number[];
}

export interface ClientOptions {
  // Closed loop: number of sessions. Open loop: the pool's initial size.
  count: number;
  mode: 'closed' | 'open';
  attach: AttachPolicy;
  // Keys k0..k{keys-1}, chosen uniformly (or by keyChooser); fewer keys means more contention.
  keys: number;
  // A key distribution (src/load/keys.ts); null: uniform over `keys`.
  keyChooser: ((rng: Rng) => number) | null;
  // Share of gets among operations.
  readRatio: number;
  // Bytes of each put's value (the value's unique token padded with '.').
  valueBytes: number;
  // Closed loop: pause between a completion and the next invocation.
  thinkUs: number;
  // Open loop: arrivals per second over all sessions (Poisson when `poisson`, else evenly spaced).
  ratePerSec: number;
  poisson: boolean;
  // Resend an unanswered command after this long.
  retryUs: number;
  // Give up (leave the operation pending) after this long.
  opTimeoutUs: number;
  // Resend after this long when the node refused the proposal outright.
  refusedBackoffUs: number;
  // Operations per session (closed) or in total (open); Infinity for no limit.
  opsMax: number;
  startUs: number;
  // No new operations at or after this time (outstanding ones still finish or give up).
  stopUs: number;
  // Open loop: the most sessions the pool may grow to; arrivals beyond it are counted as shed.
  sessionsMax: number;
}

export const defaultClientOptions: Readonly<ClientOptions> = {
  count: 1,
  mode: 'closed',
  attach: 'random',
  keys: 8,
  keyChooser: null,
  readRatio: 0.3,
  valueBytes: 0,
  thinkUs: 0,
  ratePerSec: 1000,
  poisson: true,
  retryUs: 200_000,
  opTimeoutUs: 2_000_000,
  refusedBackoffUs: 10_000,
  opsMax: Infinity,
  startUs: 0,
  stopUs: Infinity,
  sessionsMax: 4096,
};

// Sessions and generators are addressed by small integers packed with a timer generation into an
// event argument; these bound them.
const sessionIndexBits = 16;
const sessionIndexMax = 1 << sessionIndexBits;

export interface CompletedOp {
  readonly clientId: number;
  readonly kind: 'put' | 'get';
  readonly key: string;
  readonly intendedUs: number;
  readonly completeUs: number;
  readonly latencyUs: number;
  readonly nodeId: number;
  readonly attempts: number;
}

export interface ClientCounters {
  invoked: number;
  completed: number;
  gaveUp: number;
  resent: number;
  refused: number;
  shed: number;
  duplicates: number;
}

interface Session {
  readonly index: number;
  readonly clientId: number;
  readonly group: ClientGroup;
  // Position among the group's sessions (for attach policies that spread sessions).
  readonly slot: number;
  seq: number;
  busy: boolean;
  opId: number;
  kind: 'put' | 'get';
  key: string;
  data: Uint8Array;
  intendedUs: number;
  deadlineUs: number;
  attempts: number;
  contact: number;
  // When the session next wants to act (start, resend, give up); Infinity: nothing to do.
  wakeUs: number;
  // Time of the session's live timer event (-1: none). One live event per session: a wake-up
  // later than it is handled by re-arming when it fires, so that a resend timer per operation
  // does not pile up cancelled events in the scheduler.
  timerAtUs: number;
  // Timer generation: an event whose generation differs was superseded by an earlier one.
  gen: number;
  opsDone: number;
}

interface ClientGroup {
  readonly options: ClientOptions;
  readonly sessions: Session[];
  readonly free: Session[];
  opsIssued: number;
  readonly rng: Rng;
}

export class Clients {
  readonly history: History | null;
  readonly counters: ClientCounters = { invoked: 0, completed: 0, gaveUp: 0, resent: 0, refused: 0, shed: 0, duplicates: 0 };
  // Latency of every acknowledged operation, intended send to acknowledgement, in microseconds.
  readonly latenciesUs: number[] = [];
  onComplete: ((op: CompletedOp) => void) | null = null;
  private readonly sessions: Session[] = [];
  private readonly byClientId = new Map<number, Session>();
  private readonly groups: ClientGroup[] = [];
  private nextClientId = 1;
  private readonly textDecoder = new TextDecoder();

  constructor(
    private readonly host: ClientHost,
    private readonly timerKind: number,
    private readonly arrivalKind: number,
    recordHistory: boolean,
    historyOpsMax?: number,
    private readonly tr: TraceSink | null = null,
  ) {
    this.history = recordHistory ? new History(historyOpsMax) : null;
  }

  private trace(ev: string, s: Session, nowUs: number, extra?: TraceRecord): void {
    this.tr!.write({ i: this.host.sched.eventsRun, t: nowUs, ev, client: s.clientId, seq: s.seq, op: s.kind, key: s.key, node: s.contact, ...(extra ?? {}) });
  }

  get sessionCount(): number {
    return this.sessions.length;
  }

  // add creates a group of clients and schedules its first operations.
  add(partial: Partial<ClientOptions>, rng: Rng): void {
    const options: ClientOptions = { ...defaultClientOptions, ...partial };
    validateClientOptions(options);
    const group: ClientGroup = { options, sessions: [], free: [], opsIssued: 0, rng };
    this.groups.push(group);
    for (let i = 0; i < options.count; i++) this.newSession(group);
    const startUs = Math.max(options.startUs, this.host.sched.nowUs);
    if (options.mode === 'closed') {
      for (const s of group.sessions) this.armTimer(s, startUs);
    } else {
      this.host.sched.at(startUs, this.arrivalKind, this.groups.length - 1);
    }
  }

  private newSession(group: ClientGroup): Session | null {
    if (this.sessions.length >= sessionIndexMax) return null;
    const s: Session = {
      index: this.sessions.length,
      clientId: this.nextClientId++,
      group,
      slot: group.sessions.length,
      seq: 0,
      busy: false,
      opId: -1,
      kind: 'get',
      key: '',
      data: new Uint8Array(0),
      intendedUs: 0,
      deadlineUs: 0,
      attempts: 0,
      contact: 0,
      wakeUs: Infinity,
      timerAtUs: -1,
      gen: 0,
      opsDone: 0,
    };
    this.sessions.push(s);
    group.sessions.push(s);
    if (group.options.mode === 'open') group.free.push(s);
    this.byClientId.set(s.clientId, s);
    return s;
  }

  private armTimer(s: Session, atUs: number): void {
    s.wakeUs = atUs;
    if (s.timerAtUs >= 0 && s.timerAtUs <= atUs) return;
    s.gen++;
    s.timerAtUs = atUs;
    this.host.sched.at(atUs, this.timerKind, s.gen * sessionIndexMax + s.index);
  }

  // onTimer handles a session's timer event (think time over, resend, give up).
  onTimer(arg: number, nowUs: number): void {
    const index = arg % sessionIndexMax;
    const gen = Math.floor(arg / sessionIndexMax);
    const s = this.sessions[index];
    if (s === undefined || s.gen !== gen) return;
    s.timerAtUs = -1;
    if (nowUs < s.wakeUs) {
      if (s.wakeUs !== Infinity) this.armTimer(s, s.wakeUs);
      return;
    }
    s.wakeUs = Infinity;
    if (!s.busy) {
      // Closed loop: the think time is over.
      this.startOp(s, nowUs, nowUs);
      return;
    }
    if (nowUs >= s.deadlineUs) {
      this.giveUp(s, nowUs);
      return;
    }
    this.counters.resent++;
    this.send(s, nowUs, true);
    if (this.tr !== null) this.trace('resend', s, nowUs, { attempt: s.attempts });
  }

  // onArrival handles an open-loop arrival of group `arg`.
  onArrival(arg: number, nowUs: number): void {
    const group = this.groups[arg];
    if (group === undefined) return;
    const o = group.options;
    if (nowUs >= o.stopUs || group.opsIssued >= o.opsMax) return;
    let s = group.free.pop() ?? null;
    if (s === null && group.sessions.length < o.sessionsMax) {
      s = this.newSession(group);
      if (s !== null) group.free.pop();
    }
    if (s === null) this.counters.shed++;
    else this.startOp(s, nowUs, nowUs);
    const meanGapUs = 1e6 / o.ratePerSec;
    const gapUs = o.poisson ? -meanGapUs * Math.log(1 - group.rng.float()) : meanGapUs;
    this.host.sched.at(nowUs + Math.max(1, Math.round(gapUs)), this.arrivalKind, arg);
  }

  private startOp(s: Session, intendedUs: number, nowUs: number): void {
    const group = s.group;
    const o = group.options;
    if (nowUs >= o.stopUs) return;
    if (o.mode === 'closed' && s.opsDone >= o.opsMax) return;
    const rng = group.rng;
    s.busy = true;
    s.seq++;
    s.attempts = 0;
    s.contact = 0;
    s.intendedUs = intendedUs;
    s.deadlineUs = nowUs + o.opTimeoutUs;
    s.key = `k${o.keyChooser !== null ? o.keyChooser(rng) : rng.intn(o.keys)}`;
    group.opsIssued++;
    this.counters.invoked++;
    let cmd: KvCommand;
    if (rng.float() < o.readRatio) {
      s.kind = 'get';
      cmd = { op: 'get', clientId: s.clientId, seq: s.seq, key: s.key };
      s.opId = this.history !== null ? this.history.invokeGet(s.clientId, s.key, nowUs) : -1;
    } else {
      s.kind = 'put';
      const token = `${s.clientId}:${s.seq}`;
      const value = o.valueBytes > token.length ? token.padEnd(o.valueBytes, '.') : token;
      cmd = { op: 'put', clientId: s.clientId, seq: s.seq, key: s.key, value: asciiBytes(value) };
      s.opId = this.history !== null ? this.history.invokePut(s.clientId, s.key, token, nowUs) : -1;
    }
    s.data = asciiEncodeOk ? encodeAsciiCommand(cmd) : encodeCommand(cmd);
    this.send(s, nowUs, false);
    if (this.tr !== null) this.trace('invoke', s, nowUs, s.kind === 'put' ? { value: `${s.clientId}:${s.seq}` } : {});
  }

  private send(s: Session, nowUs: number, resend: boolean): void {
    const o = s.group.options;
    const host = this.host;
    // A resend goes to the same node unless it is gone; a policy that follows the leader follows
    // it on every attempt.
    const live = host.liveMemberIds();
    if (!resend || s.contact === 0 || o.attach === 'leader' || o.attach === 'random' || !live.includes(s.contact)) {
      s.contact = this.pickContact(s, live);
    }
    s.attempts++;
    if (s.contact === 0) {
      this.armTimer(s, Math.min(s.deadlineUs, nowUs + o.refusedBackoffUs));
      return;
    }
    const outcome = host.propose(s.contact, s.data);
    if (outcome === ProposeOutcome.Accepted) {
      this.armTimer(s, Math.min(s.deadlineUs, nowUs + o.retryUs));
    } else {
      this.counters.refused++;
      if (outcome === ProposeOutcome.Down) s.contact = 0;
      this.armTimer(s, Math.min(s.deadlineUs, nowUs + o.refusedBackoffUs));
    }
  }

  private pickContact(s: Session, live: readonly number[]): number {
    if (live.length === 0) return 0;
    const attach = s.group.options.attach;
    if (typeof attach !== 'string') {
      for (let k = 0; k < attach.length; k++) {
        const id = attach[(s.slot + k + s.attempts) % attach.length]!;
        if (live.includes(id)) return id;
      }
      return live[(s.slot + s.attempts) % live.length]!;
    }
    switch (attach) {
      case 'leader': {
        const lead = this.host.leaderId();
        if (lead !== 0 && live.includes(lead)) return lead;
        return live[s.group.rng.intn(live.length)]!;
      }
      case 'followers': {
        const lead = this.host.leaderId();
        const n = live.length - (live.includes(lead) ? 1 : 0);
        if (n === 0) return live[0]!;
        let k = (s.slot + s.attempts) % n;
        for (const id of live) {
          if (id === lead) continue;
          if (k === 0) return id;
          k--;
        }
        return live[0]!;
      }
      case 'random':
        return live[s.group.rng.intn(live.length)]!;
      case 'all':
        return live[(s.slot + s.attempts) % live.length]!;
      default: {
        const unreachable: never = attach;
        throw new Error(`unknown attach policy ${String(unreachable)}`);
      }
    }
  }

  // onApplied is called for every KV command a node applies. The waiting session hears the
  // answer if it came from the node it last sent the command to.
  onApplied(nodeId: number, clientId: number, seq: number, result: KvResult, nowUs: number): void {
    const s = this.byClientId.get(clientId);
    if (s === undefined || !s.busy || s.seq !== seq || s.contact !== nodeId) return;
    if (result.status === 'stale') return;
    if (result.status === 'duplicate') this.counters.duplicates++;
    if (this.history !== null) {
      if (result.status === 'full') this.history.fail(s.opId);
      else this.history.complete(s.opId, s.kind === 'get' ? this.readToken(result.value) : null, nowUs);
    }
    const latencyUs = nowUs - s.intendedUs;
    this.counters.completed++;
    if (this.tr !== null) {
      this.trace('complete', s, nowUs, { status: result.status, latencyUs, ...(s.kind === 'get' ? { value: this.readToken(result.value) } : {}) });
    }
    this.latenciesUs.push(latencyUs);
    if (this.onComplete !== null) {
      this.onComplete({
        clientId,
        kind: s.kind,
        key: s.key,
        intendedUs: s.intendedUs,
        completeUs: nowUs,
        latencyUs,
        nodeId,
        attempts: s.attempts,
      });
    }
    this.finish(s, nowUs);
  }

  private readToken(value: Uint8Array | null): string | null {
    if (value === null) return null;
    const text = this.textDecoder.decode(value);
    const pad = text.indexOf('.');
    return pad < 0 ? text : text.slice(0, pad);
  }

  private giveUp(s: Session, nowUs: number): void {
    this.counters.gaveUp++;
    if (this.tr !== null) this.trace('giveup', s, nowUs, { attempts: s.attempts });
    this.finish(s, nowUs);
  }

  private finish(s: Session, nowUs: number): void {
    s.busy = false;
    s.opsDone++;
    s.wakeUs = Infinity;
    const o = s.group.options;
    if (o.mode === 'open') {
      s.group.free.push(s);
      return;
    }
    if (s.opsDone >= o.opsMax || nowUs + o.thinkUs >= o.stopUs) return;
    // Without think time the next operation starts at once (the answer and the next request are
    // the same instant), which spares a timer event per operation.
    if (o.thinkUs === 0) this.startOp(s, nowUs, nowUs);
    else this.armTimer(s, nowUs + o.thinkUs);
  }

  // outstanding counts operations invoked and neither answered nor given up.
  get outstanding(): number {
    let n = 0;
    for (const s of this.sessions) if (s.busy) n++;
    return n;
  }

  // stopAll makes every group stop issuing new operations from now on.
  stopAll(nowUs: number): void {
    for (const g of this.groups) g.options.stopUs = Math.min(g.options.stopUs, nowUs);
  }
}

// The clients' keys and values are ASCII, and TextEncoder is slow on short strings (a call into
// C++ each time), which showed as a tenth of the simulator's time under load. encodeAsciiCommand
// writes the same bytes as the KV codec's encodeCommand by hand; a self-check at load time (and a
// test) compares the two, and any difference — a format change in src/kv — falls back to
// encodeCommand.
function asciiBytes(text: string): Uint8Array {
  const b = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) b[i] = text.charCodeAt(i);
  return b;
}

function varintSize(n: number): number {
  let size = 1;
  for (let x = n; x >= 0x80; x = Math.floor(x / 0x80)) size++;
  return size;
}

function writeVarint(b: Uint8Array, pos: number, n: number): number {
  let x = n;
  while (x >= 0x80) {
    b[pos++] = (x % 0x80) | 0x80;
    x = Math.floor(x / 0x80);
  }
  b[pos++] = x;
  return pos;
}

const commandMagic = 0x4b;
const opPut = 1;
const opGet = 2;

export function encodeAsciiCommand(cmd: KvCommand): Uint8Array {
  if (cmd.op === 'delete') return encodeCommand(cmd);
  const key = cmd.key;
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) > 0x7f) return encodeCommand(cmd);
  const value = cmd.op === 'put' ? cmd.value : null;
  let size = 2 + varintSize(cmd.clientId) + varintSize(cmd.seq) + varintSize(key.length) + key.length;
  if (value !== null) size += varintSize(value.length) + value.length;
  const b = new Uint8Array(size);
  b[0] = commandMagic;
  b[1] = value !== null ? opPut : opGet;
  let pos = writeVarint(b, 2, cmd.clientId);
  pos = writeVarint(b, pos, cmd.seq);
  pos = writeVarint(b, pos, key.length);
  for (let i = 0; i < key.length; i++) b[pos++] = key.charCodeAt(i);
  if (value !== null) {
    pos = writeVarint(b, pos, value.length);
    b.set(value, pos);
  }
  return b;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const asciiEncodeOk = ((): boolean => {
  const probes: KvCommand[] = [
    { op: 'put', clientId: 300, seq: 70_000, key: 'k12', value: asciiBytes('300:70000'.padEnd(200, '.')) },
    { op: 'get', clientId: 1, seq: 1, key: 'k0' },
  ];
  return probes.every((c) => sameBytes(encodeAsciiCommand(c), encodeCommand(c)));
})();

// describeCommand decodes a KV command for traces ("put k3 c2:7", "get k1").
export function describeCommand(data: Uint8Array): string {
  try {
    const c = decodeCommand(data);
    return c.op === 'put' ? `put ${c.key} ${c.clientId}:${c.seq}` : `${c.op} ${c.key} ${c.clientId}:${c.seq}`;
  } catch {
    return `${data.length} bytes`;
  }
}

function validateClientOptions(o: ClientOptions): void {
  const bad = (field: string, why: string): never => {
    throw new RangeError(`clients.${field}: ${why}`);
  };
  if (!Number.isInteger(o.count) || o.count < 0 || o.count > sessionIndexMax) bad('count', `expected an integer in [0, ${sessionIndexMax}]`);
  if (!Number.isInteger(o.keys) || o.keys < 1) bad('keys', 'expected a positive integer');
  if (!(o.readRatio >= 0 && o.readRatio <= 1)) bad('readRatio', 'expected a number in [0, 1]');
  if (o.mode === 'open' && !(o.ratePerSec > 0)) bad('ratePerSec', 'expected a positive rate for an open loop');
  if (!(o.retryUs > 0)) bad('retryUs', 'expected a positive duration');
  if (!(o.refusedBackoffUs > 0)) bad('refusedBackoffUs', 'expected a positive duration');
  if (!(o.opTimeoutUs > 0)) bad('opTimeoutUs', 'expected a positive duration');
  if (!(o.thinkUs >= 0)) bad('thinkUs', 'expected a duration >= 0');
  if (!(o.sessionsMax >= 1 && o.sessionsMax <= sessionIndexMax)) bad('sessionsMax', `expected 1..${sessionIndexMax}`);
}
