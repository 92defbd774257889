// Faults over time: a script ("at 6s crash the leader, restart it 2s later") or a seeded random
// nemesis that writes such a script. Either way a run's faults are a list of timed actions decided
// before the run, which is what lets the fuzzer shrink a failing schedule by dropping faults.
//
// Targets are resolved when a fault fires ("the leader", "a follower", "a random live node"), so
// that a script means the same thing whatever happened before it; the choice among candidates is
// fixed by the fault's own `pick` number, not by a shared generator, so that removing one fault
// does not change whom the others hit.
//
// Faults with a duration undo themselves (restart after a crash, resume after a pause, heal after
// a partition, restore a link or a clock); healAll() ends every active fault at the end of a run.

import { Rng, deriveSeed } from '../core/rand.js';
import {
  IssueList,
  SpecError,
  describeValue,
  isPlainObject,
  parseDurationUs,
  parseLatencyDist,
  parseProbability,
  type LatencyDist,
  type LinkPatch,
  type NodeSelector,
} from '../faults/index.js';
import { NodeStatus, SimEv, type FaultEventHandler, type SimCluster } from './sim-cluster.js';

// 'removed': the member whose removal a leader committed last (for faults a conf-commit trigger
// fires: the member being removed, which has not heard yet that its removal committed).
export type FaultTarget = number | 'leader' | 'follower' | 'random' | 'removed';
export type PartitionSplit = 'isolate-leader' | 'leader-minority' | 'random' | 'halves';

export type FaultAction = PlainFaultAction | TriggerAction;

// Moments a trigger can wait for (see FaultEventHandler in sim-cluster.ts): a leader's Ready that
// fast-commits an entry, or that commits a configuration change, is durable and its messages have
// not left yet. (For the moment a leader is elected, see churn.)
export type TriggerEvent = 'fast-commit' | 'conf-commit';
export const triggerEvents: readonly TriggerEvent[] = ['fast-commit', 'conf-commit'];

// A fault aimed at a moment rather than a time: for durationUs, each time `on` happens (with
// `probability`, at most `times` times), the actions of `then` fire together delayMaxUs after it
// at most; with delayMaxUs 0 they fire at once, before that Ready's messages leave (a crash then
// loses them, an isolation drops them). Targets are resolved when they fire: 'leader' is the
// leader of that moment, and the actions of one firing share their pick, so that 'follower' or
// 'random' names the same node in each (isolate a follower and make its clock fast; the `to` of a
// cut is the exception, it draws apart from its `from`).
// The losses Fast Raft's rules 1 and 2 prevent need a leader that fails within about a round trip
// of a fast commit, or a member cut off from the leader just as a removal commits; random timed
// faults almost never land there.
export interface TriggerAction {
  readonly kind: 'trigger';
  readonly on: TriggerEvent;
  readonly then: readonly PlainFaultAction[];
  readonly probability: number;
  readonly delayMaxUs: number;
  // null: every time while armed.
  readonly times: number | null;
  readonly durationUs: number | null;
}

export type PlainFaultAction =
  // Crash a node; restart it after durationUs (null: it stays down until restarted or healed).
  | { readonly kind: 'crash'; readonly target: FaultTarget; readonly durationUs: number | null }
  | { readonly kind: 'restart'; readonly target: FaultTarget | 'all' }
  | { readonly kind: 'pause'; readonly target: FaultTarget; readonly durationUs: number | null }
  | { readonly kind: 'resume'; readonly target: FaultTarget | 'all' }
  | { readonly kind: 'partition'; readonly split: PartitionSplit | readonly (readonly number[])[]; readonly durationUs: number | null }
  | { readonly kind: 'isolate'; readonly target: FaultTarget; readonly durationUs: number | null }
  // One-way: messages from -> to are dropped.
  | { readonly kind: 'cut'; readonly from: FaultTarget; readonly to: FaultTarget; readonly durationUs: number | null }
  // Message loss on every link of a node (or of every node).
  | { readonly kind: 'loss'; readonly target: FaultTarget | 'all'; readonly probability: number; readonly durationUs: number | null }
  // Slow links to and from a node (or all links).
  | { readonly kind: 'delay'; readonly target: FaultTarget | 'all'; readonly latency: LatencyDist; readonly durationUs: number | null }
  // A node's clock runs fast or slow: its ticks come every tick * (1 + skew).
  | { readonly kind: 'skew'; readonly target: FaultTarget; readonly skew: number; readonly durationUs: number | null }
  | { readonly kind: 'transfer'; readonly target: FaultTarget }
  | { readonly kind: 'add-node'; readonly v2: boolean }
  | { readonly kind: 'remove-node'; readonly target: FaultTarget; readonly v2: boolean }
  | { readonly kind: 'heal' }
  // Leader churn: for durationUs, each newly elected leader is, with `probability`, crashed or
  // isolated within delayMaxUs of its election, for up to faultUsMax. The interleavings of the
  // Raft paper's Figure 8 need leaders that fail right after writing entries they could not
  // replicate; independent random faults rarely land in that window.
  | {
      readonly kind: 'churn';
      readonly action: 'crash' | 'isolate';
      readonly probability: number;
      readonly delayMaxUs: number;
      readonly faultUsMax: number;
      readonly durationUs: number | null;
    }
  // The Raft paper's Figure 8 as a randomized loop (after MIT 6.824's TestFigure8): for
  // durationUs, every step (mostly under stepMaxUs apart, sometimes up to longStepMaxUs) crashes
  // the current leader, and whenever fewer than a quorum of members are up, restarts a random
  // crashed one. The cluster lives at the edge of its quorum, leaders die moments after being
  // elected with entries they could not replicate, and old leaders come back to compete.
  // With victim 'any', each step crashes a random running member instead (votes and acks lost
  // mid-election are what the durability rules protect).
  | {
      readonly kind: 'figure8';
      readonly victim: 'leader' | 'any';
      readonly stepMaxUs: number;
      readonly longStepMaxUs: number;
      readonly durationUs: number | null;
    };

export type FaultKind = FaultAction['kind'];

export const faultKinds: readonly FaultKind[] = [
  'crash', 'restart', 'pause', 'resume', 'partition', 'isolate', 'cut', 'loss', 'delay', 'skew', 'transfer', 'add-node', 'remove-node', 'heal', 'churn', 'figure8', 'trigger',
];

export interface ScheduledFault {
  readonly atUs: number;
  readonly action: FaultAction;
  // Chooses among a fault's candidate targets; filled from the seed when absent.
  readonly pick?: number;
}

// ---------------------------------------------------------------------------------------------
// Running faults

// A step of a running figure8 loop.
interface LoopStep {
  readonly atUs: number;
  readonly loop: number;
}

interface ActiveFault {
  readonly index: number;
  undo(): void;
}

export interface NemesisCounters {
  fired: number;
  skipped: number;
}

export class Nemesis implements FaultEventHandler {
  readonly counters: NemesisCounters = { fired: 0, skipped: 0 };
  private readonly active = new Map<number, ActiveFault>();
  // Link faults of the nemesis, per selector pair, so that undoing one keeps the others.
  private readonly linkFaults: { index: number; from: NodeSelector; to: NodeSelector; patch: LinkPatch }[] = [];
  private readonly baseSkews = new Map<number, number>();
  private readonly picks: number[];
  // Faults created while running (by churn) and the steps of figure8 loops, numbered after the
  // scripted faults.
  private readonly dynamic: (ScheduledFault | LoopStep)[] = [];
  private readonly loops: { rng: Rng; action: Extract<FaultAction, { kind: 'figure8' }>; active: boolean }[] = [];
  private readonly churns: { index: number; rng: Rng; action: Extract<FaultAction, { kind: 'churn' }> }[] = [];
  private readonly triggers: { rng: Rng; action: TriggerAction; left: number }[] = [];
  private lastRemoved = 0;

  // Membership changes keep the voters within these bounds (a removal below three voters would
  // leave a cluster that cannot survive one more fault, and removing the last one is refused by
  // the core).
  votersMin = 3;
  votersMax = 9;

  constructor(private readonly cluster: SimCluster, readonly faults: readonly ScheduledFault[], seed: number) {
    this.picks = faults.map((f, i) => f.pick ?? deriveSeed(seed, i) % 0x100000000);
    cluster.faultHandler = this;
    for (let i = 0; i < faults.length; i++) {
      const f = faults[i]!;
      if (!(f.atUs >= cluster.nowUs)) throw new RangeError(`nemesis: fault ${i} at ${f.atUs}us is in the past`);
      cluster.sched.at(f.atUs, SimEv.Fault, i * 2);
    }
  }

  onFault(arg: number, nowUs: number): void {
    const index = Math.floor(arg / 2);
    if (arg % 2 === 1) {
      const a = this.active.get(index);
      if (a !== undefined) {
        this.active.delete(index);
        a.undo();
      }
      return;
    }
    const f = this.faultAt(index);
    if ('loop' in f) {
      this.loopStep(f.loop, nowUs);
      return;
    }
    const undo = this.fire(index, f.action, index < this.faults.length ? this.picks[index]! : (f.pick ?? 0));
    if (undo === false) {
      this.counters.skipped++;
      return;
    }
    this.counters.fired++;
    if (undo === null) return;
    this.active.set(index, { index, undo });
    const d = durationOf(f.action);
    if (d !== null) this.cluster.sched.at(nowUs + Math.max(1, Math.round(d)), SimEv.Fault, index * 2 + 1);
  }

  private faultAt(index: number): ScheduledFault | LoopStep {
    return index < this.faults.length ? this.faults[index]! : this.dynamic[index - this.faults.length]!;
  }

  private scheduleDynamic(entry: ScheduledFault | LoopStep): void {
    const index = this.faults.length + this.dynamic.length;
    this.dynamic.push(entry);
    this.cluster.sched.at(entry.atUs, SimEv.Fault, index * 2);
  }

  private loopStep(loop: number, nowUs: number): void {
    const l = this.loops[loop]!;
    if (!l.active) return;
    const c = this.cluster;
    const voters = c.config.voters;
    if (l.action.victim === 'leader') {
      const lead = c.leaderId();
      if (lead !== 0) c.crash(lead);
    } else {
      const running = voters.filter((id) => c.nodes[id]?.status === NodeStatus.Up);
      if (running.length > 0) c.crash(running[l.rng.intn(running.length)]!);
    }
    let up = 0;
    const down: number[] = [];
    for (const id of voters) {
      const st = c.nodes[id]?.status;
      if (st === NodeStatus.Up || st === NodeStatus.Paused) up++;
      else if (st === NodeStatus.Down) down.push(id);
    }
    if (up < Math.floor(voters.length / 2) + 1 && down.length > 0) c.restart(down[l.rng.intn(down.length)]!);
    const a = l.action;
    const stepUs = l.rng.float() < 0.1 ? l.rng.intn(a.longStepMaxUs + 1) : l.rng.intn(a.stepMaxUs + 1);
    this.scheduleDynamic({ atUs: nowUs + Math.max(1, stepUs), loop });
  }

  onLeaderElected(id: number, _term: number, nowUs: number): void {
    for (const ch of this.churns) {
      const a = ch.action;
      if (ch.rng.float() >= a.probability) continue;
      // Skewed toward 0: the interesting window is the first disk write and message round of
      // the new leader (before its first appends leave), which is short.
      const u = ch.rng.float();
      const delayUs = Math.floor(a.delayMaxUs * u * u * u);
      const durationUs = 1 + ch.rng.intn(Math.max(1, a.faultUsMax));
      const action: FaultAction = a.action === 'crash' ? { kind: 'crash', target: id, durationUs } : { kind: 'isolate', target: id, durationUs };
      this.scheduleDynamic({ atUs: nowUs + delayUs, action });
    }
  }

  onFastCommit(_id: number, _term: number, nowUs: number): void {
    if (this.triggers.length > 0) this.triggered('fast-commit', nowUs);
  }

  onConfCommit(_id: number, _term: number, removed: readonly number[], nowUs: number): void {
    if (removed.length > 0) this.lastRemoved = removed[removed.length - 1]!;
    if (this.triggers.length > 0) this.triggered('conf-commit', nowUs);
  }

  private triggered(on: TriggerEvent, nowUs: number): void {
    // A copy: a trigger whose last firing undoes it (or that another one ends) leaves the list.
    for (const t of this.triggers.slice()) {
      const a = t.action;
      if (a.on !== on || t.left <= 0 || t.rng.float() >= a.probability) continue;
      t.left--;
      const pick = t.rng.nextU32();
      if (a.delayMaxUs <= 0) {
        // At once: within the moment, before the leader's messages leave.
        for (const action of a.then) {
          const index = this.faults.length + this.dynamic.length;
          this.dynamic.push({ atUs: nowUs, action, pick });
          this.onFault(index * 2, nowUs);
        }
      } else {
        const atUs = nowUs + 1 + t.rng.intn(a.delayMaxUs);
        for (const action of a.then) this.scheduleDynamic({ atUs, action, pick });
      }
    }
  }

  // healAll ends every fault: undoes active ones, heals the network, restarts crashed nodes and
  // resumes paused ones (removed nodes stay removed).
  healAll(): void {
    const c = this.cluster;
    for (const [index, a] of [...this.active]) {
      this.active.delete(index);
      a.undo();
    }
    c.network.faults.heal();
    for (const id of c.nodeIds()) {
      const n = c.node(id);
      if (n.status === NodeStatus.Down) c.restart(id);
      else if (n.status === NodeStatus.Paused) c.resume(id);
    }
    c.traceFault('heal-all', 0);
  }

  // fire applies an action: false when it could not (no such target), null when there is nothing
  // to undo, else the undo.
  private fire(index: number, a: FaultAction, pick: number): (() => void) | null | false {
    const c = this.cluster;
    switch (a.kind) {
      case 'crash': {
        const id = this.resolve(a.target, pick, NodeStatus.Up, true);
        if (id === 0 || !c.crash(id)) return false;
        return () => void c.restart(id);
      }
      case 'restart': {
        if (a.target === 'all') {
          for (const id of c.nodeIds()) if (c.node(id).status === NodeStatus.Down) c.restart(id);
          return null;
        }
        const id = this.resolve(a.target, pick, NodeStatus.Down, false);
        if (id === 0 || !c.restart(id)) return false;
        return null;
      }
      case 'pause': {
        const id = this.resolve(a.target, pick, NodeStatus.Up, true);
        if (id === 0 || !c.pause(id)) return false;
        return () => void c.resume(id);
      }
      case 'resume': {
        if (a.target === 'all') {
          for (const id of c.nodeIds()) if (c.node(id).status === NodeStatus.Paused) c.resume(id);
          return null;
        }
        const id = this.resolve(a.target, pick, NodeStatus.Paused, false);
        if (id === 0 || !c.resume(id)) return false;
        return null;
      }
      case 'partition': {
        const groups = typeof a.split === 'string' ? this.split(a.split, pick) : a.split.map((g) => [...g]);
        if (groups === null) return false;
        const pid = c.network.faults.partition(groups);
        c.traceFault('partition', 0, { groups });
        return () => {
          c.network.faults.heal(pid);
          c.traceFault('heal', 0, { partition: pid });
        };
      }
      case 'isolate': {
        const id = this.resolve(a.target, pick, NodeStatus.Up, true);
        if (id === 0) return false;
        const pid = c.network.faults.isolate(id);
        c.traceFault('isolate', id);
        return () => {
          c.network.faults.heal(pid);
          c.traceFault('heal', id, { partition: pid });
        };
      }
      case 'cut': {
        const from = this.resolve(a.from, pick, NodeStatus.Up, true);
        const to = this.resolve(a.to, Math.floor(pick / 7) + 1, NodeStatus.Up, true, from);
        if (from === 0 || to === 0 || from === to) return false;
        const pid = c.network.faults.cut(from, to);
        c.traceFault('cut', from, { to });
        return () => {
          c.network.faults.heal(pid);
          c.traceFault('heal', from, { partition: pid });
        };
      }
      case 'loss':
        return this.linkFault(index, a.target, pick, { loss: a.probability }, 'loss');
      case 'delay':
        return this.linkFault(index, a.target, pick, { latency: a.latency }, 'delay');
      case 'skew': {
        const id = this.resolve(a.target, pick, NodeStatus.Up, true);
        if (id === 0) return false;
        if (!this.baseSkews.has(id)) this.baseSkews.set(id, c.node(id).skew);
        c.setSkew(id, a.skew);
        return () => c.setSkew(id, this.baseSkews.get(id) ?? 0);
      }
      case 'transfer': {
        const lead = c.leaderId();
        if (lead === 0) return false;
        const to = this.resolve(a.target === 'leader' ? 'follower' : a.target, pick, NodeStatus.Up, true, lead);
        if (to === 0 || to === lead || !c.config.voters.includes(to)) return false;
        return c.transferLeader(to) ? null : false;
      }
      case 'add-node':
        if (c.config.voters.length >= this.votersMax) return false;
        return c.addNode(a.v2) === 0 ? false : null;
      case 'remove-node': {
        const voters = c.config.voters;
        if (voters.length <= this.votersMin) return false;
        const id = this.resolve(a.target, pick, null, true);
        if (id === 0 || !voters.includes(id)) return false;
        return c.removeNode(id, a.v2) ? null : false;
      }
      case 'churn': {
        const ch = { index, rng: new Rng(pick), action: a };
        this.churns.push(ch);
        c.traceFault('churn', 0);
        return () => {
          const k = this.churns.indexOf(ch);
          if (k >= 0) this.churns.splice(k, 1);
          c.traceFault('churn-end', 0);
        };
      }
      case 'trigger': {
        const t = { rng: new Rng(pick), action: a, left: a.times ?? Infinity };
        this.triggers.push(t);
        c.traceFault(`trigger-${a.on}`, 0);
        return () => {
          const k = this.triggers.indexOf(t);
          if (k >= 0) this.triggers.splice(k, 1);
          c.traceFault(`trigger-${a.on}-end`, 0);
        };
      }
      case 'figure8': {
        const loop = this.loops.length;
        const l = { rng: new Rng(pick), action: a, active: true };
        this.loops.push(l);
        c.traceFault('figure8', 0);
        this.loopStep(loop, c.nowUs);
        return () => {
          l.active = false;
          c.traceFault('figure8-end', 0);
        };
      }
      case 'heal': {
        for (const [i, f] of [...this.active]) {
          const e = this.faultAt(i);
          const k = 'loop' in e ? 'figure8' : e.action.kind;
          if (k === 'partition' || k === 'isolate' || k === 'cut' || k === 'loss' || k === 'delay') {
            this.active.delete(i);
            f.undo();
          }
        }
        c.network.faults.heal();
        c.traceFault('heal-network', 0);
        return null;
      }
      default: {
        const unreachable: never = a;
        throw new Error(`nemesis: unknown fault ${JSON.stringify(unreachable)}`);
      }
    }
  }

  private linkFault(index: number, target: FaultTarget | 'all', pick: number, patch: LinkPatch, what: string): (() => void) | false {
    const c = this.cluster;
    let selectors: [NodeSelector, NodeSelector][];
    let node = 0;
    if (target === 'all') {
      selectors = [['*', '*']];
    } else {
      node = this.resolve(target, pick, null, true);
      if (node === 0) return false;
      selectors = [[node, '*'], ['*', node]];
    }
    for (const [from, to] of selectors) {
      this.linkFaults.push({ index, from, to, patch });
      c.network.faults.setLink(from, to, patch);
    }
    c.traceFault(what, node);
    return () => {
      // Drop this fault's overrides and re-apply the other nemesis faults on the same selectors.
      for (let i = this.linkFaults.length - 1; i >= 0; i--) if (this.linkFaults[i]!.index === index) this.linkFaults.splice(i, 1);
      for (const [from, to] of selectors) {
        c.network.faults.clearLink(from, to);
        for (const lf of this.linkFaults) if (lf.from === from && lf.to === to) c.network.faults.setLink(from, to, lf.patch);
      }
      c.traceFault(`${what}-end`, node);
    };
  }

  // resolve picks a node for a target among nodes with the wanted status (null: any running
  // node), preferring members of the current configuration. `exclude` is never chosen.
  private resolve(target: FaultTarget, pick: number, status: NodeStatus | null, membersOnly: boolean, exclude = 0): number {
    const c = this.cluster;
    const ok = (id: number): boolean => {
      if (id === exclude) return false;
      const n = c.nodes[id];
      if (n === undefined || n.status === NodeStatus.Removed) return false;
      if (status !== null ? n.status !== status : n.status === NodeStatus.Down) return false;
      return !membersOnly || status === NodeStatus.Down || c.config.voters.includes(id) || c.config.learners.includes(id);
    };
    if (typeof target === 'number') return ok(target) ? target : 0;
    if (target === 'removed') return ok(this.lastRemoved) ? this.lastRemoved : 0;
    const lead = c.leaderId();
    if (target === 'leader') {
      if (lead !== 0 && ok(lead)) return lead;
      target = 'random';
    }
    const candidates = c.nodeIds().filter((id) => ok(id) && (target !== 'follower' || id !== lead));
    if (candidates.length === 0) return 0;
    return candidates[pick % candidates.length]!;
  }

  // split partitions the running members into groups (null when there are too few to split).
  private split(how: PartitionSplit, pick: number): number[][] | null {
    const c = this.cluster;
    const members = c.nodeIds().filter((id) => c.node(id).status !== NodeStatus.Removed);
    if (members.length < 2) return null;
    const lead = c.leaderId();
    const rng = new Rng(pick);
    const shuffled = members.slice();
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = rng.intn(i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    switch (how) {
      case 'isolate-leader':
        return lead === 0 ? [[shuffled[0]!]] : [[lead]];
      case 'leader-minority': {
        // The leader with fewer than half of the others: it keeps leading a minority for a while.
        const others = shuffled.filter((id) => id !== lead);
        const k = Math.max(0, Math.floor((members.length - 1) / 2) - 1);
        const minority = lead === 0 ? others.slice(0, k + 1) : [lead, ...others.slice(0, k)];
        return [minority.sort((a, b) => a - b)];
      }
      case 'random': {
        const k = 1 + rng.intn(members.length - 1);
        return [shuffled.slice(0, k).sort((a, b) => a - b)];
      }
      case 'halves': {
        const k = Math.floor(members.length / 2);
        return [shuffled.slice(0, k).sort((a, b) => a - b), shuffled.slice(k).sort((a, b) => a - b)];
      }
      default: {
        const unreachable: never = how;
        throw new Error(`nemesis: unknown split ${String(unreachable)}`);
      }
    }
  }
}

function durationOf(a: FaultAction): number | null {
  switch (a.kind) {
    case 'crash':
    case 'pause':
    case 'partition':
    case 'isolate':
    case 'cut':
    case 'loss':
    case 'delay':
    case 'skew':
    case 'churn':
    case 'figure8':
    case 'trigger':
      return a.durationUs;
    default:
      return null;
  }
}

// ---------------------------------------------------------------------------------------------
// The seeded random nemesis

export interface RandomFaultOptions {
  startUs: number;
  endUs: number;
  // Mean gap between faults (exponentially distributed).
  meanGapUs: number;
  kinds: readonly FaultKind[];
  tickUs: number;
  electionTick: number;
  // Relative frequency per kind (default: kindWeights); a kind with weight 0 is never drawn.
  weights?: Readonly<Partial<Record<FaultKind, number>>>;
  // Scales every fault's duration (a storm: many short faults).
  durationScale?: number;
}

// Relative frequency of each kind when enabled.
const kindWeights: Readonly<Record<FaultKind, number>> = {
  crash: 5,
  restart: 0,
  pause: 2,
  resume: 0,
  partition: 3,
  isolate: 2,
  cut: 1,
  loss: 1,
  delay: 1,
  skew: 1,
  transfer: 2,
  'add-node': 1,
  'remove-node': 1,
  heal: 0.5,
  churn: 1,
  figure8: 1,
  // Only where a profile asks for it (the fast profile aims triggers at Fast Raft's moments).
  trigger: 0,
};

// randomFaults draws a fault script from rng: the seeded nemesis.
export function randomFaults(rng: Rng, o: RandomFaultOptions): ScheduledFault[] {
  const weightOf = (k: FaultKind): number => (o.weights !== undefined ? o.weights[k] ?? 0 : kindWeights[k]);
  const kinds = o.kinds.filter((k) => weightOf(k) > 0);
  const out: ScheduledFault[] = [];
  if (kinds.length === 0 || o.endUs <= o.startUs) return out;
  const total = kinds.reduce((s, k) => s + weightOf(k), 0);
  const electionUs = Math.max(1, Math.round(o.tickUs * o.electionTick * (o.durationScale ?? 1)));
  let t = o.startUs;
  for (let i = 0; i < 10_000; i++) {
    t += Math.max(1, Math.round(-o.meanGapUs * Math.log(1 - rng.float())));
    if (t >= o.endUs) break;
    let x = rng.float() * total;
    let kind = kinds[kinds.length - 1]!;
    for (const k of kinds) {
      x -= weightOf(k);
      if (x < 0) {
        kind = k;
        break;
      }
    }
    out.push({ atUs: t, action: randomAction(rng, kind, electionUs, o.tickUs), pick: rng.nextU32() });
  }
  return out;
}

// A duration around the election timeout's scale: short ones (a blip), medium (an election or
// two), long (many).
function randomDurationUs(rng: Rng, electionUs: number): number {
  const r = rng.float();
  if (r < 0.4) return Math.round(electionUs * (0.05 + 0.5 * rng.float()));
  if (r < 0.8) return Math.round(electionUs * (0.5 + 3 * rng.float()));
  return Math.round(electionUs * (3 + 10 * rng.float()));
}

function randomTarget(rng: Rng): FaultTarget {
  const r = rng.float();
  return r < 0.5 ? 'leader' : r < 0.8 ? 'follower' : 'random';
}

function randomAction(rng: Rng, kind: FaultKind, electionUs: number, tickUs: number): FaultAction {
  switch (kind) {
    case 'crash':
      return { kind, target: randomTarget(rng), durationUs: randomDurationUs(rng, electionUs) };
    case 'pause':
      return { kind, target: randomTarget(rng), durationUs: randomDurationUs(rng, electionUs) };
    case 'partition': {
      const splits: PartitionSplit[] = ['isolate-leader', 'leader-minority', 'random', 'halves'];
      return { kind, split: splits[rng.intn(splits.length)]!, durationUs: randomDurationUs(rng, electionUs) };
    }
    case 'isolate':
      return { kind, target: randomTarget(rng), durationUs: randomDurationUs(rng, electionUs) };
    case 'cut':
      return { kind, from: randomTarget(rng), to: 'random', durationUs: randomDurationUs(rng, electionUs) };
    case 'loss':
      return { kind, target: rng.float() < 0.3 ? 'all' : randomTarget(rng), probability: [0.05, 0.2, 0.5][rng.intn(3)]!, durationUs: randomDurationUs(rng, electionUs) };
    case 'delay': {
      const meanUs = tickUs * (0.2 + 3 * rng.float());
      return {
        kind,
        target: rng.float() < 0.3 ? 'all' : randomTarget(rng),
        latency: { dist: 'exponential', meanUs: Math.round(meanUs), capUs: Math.round(electionUs * 3) },
        durationUs: randomDurationUs(rng, electionUs),
      };
    }
    case 'skew':
      return { kind, target: randomTarget(rng), skew: [-0.5, -0.2, 0.3, 1, 3][rng.intn(5)]!, durationUs: randomDurationUs(rng, electionUs) };
    case 'transfer':
      return { kind, target: rng.float() < 0.5 ? 'follower' : 'random' };
    case 'add-node':
      return { kind, v2: rng.float() < 0.5 };
    case 'remove-node':
      return { kind, target: rng.float() < 0.3 ? 'leader' : 'random', v2: rng.float() < 0.5 };
    case 'restart':
      return { kind, target: 'random' };
    case 'resume':
      return { kind, target: 'random' };
    case 'heal':
      return { kind };
    case 'figure8':
      return {
        kind,
        victim: rng.float() < 0.7 ? 'leader' : 'any',
        stepMaxUs: Math.round(tickUs * 1.3),
        longStepMaxUs: Math.round(electionUs / 2),
        durationUs: randomDurationUs(rng, electionUs) * 4,
      };
    case 'churn':
      return {
        kind,
        action: rng.float() < 0.5 ? 'crash' : 'isolate',
        probability: [0.3, 0.6, 1][rng.intn(3)]!,
        delayMaxUs: [2000, 10_000, 50_000][rng.intn(3)]!,
        faultUsMax: Math.round(electionUs * (0.5 + 2 * rng.float())),
        durationUs: randomDurationUs(rng, electionUs) * 3,
      };
    case 'trigger': {
      const r = rng.float();
      const then: PlainFaultAction =
        r < 0.4
          ? { kind: 'crash', target: 'leader', durationUs: randomDurationUs(rng, electionUs) }
          : r < 0.8
            ? { kind: 'isolate', target: 'leader', durationUs: randomDurationUs(rng, electionUs) }
            : { kind: 'cut', from: 'leader', to: 'random', durationUs: randomDurationUs(rng, electionUs) };
      return {
        kind,
        on: rng.float() < 0.7 ? 'fast-commit' : 'conf-commit',
        then: [then],
        probability: [0.3, 1][rng.intn(2)]!,
        delayMaxUs: [0, 0, 1000, 5000][rng.intn(4)]!,
        times: [1, 3, null][rng.intn(3)]!,
        durationUs: randomDurationUs(rng, electionUs) * 3,
      };
    }
    default: {
      const unreachable: never = kind;
      throw new Error(`nemesis: unknown kind ${String(unreachable)}`);
    }
  }
}

// describeFault prints one fault on a line: "1.234s crash leader (restart after 150ms)".
export function describeFault(f: ScheduledFault): string {
  return `${fmtUs(f.atUs).padStart(9)} ${describeAction(f.action)}`;
}

function describeAction(a: FaultAction): string {
  const dur = (d: number | null, what: string): string => (d === null ? '' : ` (${what} after ${fmtUs(d)})`);
  let body: string;
  switch (a.kind) {
    case 'crash':
      body = `crash ${a.target}${dur(a.durationUs, 'restart')}`;
      break;
    case 'restart':
      body = `restart ${a.target}`;
      break;
    case 'pause':
      body = `pause ${a.target}${dur(a.durationUs, 'resume')}`;
      break;
    case 'resume':
      body = `resume ${a.target}`;
      break;
    case 'partition':
      body = `partition ${typeof a.split === 'string' ? a.split : JSON.stringify(a.split)}${dur(a.durationUs, 'heal')}`;
      break;
    case 'isolate':
      body = `isolate ${a.target}${dur(a.durationUs, 'heal')}`;
      break;
    case 'cut':
      body = `cut ${a.from}->${a.to}${dur(a.durationUs, 'heal')}`;
      break;
    case 'loss':
      body = `loss ${(a.probability * 100).toFixed(0)}% on ${a.target}${dur(a.durationUs, 'restore')}`;
      break;
    case 'delay':
      body = `delay ${JSON.stringify(a.latency)} on ${a.target}${dur(a.durationUs, 'restore')}`;
      break;
    case 'skew':
      body = `skew ${a.skew} on ${a.target}${dur(a.durationUs, 'restore')}`;
      break;
    case 'transfer':
      body = `transfer leadership to ${a.target}`;
      break;
    case 'add-node':
      body = `add a node (${a.v2 ? 'ConfChangeV2' : 'ConfChange'})`;
      break;
    case 'remove-node':
      body = `remove ${a.target} (${a.v2 ? 'ConfChangeV2' : 'ConfChange'})`;
      break;
    case 'heal':
      body = 'heal the network';
      break;
    case 'figure8':
      body = `figure8 loop: crash ${a.victim === 'leader' ? 'the leader' : 'a random member'} every <${fmtUs(a.stepMaxUs)} (sometimes <${fmtUs(a.longStepMaxUs)}), keep a quorum up${dur(a.durationUs, 'stop')}`;
      break;
    case 'churn':
      body = `churn: ${a.action} each new leader (p ${a.probability}) within ${fmtUs(a.delayMaxUs)} for up to ${fmtUs(a.faultUsMax)}${dur(a.durationUs, 'stop')}`;
      break;
    case 'trigger': {
      const when = a.delayMaxUs > 0 ? `within ${fmtUs(a.delayMaxUs)}` : 'at once';
      const times = a.times === null ? 'every time' : `at most ${a.times} time${a.times === 1 ? '' : 's'}`;
      body = `on ${a.on} (p ${a.probability}, ${when}, ${times}): ${a.then.map(describeAction).join('; ')}${dur(a.durationUs, 'stop')}`;
      break;
    }
    default: {
      const unreachable: never = a;
      throw new Error(`unknown fault ${JSON.stringify(unreachable)}`);
    }
  }
  return body;
}

function fmtUs(us: number): string {
  if (us >= 1_000_000) return `${(us / 1_000_000).toFixed(3)}s`;
  if (us >= 1000) return `${(us / 1000).toFixed(1)}ms`;
  return `${us}us`;
}

// ---------------------------------------------------------------------------------------------
// Fault scripts as plain data (experiment files)

const targetWords = ['leader', 'follower', 'random', 'removed'] as const;
const splitWords: readonly PartitionSplit[] = ['isolate-leader', 'leader-minority', 'random', 'halves'];
const actionKeys = ['crash', 'restart', 'pause', 'resume', 'partition', 'isolate', 'cut', 'loss', 'delay', 'skew', 'transfer', 'add_node', 'remove_node', 'heal', 'churn', 'figure8', 'trigger'];
const modifierKeys = ['at', 'for', 'restart_after', 'resume_after', 'heal_after', 'target', 'v2', 'probability', 'within', 'down_max', 'step', 'long_step', 'then', 'times'];
// What a trigger's `then` may be: one plain action with its own modifiers, no time of its own.
const thenActionKeys = actionKeys.filter((k) => k !== 'trigger');
const thenModifierKeys = modifierKeys.filter((k) => k !== 'at' && k !== 'then' && k !== 'times');

// parseFaultScript reads a list like
//   - { at: 6s, crash: leader, restart_after: 2s }
//   - { at: 8s, partition: [[1, 2], [3, 4, 5]], heal_after: 1s }
//   - { at: 9s, loss: 5%, target: 3, for: 500ms }
//   - { at: 10s, delay: { dist: normal, mean: 20ms, stddev: 5ms }, for: 1s }
//   - { at: 11s, transfer: follower }      - { at: 12s, add_node: true }
//   - { at: 1s, trigger: fast-commit, then: { crash: leader, restart_after: 500ms }, within: 0, times: 1, for: 5s }
// and reports every problem with its path.
export function parseFaultScript(value: unknown, path = 'faults'): ScheduledFault[] {
  const issues = new IssueList();
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    issues.add(path, `expected a list of faults like [{ at: 6s, crash: leader, restart_after: 2s }], got ${describeValue(value)}`);
    issues.throwIfAny();
  }
  const out: ScheduledFault[] = [];
  (value as unknown[]).forEach((item, i) => {
    const p = `${path}[${i}]`;
    if (!isPlainObject(item)) {
      issues.add(p, `expected a mapping like { at: 6s, crash: leader }, got ${describeValue(item)}`);
      return;
    }
    if (!checkKeys(item, p, actionKeys, modifierKeys, issues)) return;
    if (item['at'] === undefined) {
      issues.add(`${p}.at`, 'required: when the fault happens, like 6s');
      return;
    }
    const atUs = issues.attempt(0, () => parseDurationUs(item['at'], `${p}.at`));
    const action = parseAction(item, p, actionKeys, issues);
    if (action !== null) out.push({ atUs, action });
  });
  issues.throwIfAny();
  return out.sort((a, b) => a.atUs - b.atUs);
}

// checkKeys reports unknown fields and anything but exactly one action; false when there is not
// exactly one action.
function checkKeys(item: Record<string, unknown>, p: string, actions: readonly string[], modifiers: readonly string[], issues: IssueList): boolean {
  for (const key of Object.keys(item)) {
    if (!actions.includes(key) && !modifiers.includes(key)) issues.add(`${p}.${key}`, `unknown field (actions: ${actions.join(', ')}; modifiers: ${modifiers.join(', ')})`);
  }
  const present = actions.filter((k) => item[k] !== undefined);
  if (present.length !== 1) {
    issues.add(p, present.length === 0 ? `no action (one of: ${actions.join(', ')})` : `more than one action: ${present.join(', ')}`);
    return false;
  }
  return true;
}

// parseAction reads the action of one fault (or of a trigger's `then`) with its modifiers, once
// checkKeys found exactly one action.
function parseAction(item: Record<string, unknown>, p: string, actions: readonly string[], issues: IssueList): FaultAction | null {
  const key = actions.filter((k) => item[k] !== undefined)[0]!;
  const durationKey = ['for', 'restart_after', 'resume_after', 'heal_after'].find((k) => item[k] !== undefined);
  const durationUs = durationKey === undefined ? null : issues.attempt<number | null>(null, () => parseDurationUs(item[durationKey], `${p}.${durationKey}`));
  const target = (k: string, v: unknown, allowAll: boolean): FaultTarget | 'all' => {
    if (typeof v === 'number' && Number.isInteger(v) && v >= 1) return v;
    if (typeof v === 'string' && ((targetWords as readonly string[]).includes(v) || (allowAll && v === 'all'))) return v as FaultTarget | 'all';
    issues.add(`${p}.${k}`, `expected a node id or one of ${[...targetWords, ...(allowAll ? ['all'] : [])].join(', ')}, got ${describeValue(v)}`);
    return 'random';
  };
  const one = (k: string, v: unknown): FaultTarget => {
    const t = target(k, v, false);
    return t === 'all' ? 'random' : t;
  };
  let action: FaultAction | null = null;
  const v = item[key];
  switch (key) {
    case 'crash':
      action = { kind: 'crash', target: one(key, v), durationUs };
      break;
    case 'restart':
      action = { kind: 'restart', target: target(key, v, true) };
      break;
    case 'pause':
      action = { kind: 'pause', target: one(key, v), durationUs };
      break;
    case 'resume':
      action = { kind: 'resume', target: target(key, v, true) };
      break;
    case 'partition': {
      if (typeof v === 'string' && (splitWords as readonly string[]).includes(v)) {
        action = { kind: 'partition', split: v as PartitionSplit, durationUs };
      } else if (Array.isArray(v) && v.every((g) => Array.isArray(g) && g.every((x) => Number.isInteger(x) && (x as number) >= 1))) {
        action = { kind: 'partition', split: (v as number[][]).map((g) => g.slice()), durationUs };
      } else {
        issues.add(`${p}.partition`, `expected groups like [[1, 2], [3, 4, 5]] or one of ${splitWords.join(', ')}, got ${describeValue(v)}`);
      }
      break;
    }
    case 'isolate':
      action = { kind: 'isolate', target: one(key, v), durationUs };
      break;
    case 'cut': {
      const m = typeof v === 'string' ? /^\s*([0-9]+|leader|follower|random|removed)\s*->\s*([0-9]+|leader|follower|random|removed)\s*$/.exec(v) : null;
      if (m === null) {
        issues.add(`${p}.cut`, `expected a direction like "1->2" or "leader->random", got ${describeValue(v)}`);
        break;
      }
      const sel = (s: string): FaultTarget => (/^[0-9]+$/.test(s) ? Number(s) : (s as FaultTarget));
      action = { kind: 'cut', from: sel(m[1]!), to: sel(m[2]!), durationUs };
      break;
    }
    case 'loss':
      action = {
        kind: 'loss',
        target: item['target'] === undefined ? 'all' : target('target', item['target'], true),
        probability: issues.attempt(0, () => parseProbability(v, `${p}.loss`)),
        durationUs,
      };
      break;
    case 'delay':
      action = {
        kind: 'delay',
        target: item['target'] === undefined ? 'all' : target('target', item['target'], true),
        latency: issues.attempt<LatencyDist>({ dist: 'constant', valueUs: 0 }, () => parseLatencyDist(v, `${p}.delay`)),
        durationUs,
      };
      break;
    case 'skew':
      if (typeof v !== 'number' || !(v > -0.9 && v < 10)) issues.add(`${p}.skew`, `expected a rate error like 0.2 (20% slow) or -0.1, got ${describeValue(v)}`);
      action = { kind: 'skew', target: item['target'] === undefined ? 'random' : one('target', item['target']), skew: typeof v === 'number' ? v : 0, durationUs };
      break;
    case 'transfer':
      action = { kind: 'transfer', target: one(key, v) };
      break;
    case 'add_node':
      action = { kind: 'add-node', v2: v === 'v2' || item['v2'] === true };
      break;
    case 'remove_node':
      action = { kind: 'remove-node', target: one(key, v), v2: item['v2'] === true };
      break;
    case 'heal':
      action = { kind: 'heal' };
      break;
    case 'figure8':
      if (v !== 'leader' && v !== 'any') issues.add(`${p}.figure8`, `expected leader or any (whom each step crashes), got ${describeValue(v)}`);
      action = {
        kind: 'figure8',
        victim: v === 'any' ? 'any' : 'leader',
        stepMaxUs: item['step'] === undefined ? 13_000 : issues.attempt(0, () => parseDurationUs(item['step'], `${p}.step`)),
        longStepMaxUs: item['long_step'] === undefined ? 100_000 : issues.attempt(0, () => parseDurationUs(item['long_step'], `${p}.long_step`)),
        durationUs,
      };
      break;
    case 'churn': {
      if (v !== 'crash' && v !== 'isolate') issues.add(`${p}.churn`, `expected crash or isolate, got ${describeValue(v)}`);
      action = {
        kind: 'churn',
        action: v === 'isolate' ? 'isolate' : 'crash',
        probability: item['probability'] === undefined ? 0.5 : issues.attempt(0, () => parseProbability(item['probability'], `${p}.probability`)),
        delayMaxUs: item['within'] === undefined ? 10_000 : issues.attempt(0, () => parseDurationUs(item['within'], `${p}.within`)),
        faultUsMax: item['down_max'] === undefined ? 200_000 : issues.attempt(0, () => parseDurationUs(item['down_max'], `${p}.down_max`)),
        durationUs,
      };
      break;
    }
    case 'trigger': {
      if (!(triggerEvents as readonly unknown[]).includes(v)) issues.add(`${p}.trigger`, `expected the moment to wait for, one of ${triggerEvents.join(', ')}, got ${describeValue(v)}`);
      // One action, or a list of actions fired together.
      const raw = item['then'];
      const list = Array.isArray(raw) ? raw : [raw];
      const then: PlainFaultAction[] = [];
      if (list.length === 0) issues.add(`${p}.then`, 'expected at least one action');
      list.forEach((x, i) => {
        const q = Array.isArray(raw) ? `${p}.then[${i}]` : `${p}.then`;
        if (!isPlainObject(x)) {
          issues.add(q, `expected the fault to fire, like { crash: leader, restart_after: 500ms }, got ${describeValue(x)}`);
        } else if (checkKeys(x, q, thenActionKeys, thenModifierKeys, issues)) {
          const a = parseAction(x, q, thenActionKeys, issues);
          if (a !== null && a.kind !== 'trigger') then.push(a);
        }
      });
      const times = item['times'];
      if (times !== undefined && times !== 'all' && !(typeof times === 'number' && Number.isInteger(times) && times >= 1)) {
        issues.add(`${p}.times`, `expected how many moments it fires on (a whole number >= 1) or all, got ${describeValue(times)}`);
      }
      if (then.length === 0 || then.length !== list.length) break;
      action = {
        kind: 'trigger',
        on: v === 'conf-commit' ? 'conf-commit' : 'fast-commit',
        then,
        probability: item['probability'] === undefined ? 1 : issues.attempt(0, () => parseProbability(item['probability'], `${p}.probability`)),
        delayMaxUs: item['within'] === undefined ? 0 : issues.attempt(0, () => parseDurationUs(item['within'], `${p}.within`)),
        times: times === 'all' ? null : typeof times === 'number' && Number.isInteger(times) && times >= 1 ? times : 1,
        durationUs,
      };
      break;
    }
    default:
      break;
  }
  return action;
}

export { SpecError };
