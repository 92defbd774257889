// Fault injection for the live transport, with the simulator's own model and parser (src/faults):
// an experiment's `network:` means the same in `mode: live` as in `mode: sim`. Faults are applied
// on the sending side: each node decides the fate of the messages it sends (drop, duplicate, how
// long to hold), so one-way cuts and per-direction latencies fall out naturally, and the same spec
// applied to every node gives the whole cluster's network.
//
// The control channel changes the model at run time through `control()`: plain data in (JSON from
// an HTTP POST, say), a plain reply out, bad commands answered with every problem found.

import { Rng } from '../core/rand.js';
import {
  FaultModel,
  SpecError,
  defaultNetworkSpec,
  describeValue,
  isPlainObject,
  networkSpecToPlain,
  newMessageFate,
  parseNetworkSpec,
  parsePartition,
} from '../faults/index.js';
import type { LinkPatch, MessageFate, NetworkSpec, Partition } from '../faults/index.js';

export type ControlCommand =
  | { readonly op: 'get' }
  | { readonly op: 'set'; readonly network: NetworkSpec }
  | { readonly op: 'reset' }
  | { readonly op: 'partition'; readonly partitions: readonly Partition[] }
  | { readonly op: 'heal'; readonly id?: number }
  | { readonly op: 'link'; readonly network: NetworkSpec }
  | { readonly op: 'clear-link'; readonly network: NetworkSpec }
  | { readonly op: 'default'; readonly patch: LinkPatch };

export type ControlReply =
  | { readonly ok: true; readonly ids?: readonly number[]; readonly removed?: number; readonly network: Record<string, unknown> }
  | { readonly ok: false; readonly error: string };

const linkPatchFields: Readonly<Record<string, keyof LinkPatch>> = {
  latency: 'latency', jitter: 'jitterUs', loss: 'loss', duplicate: 'duplicate', reorder: 'reorder', reorder_delay: 'reorderDelayUs',
};

function fail(path: string, message: string): never {
  throw new SpecError([{ path, message }]);
}

// parseControlCommand validates a command; a SpecError lists what is wrong.
//   { op: get }                                    the current network
//   { op: set, network: { latency: 1ms, ... } }    replace the whole network
//   { op: reset }                                  no faults
//   { op: partition, groups: [[1, 2], [3]] }       two-way partition (also isolate: 3, cut: "1->2")
//   { op: heal, id?: 4 }                           remove one partition, or all
//   { op: link, link: "1->2", latency: 5ms, ... }  override one link ("1<->2", "3->*" too)
//   { op: clear-link, link: "1->2" }               drop the overrides of exactly that link
//   { op: default, latency: 1ms, loss: 1% }        change the link every pair starts from
export function parseControlCommand(value: unknown, path = 'control'): ControlCommand {
  if (!isPlainObject(value)) fail(path, `expected a command like { op: partition, groups: [[1, 2], [3]] }, got ${describeValue(value)}`);
  const { op, ...rest } = value;
  switch (op) {
    case 'get':
    case 'reset':
      noOtherFields(rest, [], path);
      return { op };
    case 'set':
      noOtherFields(rest, ['network'], path);
      return { op, network: parseNetworkSpec(rest['network'], `${path}.network`) };
    case 'partition': {
      noOtherFields(rest, ['groups', 'isolate', 'cut'], path);
      return { op, partitions: parsePartition(rest, path) };
    }
    case 'heal': {
      noOtherFields(rest, ['id'], path);
      const id = rest['id'];
      if (id === undefined) return { op };
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 1) fail(`${path}.id`, `expected a partition id, got ${describeValue(id)}`);
      return { op, id };
    }
    case 'link':
    case 'clear-link': {
      const { link, ...patch } = rest;
      if (typeof link !== 'string') fail(`${path}.link`, `expected a link like "1->2", got ${describeValue(link)}`);
      if (op === 'clear-link') noOtherFields(patch, [], path);
      else if (Object.keys(patch).length === 0) fail(path, 'expected link settings like latency: 5ms');
      return { op, network: parseNetworkSpec({ links: { [link]: patch } }, path) };
    }
    case 'default': {
      const spec = parseNetworkSpec(rest, path);
      const patch: LinkPatch = {};
      for (const k of Object.keys(rest)) {
        const field = linkPatchFields[k];
        if (field === undefined) fail(`${path}.${k}`, `unknown field (expected one of: ${Object.keys(linkPatchFields).join(', ')})`);
        (patch as Record<string, unknown>)[field] = spec.link[field];
      }
      return { op, patch };
    }
    default:
      fail(`${path}.op`, `expected one of get, set, reset, partition, heal, link, clear-link, default; got ${describeValue(op)}`);
  }
}

function noOtherFields(obj: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) fail(`${path}.${k}`, allowed.length === 0 ? 'unexpected field' : `unexpected field (expected ${allowed.join(', ')})`);
  }
}

// isActive tells whether a spec can change any message's fate; the transport skips the model
// entirely (no draws, no heap) when it cannot.
export function isActive(spec: NetworkSpec): boolean {
  const l = spec.link;
  const latencyZero = l.latency.dist === 'constant' && l.latency.valueUs === 0;
  return !latencyZero || l.jitterUs > 0 || l.loss > 0 || l.duplicate > 0 || l.reorder > 0 || spec.overrides.length > 0 || spec.partitions.length > 0;
}

export class FaultInjector {
  private model: FaultModel;
  private activeNow: boolean;
  readonly fate: MessageFate = newMessageFate();
  private rng: Rng;

  constructor(
    readonly selfId: number,
    seed: number,
    spec: NetworkSpec = defaultNetworkSpec,
  ) {
    this.rng = new Rng(seed);
    this.model = new FaultModel(spec);
    this.activeNow = isActive(spec);
  }

  get active(): boolean {
    return this.activeNow;
  }

  spec(): NetworkSpec {
    return this.model.spec();
  }

  // decide fills and returns `fate` for one message from this node to `to`.
  decide(to: number): MessageFate {
    return this.model.decide(this.selfId, to, this.rng, this.fate);
  }

  apply(spec: NetworkSpec): void {
    this.model = new FaultModel(spec);
    this.refresh();
  }

  partition(groups: readonly (readonly number[])[]): number {
    const id = this.model.partition(groups);
    this.refresh();
    return id;
  }

  cut(from: number, to: number): number {
    const id = this.model.cut(from, to);
    this.refresh();
    return id;
  }

  heal(id?: number): number {
    const removed = this.model.heal(id);
    this.refresh();
    return removed;
  }

  setLink(from: number | '*', to: number | '*', patch: LinkPatch): void {
    this.model.setLink(from, to, patch);
    this.refresh();
  }

  control(cmd: ControlCommand): ControlReply {
    let ids: number[] | undefined;
    let removed: number | undefined;
    switch (cmd.op) {
      case 'get':
        break;
      case 'set':
        this.model = new FaultModel(cmd.network);
        break;
      case 'reset':
        this.model = new FaultModel(defaultNetworkSpec);
        break;
      case 'partition':
        ids = cmd.partitions.map((p) => (p.kind === 'groups' ? this.model.partition(p.groups) : this.model.cut(p.from, p.to)));
        break;
      case 'heal':
        removed = this.model.heal(cmd.id);
        break;
      case 'link':
        for (const o of cmd.network.overrides) this.model.setLink(o.from, o.to, o.patch);
        break;
      case 'clear-link':
        for (const o of cmd.network.overrides) this.model.clearLink(o.from, o.to);
        break;
      case 'default':
        this.model.setDefault(cmd.patch);
        break;
      default: {
        const unreachable: never = cmd;
        throw new Error(`unhandled control command ${JSON.stringify(unreachable)}`);
      }
    }
    this.refresh();
    const network = networkSpecToPlain(this.model.spec());
    return { ok: true, ...(ids !== undefined ? { ids } : {}), ...(removed !== undefined ? { removed } : {}), network };
  }

  private refresh(): void {
    this.activeNow = isActive(this.model.spec());
  }
}

// controlFromPlain parses and applies in one step, answering errors as data (for a control
// endpoint that must not throw).
export function controlFromPlain(injector: FaultInjector, value: unknown): ControlReply {
  try {
    return injector.control(parseControlCommand(value));
  } catch (err) {
    if (err instanceof SpecError) return { ok: false, error: err.message };
    throw err;
  }
}
