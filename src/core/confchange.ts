// Configuration changes (etcd-io/raft confchange/ and the helpers of raftpb/confchange.go and
// raftpb/confstate.go): validate and apply simple and joint changes to a copy of the tracker's
// configuration, rebuild a configuration from a ConfState, and the entry encoding of changes.

import {
  type ConfChange,
  type ConfChangeSingle,
  ConfChangeTransition,
  ConfChangeType,
  type ConfChangeV2,
  type ConfState,
  EMPTY_BYTES,
  EntryType,
} from './types.js';
import { MajorityConfig } from './quorum.js';
import { Inflights } from './inflights.js';
import { Progress, type ProgressMap } from './progress.js';
import { ProgressTracker, TrackerConfig } from './tracker.js';

// An invalid configuration change; the message is etcd's, word for word.
export class ConfChangeError extends Error {
  override name = 'ConfChangeError';
}

// The new configuration and progress map, as Go's (Config, ProgressMap) results.
export type ChangeResult = [config: TrackerConfig, progress: ProgressMap];

export function confChangeTypeName(t: ConfChangeType): string {
  switch (t) {
    case ConfChangeType.ConfChangeAddNode: return 'ConfChangeAddNode';
    case ConfChangeType.ConfChangeRemoveNode: return 'ConfChangeRemoveNode';
    case ConfChangeType.ConfChangeUpdateNode: return 'ConfChangeUpdateNode';
    case ConfChangeType.ConfChangeAddLearnerNode: return 'ConfChangeAddLearnerNode';
    default: return String(t as number);
  }
}

function sortedIds(s: Iterable<number>): number[] {
  return Array.from(s).sort((a, b) => a - b);
}

function isJoint(cfg: TrackerConfig): boolean {
  return cfg.voters.outgoing.size > 0;
}

// symdiff counts the ids in exactly one of l and r.
function symdiff(l: MajorityConfig, r: MajorityConfig): number {
  let n = 0;
  for (const id of l.ids()) if (!r.has(id)) n++;
  for (const id of r.ids()) if (!l.has(id)) n++;
  return n;
}

// checkInvariants verifies that a config and a progress map fit together; it checks what the
// Changer starts from as well as what it returns. The empty config is allowed on purpose: it is
// where bootstrap (and tests) start from. Go's "must be nil" checks have no counterpart here since
// an empty set is the only representation of nil.
function checkInvariants(cfg: TrackerConfig, trk: ProgressMap): void {
  for (const ids of [cfg.voters.ids(), cfg.learners, cfg.learnersNext]) {
    for (const id of sortedIds(ids)) {
      if (!trk.has(id)) throw new ConfChangeError(`no progress for ${id}`);
    }
  }
  // A staged learner was staged because it is still a voter in the outgoing config.
  for (const id of sortedIds(cfg.learnersNext)) {
    if (!cfg.voters.outgoing.has(id)) throw new ConfChangeError(`${id} is in LearnersNext, but not Voters[1]`);
    if (trk.get(id)!.isLearner) {
      throw new ConfChangeError(`${id} is in LearnersNext, but is already marked as learner`);
    }
  }
  // Learners and voters never intersect.
  for (const id of sortedIds(cfg.learners)) {
    if (cfg.voters.outgoing.has(id)) throw new ConfChangeError(`${id} is in Learners and Voters[1]`);
    if (cfg.voters.incoming.has(id)) throw new ConfChangeError(`${id} is in Learners and Voters[0]`);
    if (!trk.get(id)!.isLearner) throw new ConfChangeError(`${id} is in Learners, but is not marked as learner`);
  }
  if (!isJoint(cfg)) {
    if (cfg.learnersNext.size > 0) throw new ConfChangeError('cfg.LearnersNext must be nil when not joint');
    if (cfg.autoLeave) throw new ConfChangeError('AutoLeave must be false when not joint');
  }
}

// Changer validates configuration changes and computes their result on copies, so that a refused
// change never touches the active configuration.
export class Changer {
  constructor(
    public tracker: ProgressTracker,
    public lastIndex: number,
  ) {}

  // enterJoint copies the incoming voters into the (empty) outgoing half, (1 2 3)&&() becoming
  // (1 2 3)&&(1 2 3), then applies ccs to the incoming half: C_{new,old} of the Raft thesis §4.3.
  enterJoint(autoLeave: boolean, ccs: readonly ConfChangeSingle[]): ChangeResult {
    const [cfg, trk] = this.checkAndCopy();
    if (isJoint(cfg)) throw new ConfChangeError('config is already joint');
    // Adding to an empty config is allowed (bootstrap), but it cannot be made joint.
    if (cfg.voters.incoming.size === 0) throw new ConfChangeError("can't make a zero-voter config joint");
    cfg.voters.outgoing = cfg.voters.incoming.clone();
    this.apply(cfg, trk, ccs);
    cfg.autoLeave = autoLeave;
    checkInvariants(cfg, trk);
    return [cfg, trk];
  }

  // leaveJoint drops the outgoing half (C_{new,old} -> C_new), turns staged learners into learners,
  // and forgets the nodes that are now neither voters nor learners.
  leaveJoint(): ChangeResult {
    const [cfg, trk] = this.checkAndCopy();
    if (!isJoint(cfg)) throw new ConfChangeError("can't leave a non-joint config");
    for (const id of cfg.learnersNext) {
      cfg.learners.add(id);
      trk.get(id)!.isLearner = true;
    }
    cfg.learnersNext = new Set();
    for (const id of cfg.voters.outgoing.ids()) {
      if (!cfg.voters.incoming.has(id) && !cfg.learners.has(id)) trk.delete(id);
    }
    cfg.voters.outgoing = new MajorityConfig();
    cfg.autoLeave = false;
    checkInvariants(cfg, trk);
    return [cfg, trk];
  }

  // simple applies changes that together change the incoming voters by at most one, which is safe
  // without joint consensus since any two majorities of the old and new sets still intersect.
  simple(ccs: readonly ConfChangeSingle[]): ChangeResult {
    const [cfg, trk] = this.checkAndCopy();
    if (isJoint(cfg)) throw new ConfChangeError("can't apply simple config change in joint config");
    this.apply(cfg, trk, ccs);
    if (symdiff(this.tracker.config.voters.incoming, cfg.voters.incoming) > 1) {
      throw new ConfChangeError('more than one voter changed without entering joint config');
    }
    checkInvariants(cfg, trk);
    return [cfg, trk];
  }

  // apply makes every voter change to the incoming half; the outgoing half, when present, only
  // preserves the old configuration.
  private apply(cfg: TrackerConfig, trk: ProgressMap, ccs: readonly ConfChangeSingle[]): void {
    for (const cc of ccs) {
      // etcd zeroes the node id of a change it decides not to apply; such changes are no-ops.
      if (cc.nodeId === 0) continue;
      switch (cc.type) {
        case ConfChangeType.ConfChangeAddNode:
          this.makeVoter(cfg, trk, cc.nodeId);
          break;
        case ConfChangeType.ConfChangeAddLearnerNode:
          this.makeLearner(cfg, trk, cc.nodeId);
          break;
        case ConfChangeType.ConfChangeRemoveNode:
          this.remove(cfg, trk, cc.nodeId);
          break;
        case ConfChangeType.ConfChangeUpdateNode:
          break;
        default:
          throw new ConfChangeError(`unexpected conf type ${cc.type as number}`);
      }
    }
    if (cfg.voters.incoming.size === 0) throw new ConfChangeError('removed all voters');
  }

  private makeVoter(cfg: TrackerConfig, trk: ProgressMap, id: number): void {
    const pr = trk.get(id);
    if (pr === undefined) {
      this.initProgress(cfg, trk, id, false);
      return;
    }
    pr.isLearner = false;
    cfg.learners.delete(id);
    cfg.learnersNext.delete(id);
    cfg.voters.incoming.add(id);
  }

  // makeLearner adds a learner or demotes a voter of the incoming half. A node that is still a
  // voter in the outgoing half cannot also be a learner, so it is staged in learnersNext and
  // becomes a learner in leaveJoint.
  private makeLearner(cfg: TrackerConfig, trk: ProgressMap, id: number): void {
    const pr = trk.get(id);
    if (pr === undefined) {
      this.initProgress(cfg, trk, id, true);
      return;
    }
    if (pr.isLearner) return;
    // Remove the voter from the incoming half but keep its Progress.
    this.remove(cfg, trk, id);
    trk.set(id, pr);
    if (cfg.voters.outgoing.has(id)) {
      cfg.learnersNext.add(id);
    } else {
      pr.isLearner = true;
      cfg.learners.add(id);
    }
  }

  // remove drops a voter or learner from the incoming config; its Progress stays while it is
  // still a voter in the outgoing half.
  private remove(cfg: TrackerConfig, trk: ProgressMap, id: number): void {
    if (!trk.has(id)) return;
    cfg.voters.incoming.delete(id);
    cfg.learners.delete(id);
    cfg.learnersNext.delete(id);
    if (!cfg.voters.outgoing.has(id)) trk.delete(id);
  }

  private initProgress(cfg: TrackerConfig, trk: ProgressMap, id: number, isLearner: boolean): void {
    if (!isLearner) cfg.voters.incoming.add(id);
    else cfg.learners.add(id);
    trk.set(id, new Progress({
      // Probing from the last index is optimistic (the new node likely has nothing and will need
      // a snapshot), but it is what etcd does, and next must exceed match.
      match: 0,
      next: Math.max(this.lastIndex, 1),
      inflights: new Inflights(this.tracker.maxInflight, this.tracker.maxInflightBytes),
      isLearner,
      // A new node counts as active, or CheckQuorum could depose the leader before the node had
      // any chance to respond.
      recentActive: true,
    }));
  }

  // checkAndCopy copies the config deeply and the progress map shallowly (the changer only ever
  // changes isLearner, on the copies), after checking the invariants of the input.
  private checkAndCopy(): ChangeResult {
    const cfg = this.tracker.config.clone();
    const trk: ProgressMap = new Map();
    for (const [id, pr] of this.tracker.progress) trk.set(id, pr.shallowCopy());
    checkInvariants(cfg, trk);
    return [cfg, trk];
  }
}

// describeConfChanges prints changes as "ConfChangeAddNode(1) ConfChangeRemoveNode(2)".
export function describeConfChanges(ccs: readonly ConfChangeSingle[]): string {
  return ccs.map((cc) => `${confChangeTypeName(cc.type)}(${cc.nodeId})`).join(' ');
}

// toConfChangeSingle turns a ConfState into the changes that rebuild it from an empty config:
// `outgoing` creates the config that becomes the outgoing half, and `incoming`, applied while
// entering the joint state, turns it into the incoming half. For voters=(1 2 3) learners=(5)
// outgoing=(1 2 4 6) learners_next=(4): outgoing = v1 v2 v4 v6, incoming = r1 r2 r4 r6 v1 v2 v3
// l5 l4, which yields (1 2 3)&&(1 2 4 6) learners=(5) learners_next=(4).
function toConfChangeSingle(cs: ConfState): { outgoing: ConfChangeSingle[]; incoming: ConfChangeSingle[] } {
  const outgoing: ConfChangeSingle[] = [];
  const incoming: ConfChangeSingle[] = [];
  for (const id of cs.votersOutgoing) outgoing.push({ type: ConfChangeType.ConfChangeAddNode, nodeId: id });
  for (const id of cs.votersOutgoing) incoming.push({ type: ConfChangeType.ConfChangeRemoveNode, nodeId: id });
  for (const id of cs.voters) incoming.push({ type: ConfChangeType.ConfChangeAddNode, nodeId: id });
  for (const id of cs.learners) incoming.push({ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: id });
  // Nodes to become learners that are still voters in the outgoing half.
  for (const id of cs.learnersNext) incoming.push({ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: id });
  return { outgoing, incoming };
}

// restore enacts the configuration of cs, starting from chg's (empty) configuration. chg's tracker
// is left unchanged.
export function restore(chg: Changer, cs: ConfState): ChangeResult {
  const { outgoing, incoming } = toConfChangeSingle(cs);
  const trk = new ProgressTracker(chg.tracker.maxInflight, chg.tracker.maxInflightBytes);
  trk.config = chg.tracker.config;
  trk.progress = chg.tracker.progress;
  const local = new Changer(trk, chg.lastIndex);
  const step = ([config, progress]: ChangeResult): void => {
    trk.config = config;
    trk.progress = progress;
  };
  if (outgoing.length === 0) {
    for (const cc of incoming) step(local.simple([cc]));
  } else {
    // Build the outgoing config as a simple one, then enter the joint state, which rotates it into
    // the outgoing half while the incoming changes build the new one.
    for (const cc of outgoing) step(local.simple([cc]));
    step(local.enterJoint(cs.autoLeave, incoming));
  }
  return [trk.config, trk.progress];
}

// restoreConfState is restore under the name raft.ts uses.
export const restoreConfState = restore;

// ---- raftpb helpers ----

export type ConfChangeI = ConfChange | ConfChangeV2;

export function isConfChangeV2(c: ConfChangeI): c is ConfChangeV2 {
  return 'changes' in c;
}

// asV2 returns a V2 change carrying out the same operation (the identity for a V2 change).
export function asV2(c: ConfChangeI): ConfChangeV2 {
  if (isConfChangeV2(c)) return c;
  return {
    transition: ConfChangeTransition.Auto,
    changes: [{ type: c.type, nodeId: c.nodeId }],
    context: c.context,
  };
}

export function asV1(c: ConfChangeI): ConfChange | null {
  return isConfChangeV2(c) ? null : c;
}

// confChangeV2EnterJoint: ok is whether the change uses joint consensus, which it does when it has
// more than one change or asks for a joint transition explicitly; autoLeave is whether the joint
// state is then left automatically. Some multi-change proposals could in principle be simple, but
// that depends on the config they apply to, so joint consensus is used liberally.
export function confChangeV2EnterJoint(c: ConfChangeV2): { autoLeave: boolean; ok: boolean } {
  if (c.transition !== ConfChangeTransition.Auto || c.changes.length > 1) {
    switch (c.transition) {
      case ConfChangeTransition.Auto:
      case ConfChangeTransition.JointImplicit:
        return { autoLeave: true, ok: true };
      case ConfChangeTransition.JointExplicit:
        return { autoLeave: false, ok: true };
      default:
        throw new Error(`unknown transition: ${String(c.transition as number)}`);
    }
  }
  return { autoLeave: false, ok: false };
}

// confChangeV2LeaveJoint: the change is the empty one (context aside), which leaves a joint config.
export function confChangeV2LeaveJoint(c: ConfChangeV2): boolean {
  return c.transition === ConfChangeTransition.Auto && c.changes.length === 0;
}

// confChangesFromString parses space-separated operations: vN makes N a voter, lN a learner, rN
// removes N, uN updates N.
export function confChangesFromString(s: string): ConfChangeSingle[] {
  const trimmed = s.trim();
  if (trimmed === '') return [];
  const ccs: ConfChangeSingle[] = [];
  for (const tok of trimmed.split(' ')) {
    if (tok.length < 2) throw new Error(`unknown token ${tok}`);
    let type: ConfChangeType;
    switch (tok[0]) {
      case 'v': type = ConfChangeType.ConfChangeAddNode; break;
      case 'l': type = ConfChangeType.ConfChangeAddLearnerNode; break;
      case 'r': type = ConfChangeType.ConfChangeRemoveNode; break;
      case 'u': type = ConfChangeType.ConfChangeUpdateNode; break;
      default: throw new Error(`unknown input: ${tok}`);
    }
    const num = tok.slice(1);
    if (!/^[0-9]+$/.test(num)) throw new Error(`strconv.ParseUint: parsing ${JSON.stringify(num)}: invalid syntax`);
    const nodeId = Number(num);
    if (!Number.isSafeInteger(nodeId)) {
      throw new Error(`strconv.ParseUint: parsing ${JSON.stringify(num)}: value out of range`);
    }
    ccs.push({ type, nodeId });
  }
  return ccs;
}

export function confChangesToString(ccs: readonly ConfChangeSingle[]): string {
  let buf = '';
  for (let i = 0; i < ccs.length; i++) {
    const cc = ccs[i]!;
    if (i > 0) buf += ' ';
    switch (cc.type) {
      case ConfChangeType.ConfChangeAddNode: buf += 'v'; break;
      case ConfChangeType.ConfChangeAddLearnerNode: buf += 'l'; break;
      case ConfChangeType.ConfChangeRemoveNode: buf += 'r'; break;
      case ConfChangeType.ConfChangeUpdateNode: buf += 'u'; break;
      default: buf += 'unknown';
    }
    buf += String(cc.nodeId);
  }
  return buf;
}

// ---- entry encoding ----
//
// Our own compact format (not protobuf): a tag byte, then unsigned LEB128 varints.
//   v1: 0xC1 id type nodeId len(context) context
//   v2: 0xC2 transition count (type nodeId)*count len(context) context
// The zero change of either version encodes to no bytes at all, as in protobuf, so that the empty
// ConfChangeV2 a leader proposes to leave a joint config has a zero payload and is never refused
// by the uncommitted-size limit; decoding no bytes gives the zero change back.

const TAG_V1 = 0xc1;
const TAG_V2 = 0xc2;
// 8 varint bytes carry 56 bits, more than the 53 a number holds exactly.
const VARINT_BYTES_MAX = 8;

class ByteWriter {
  private buf = new Uint8Array(32);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  uvarint(x: number, field: string): void {
    if (!Number.isSafeInteger(x) || x < 0) throw new Error(`conf change encode: ${field} ${x} is not a safe unsigned integer`);
    this.ensure(VARINT_BYTES_MAX);
    while (x >= 0x80) {
      this.buf[this.len++] = (x % 0x80) | 0x80;
      x = Math.floor(x / 0x80);
    }
    this.buf[this.len++] = x;
  }

  bytes(b: Uint8Array): void {
    this.uvarint(b.length, 'context length');
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

class ByteReader {
  private pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly what: string,
  ) {}

  private fail(msg: string): never {
    throw new Error(`${this.what}: ${msg} at byte ${this.pos} of ${this.buf.length}`);
  }

  byte(): number {
    if (this.pos >= this.buf.length) this.fail('unexpected end of data');
    return this.buf[this.pos++]!;
  }

  uvarint(field: string): number {
    let x = 0;
    let mul = 1;
    for (let i = 0; i < VARINT_BYTES_MAX; i++) {
      if (this.pos >= this.buf.length) this.fail(`truncated ${field}`);
      const b = this.buf[this.pos++]!;
      x += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (!Number.isSafeInteger(x)) this.fail(`${field} exceeds 2^53`);
        return x;
      }
      mul *= 0x80;
    }
    return this.fail(`${field} varint too long`);
  }

  bytes(field: string): Uint8Array {
    const n = this.uvarint(`${field} length`);
    if (n > this.buf.length - this.pos) this.fail(`${field} length ${n} exceeds the data`);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  remaining(): number {
    return this.buf.length - this.pos;
  }

  end(): void {
    if (this.pos !== this.buf.length) this.fail('trailing bytes');
  }
}

function checkConfChangeType(what: string, t: number): ConfChangeType {
  if (t > ConfChangeType.ConfChangeAddLearnerNode) throw new Error(`${what}: unknown conf change type ${t}`);
  return t as ConfChangeType;
}

export function encodeConfChange(cc: ConfChange): Uint8Array {
  if (cc.id === 0 && cc.type === ConfChangeType.ConfChangeAddNode && cc.nodeId === 0 && cc.context.length === 0) {
    return new Uint8Array(0);
  }
  const w = new ByteWriter();
  w.byte(TAG_V1);
  w.uvarint(cc.id, 'id');
  w.uvarint(cc.type, 'type');
  w.uvarint(cc.nodeId, 'nodeId');
  w.bytes(cc.context);
  return w.finish();
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.length === 0) {
    return { id: 0, type: ConfChangeType.ConfChangeAddNode, nodeId: 0, context: EMPTY_BYTES };
  }
  const r = new ByteReader(data, 'decodeConfChange');
  const tag = r.byte();
  if (tag !== TAG_V1) {
    throw new Error(`decodeConfChange: bad tag 0x${tag.toString(16)} (want 0x${TAG_V1.toString(16)}` +
      (tag === TAG_V2 ? ', this is a ConfChangeV2)' : ')'));
  }
  const id = r.uvarint('id');
  const type = checkConfChangeType('decodeConfChange', r.uvarint('type'));
  const nodeId = r.uvarint('nodeId');
  const context = r.bytes('context');
  r.end();
  return { id, type, nodeId, context };
}

export function encodeConfChangeV2(cc: ConfChangeV2): Uint8Array {
  if (cc.transition === ConfChangeTransition.Auto && cc.changes.length === 0 && cc.context.length === 0) {
    return new Uint8Array(0);
  }
  const w = new ByteWriter();
  w.byte(TAG_V2);
  w.uvarint(cc.transition, 'transition');
  w.uvarint(cc.changes.length, 'change count');
  for (const c of cc.changes) {
    w.uvarint(c.type, 'type');
    w.uvarint(c.nodeId, 'nodeId');
  }
  w.bytes(cc.context);
  return w.finish();
}

export function decodeConfChangeV2(data: Uint8Array): ConfChangeV2 {
  if (data.length === 0) return { transition: ConfChangeTransition.Auto, changes: [], context: EMPTY_BYTES };
  const r = new ByteReader(data, 'decodeConfChangeV2');
  const tag = r.byte();
  if (tag !== TAG_V2) {
    throw new Error(`decodeConfChangeV2: bad tag 0x${tag.toString(16)} (want 0x${TAG_V2.toString(16)}` +
      (tag === TAG_V1 ? ', this is a v1 ConfChange)' : ')'));
  }
  const transition = r.uvarint('transition');
  if (transition > ConfChangeTransition.JointExplicit) {
    throw new Error(`decodeConfChangeV2: unknown transition ${transition}`);
  }
  const n = r.uvarint('change count');
  // Each change takes at least two bytes: a count beyond that is corrupt, and checking it first
  // keeps a bad count from allocating a huge array.
  if (n * 2 > r.remaining()) throw new Error(`decodeConfChangeV2: change count ${n} exceeds the data`);
  const changes: ConfChangeSingle[] = [];
  for (let i = 0; i < n; i++) {
    const type = checkConfChangeType('decodeConfChangeV2', r.uvarint('type'));
    const nodeId = r.uvarint('nodeId');
    changes.push({ type, nodeId });
  }
  const context = r.bytes('context');
  r.end();
  return { transition: transition as ConfChangeTransition, changes, context };
}

// marshalConfChange encodes a change into entry data with the matching entry type. null encodes
// as the empty ConfChangeV2 (leave joint).
export function marshalConfChange(c: ConfChangeI | null): { type: EntryType; data: Uint8Array } {
  if (c === null) return { type: EntryType.EntryConfChangeV2, data: new Uint8Array(0) };
  if (isConfChangeV2(c)) return { type: EntryType.EntryConfChangeV2, data: encodeConfChangeV2(c) };
  return { type: EntryType.EntryConfChange, data: encodeConfChange(c) };
}

function confChangeTransitionName(t: ConfChangeTransition): string {
  switch (t) {
    case ConfChangeTransition.Auto: return 'ConfChangeTransitionAuto';
    case ConfChangeTransition.JointImplicit: return 'ConfChangeTransitionJointImplicit';
    case ConfChangeTransition.JointExplicit: return 'ConfChangeTransitionJointExplicit';
    default: return String(t as number);
  }
}

// Bytes as a quoted protobuf text-format string.
function protoTextBytes(b: Uint8Array): string {
  let s = '"';
  for (const c of b) {
    if (c === 0x22) s += '\\"';
    else if (c === 0x5c) s += '\\\\';
    else if (c === 0x0a) s += '\\n';
    else if (c === 0x0d) s += '\\r';
    else if (c === 0x09) s += '\\t';
    else if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
    else s += '\\' + c.toString(8).padStart(3, '0');
  }
  return s + '"';
}

// formatConfChangeProto prints a change as etcd's logs print the protobuf message (compact text
// format), e.g. "transition:ConfChangeTransitionAuto changes:{type:ConfChangeAddNode node_id:3}".
// Presence is not tracked here, so a V2 change always shows its transition and a v1 change its type
// and node id, which is what etcd's proposals set; id and context show when non-zero.
export function formatConfChangeProto(c: ConfChangeI): string {
  const parts: string[] = [];
  if (isConfChangeV2(c)) {
    parts.push(`transition:${confChangeTransitionName(c.transition)}`);
    for (const cc of c.changes) parts.push(`changes:{type:${confChangeTypeName(cc.type)} node_id:${cc.nodeId}}`);
  } else {
    if (c.id !== 0) parts.push(`id:${c.id}`);
    parts.push(`type:${confChangeTypeName(c.type)}`, `node_id:${c.nodeId}`);
  }
  if (c.context.length > 0) parts.push(`context:${protoTextBytes(c.context)}`);
  return parts.join(' ');
}

function confStateString(cs: ConfState): string {
  const l = (a: readonly number[]): string => `[${a.join(' ')}]`;
  return `{Voters:${l(cs.voters)} Learners:${l(cs.learners)} VotersOutgoing:${l(cs.votersOutgoing)} ` +
    `LearnersNext:${l(cs.learnersNext)} AutoLeave:${String(cs.autoLeave)}}`;
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// confStateEquivalent returns null when a and b describe the same configuration (order of ids
// aside), else a message showing both.
export function confStateEquivalent(a: ConfState, b: ConfState): string | null {
  const norm = (cs: ConfState): ConfState => ({
    voters: sortedIds(cs.voters),
    learners: sortedIds(cs.learners),
    votersOutgoing: sortedIds(cs.votersOutgoing),
    learnersNext: sortedIds(cs.learnersNext),
    autoLeave: cs.autoLeave,
  });
  const na = norm(a);
  const nb = norm(b);
  if (
    sameIds(na.voters, nb.voters) && sameIds(na.learners, nb.learners) &&
    sameIds(na.votersOutgoing, nb.votersOutgoing) && sameIds(na.learnersNext, nb.learnersNext) &&
    na.autoLeave === nb.autoLeave
  ) {
    return null;
  }
  return `ConfStates not equivalent after sorting:\n${confStateString(na)}\n${confStateString(nb)}\n` +
    `Inputs were:\n${confStateString(a)}\n${confStateString(b)}`;
}
