// The directives of etcd's interaction transcripts (rafttest's interaction_env_handler*.go): each
// parses its arguments and calls into InteractionEnv. Bad arguments are test failures (thrown
// Errors); errors the core or the storage returns are printed into the transcript, as etcd does.

import type { CmdArg, TestData } from './datadriven.js';
import { parseGoBool, parseGoInt, parseGoUint, parseLine } from './datadriven.js';
import type { ConfChangeI, ConfChangeSingle, MessageType } from '../../src/core/types.js';
import {
  ConfChangeTransition,
  EMPTY_BYTES,
  emptySnapshot,
  parseMessageType,
} from '../../src/core/types.js';
import { ReadOnlyOption } from '../../src/core/read-only.js';
import { stateTypeName } from '../../src/core/ready.js';
import { confChangesFromString } from '../../src/core/confchange.js';
import { progressMapString } from '../../src/core/progress.js';
import { EnvError, InteractionEnv, isReportedError, raftConfigStub } from './interaction-env.js';
import type { Recipient } from './interaction-env.js';
import { parseLogLevel } from './interaction-logger.js';

// handle runs one directive and returns its transcript ("ok" when it printed nothing).
export function handle(env: InteractionEnv, d: TestData): string {
  env.output.reset();
  let err: Error | null = null;
  try {
    if (d.cmd === 'propose-conf-change') handleProposeConfChange(env, d);
    else handleMultiCommand(env, d);
  } catch (e) {
    if (!isReportedError(e)) throw e;
    err = e;
  }
  // NONE silences all output, the handlers' included (useful during chatty setup); errors still
  // show.
  if (err !== null) {
    if (env.output.quiet()) return err.message;
    env.output.writeString(err.message);
  }
  if (env.output.len() === 0) return 'ok';
  return env.output.toString();
}

function handleMultiCommand(env: InteractionEnv, d: TestData): void {
  handleSingle(env, d, d.cmd, d.cmdArgs);
  // Further commands may follow, one per input line.
  let commands = d.input;
  while (commands.length !== 0) {
    let command = commands;
    const next = commands.indexOf('\n');
    if (next === -1) {
      commands = '';
    } else {
      command = commands.slice(0, next);
      commands = commands.slice(next + 1);
    }
    const { cmd, cmdArgs } = parseLine(command);
    try {
      handleSingle(env, d, cmd, cmdArgs);
    } catch (e) {
      if (!isReportedError(e)) throw e;
      if (env.output.quiet()) throw e;
      env.output.writeString(e.message);
    }
  }
}

function handleSingle(env: InteractionEnv, d: TestData, cmd: string, args: CmdArg[]): void {
  const t = new ArgReader(d.pos, cmd, args);
  switch (cmd) {
    case '_breakpoint':
      return;
    case 'add-nodes':
      return handleAddNodes(env, t);
    case 'campaign':
      return env.campaign(t.firstAsNodeIdx());
    case 'compact':
      return handleCompact(env, t);
    case 'deliver-msgs':
      return handleDeliverMsgs(env, t);
    case 'process-ready':
      return forEachNode(env, t.nodeIdxs(), 'handling Ready', (idx) => env.processReady(idx));
    case 'process-append-thread':
      return forEachNode(env, t.nodeIdxs(), 'processing append thread', (idx) =>
        env.processAppendThread(idx),
      );
    case 'process-apply-thread':
      return forEachNode(env, t.nodeIdxs(), 'processing apply thread', (idx) =>
        env.processApplyThread(idx),
      );
    case 'log-level':
      return setLogLevel(env, t.arg(0).key);
    case 'raft-log':
      return env.raftLog(t.firstAsNodeIdx());
    case 'raft-state':
      return handleRaftState(env);
    case 'set-randomized-election-timeout':
      return handleSetRandomizedElectionTimeout(env, t);
    case 'stabilize':
      return handleStabilize(env, t);
    case 'status':
      return handleStatus(env, t);
    case 'tick-election': {
      const idx = t.firstAsNodeIdx();
      return tick(env, idx, env.node(idx).config.electionTick);
    }
    case 'tick-heartbeat': {
      const idx = t.firstAsNodeIdx();
      return tick(env, idx, env.node(idx).config.heartbeatTick);
    }
    case 'transfer-leadership':
      return handleTransferLeadership(env, t);
    case 'forget-leader':
      return env.node(t.firstAsNodeIdx()).rawNode.forgetLeader();
    case 'send-snapshot': {
      const idxs = t.nodeIdxs();
      if (idxs.length !== 2) t.fatal(`expected 2 node indexes, got ${idxs.length}`);
      return env.sendSnapshot(idxs[0]!, idxs[1]!);
    }
    case 'propose':
      return handlePropose(env, t);
    case 'report-unreachable': {
      const sl = t.nodeIdxs();
      if (sl.length !== 2) {
        throw new EnvError(
          'must specify exactly two node indexes: node on which to report, and reported node',
        );
      }
      return env.node(sl[0]!).rawNode.reportUnreachable(env.node(sl[1]!).config.id);
    }
    default:
      throw new EnvError('unknown command');
  }
}

// ArgReader gives the handlers datadriven's argument accessors, failing the test (as Go's t.Fatal)
// on malformed arguments.
class ArgReader {
  constructor(
    readonly pos: string,
    readonly cmd: string,
    readonly args: CmdArg[],
  ) {}

  fatal(msg: string): never {
    throw new Error(`${this.pos}: ${this.cmd}: ${msg}`);
  }

  arg(i: number): CmdArg {
    const a = this.args[i];
    if (a === undefined) this.fatal(`missing argument ${i + 1}`);
    return a;
  }

  private parse<T>(f: (s: string) => T, s: string): T {
    try {
      return f(s);
    } catch (e) {
      return this.fatal(e instanceof Error ? e.message : String(e));
    }
  }

  int(s: string): number {
    return this.parse(parseGoInt, s);
  }
  uint(s: string): number {
    return this.parse(parseGoUint, s);
  }
  bool(s: string): boolean {
    return this.parse(parseGoBool, s);
  }

  firstAsInt(): number {
    return this.int(this.arg(0).key);
  }

  firstAsNodeIdx(): number {
    return this.firstAsInt() - 1;
  }

  // nodeIdxs: the bare (value-less) arguments, as node indexes.
  nodeIdxs(): number[] {
    const out: number[] = [];
    for (const a of this.args) {
      if (a.vals.length !== 0) continue;
      out.push(this.int(a.key) - 1);
    }
    return out;
  }

  // scanUint is datadriven's ScanArgs for one uint64 argument that must be present.
  scanUint(key: string): number {
    const a = this.args.find((x) => x.key === key);
    if (a === undefined) this.fatal(`missing argument: ${key}`);
    if (a.vals.length !== 1) this.fatal(`${key}: expected 1 value, got ${a.vals.length}`);
    return this.uint(a.vals[0]!);
  }
}

function forEachNode(env: InteractionEnv, idxs: number[], what: string, f: (idx: number) => void): void {
  for (const idx of idxs) {
    if (idxs.length > 1) {
      env.output.writeString(`> ${idx + 1} ${what}\n`);
      env.withIndent(() => f(idx));
    } else {
      f(idx);
    }
  }
}

function handleAddNodes(env: InteractionEnv, t: ArgReader): void {
  const n = t.firstAsInt();
  const snap = emptySnapshot();
  const cs = snap.metadata.confState;
  const cfg = raftConfigStub();
  for (const arg of t.args.slice(1)) {
    for (const val of arg.vals) {
      switch (arg.key) {
        case 'voters':
          cs.voters.push(t.uint(val));
          break;
        case 'learners':
          cs.learners.push(t.uint(val));
          break;
        case 'inflight':
          cfg.maxInflightMsgs = t.int(val);
          break;
        case 'index':
          snap.metadata.index = t.uint(val);
          cfg.applied = snap.metadata.index;
          break;
        case 'content':
          snap.data = new TextEncoder().encode(val);
          break;
        case 'async-storage-writes':
          cfg.asyncStorageWrites = t.bool(val);
          break;
        case 'prevote':
          cfg.preVote = t.bool(val);
          break;
        case 'checkquorum':
          cfg.checkQuorum = t.bool(val);
          break;
        case 'max-committed-size-per-ready':
          cfg.maxCommittedSizePerReady = t.uint(val);
          break;
        case 'disable-conf-change-validation':
          cfg.disableConfChangeValidation = t.bool(val);
          break;
        case 'step-down-on-removal':
          cfg.stepDownOnRemoval = t.bool(val);
          break;
        case 'read-only':
          switch (val) {
            case 'safe':
              cfg.readOnlyOption = ReadOnlyOption.ReadOnlySafe;
              break;
            case 'lease-based':
              cfg.readOnlyOption = ReadOnlyOption.ReadOnlyLeaseBased;
              break;
            default:
              throw new EnvError(`invalid read-only option ${goQuoteString(val)}`);
          }
          break;
        // Other keys (e.g. crdb-version in CockroachDB's copies) are ignored, as in etcd.
      }
    }
  }
  env.addNodes(n, cfg, snap);
}

// goQuoteString is Go's %q for a string of printable ASCII (all an argument can hold here).
function goQuoteString(s: string): string {
  return JSON.stringify(s);
}

function handleCompact(env: InteractionEnv, t: ArgReader): void {
  const idx = t.firstAsNodeIdx();
  let newFirstIndex: number;
  try {
    newFirstIndex = parseGoUint(t.arg(1).key);
  } catch (e) {
    throw new EnvError(e instanceof Error ? e.message : String(e));
  }
  env.compact(idx, newFirstIndex);
}

function handleDeliverMsgs(env: InteractionEnv, t: ArgReader): void {
  let typ: MessageType | -1 = -1;
  const rs: Recipient[] = [];
  for (const arg of t.args) {
    if (arg.vals.length === 0) rs.push({ id: t.uint(arg.key), drop: false });
    for (const val of arg.vals) {
      switch (arg.key) {
        case 'drop': {
          const id = t.uint(val);
          if (rs.some((r) => r.id === id)) t.fatal(`can't both deliver and drop msgs to ${id}`);
          rs.push({ id, drop: true });
          break;
        }
        case 'type': {
          const mt = parseMessageType(val);
          if (mt === undefined) t.fatal(`unknown message type ${val}`);
          typ = mt;
          break;
        }
      }
    }
  }
  if (env.deliverMsgs(typ, rs) === 0) env.output.writeString('no messages\n');
}

function setLogLevel(env: InteractionEnv, name: string): void {
  const lvl = parseLogLevel(name);
  if (lvl === undefined) {
    throw new EnvError('log levels must be either of [DEBUG INFO WARN ERROR FATAL NONE]');
  }
  env.output.lvl = lvl;
}

function handleRaftState(env: InteractionEnv): void {
  for (const n of env.nodes) {
    const st = n.rawNode.status();
    const voterStatus = st.config.voters.ids().has(st.id) ? '(Voter)' : '(Non-Voter)';
    env.output.writeString(
      `${st.id}: ${stateTypeName(st.softState.raftState)} ${voterStatus} ` +
        `Term:${st.hardState.term} Lead:${st.softState.lead}\n`,
    );
  }
}

function handleSetRandomizedElectionTimeout(env: InteractionEnv, t: ArgReader): void {
  const idx = t.firstAsNodeIdx();
  const timeout = t.scanUint('timeout');
  if (timeout === 0) t.fatal('timeout must not be zero');
  const rn = env.node(idx).rawNode;
  if (env.options.setRandomizedElectionTimeout !== undefined) {
    env.options.setRandomizedElectionTimeout(rn, timeout);
  } else {
    rn.raft.randomizedElectionTimeout = timeout;
  }
}

function handleStabilize(env: InteractionEnv, t: ArgReader): void {
  const idxs = t.nodeIdxs();
  const old = env.output.lvl;
  try {
    for (const arg of t.args) {
      for (const val of arg.vals) {
        if (arg.key === 'log-level') setLogLevel(env, val);
      }
    }
    env.stabilize(idxs);
  } finally {
    env.output.lvl = old;
  }
}

function handleStatus(env: InteractionEnv, t: ArgReader): void {
  const st = env.node(t.firstAsNodeIdx()).rawNode.status();
  env.output.writeString(progressMapString(st.progress));
}

function tick(env: InteractionEnv, idx: number, num: number): void {
  const rn = env.node(idx).rawNode;
  for (let i = 0; i < num; i++) rn.tick();
}

function handleTransferLeadership(env: InteractionEnv, t: ArgReader): void {
  const from = t.scanUint('from');
  const to = t.scanUint('to');
  if (from === 0 || from > env.nodes.length) t.fatal('expected valid "from" argument');
  if (to === 0 || to > env.nodes.length) t.fatal('expected valid "to" argument');
  env.node(from - 1).rawNode.transferLeader(to);
}

function handlePropose(env: InteractionEnv, t: ArgReader): void {
  const idx = t.firstAsNodeIdx();
  if (t.args.length !== 2 || t.args[1]!.vals.length > 0) {
    t.fatal('expected exactly one key with no vals');
  }
  env.node(idx).rawNode.propose(new TextEncoder().encode(t.args[1]!.key));
}

function handleProposeConfChange(env: InteractionEnv, d: TestData): void {
  const t = new ArgReader(d.pos, d.cmd, d.cmdArgs);
  const idx = t.firstAsNodeIdx();
  let v1 = false;
  let transition = ConfChangeTransition.Auto;
  for (const arg of d.cmdArgs.slice(1)) {
    for (const val of arg.vals) {
      switch (arg.key) {
        case 'v1':
          try {
            v1 = parseGoBool(val);
          } catch (e) {
            throw new EnvError(e instanceof Error ? e.message : String(e));
          }
          break;
        case 'transition':
          switch (val) {
            case 'auto':
              transition = ConfChangeTransition.Auto;
              break;
            case 'implicit':
              transition = ConfChangeTransition.JointImplicit;
              break;
            case 'explicit':
              transition = ConfChangeTransition.JointExplicit;
              break;
            default:
              throw new EnvError(`unknown transition ${val}`);
          }
          break;
        default:
          throw new EnvError(`unknown command ${arg.key}`);
      }
    }
  }
  let ccs: ConfChangeSingle[];
  try {
    ccs = confChangesFromString(d.input);
  } catch (e) {
    if (isReportedError(e)) throw e;
    throw new EnvError(e instanceof Error ? e.message : String(e));
  }
  let c: ConfChangeI;
  if (v1) {
    if (ccs.length > 1 || transition !== ConfChangeTransition.Auto) {
      throw new EnvError('v1 conf change can only have one operation and no transition');
    }
    c = { id: 0, type: ccs[0]!.type, nodeId: ccs[0]!.nodeId, context: EMPTY_BYTES };
  } else {
    c = { transition, changes: ccs, context: EMPTY_BYTES };
  }
  env.proposeConfChange(idx, c);
}
