// The markdown of bench:peers (bench/peers/RESULTS.md, and the README's Performance section): how
// the figures were obtained, one table for a single client (latency), one for 64 clients
// (throughput), and the project's goals for classic Raft against etcd, each said plainly as met or
// not yet.

export interface PeerRow {
  readonly system: string;
  readonly size: number;
  readonly clients: number;
  readonly attach: 'leader' | 'follower';
  readonly p50Us: number;
  readonly p99Us: number;
  readonly p999Us: number;
  readonly opsPerSec: number;
  readonly count: number;
  readonly failures: number;
  readonly fastPathRatio: number | null;
}

export interface PeerMeta {
  readonly date: string;
  readonly machine: string;
  readonly node: string;
  readonly commit: string;
  readonly command: string;
  readonly versions: readonly string[];
  readonly durationS: number;
  readonly warmupS: number;
  readonly repeat: number;
  readonly loadBefore: number;
  readonly loadAfter: number;
  readonly cores: number;
  readonly resultsDir: string;
}

export interface Goal {
  readonly what: string;
  readonly size: number;
  readonly attach: 'leader' | 'follower';
  readonly raft: number;
  readonly etcd: number;
  readonly met: boolean;
  readonly text: string;
}

function ms(us: number): string {
  return (us / 1000).toFixed(us < 10_000 ? 2 : 1);
}

function ops(x: number): string {
  return String(Math.round(x));
}

const systemName: Record<string, string> = { etcd: 'etcd', raft: 'frb Raft', fastraft: 'frb Fast Raft' };

function sortRows(rows: readonly PeerRow[]): PeerRow[] {
  const order = ['etcd', 'raft', 'fastraft'];
  return [...rows].sort((a, b) => a.size - b.size || (a.attach === b.attach ? 0 : a.attach === 'leader' ? -1 : 1) || order.indexOf(a.system) - order.indexOf(b.system));
}

function find(rows: readonly PeerRow[], system: string, size: number, clients: number, attach: string): PeerRow | undefined {
  return rows.find((r) => r.system === system && r.size === size && r.clients === clients && r.attach === attach);
}

// goalsOf: classic Raft's p50 with one client below etcd's, and its throughput with the most clients
// above etcd's, per size and placement.
export function goalsOf(rows: readonly PeerRow[]): Goal[] {
  const goals: Goal[] = [];
  const sizes = [...new Set(rows.map((r) => r.size))].sort((a, b) => a - b);
  const counts = [...new Set(rows.map((r) => r.clients))].sort((a, b) => a - b);
  const one = counts[0];
  const many = counts[counts.length - 1];
  for (const size of sizes) {
    for (const attach of ['leader', 'follower'] as const) {
      if (one !== undefined) {
        const r = find(rows, 'raft', size, one, attach);
        const e = find(rows, 'etcd', size, one, attach);
        if (r !== undefined && e !== undefined && r.count > 0 && e.count > 0) {
          const met = r.p50Us < e.p50Us;
          const pct = ((r.p50Us - e.p50Us) / e.p50Us) * 100;
          goals.push({
            what: `p50 latency, ${one} client`,
            size,
            attach,
            raft: r.p50Us,
            etcd: e.p50Us,
            met,
            text: `${size} nodes, ${one} client on the ${attach}: p50 ${ms(r.p50Us)} ms vs etcd ${ms(e.p50Us)} ms — ${met ? `met (${Math.abs(pct).toFixed(0)}% lower)` : `not yet (${pct.toFixed(0)}% higher)`}`,
          });
        }
      }
      if (many !== undefined && many !== one) {
        const r = find(rows, 'raft', size, many, attach);
        const e = find(rows, 'etcd', size, many, attach);
        if (r !== undefined && e !== undefined && e.opsPerSec > 0) {
          const met = r.opsPerSec > e.opsPerSec;
          const pct = ((r.opsPerSec - e.opsPerSec) / e.opsPerSec) * 100;
          goals.push({
            what: `throughput, ${many} clients`,
            size,
            attach,
            raft: r.opsPerSec,
            etcd: e.opsPerSec,
            met,
            text: `${size} nodes, ${many} clients on the ${attach}: ${ops(r.opsPerSec)} ops/s vs etcd ${ops(e.opsPerSec)} ops/s — ${met ? `met (${pct.toFixed(0)}% more)` : `not yet (${Math.abs(pct).toFixed(0)}% less)`}`,
          });
        }
      }
    }
  }
  return goals;
}

export function renderMarkdown(rows: readonly PeerRow[], meta: PeerMeta): string {
  const out: string[] = [];
  out.push('# bench:peers — etcd, frb Raft and frb Fast Raft on one machine');
  out.push('');
  out.push(`Measured ${meta.date} on ${meta.machine}; Node ${meta.node}; ${meta.versions.join(', ')}; commit ${meta.commit}.`);
  out.push(
    `Machine load average (1 min) ${meta.loadBefore} before and ${meta.loadAfter} after the run` +
      (Math.max(meta.loadBefore, meta.loadAfter) > meta.cores
        ? ` — above its ${meta.cores} cores: other work shared the CPUs, and every latency here includes waiting for one.`
        : '.'),
  );
  out.push('');
  out.push('```sh');
  out.push(meta.command);
  out.push('```');
  out.push('');
  out.push(
    `Every figure: one cluster per system and size on loopback, closed-loop clients with one put outstanding each, ` +
      `16-byte keys, 128-byte values, durable storage on every side (etcd's WAL with fsync; LMDB with sync on), ` +
      `${meta.durationS} s measured after a ${meta.warmupS} s warm-up per scenario` +
      (meta.repeat > 1 ? ` (each figure the median of ${meta.repeat} repetitions)` : '') +
      `; the clusters of one size are up together and the systems take turns, scenario by scenario, so that a busy ` +
      `minute of the machine does not fall on one system only; latency from send to acknowledgement ` +
      `at the node the client is attached to. etcd is driven through its JSON gateway (POST /v3/kv/put, one keep-alive ` +
      `HTTP connection per client), frb through its WebSocket client API (one connection per client); the load generator ` +
      `is the same code for all (bench/peers/load.ts). Results folder: \`${meta.resultsDir}\` (with \`frb report\`).`,
  );
  out.push('');
  const sorted = sortRows(rows);
  const counts = [...new Set(rows.map((r) => r.clients))].sort((a, b) => a - b);
  const one = counts[0];
  if (one !== undefined) {
    out.push(`### ${one} client${one > 1 ? 's' : ''}: commit latency`);
    out.push('');
    out.push('| system | nodes | attached to | p50 ms | p99 ms | p99.9 ms | ops/s |');
    out.push('| --- | ---: | --- | ---: | ---: | ---: | ---: |');
    for (const r of sorted.filter((x) => x.clients === one)) {
      out.push(`| ${systemName[r.system] ?? r.system} | ${r.size} | ${r.attach} | ${ms(r.p50Us)} | ${ms(r.p99Us)} | ${ms(r.p999Us)} | ${ops(r.opsPerSec)}${r.failures > 0 ? ` (${r.failures} failed)` : ''} |`);
    }
    out.push('');
  }
  for (const many of counts.slice(1)) {
    out.push(`### ${many} clients: throughput`);
    out.push('');
    out.push('| system | nodes | attached to | ops/s | p50 ms | p99 ms |');
    out.push('| --- | ---: | --- | ---: | ---: | ---: |');
    for (const r of sorted.filter((x) => x.clients === many)) {
      out.push(`| ${systemName[r.system] ?? r.system} | ${r.size} | ${r.attach} | ${ops(r.opsPerSec)}${r.failures > 0 ? ` (${r.failures} failed)` : ''} | ${ms(r.p50Us)} | ${ms(r.p99Us)} |`);
    }
    out.push('');
  }
  const fast = sorted.filter((r) => r.fastPathRatio !== null);
  if (fast.length > 0) {
    out.push(
      `Fast Raft's fast-path ratio: ${fast.map((r) => `${r.size} nodes, ${r.clients} on ${r.attach}: ${(100 * r.fastPathRatio!).toFixed(0)}%`).join('; ')}.`,
    );
    out.push('');
  }
  const goals = goalsOf(rows);
  if (goals.length > 0) {
    out.push('### Goals for classic Raft on this machine: p50 below etcd, throughput above etcd');
    out.push('');
    for (const g of goals) out.push(`- ${g.text}`);
    const missed = goals.filter((g) => !g.met).length;
    out.push('');
    out.push(missed === 0 ? 'Every goal is met on this run.' : `${missed} of ${goals.length} goals not yet met on this run.`);
    out.push('');
  }
  return `${out.join('\n')}`;
}
