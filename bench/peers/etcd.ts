// etcd clusters on loopback for bench/peers: Debian's etcd-server, installed with apt-get when it is
// absent, n members on free ports, data under a temporary folder, durable (etcd fsyncs its WAL per
// batch by default; --unsafe-no-fsync is never passed), and a client of its JSON gateway
// (POST /v3/kv/put with base64 key and value) over one keep-alive HTTP connection per client.
//
// Every process started here is stopped by down(), and killed on process exit if down() was never
// reached. Each member runs under a small shell watchdog that stops it as soon as this process is
// gone, so that not even a SIGKILL of the benchmark leaves an etcd behind.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { freePorts } from '../../src/node/index.js';

export function etcdBinary(): string | null {
  for (const p of ['/usr/bin/etcd', '/usr/local/bin/etcd']) if (existsSync(p)) return p;
  const r = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p !== '' ? p : null;
}

export function etcdVersion(bin: string): string {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  const m = /etcd Version:\s*(\S+)/.exec(r.stdout);
  return m?.[1] ?? 'unknown';
}

// ensureEtcd installs Debian's etcd-server (and etcd-client) when no etcd is on this machine.
export function ensureEtcd(log: (line: string) => void): string {
  const found = etcdBinary();
  if (found !== null) return found;
  log('etcd not found: apt-get install etcd-server etcd-client');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', 'etcd-server', 'etcd-client']]) {
    const r = spawnSync('apt-get', args, { encoding: 'utf8', env, timeout: 15 * 60_000 });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${r.status ?? '?'}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' ')}`);
  }
  const bin = etcdBinary();
  if (bin === null) throw new Error('etcd-server installed but no etcd binary found');
  return bin;
}

interface HttpResult {
  readonly status: number;
  readonly body: string;
}

function post(port: number, path: string, body: string, agent: Agent | false, timeoutMs: number): Promise<HttpResult> {
  return new Promise<HttpResult>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        timeout: timeoutMs,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from 127.0.0.1:${port}${path} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

export interface EtcdMember {
  readonly index: number;
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
}

// The watchdog: runs etcd in the background, writes its pid, and stops it (TERM, then waits) when
// told to (TERM/INT) or when the process that started it no longer exists.
// A member asked to stop gets 5 s (an etcd leader that lost its peers may wait a long time trying
// to hand over its leadership), then SIGKILL.
const watchdog = [
  'parent=$1; pidfile=$2; shift 2',
  '"$@" &',
  'child=$!',
  'echo "$child" > "$pidfile"',
  'stop() { kill -TERM "$child" 2>/dev/null; i=0; while kill -0 "$child" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; kill -KILL "$child" 2>/dev/null; exit 0; }',
  'trap stop TERM INT',
  'while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 0.5 & wait $!; done',
  'stop',
].join('\n');

interface MemberProcess {
  readonly shell: ChildProcess;
  readonly pidFile: string;
  readonly dataDir: string;
}

// etcdPid reads the member's etcd pid, and only returns it while that pid is still this member's
// etcd (a pid reused by another process must never be signalled).
function etcdPid(m: MemberProcess): number | null {
  try {
    const pid = Number(readFileSync(m.pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return null;
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes('etcd') && cmd.includes(m.dataDir) ? pid : null;
  } catch {
    return null;
  }
}

function killNow(m: MemberProcess): void {
  const pid = etcdPid(m);
  for (const target of [pid, m.shell.pid ?? null]) {
    if (target === null) continue;
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

const live = new Set<MemberProcess>();
process.on('exit', () => {
  for (const m of live) killNow(m);
});

export class EtcdCluster {
  private constructor(
    readonly members: readonly EtcdMember[],
    private readonly procs: MemberProcess[],
    readonly version: string,
  ) {}

  static async up(o: { bin: string; size: number; dir: string; startTimeoutMs?: number; log?: (l: string) => void }): Promise<EtcdCluster> {
    const ports = await freePorts(2 * o.size);
    const members: EtcdMember[] = [];
    for (let i = 0; i < o.size; i++) {
      members.push({ index: i, name: `m${i + 1}`, clientPort: ports[2 * i]!, peerPort: ports[2 * i + 1]!, dataDir: join(o.dir, `m${i + 1}.etcd`) });
    }
    const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(',');
    const token = `frb-bench-${process.pid}-${Date.now()}`;
    const procs: MemberProcess[] = [];
    const cluster = new EtcdCluster(members, procs, etcdVersion(o.bin));
    mkdirSync(o.dir, { recursive: true });
    try {
      for (const m of members) {
        const out = openSync(join(o.dir, `${m.name}.log`), 'a');
        const args = [
          '--name', m.name,
          '--data-dir', m.dataDir,
          '--listen-client-urls', `http://127.0.0.1:${m.clientPort}`,
          '--advertise-client-urls', `http://127.0.0.1:${m.clientPort}`,
          '--listen-peer-urls', `http://127.0.0.1:${m.peerPort}`,
          '--initial-advertise-peer-urls', `http://127.0.0.1:${m.peerPort}`,
          '--initial-cluster', initialCluster,
          '--initial-cluster-token', token,
          '--initial-cluster-state', 'new',
          '--log-level', 'warn',
          '--logger', 'zap',
        ];
        const pidFile = join(o.dir, `${m.name}.pid`);
        const shell = spawn('sh', ['-c', watchdog, 'frb-etcd-watchdog', String(process.pid), pidFile, o.bin, ...args], { stdio: ['ignore', out, out] });
        closeSync(out);
        const mp: MemberProcess = { shell, pidFile, dataDir: m.dataDir };
        live.add(mp);
        shell.once('exit', () => live.delete(mp));
        procs.push(mp);
      }
      await cluster.waitLeader(o.startTimeoutMs ?? 30_000);
      return cluster;
    } catch (err) {
      await cluster.down();
      throw err;
    }
  }

  // status asks member i who leads: { memberId, leaderId } (etcd's uint64 ids as strings).
  async status(i: number, timeoutMs = 1000): Promise<{ memberId: string; leaderId: string }> {
    const r = await post(this.members[i]!.clientPort, '/v3/maintenance/status', '{}', false, timeoutMs);
    if (r.status !== 200) throw new Error(`etcd ${this.members[i]!.name} status: HTTP ${r.status}`);
    const v = JSON.parse(r.body) as { header?: { member_id?: string }; leader?: string };
    return { memberId: String(v.header?.member_id ?? ''), leaderId: String(v.leader ?? '0') };
  }

  // leader returns the index of the member that leads, or -1.
  async leader(): Promise<number> {
    const all = await Promise.all(this.members.map((_m, i) => this.status(i).catch(() => null)));
    for (let i = 0; i < all.length; i++) {
      const s = all[i];
      if (s !== null && s !== undefined && s.leaderId !== '0' && s.leaderId === s.memberId) {
        // Every member that answers must agree.
        if (all.every((x) => x === null || x.leaderId === s.leaderId)) return i;
      }
    }
    return -1;
  }

  async waitLeader(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const p of this.procs) {
        if (p.shell.exitCode !== null) throw new Error(`an etcd member exited during start-up (code ${p.shell.exitCode}); see its log`);
      }
      const l = await this.leader();
      if (l >= 0) return l;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`etcd: no leader within ${timeoutMs} ms`);
  }

  // down stops every member: TERM to its watchdog (which stops etcd and waits for it), SIGKILL to
  // both after graceMs.
  async down(graceMs = 3000): Promise<void> {
    await Promise.all(
      this.procs.map(
        (m) =>
          new Promise<void>((resolve) => {
            const sh = m.shell;
            if (sh.exitCode !== null || sh.signalCode !== null) {
              killNow(m);
              resolve();
              return;
            }
            const t = setTimeout(() => killNow(m), graceMs);
            sh.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            sh.kill('SIGTERM');
          }),
      ),
    );
  }
}

// EtcdPutClient: one client of the JSON gateway of one member, one keep-alive connection, one
// request at a time (a closed-loop client).
export class EtcdPutClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });

  constructor(
    readonly port: number,
    private readonly timeoutMs = 10_000,
  ) {}

  async put(key: string, value: string): Promise<void> {
    const body = `{"key":"${Buffer.from(key).toString('base64')}","value":"${Buffer.from(value).toString('base64')}"}`;
    const r = await post(this.port, '/v3/kv/put', body, this.agent, this.timeoutMs);
    // The gateway answers 200 with a header (revision) once the put is committed and applied.
    if (r.status !== 200 || !r.body.includes('"header"')) throw new Error(`etcd put: HTTP ${r.status} ${r.body.slice(0, 200)}`);
  }

  close(): void {
    this.agent.destroy();
  }
}
