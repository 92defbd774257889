// Local clusters: node processes on this machine, started from one cluster.json in a folder.
//
//   DIR/cluster.json        the cluster (config.ts); data under its dataDir (DIR/data)
//   DIR/node-N.pid          the running process of node N
//   DIR/node-N.out, .err    its stdout and stderr (a crash's stack trace lands in .err)
//   DIR/data/node-N.log     its structured log (log.ts)
//
// Each node runs as `node dist/src/cli/frb.js node --config DIR/cluster.json --id N`, detached
// (its own process group, so a Ctrl-C in the terminal reaches only whoever manages it), and is
// healthy once its /debug/raft answers. Ports are chosen free at run time by binding port 0 first.
// Faults act on the processes: kill (SIGKILL, or SIGTERM for a clean stop), pause and resume
// (SIGSTOP/SIGCONT), restart; network faults go through each node's control channel.
//
// A pid is only ever signalled after checking that it is still one of this cluster's node
// processes (its command line names this cluster.json and its id): a pid file left behind by a
// process that died must not make us signal whatever reused its pid.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastConfig } from '../core/fast-config.js';
import type { NetworkSpec } from '../faults/index.js';
import {
  CLUSTER_FILE,
  clusterConfigDefaults,
  dataDirOf,
  loadClusterConfig,
  newClusterId,
  newSecret,
  nodeLogFile,
  saveClusterConfig,
  type ClusterConfig,
  type NodeAddress,
  type StorageKind,
  type TransportKind,
} from './config.js';
import { controlPath, signControl } from './control.js';
import type { ClusterTarget } from './client.js';

export class ClusterError extends Error {
  override name = 'ClusterError';
}

export interface ClusterUpOptions {
  readonly dir: string;
  readonly size: number;
  readonly protocol?: string;
  readonly fast?: Partial<FastConfig>;
  readonly storage?: StorageKind;
  readonly sync?: boolean;
  readonly transport?: TransportKind;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  readonly preVote?: boolean;
  readonly checkQuorum?: boolean;
  readonly maxInflightMsgs?: number;
  readonly maxSizePerMsgBytes?: number;
  readonly snapshotEntries?: number;
  readonly snapshotKeepEntries?: number;
  readonly requestTimeoutMs?: number;
  // Initial injected network faults (written into cluster.json).
  readonly network?: NetworkSpec | null;
  readonly host?: string;
  // Wait for every node to answer /debug/raft, and then for a leader, at most this long each.
  readonly healthyTimeoutMs?: number;
  readonly waitLeader?: boolean;
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  readonly onProgress?: (msg: string) => void;
  // The frb entry point the nodes run (default: the one beside this module).
  readonly frbPath?: string;
  // The nodes exit by themselves when this process dies (tests and runs: a harness killed
  // without a chance to clean up leaves no orphans). Off for `frb cluster up`, whose nodes
  // outlive the command.
  readonly tiedToThisProcess?: boolean;
}

export interface NodeHealth {
  readonly id: number;
  readonly port: number;
  readonly pid: number | null;
  // up: answering; paused: stopped by SIGSTOP; unresponsive: running but not answering in time;
  // down: no process.
  readonly health: 'up' | 'paused' | 'unresponsive' | 'down';
  readonly role?: string;
  readonly term?: number;
  readonly leader?: number;
  readonly commit?: number;
  readonly applied?: number;
  readonly recovering?: boolean;
}

const healthPollMs = 50;

// freePorts binds n listeners on port 0 at once (so the n ports differ), reads them, and closes.
export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<import('node:net').Server>((resolve, reject) => {
        const s = createServer();
        s.once('error', reject);
        s.listen(0, host, () => resolve(s));
      }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    if (a === null || typeof a === 'string') throw new ClusterError('could not read a free port');
    return a.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

export function defaultFrbPath(): string {
  return fileURLToPath(new URL('../cli/frb.js', import.meta.url));
}

interface HttpResult {
  status: number;
  body: string;
}

function http(method: 'GET' | 'POST', host: string, port: number, urlPath: string, body: string | null, timeoutMs: number): Promise<HttpResult> {
  return new Promise<HttpResult>((resolve, reject) => {
    const req = httpRequest(
      { host, port, path: urlPath, method, agent: false, timeout: timeoutMs, headers: body === null ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${host}:${port}${urlPath} within ${timeoutMs} ms`)));
    req.on('error', reject);
    if (body !== null) req.write(body);
    req.end();
  });
}

export async function httpGetJson(host: string, port: number, urlPath: string, timeoutMs = 1000): Promise<Record<string, unknown>> {
  const r = await http('GET', host, port, urlPath, null, timeoutMs);
  if (r.status !== 200) throw new ClusterError(`GET ${urlPath} on ${host}:${port}: HTTP ${r.status}`);
  return JSON.parse(r.body) as Record<string, unknown>;
}

export async function httpGetText(host: string, port: number, urlPath: string, timeoutMs = 1000): Promise<string> {
  const r = await http('GET', host, port, urlPath, null, timeoutMs);
  if (r.status !== 200) throw new ClusterError(`GET ${urlPath} on ${host}:${port}: HTTP ${r.status}`);
  return r.body;
}

// procState is the state letter of /proc/<pid>/stat (R, S, T stopped, Z zombie...), or null.
function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

function procCmdline(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return null;
  }
}

function tail(file: string, lines: number): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd();
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export class LocalCluster {
  readonly dir: string;
  readonly configFile: string;
  readonly config: ClusterConfig;
  readonly dataDir: string;
  readonly frbPath: string;
  private readonly children = new Map<number, ChildProcess>();
  private readonly exits = new Map<number, { code: number | null; signal: string | null }>();
  private readonly logLevel: string | undefined;
  private readonly transportOverride: TransportKind | undefined;
  private readonly tied: boolean;

  private constructor(dir: string, opts: { frbPath?: string; logLevel?: string; transport?: TransportKind; tiedToThisProcess?: boolean } = {}) {
    this.dir = path.resolve(dir);
    this.configFile = path.join(this.dir, CLUSTER_FILE);
    this.config = loadClusterConfig(this.configFile);
    this.dataDir = dataDirOf(this.config, this.configFile);
    this.frbPath = opts.frbPath ?? defaultFrbPath();
    this.logLevel = opts.logLevel;
    this.transportOverride = opts.transport;
    this.tied = opts.tiedToThisProcess ?? false;
  }

  // open attaches to the cluster described in dir (running or not).
  static open(dir: string, opts: { frbPath?: string; tiedToThisProcess?: boolean } = {}): LocalCluster {
    return new LocalCluster(dir, opts);
  }

  // up writes a fresh cluster.json into opts.dir, starts every node and waits until each answers
  // and (unless waitLeader is false) a leader is elected. On failure every process it started is
  // stopped before the error is thrown.
  static async up(opts: ClusterUpOptions): Promise<LocalCluster> {
    const dir = path.resolve(opts.dir);
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, CLUSTER_FILE);
    if (existsSync(file)) {
      let running: number[] = [];
      try {
        running = LocalCluster.open(dir).runningIds();
      } catch {
        // An unreadable cluster.json is replaced.
      }
      if (running.length > 0) throw new ClusterError(`a cluster is already running in ${dir} (nodes ${running.join(', ')}); stop it with: frb cluster down --dir ${dir}`);
    }
    if (!Number.isInteger(opts.size) || opts.size < 1) throw new ClusterError(`size must be a positive integer, got ${opts.size}`);
    const host = opts.host ?? '127.0.0.1';
    const progress = opts.onProgress ?? (() => {});
    const ports = await freePorts(opts.size, host);
    const nodes: NodeAddress[] = ports.map((port, i) => ({ id: i + 1, host, port }));
    const config: ClusterConfig = {
      schema: 1,
      clusterId: newClusterId(),
      secret: newSecret(),
      protocol: opts.protocol ?? clusterConfigDefaults.protocol,
      fast: opts.fast ?? {},
      storage: opts.storage ?? clusterConfigDefaults.storage,
      sync: opts.sync ?? clusterConfigDefaults.sync,
      dataDir: 'data',
      tickMs: opts.tickMs ?? clusterConfigDefaults.tickMs,
      electionTicks: opts.electionTicks ?? clusterConfigDefaults.electionTicks,
      heartbeatTicks: opts.heartbeatTicks ?? clusterConfigDefaults.heartbeatTicks,
      preVote: opts.preVote ?? clusterConfigDefaults.preVote,
      checkQuorum: opts.checkQuorum ?? clusterConfigDefaults.checkQuorum,
      maxSizePerMsgBytes: opts.maxSizePerMsgBytes ?? clusterConfigDefaults.maxSizePerMsgBytes,
      maxInflightMsgs: opts.maxInflightMsgs ?? clusterConfigDefaults.maxInflightMsgs,
      snapshotEntries: opts.snapshotEntries ?? clusterConfigDefaults.snapshotEntries,
      snapshotKeepEntries: opts.snapshotKeepEntries ?? clusterConfigDefaults.snapshotKeepEntries,
      requestTimeoutMs: opts.requestTimeoutMs ?? clusterConfigDefaults.requestTimeoutMs,
      transport: opts.transport ?? clusterConfigDefaults.transport,
      network: opts.network ?? null,
      nodes,
    };
    saveClusterConfig(file, config);
    const cluster = new LocalCluster(dir, {
      ...(opts.frbPath !== undefined ? { frbPath: opts.frbPath } : {}),
      ...(opts.logLevel !== undefined ? { logLevel: opts.logLevel } : {}),
      ...(opts.tiedToThisProcess !== undefined ? { tiedToThisProcess: opts.tiedToThisProcess } : {}),
    });
    try {
      progress(`starting ${opts.size} ${config.protocol} nodes (${config.storage} storage, ${config.transport}) on ${host}:${ports.join(',')}`);
      for (const n of nodes) cluster.spawn(n.id);
      const timeoutMs = opts.healthyTimeoutMs ?? 20_000;
      await Promise.all(nodes.map((n) => cluster.waitHealthy(n.id, timeoutMs)));
      progress('every node answers');
      if (opts.waitLeader !== false) {
        const lead = await cluster.waitLeader(timeoutMs);
        progress(`node ${lead} is the leader`);
      }
    } catch (err) {
      await cluster.down().catch(() => {});
      throw err;
    }
    return cluster;
  }

  get ids(): number[] {
    return this.config.nodes.map((n) => n.id);
  }

  address(id: number): NodeAddress {
    const n = this.config.nodes.find((x) => x.id === id);
    if (n === undefined) throw new ClusterError(`no node ${id} in ${this.configFile}`);
    return n;
  }

  target(): ClusterTarget {
    return { clusterId: this.config.clusterId, secret: this.config.secret, nodes: this.config.nodes };
  }

  pidFile(id: number): string {
    return path.join(this.dir, `node-${id}.pid`);
  }

  logFile(id: number): string {
    return nodeLogFile(this.dataDir, id);
  }

  // spawn starts node id's process (not waiting for it to serve) and returns its pid.
  spawn(id: number): number {
    this.address(id);
    if (this.pid(id) !== null) throw new ClusterError(`node ${id} is already running (pid ${this.pid(id)})`);
    if (!existsSync(this.frbPath)) throw new ClusterError(`${this.frbPath} does not exist: build first (npx tsc -p tsconfig.json)`);
    const out = openSync(path.join(this.dir, `node-${id}.out`), 'a');
    const err = openSync(path.join(this.dir, `node-${id}.err`), 'a');
    // FRB_NODE_EXEC_ARGV passes Node options to the node processes (e.g. "--cpu-prof
    // --cpu-prof-dir=/tmp/prof" to profile them; NODE_OPTIONS refuses those).
    const execArgv = (process.env['FRB_NODE_EXEC_ARGV'] ?? '').split(' ').filter((a) => a !== '');
    const args = [...execArgv, this.frbPath, 'node', '--config', this.configFile, '--id', String(id)];
    if (this.transportOverride !== undefined) args.push('--transport', this.transportOverride);
    if (this.logLevel !== undefined) args.push('--log-level', this.logLevel);
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', out, err], env: { ...process.env, FRB_NODE: String(id), FRB_EXIT_WITH_PID: this.tied ? String(process.pid) : (process.env['FRB_EXIT_WITH_PID'] ?? '') } });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    const pid = child.pid;
    if (pid === undefined) throw new ClusterError(`could not start node ${id}`);
    child.unref();
    this.children.set(id, child);
    this.exits.delete(id);
    child.on('exit', (code, signal) => {
      this.exits.set(id, { code, signal });
      if (this.children.get(id) === child) this.children.delete(id);
    });
    writeFileSync(this.pidFile(id), `${pid}\n`);
    return pid;
  }

  // pid is the pid of node id's running process, or null (no pid file, the process is gone, or
  // the pid now belongs to another program).
  pid(id: number): number | null {
    let pid: number;
    try {
      pid = Number(readFileSync(this.pidFile(id), 'utf8').trim());
    } catch {
      return null;
    }
    if (!Number.isInteger(pid) || pid <= 0) return null;
    const state = procState(pid);
    if (state === null || state === 'Z' || state === 'X') return null;
    const cmd = procCmdline(pid);
    if (cmd === null || !cmd.includes(this.configFile) || cmd[cmd.indexOf('--id') + 1] !== String(id)) return null;
    return pid;
  }

  runningIds(): number[] {
    return this.ids.filter((id) => this.pid(id) !== null);
  }

  isPaused(id: number): boolean {
    const pid = this.pid(id);
    return pid !== null && procState(pid) === 'T';
  }

  // exitOf tells how a process this object started ended (null: still running or not ours).
  exitOf(id: number): { code: number | null; signal: string | null } | null {
    return this.exits.get(id) ?? null;
  }

  private signal(id: number, sig: NodeJS.Signals): boolean {
    const pid = this.pid(id);
    if (pid === null) return false;
    try {
      process.kill(pid, sig);
      return true;
    } catch {
      return false;
    }
  }

  // kill sends SIGKILL (a crash: nothing is flushed) and waits until the process is gone.
  async kill(id: number, timeoutMs = 5000): Promise<boolean> {
    const pid = this.pid(id);
    if (pid === null) return false;
    this.signal(id, 'SIGKILL');
    await this.waitGone(id, pid, timeoutMs);
    return true;
  }

  // stop asks for a clean exit (SIGTERM: the node closes its store) and kills after graceMs.
  async stop(id: number, graceMs = 3000): Promise<boolean> {
    const pid = this.pid(id);
    if (pid === null) return false;
    if (procState(pid) === 'T') this.signal(id, 'SIGCONT');
    this.signal(id, 'SIGTERM');
    if (!(await this.waitGone(id, pid, graceMs, false))) {
      this.signal(id, 'SIGKILL');
      await this.waitGone(id, pid, 5000);
    }
    return true;
  }

  pause(id: number): boolean {
    return this.signal(id, 'SIGSTOP');
  }

  resume(id: number): boolean {
    return this.signal(id, 'SIGCONT');
  }

  // start spawns node id and waits until it answers.
  async start(id: number, timeoutMs = 20_000): Promise<void> {
    this.spawn(id);
    await this.waitHealthy(id, timeoutMs);
  }

  async restart(id: number, timeoutMs = 20_000): Promise<void> {
    if (this.pid(id) !== null) await this.kill(id);
    await this.start(id, timeoutMs);
  }

  private async waitGone(id: number, pid: number, timeoutMs: number, mustGo = true): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const st = procState(pid);
      if (st === null || st === 'Z' || st === 'X') {
        try {
          unlinkSync(this.pidFile(id));
        } catch {
          // already gone
        }
        // Let the exit event of a child of ours be delivered (and the zombie reaped).
        if (st === 'Z' && this.children.has(id)) await new Promise((r) => setTimeout(r, 10));
        return true;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    if (mustGo) throw new ClusterError(`node ${id} (pid ${pid}) did not exit within ${timeoutMs} ms`);
    return false;
  }

  // waitHealthy polls /debug/raft until it answers; fails early, with the node's last words, if
  // the process exits.
  async waitHealthy(id: number, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const a = this.address(id);
    const deadline = Date.now() + timeoutMs;
    let lastErr = '';
    while (Date.now() < deadline) {
      const exit = this.exits.get(id);
      if (exit !== undefined || (this.children.get(id) === undefined && this.pid(id) === null)) {
        const why = tail(path.join(this.dir, `node-${id}.err`), 5) || tail(this.logFile(id), 3);
        throw new ClusterError(`node ${id} exited while starting${exit !== undefined ? ` (code ${exit.code}, signal ${exit.signal})` : ''}: ${why.split('\n').filter((l) => l.trim() !== '').slice(-1)[0] ?? 'no output'}`);
      }
      try {
        return await httpGetJson(a.host, a.port, '/debug/raft', 500);
      } catch (err) {
        lastErr = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, healthPollMs));
    }
    throw new ClusterError(`node ${id} did not answer on ${a.host}:${a.port} within ${timeoutMs} ms (${lastErr})`);
  }

  async debugRaft(id: number, timeoutMs = 1000): Promise<Record<string, unknown>> {
    const a = this.address(id);
    return httpGetJson(a.host, a.port, '/debug/raft', timeoutMs);
  }

  async debugVars(id: number, timeoutMs = 2000): Promise<Record<string, unknown>> {
    const a = this.address(id);
    return httpGetJson(a.host, a.port, '/debug/vars', timeoutMs);
  }

  async metrics(id: number, timeoutMs = 2000): Promise<string> {
    const a = this.address(id);
    return httpGetText(a.host, a.port, '/metrics', timeoutMs);
  }

  // leader returns the leader that the running nodes agree on (the highest term's), or 0.
  async leader(ids: readonly number[] = this.ids): Promise<number> {
    let best = 0;
    let bestTerm = -1;
    await Promise.all(
      ids.map(async (id) => {
        if (this.isPaused(id)) return;
        try {
          const s = await this.debugRaft(id, 500);
          const term = Number(s['term']);
          if (s['role'] === 'leader' && term > bestTerm) {
            best = id;
            bestTerm = term;
          }
        } catch {
          // down or slow: not a leader we can use
        }
      }),
    );
    return best;
  }

  // waitLeader waits until some node leads and the running nodes that answer know it.
  async waitLeader(timeoutMs = 20_000, among: readonly number[] = this.ids): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const lead = await this.leader(among);
      if (lead !== 0) return lead;
      await new Promise((r) => setTimeout(r, healthPollMs));
    }
    throw new ClusterError(`no leader elected within ${timeoutMs} ms`);
  }

  // control sends a signed network-fault command to one node; resolves with its reply.
  async control(id: number, command: unknown, timeoutMs = 2000): Promise<Record<string, unknown>> {
    const a = this.address(id);
    const body = JSON.stringify(signControl(this.config.secret, this.config.clusterId, id, command));
    const r = await http('POST', a.host, a.port, controlPath, body, timeoutMs);
    let reply: Record<string, unknown>;
    try {
      reply = JSON.parse(r.body) as Record<string, unknown>;
    } catch {
      throw new ClusterError(`control on node ${id}: HTTP ${r.status}: ${r.body.slice(0, 200)}`);
    }
    if (reply['ok'] !== true) throw new ClusterError(`control on node ${id}: ${String(reply['error'] ?? `HTTP ${r.status}`)}`);
    return reply;
  }

  // controlAll sends a command to every running, unpaused node; returns the ids it reached.
  async controlAll(command: unknown, timeoutMs = 2000): Promise<number[]> {
    const reached: number[] = [];
    await Promise.all(
      this.ids.map(async (id) => {
        if (this.pid(id) === null || this.isPaused(id)) return;
        try {
          await this.control(id, command, timeoutMs);
          reached.push(id);
        } catch {
          // A node that went down misses it; whoever restarts it sends the network again.
        }
      }),
    );
    return reached.sort((a, b) => a - b);
  }

  async status(timeoutMs = 1000): Promise<NodeHealth[]> {
    return Promise.all(
      this.config.nodes.map(async (n): Promise<NodeHealth> => {
        const pid = this.pid(n.id);
        if (pid === null) return { id: n.id, port: n.port, pid: null, health: 'down' };
        if (procState(pid) === 'T') return { id: n.id, port: n.port, pid, health: 'paused' };
        try {
          const s = await httpGetJson(n.host, n.port, '/debug/raft', timeoutMs);
          return {
            id: n.id,
            port: n.port,
            pid,
            health: 'up',
            role: String(s['role']),
            term: Number(s['term']),
            leader: Number(s['leader']),
            commit: Number(s['commit']),
            applied: Number(s['applied']),
            recovering: s['recovering'] === true,
          };
        } catch {
          return { id: n.id, port: n.port, pid, health: 'unresponsive' };
        }
      }),
    );
  }

  // down stops every node of the cluster: SIGCONT for paused ones, SIGTERM, SIGKILL after
  // graceMs. Returns the ids it stopped.
  async down(graceMs = 2000): Promise<number[]> {
    const stopped: number[] = [];
    await Promise.all(
      this.ids.map(async (id) => {
        if (await this.stop(id, graceMs)) stopped.push(id);
      }),
    );
    // Children of ours that are somehow still there (a pid file removed by hand) go too.
    for (const [id, child] of this.children) {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          child.kill('SIGKILL');
        } catch {
          // gone
        }
        if (!stopped.includes(id)) stopped.push(id);
      }
    }
    return stopped.sort((a, b) => a - b);
  }

  // purge deletes the data folder and the process files (after down).
  purge(): void {
    if (this.runningIds().length > 0) throw new ClusterError('the cluster is running; stop it first');
    rmSync(this.dataDir, { recursive: true, force: true });
    for (const id of this.ids) {
      for (const ext of ['pid', 'out', 'err']) rmSync(path.join(this.dir, `node-${id}.${ext}`), { force: true });
    }
  }
}
