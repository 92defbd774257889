// Protocols are chosen by name. Each is a configuration of (or extension to) the same core, so the
// simulator, the live runtime, the runner and the reports need no change to gain one.

import type { Config } from './raft.js';
import { defaultFastConfig, type FastConfig } from './fast-config.js';

export interface ProtocolOptions {
  // Fast Raft options; ignored by `raft`.
  fast?: Partial<FastConfig>;
}

export interface Protocol {
  readonly name: string;
  readonly description: string;
  // configure returns the core Config for one node of a cluster running this protocol.
  configure(base: Config, options?: ProtocolOptions): Config;
}

const registry = new Map<string, Protocol>();

export function registerProtocol(p: Protocol): void {
  if (registry.has(p.name)) throw new Error(`protocol ${p.name} is already registered`);
  registry.set(p.name, p);
}

export function getProtocol(name: string): Protocol {
  const p = registry.get(name);
  if (p === undefined) {
    throw new Error(`unknown protocol "${name}" (known: ${[...registry.keys()].join(', ')})`);
  }
  return p;
}

export function protocolNames(): string[] {
  return [...registry.keys()];
}

registerProtocol({
  name: 'raft',
  description: 'classic Raft at parity with etcd/raft',
  configure: (base) => ({ ...base, fast: undefined }),
});

registerProtocol({
  name: 'fastraft',
  description: 'Fast Raft: proposers broadcast, fast quorum ceil(3n/4), classic fallback, recovery hints',
  configure: (base, options) => ({ ...base, fast: { ...defaultFastConfig, ...(options?.fast ?? {}) } }),
});
