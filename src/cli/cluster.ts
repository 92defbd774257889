// `frb cluster up|status|down`: local clusters of node processes (src/node/cluster.ts).
//
//   frb cluster up --size 5 --protocol fastraft [--storage lmdb] [--dir DIR]
//   frb cluster status --dir DIR [--json]
//   frb cluster down --dir DIR [--purge]
//
// up exits 0 once every node answers and a leader is elected (the nodes keep running in the
// background); status exits 1 when some node is not up; down exits 0 once every node is gone.

import { Command, InvalidArgumentError, Option } from 'commander';
import * as path from 'node:path';
import { protocolNames } from '../core/protocols.js';
import { parseDurationUs, parseNetworkSpec } from '../faults/index.js';
import { LocalCluster, type NodeHealth } from '../node/cluster.js';
import { CLUSTER_FILE } from '../node/config.js';

function intArg(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name}: expected an integer in [${min}, ${max}], got "${value}"`);
    return n;
  };
}

function msArg(value: string): number {
  try {
    const us = parseDurationUs(/^\d+$/.test(value) ? `${value}ms` : value, 'duration');
    if (us < 1000 || us % 1000 !== 0) throw new InvalidArgumentError(`expected a whole number of milliseconds, got "${value}"`);
    return us / 1000;
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err;
    throw new InvalidArgumentError((err as Error).message);
  }
}

interface UpOptions {
  size: number;
  protocol: string;
  storage: 'memory' | 'lmdb';
  sync: boolean;
  dir: string;
  transport: 'uws' | 'ws';
  tick: number;
  electionTicks: number;
  heartbeatTicks: number;
  fast: boolean;
  network?: string;
  timeout: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

function upCommand(): Command {
  return new Command('up')
    .description('start a local cluster: one node process per member on free ports, cluster.json written into --dir')
    .option('--size <n>', 'number of nodes', intArg('--size', 1, 64), 3)
    .addOption(new Option('--protocol <name>', 'protocol').choices(protocolNames()).default('raft'))
    .addOption(new Option('--storage <kind>', 'log storage').choices(['memory', 'lmdb']).default('memory'))
    .option('--no-sync', 'lmdb without fsync (a killed process loses nothing; a machine crash may)')
    .option('--dir <dir>', 'folder for cluster.json, data, logs and pid files', 'cluster')
    .addOption(new Option('--transport <kind>', 'server implementation (ws when no native uWebSockets.js build exists)').choices(['uws', 'ws']).default('uws'))
    .option('--tick <ms>', 'tick length (e.g. 10ms)', msArg, 10)
    .option('--election-ticks <n>', 'ticks without a leader before a follower campaigns', intArg('--election-ticks', 2, 10_000), 10)
    .option('--heartbeat-ticks <n>', 'ticks between heartbeats', intArg('--heartbeat-ticks', 1, 10_000), 1)
    .option('--no-fast', 'fastraft with the fast track disabled (behaves as raft)')
    .option('--network <json>', 'initial injected faults as JSON, e.g. \'{"latency":"2ms"}\'')
    .option('--timeout <ms>', 'wait this long for the nodes and for a leader', msArg, 20_000)
    .addOption(new Option('--log-level <level>', 'node log level').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .action(async (opts: UpOptions) => {
      let network = null;
      if (opts.network !== undefined) {
        let plain: unknown;
        try {
          plain = JSON.parse(opts.network);
        } catch (err) {
          throw new Error(`--network: not valid JSON: ${(err as Error).message}`);
        }
        network = parseNetworkSpec(plain, '--network');
      }
      const started = Date.now();
      const cluster = await LocalCluster.up({
        dir: opts.dir,
        size: opts.size,
        protocol: opts.protocol,
        ...(opts.fast ? {} : { fast: { enabled: false } }),
        storage: opts.storage,
        sync: opts.sync,
        transport: opts.transport,
        tickMs: opts.tick,
        electionTicks: opts.electionTicks,
        heartbeatTicks: opts.heartbeatTicks,
        network,
        healthyTimeoutMs: opts.timeout,
        logLevel: opts.logLevel,
        onProgress: (msg) => console.log(msg),
      });
      printStatus(await cluster.status());
      console.log(`cluster ${cluster.config.clusterId} up in ${Date.now() - started} ms; config: ${cluster.configFile}`);
      console.log(`status: frb cluster status --dir ${opts.dir}    stop: frb cluster down --dir ${opts.dir}`);
    });
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function printStatus(nodes: readonly NodeHealth[]): void {
  const rows = [['node', 'port', 'pid', 'health', 'role', 'term', 'leader', 'commit', 'applied']];
  for (const n of nodes) {
    rows.push([
      String(n.id),
      String(n.port),
      n.pid === null ? '-' : String(n.pid),
      n.health + (n.recovering === true ? ' (recovering)' : ''),
      n.role ?? '-',
      n.term === undefined ? '-' : String(n.term),
      n.leader === undefined ? '-' : String(n.leader),
      n.commit === undefined ? '-' : String(n.commit),
      n.applied === undefined ? '-' : String(n.applied),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => pad(c, widths[i]!)).join('  ').trimEnd());
}

function statusCommand(): Command {
  return new Command('status')
    .description("show each node's health, role, term, leader, commit and applied index")
    .option('--dir <dir>', `folder holding ${CLUSTER_FILE}`, 'cluster')
    .option('--json', 'print JSON')
    .action(async (opts: { dir: string; json?: boolean }) => {
      const cluster = LocalCluster.open(opts.dir);
      const nodes = await cluster.status();
      if (opts.json === true) console.log(JSON.stringify({ clusterId: cluster.config.clusterId, protocol: cluster.config.protocol, nodes }, null, 2));
      else {
        console.log(`cluster ${cluster.config.clusterId} (${cluster.config.protocol}, ${cluster.config.storage} storage) in ${path.resolve(opts.dir)}`);
        printStatus(nodes);
      }
      const notUp = nodes.filter((n) => n.health !== 'up');
      if (notUp.length > 0) {
        if (opts.json !== true) console.error(`frb: ${notUp.length} of ${nodes.length} nodes not up: ${notUp.map((n) => `${n.id} ${n.health}`).join(', ')}`);
        process.exitCode = 1;
      }
    });
}

function downCommand(): Command {
  return new Command('down')
    .description('stop every node of a local cluster (SIGTERM, then SIGKILL after a grace period)')
    .option('--dir <dir>', `folder holding ${CLUSTER_FILE}`, 'cluster')
    .option('--grace <ms>', 'wait this long for a clean exit before SIGKILL', msArg, 3000)
    .option('--purge', 'also delete the data folder and process files')
    .action(async (opts: { dir: string; grace: number; purge?: boolean }) => {
      const cluster = LocalCluster.open(opts.dir);
      const stopped = await cluster.down(opts.grace);
      if (opts.purge === true) cluster.purge();
      console.log(stopped.length === 0 ? `no node of ${cluster.config.clusterId} was running` : `stopped nodes ${stopped.join(', ')} of ${cluster.config.clusterId}${opts.purge === true ? ' and deleted their data' : ''}`);
    });
}

export function clusterCommand(): Command {
  return new Command('cluster')
    .description('start, inspect and stop local clusters of node processes')
    .addCommand(upCommand())
    .addCommand(statusCommand())
    .addCommand(downCommand());
}
