// `frb node --config cluster.json --id N`: run one live node in the foreground until SIGTERM or
// Ctrl-C (then it closes its store and exits 0). A start that fails (bad config, no native uWS,
// a damaged store, a port in use) exits 1 with the reason on one line.

import { Command, InvalidArgumentError, Option } from 'commander';
import { dataDirOf, loadClusterConfig } from '../node/config.js';
import { LiveNode } from '../node/live-node.js';
import type { NodeLogLevel } from '../node/log.js';

function nodeIdArg(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected a node id (a positive integer), got "${value}"`);
  return n;
}

interface NodeCliOptions {
  config: string;
  id: number;
  transport?: 'uws' | 'ws';
  logLevel: NodeLogLevel;
  echo?: boolean;
}

export function nodeCommand(): Command {
  return new Command('node')
    .description('run one live node of a cluster (Raft or Fast Raft over WebSockets, KV state machine, client API, /metrics, /debug/raft)')
    .requiredOption('--config <file>', 'the cluster.json written by frb cluster up')
    .requiredOption('--id <n>', 'this node\'s id in cluster.json', nodeIdArg)
    .addOption(new Option('--transport <kind>', 'override the config\'s transport (ws when no native uWebSockets.js build exists)').choices(['uws', 'ws']))
    .addOption(new Option('--log-level <level>', 'log level of <dataDir>/node-<id>.log').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .option('--echo', 'also print log lines to stderr')
    .action(async (opts: NodeCliOptions) => {
      const config = loadClusterConfig(opts.config);
      const node = await LiveNode.start({
        config,
        dataDir: dataDirOf(config, opts.config),
        nodeId: opts.id,
        ...(opts.transport !== undefined ? { transport: opts.transport } : {}),
        logLevel: opts.logLevel,
      });
      if (opts.echo === true) node.log.echo = true;
      let stopping = false;
      const shutdown = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        node.log.info('stopping', { signal });
        node.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(`frb node ${opts.id}: stop failed: ${(err as Error).message}\n`);
            process.exit(1);
          },
        );
      };
      // Started by a harness that wants no orphans (LocalCluster tiedToThisProcess): leave when
      // it is gone, even if it died without stopping us.
      const parent = Number(process.env['FRB_EXIT_WITH_PID'] ?? '');
      if (Number.isInteger(parent) && parent > 0) {
        setInterval(() => {
          try {
            process.kill(parent, 0);
          } catch {
            shutdown(`process ${parent} that started this node is gone`);
          }
        }, 500).unref();
      }
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('uncaughtException', (err) => {
        node.log.error('fatal', { error: err });
        node.log.close();
        process.stderr.write(`frb node ${opts.id}: fatal: ${err.stack ?? err.message}\n`);
        process.exit(1);
      });
      console.log(`node ${opts.id} of ${config.clusterId} serving on ${config.nodes.find((n) => n.id === opts.id)!.host}:${node.port} (${config.protocol}, ${node.storageKind} storage, ${node.transportKind}); log: ${node.log.file ?? '-'}`);
    });
}
