// A port of etcd-io/raft's rafttest.InteractionEnv: a raft group of RawNodes driven step by step
// by the datadriven interaction transcripts (../shared/etcd-raft-testdata/testdata). The env owns
// the network (a list of in-flight messages), each node's storage and, with asynchronous storage
// writes, each node's append and apply "threads" (queues of local messages worked off on demand).
//
// The operations live here; the parsing of directives into calls lives in
// interaction-env-handlers.ts, as etcd splits them between Env methods and handleX functions.

import type { Config } from '../../src/core/raft.js';
import { RawNode } from '../../src/core/raw-node.js';
import { MemoryStorage } from '../../src/core/storage.js';
import type { InitialState, Storage } from '../../src/core/storage.js';
import type {
  ConfChangeI,
  ConfState,
  Entry,
  HardState,
  Message,
  Snapshot,
} from '../../src/core/types.js';
import {
  EntryType,
  MessageType,
  emptySnapshot,
  isEmptyHardState,
  isEmptySnap,
  messageTypeName,
  newMessage,
} from '../../src/core/types.js';
import { isLocalMsgTarget } from '../../src/core/ready.js';
import { RaftError } from '../../src/core/errors.js';
import { decodeConfChange, decodeConfChangeV2 } from '../../src/core/confchange.js';
import {
  defaultEntryFormatter,
  describeEntries,
  describeMessage,
  describeReady,
} from '../../src/core/describe.js';
import { RedirectLogger } from './interaction-logger.js';

// EnvError is an error the env reports into the transcript (Go: a returned error), as opposed to a
// test failure (Go: t.Fatal, a panic), which propagates and fails the test.
export class EnvError extends Error {
  override name = 'EnvError';
}

// isReportedError tells whether err is one etcd's handlers would return and print (raft's sentinel
// errors and the env's own), rather than a crash.
export function isReportedError(err: unknown): err is Error {
  return err instanceof RaftError || err instanceof EnvError;
}

// SnapOverrideStorage is a MemoryStorage whose Snapshot() is the node's latest applied state (the
// last entry of its History), as rafttest's snapOverrideStorage: MemoryStorage alone would hand
// out whatever snapshot it was last given.
export class SnapOverrideStorage implements Storage {
  constructor(
    readonly mem: MemoryStorage,
    private readonly snapshotOverride: () => Snapshot,
  ) {}
  initialState(): InitialState {
    return this.mem.initialState();
  }
  entries(lo: number, hi: number, maxSizeBytes: number): Entry[] {
    return this.mem.entries(lo, hi, maxSizeBytes);
  }
  term(i: number): number {
    return this.mem.term(i);
  }
  lastIndex(): number {
    return this.mem.lastIndex();
  }
  firstIndex(): number {
    return this.mem.firstIndex();
  }
  snapshot(): Snapshot {
    return this.snapshotOverride();
  }
  setHardState(hs: HardState): void {
    this.mem.setHardState(hs);
  }
  applySnapshot(snap: Snapshot): void {
    this.mem.applySnapshot(snap);
  }
  compact(newFirstIndex: number): void {
    this.mem.compact(newFirstIndex);
  }
  append(ents: Entry[]): void {
    this.mem.append(ents);
  }
}

// Node is a member of the group.
export interface Node {
  rawNode: RawNode;
  storage: SnapOverrideStorage;
  config: Config;
  appendWork: Message[]; // MsgStorageAppend, oldest first
  applyWork: Message[]; // MsgStorageApply, oldest first
  // The states of the node's "appender" state machine, one per applied entry; the last one is what
  // a snapshot request returns.
  history: Snapshot[];
}

// Fields of a Config the add-nodes directive may set; id, storage and logger are the env's.
export type ConfigTemplate = Omit<Config, 'id' | 'storage' | 'logger'>;

// raftConfigStub: etcd's testing defaults, without limits.
export function raftConfigStub(): ConfigTemplate {
  return {
    electionTick: 3,
    heartbeatTick: 1,
    maxSizePerMsg: Number.MAX_SAFE_INTEGER, // math.MaxUint64
    maxInflightMsgs: 2 ** 31 - 1, // math.MaxInt32
  };
}

export interface Recipient {
  id: number;
  drop: boolean;
}

function cloneSnapshot(s: Snapshot): Snapshot {
  const cs = s.metadata.confState;
  return {
    data: s.data.slice(),
    metadata: {
      index: s.metadata.index,
      term: s.metadata.term,
      confState: {
        voters: cs.voters.slice(),
        learners: cs.learners.slice(),
        votersOutgoing: cs.votersOutgoing.slice(),
        learnersNext: cs.learnersNext.slice(),
        autoLeave: cs.autoLeave,
      },
    },
  };
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

// Messages that must never be dropped: a node's messages to itself and to/from its local threads.
function isLocalMsg(m: Message): boolean {
  return m.from === m.to || isLocalMsgTarget(m.from) || isLocalMsgTarget(m.to);
}

// splitMsgs takes out the messages for `to` (of type typ, or all for -1), keeping the order of both
// parts.
export function splitMsgs(
  msgs: readonly Message[],
  to: number,
  typ: MessageType | -1,
  drop: boolean,
): [Message[], Message[]] {
  const toMsgs: Message[] = [];
  const rest: Message[] = [];
  for (const m of msgs) {
    if (m.to === to && !(drop && isLocalMsg(m)) && (typ === -1 || m.type === typ)) toMsgs.push(m);
    else rest.push(m);
  }
  return [toMsgs, rest];
}

export interface InteractionOpts {
  setRandomizedElectionTimeout?: (node: RawNode, timeout: number) => void;
}

export class InteractionEnv {
  readonly nodes: Node[] = [];
  messages: Message[] = []; // in flight
  readonly output = new RedirectLogger();

  constructor(readonly options: InteractionOpts = {}) {}

  // withIndent runs f with a fresh buffer and appends its output, each line indented by two spaces
  // (line by line, as Go's bufio.Scanner splits it).
  withIndent(f: () => void): void {
    const orig = this.output.buf;
    this.output.buf = [];
    try {
      f();
    } finally {
      const s = this.output.toString();
      this.output.buf = orig;
      const lines = s.split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      for (const line of lines) orig.push('  ' + (line.endsWith('\r') ? line.slice(0, -1) : line) + '\n');
    }
  }

  node(idx: number): Node {
    const n = this.nodes[idx];
    if (n === undefined) throw new Error(`no node with index ${idx} (have ${this.nodes.length})`);
    return n;
  }

  // addNodes adds n nodes, with consecutive ids, from the given snapshot (empty: no bootstrap).
  addNodes(n: number, cfgTemplate: ConfigTemplate, snap: Snapshot): void {
    const bootstrap = !snapshotIsZero(snap);
    for (let i = 0; i < n; i++) {
      const id = 1 + this.nodes.length;
      const storage = new SnapOverrideStorage(new MemoryStorage(), () => {
        const snaps = this.node(id - 1).history;
        return snaps[snaps.length - 1]!;
      });
      if (bootstrap) {
        // MemoryStorage needs index > 1 to bootstrap from a snapshot (as in etcd).
        if (snap.metadata.index <= 1) throw new EnvError('index must be specified as > 1 due to bootstrap');
        snap.metadata.term = 1;
        storage.applySnapshot(snap);
        const fi = storage.firstIndex();
        const exp = snap.metadata.index + 1;
        if (fi !== exp) throw new EnvError(`failed to establish first index ${exp}; got ${fi}`);
      }
      const config: Config = { ...cfgTemplate, id, storage, logger: this.output };
      const rawNode = new RawNode(config);
      this.nodes.push({ rawNode, storage, config, appendWork: [], applyWork: [], history: [snap] });
    }
  }

  campaign(idx: number): void {
    if (idx < 0 || idx >= this.nodes.length) {
      throw new EnvError(`node index ${idx} out of range [0, ${this.nodes.length})`);
    }
    this.node(idx).rawNode.campaign();
  }

  compact(idx: number, newFirstIndex: number): void {
    this.node(idx).storage.compact(newFirstIndex);
    this.raftLog(idx);
  }

  raftLog(idx: number): void {
    const s = this.node(idx).storage;
    const fi = s.firstIndex();
    const li = s.lastIndex();
    if (li < fi) {
      this.output.writeString(`log is empty: first index=${fi}, last index=${li}`);
      return;
    }
    const ents = s.entries(fi, li + 1, Number.MAX_SAFE_INTEGER);
    this.output.writeString(describeEntries(ents, defaultEntryFormatter));
  }

  // deliverMsgs delivers (or drops) the in-flight messages for each recipient and returns how many
  // it handled.
  deliverMsgs(typ: MessageType | -1, rs: readonly Recipient[]): number {
    let n = 0;
    for (const r of rs) {
      const [msgs, rest] = splitMsgs(this.messages, r.id, typ, r.drop);
      this.messages = rest;
      n += msgs.length;
      for (const m of msgs) {
        if (r.drop) this.output.writeString('dropped: ');
        this.output.writeString(describeMessage(m, defaultEntryFormatter) + '\n');
        // Messages to nodes that do not exist (yet) may be dropped: msg.to is unused then.
        if (r.drop) continue;
        try {
          this.node(m.to - 1).rawNode.step(m);
        } catch (err) {
          if (!isReportedError(err)) throw err;
          this.output.writeString(err.message + '\n');
        }
      }
    }
    return n;
  }

  processReady(idx: number): void {
    const n = this.node(idx);
    const rd = n.rawNode.ready();
    this.output.writeString(describeReady(rd, defaultEntryFormatter));
    const async = n.config.asyncStorageWrites === true;
    if (!async) {
      processAppend(n, rd.hardState, rd.entries, rd.snapshot);
      processApply(n, rd.committedEntries);
    }
    for (const m of rd.messages) {
      if (isLocalMsgTarget(m.to)) {
        if (!async) throw new Error('unexpected local msg target');
        switch (m.type) {
          case MessageType.MsgStorageAppend:
            n.appendWork.push(m);
            break;
          case MessageType.MsgStorageApply:
            n.applyWork.push(m);
            break;
          default:
            throw new Error(`unexpected message type ${messageTypeName(m.type)}`);
        }
      } else {
        this.messages.push(m);
      }
    }
    if (!async) n.rawNode.advance(rd);
  }

  // processAppendThread works off one message of the node's append thread: persist, then release
  // the responses the core attached to it.
  processAppendThread(idx: number): void {
    const n = this.node(idx);
    const m = n.appendWork.shift();
    if (m === undefined) {
      this.output.writeString('no append work to perform');
      return;
    }
    const resps = m.responses;
    m.responses = [];
    this.output.writeString('Processing:\n');
    this.output.writeString(describeMessage(m, defaultEntryFormatter) + '\n');
    const st: HardState = { term: m.term, vote: m.vote, commit: m.commit };
    const snap = m.snapshot !== null ? cloneSnapshot(m.snapshot) : emptySnapshot();
    processAppend(n, st, m.entries, snap);
    this.output.writeString('Responses:\n');
    for (const r of resps) this.output.writeString(describeMessage(r, defaultEntryFormatter) + '\n');
    this.messages.push(...resps);
  }

  processApplyThread(idx: number): void {
    const n = this.node(idx);
    const m = n.applyWork.shift();
    if (m === undefined) {
      this.output.writeString('no apply work to perform');
      return;
    }
    const resps = m.responses;
    m.responses = [];
    this.output.writeString('Processing:\n');
    this.output.writeString(describeMessage(m, defaultEntryFormatter) + '\n');
    processApply(n, m.entries);
    this.output.writeString('Responses:\n');
    for (const r of resps) this.output.writeString(describeMessage(r, defaultEntryFormatter) + '\n');
    this.messages.push(...resps);
  }

  // stabilize handles Readies, delivers messages and works off the storage threads of the given
  // nodes (all when empty) until none has anything left to do.
  stabilize(idxs: readonly number[]): void {
    const nodes = idxs.length > 0 ? idxs.map((i) => this.node(i)) : this.nodes.slice();
    // A bound on rounds turns a livelock in the core into a failure instead of a hung test.
    for (let round = 0; round < 100_000; round++) {
      let done = true;
      for (const n of nodes) {
        if (n.rawNode.hasReady()) {
          const idx = n.config.id - 1;
          this.output.writeString(`> ${idx + 1} handling Ready\n`);
          this.withIndent(() => this.processReady(idx));
          done = false;
        }
      }
      for (const n of nodes) {
        const id = n.config.id;
        const [msgs] = splitMsgs(this.messages, id, -1, false);
        if (msgs.length > 0) {
          this.output.writeString(`> ${id} receiving messages\n`);
          this.withIndent(() => this.deliverMsgs(-1, [{ id, drop: false }]));
          done = false;
        }
      }
      for (const n of nodes) {
        const idx = n.config.id - 1;
        if (n.appendWork.length > 0) {
          this.output.writeString(`> ${idx + 1} processing append thread\n`);
          while (n.appendWork.length > 0) this.withIndent(() => this.processAppendThread(idx));
          done = false;
        }
      }
      for (const n of nodes) {
        const idx = n.config.id - 1;
        if (n.applyWork.length > 0) {
          this.output.writeString(`> ${idx + 1} processing apply thread\n`);
          while (n.applyWork.length > 0) this.withIndent(() => this.processApplyThread(idx));
          done = false;
        }
      }
      if (done) return;
    }
    throw new Error('stabilize: no fixed point after 100000 rounds');
  }

  // sendSnapshot queues a MsgSnap carrying the sender's latest state (it is not delivered).
  sendSnapshot(fromIdx: number, toIdx: number): void {
    const from = this.node(fromIdx);
    const snap = from.storage.snapshot();
    const m = newMessage({
      type: MessageType.MsgSnap,
      term: from.rawNode.basicStatus().hardState.term,
      from: fromIdx + 1,
      to: toIdx + 1,
      snapshot: snap,
    });
    this.messages.push(m);
    this.output.writeString(describeMessage(m));
  }

  proposeConfChange(idx: number, cc: ConfChangeI): void {
    this.node(idx).rawNode.proposeConfChange(cc);
  }
}

// snapshotIsZero mirrors proto.Equal(snap, EnsureSnapshot(nil)): no field set at all.
function snapshotIsZero(s: Snapshot): boolean {
  const m = s.metadata;
  const cs = m.confState;
  return (
    s.data.length === 0 &&
    m.index === 0 &&
    m.term === 0 &&
    cs.voters.length === 0 &&
    cs.learners.length === 0 &&
    cs.votersOutgoing.length === 0 &&
    cs.learnersNext.length === 0 &&
    !cs.autoLeave
  );
}

function processAppend(n: Node, st: HardState, ents: Entry[], snap: Snapshot | null): void {
  const s = n.storage;
  if (!isEmptyHardState(st)) s.setHardState(st);
  if (!isEmptySnap(snap)) {
    if (ents.length > 0) throw new EnvError("can't apply snapshot and entries at the same time");
    s.applySnapshot(snap!);
    return;
  }
  s.append(ents);
}

// processApply applies committed entries to the node's "appender" state machine (the state is the
// concatenation of all entry payloads) and records each resulting state in its History.
function processApply(n: Node, ents: readonly Entry[]): void {
  for (const ent of ents) {
    let update: Uint8Array;
    let cs: ConfState | null = null;
    switch (ent.type) {
      case EntryType.EntryConfChange: {
        const cc = decodeConfChange(ent.data);
        update = cc.context;
        cs = n.rawNode.applyConfChange(cc);
        break;
      }
      case EntryType.EntryConfChangeV2: {
        const cc = decodeConfChangeV2(ent.data);
        cs = n.rawNode.applyConfChange(cc);
        update = cc.context;
        break;
      }
      default:
        update = ent.data;
    }
    const last = n.history[n.history.length - 1]!;
    n.history.push({
      data: concatBytes(last.data, update),
      metadata: {
        index: ent.index,
        term: ent.term,
        confState: cs ?? last.metadata.confState,
      },
    });
  }
}
