// The numbers behind the charts, as tables: one row per run, one row per (matrix point, series)
// aggregated over repeats, and the methodology (how the figures were obtained, per STYLE.md:
// mode, durability, placement, payload, offered vs achieved rate, machine, commit). Tables are
// plain strings so that HTML, Markdown (the notebook) and the terminal render the same figures.

import type { RunSummary } from '../metrics/results-format.js';
import type { LoadedResults } from './load.js';
import type { ChartModel } from './model.js';
import { median } from './model.js';

export interface Column {
  readonly label: string;
  readonly numeric: boolean;
}

export interface Table {
  readonly title: string;
  readonly columns: readonly Column[];
  readonly rows: ReadonlyArray<readonly string[]>;
  // Optional CSS class per cell (the HTML marks worse / better deltas).
  readonly classes?: ReadonlyArray<readonly string[]>;
}

export function fmtMs(us: number): string {
  const ms = us / 1000;
  if (ms === 0) return '0';
  if (ms >= 100) return ms.toFixed(1);
  if (ms >= 10) return ms.toFixed(2);
  return ms.toFixed(3);
}

export function fmtNum(x: number, digits = 1): string {
  if (!Number.isFinite(x)) return String(x);
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function fmtPct(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

const col = (label: string, numeric = true): Column => ({ label, numeric });

export function runTable(model: ChartModel): Table {
  const columns = [
    col('run', false), col('series', false), col('point', false), col('rep'),
    col('commits'), col('p50 ms'), col('p90 ms'), col('p99 ms'), col('p99.9 ms'), col('p99.99 ms'), col('max ms'), col('mean ms'),
    col('offered /s'), col('achieved /s'), col('fast path'), col('msgs/commit'), col('bytes/commit'),
    col('elections'), col('gap ms'), col('unacked'),
  ];
  const order = new Map(model.points.map((k, i) => [k, i]));
  const runs = [...model.runs].sort(
    (a, b) =>
      order.get(a.pointKey)! - order.get(b.pointKey)! ||
      model.series.indexOf(a.series) - model.series.indexOf(b.series) ||
      a.rep - b.rep,
  );
  const rows = runs.map((r) => {
    const s = r.run.summary;
    const l = s.commitLatency;
    return [
      r.runId, r.series, r.pointLabel, String(r.rep),
      fmtNum(l.count, 0), fmtMs(l.p50Us), fmtMs(l.p90Us), fmtMs(l.p99Us), fmtMs(l.p999Us), fmtMs(l.p9999Us), fmtMs(l.maxUs), fmtMs(l.meanUs),
      fmtNum(s.throughput.offeredPerSec), fmtNum(s.throughput.achievedPerSec) + (s.throughput.saturated ? ' (saturated)' : ''),
      s.fast !== null ? fmtPct(s.fast.fastPathRatio) : '-',
      fmtNum(s.messages.perCommit, 2), fmtNum(s.messages.bytesPerCommit, 0),
      String(s.elections), fmtMs(s.availabilityGapUs), fmtNum(s.unacknowledged, 0),
    ];
  });
  return { title: 'Runs', columns, rows };
}

export function pointTable(model: ChartModel): Table {
  const columns = [
    col('point', false), col('series', false), col('runs'),
    col('p50 ms'), col('p99 ms'), col('p99.9 ms'), col('max ms'), col('achieved /s'), col('fast path'), col('msgs/commit'), col('bytes/commit'),
  ];
  const rows: string[][] = [];
  for (const key of model.points) {
    for (const series of model.series) {
      const runs = model.runs.filter((r) => r.pointKey === key && r.series === series);
      if (runs.length === 0) continue;
      const med = (f: (r: (typeof runs)[number]) => number): number => median(runs.map(f));
      const fastRuns = runs.filter((r) => r.run.summary.fast !== null);
      rows.push([
        model.pointLabels.get(key)!, series, String(runs.length),
        fmtMs(med((r) => r.run.summary.commitLatency.p50Us)),
        fmtMs(med((r) => r.run.summary.commitLatency.p99Us)),
        fmtMs(med((r) => r.run.summary.commitLatency.p999Us)),
        fmtMs(med((r) => r.run.summary.commitLatency.maxUs)),
        fmtNum(med((r) => r.run.summary.throughput.achievedPerSec)),
        fastRuns.length > 0 ? fmtPct(median(fastRuns.map((r) => r.run.summary.fast!.fastPathRatio))) : '-',
        fmtNum(med((r) => r.run.summary.messages.perCommit), 2),
        fmtNum(med((r) => r.run.summary.messages.bytesPerCommit), 0),
      ]);
    }
  }
  return { title: `Per matrix point (median over repeats)`, columns, rows };
}

// headlineTable answers the experiment's usual question directly: at each matrix point, how each
// series compares with the first (raft, the baseline), on medians over repeats. Null when there
// is only one series.
export function headlineTable(model: ChartModel): Table | null {
  if (model.series.length < 2) return null;
  const base = model.series[0]!;
  const columns = [
    col('point', false), col('series', false),
    col(`p50 ms`), col(`p50 vs ${base}`), col(`p99 ms`), col(`p99 vs ${base}`),
    col('fast path'), col('msgs/commit'), col(`msgs vs ${base}`),
  ];
  const rows: string[][] = [];
  const rel = (x: number, b: number): string => (b === 0 ? '-' : `${x >= b ? '+' : ''}${(((x - b) / b) * 100).toFixed(1)}%`);
  for (const key of model.points) {
    const of = (series: string): ReadonlyArray<ChartModel['runs'][number]> => model.runs.filter((r) => r.pointKey === key && r.series === series);
    const baseRuns = of(base);
    if (baseRuns.length === 0) continue;
    const med = (runs: ReadonlyArray<ChartModel['runs'][number]>, f: (s: RunSummary) => number): number => median(runs.map((r) => f(r.run.summary)));
    const bP50 = med(baseRuns, (s) => s.commitLatency.p50Us);
    const bP99 = med(baseRuns, (s) => s.commitLatency.p99Us);
    const bMsgs = med(baseRuns, (s) => s.messages.perCommit);
    for (const series of model.series.slice(1)) {
      const runs = of(series);
      if (runs.length === 0) continue;
      const p50 = med(runs, (s) => s.commitLatency.p50Us);
      const p99 = med(runs, (s) => s.commitLatency.p99Us);
      const msgs = med(runs, (s) => s.messages.perCommit);
      const fast = runs.filter((r) => r.run.summary.fast !== null);
      rows.push([
        model.pointLabels.get(key)!, series,
        fmtMs(p50), rel(p50, bP50), fmtMs(p99), rel(p99, bP99),
        fast.length > 0 ? fmtPct(median(fast.map((r) => r.run.summary.fast!.fastPathRatio))) : '-',
        fmtNum(msgs, 2), rel(msgs, bMsgs),
      ]);
    }
  }
  return rows.length === 0 ? null : { title: `Against ${base} at each point (median over repeats; negative is lower)`, columns, rows };
}

function distinct(values: readonly string[]): string {
  const uniq = [...new Set(values)];
  return uniq.length === 0 ? '-' : uniq.join('; ');
}

export interface MethodologyItem {
  readonly label: string;
  readonly value: string;
}

export function methodology(set: LoadedResults): MethodologyItem[] {
  const m = set.manifest;
  const sums = set.runs.map((r) => r.summary);
  const offered = sums.map((s) => s.throughput.offeredPerSec);
  const achieved = sums.map((s) => s.throughput.achievedPerSec);
  const saturated = sums.filter((s) => s.throughput.saturated).length;
  const range = (xs: number[]): string => {
    const lo = Math.min(...xs);
    const hi = Math.max(...xs);
    return lo === hi ? `${fmtNum(lo)}/s` : `${fmtNum(lo)}–${fmtNum(hi)}/s`;
  };
  const windows = sums.map((s) => (s.window.endUs - s.window.startUs) / 1e6);
  return [
    { label: 'experiment', value: `${m.experiment.name}${m.experiment.file !== null ? ` (${m.experiment.file})` : ''}` },
    { label: 'mode', value: m.mode === 'sim' ? 'sim (discrete-event simulator, virtual time)' : 'live (node processes, wall-clock time)' },
    { label: 'durability', value: distinct(sums.map((s) => s.methodology.durability)) },
    { label: 'client placement', value: distinct(sums.map((s) => s.methodology.placement)) },
    { label: 'workload', value: distinct(sums.map((s) => s.methodology.workload)) },
    { label: 'payload', value: distinct(sums.map((s) => `${s.methodology.valueBytes} B values`)) },
    { label: 'transport', value: distinct(sums.flatMap((s) => (s.methodology.transport !== undefined ? [s.methodology.transport] : []))) },
    {
      label: 'offered vs achieved rate',
      value: `offered ${range(offered)}, achieved ${range(achieved)}${saturated > 0 ? `; ${saturated} of ${sums.length} runs saturated (achieved < 95% of offered)` : '; no run saturated'}`,
    },
    { label: 'measured window', value: `${distinct(windows.map((w) => `${fmtNum(w, 3)} s`))} per run, warm-up excluded` },
    { label: 'latency', value: 'commit latency from the intended send time (corrected for coordinated omission), HdrHistogram, 3 significant digits, microseconds' },
    { label: 'runs', value: `${set.runs.length} (matrix of ${m.matrix.length}, repeat ${m.repeat}, seed ${m.seed})` },
    { label: 'swept', value: m.axes.length === 0 ? 'nothing' : m.axes.map((a) => `${a.path} ∈ {${a.values.join(', ')}}`).join('; ') },
    { label: 'machine', value: `${m.cpu}; ${m.platform}; host ${m.host}; node ${m.node}` },
    { label: 'commit', value: `${m.gitCommit ?? 'unknown (not a git checkout)'}; ${m.tool.name} ${m.tool.version}` },
    { label: 'started / ended', value: `${m.startedAt} / ${m.endedAt ?? 'unfinished'}` },
  ];
}

// Renderers ---------------------------------------------------------------------------------

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function tableHtml(t: Table): string {
  const head = t.columns.map((c) => `<th${c.numeric ? ' class="num"' : ''}>${escapeHtml(c.label)}</th>`).join('');
  const body = t.rows
    .map(
      (r, ri) =>
        `<tr>${r
          .map((v, i) => {
            const cls = [t.columns[i]!.numeric ? 'num' : '', t.classes?.[ri]?.[i] ?? ''].filter((c) => c !== '').join(' ');
            return `<td${cls !== '' ? ` class="${cls}"` : ''}>${escapeHtml(v)}</td>`;
          })
          .join('')}</tr>`,
    )
    .join('\n');
  return `<table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

function escapeMd(s: string): string {
  return s.replace(/\|/g, '\\|');
}

export function tableMarkdown(t: Table): string {
  const head = `| ${t.columns.map((c) => escapeMd(c.label)).join(' | ')} |`;
  const rule = `|${t.columns.map((c) => (c.numeric ? ' ---: ' : ' --- ')).join('|')}|`;
  const body = t.rows.map((r) => `| ${r.map(escapeMd).join(' | ')} |`);
  return [head, rule, ...body].join('\n');
}

// tableText aligns columns for a terminal; numbers right-aligned.
export function tableText(t: Table): string {
  const widths = t.columns.map((c, i) => Math.max(c.label.length, ...t.rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((v, i) => (t.columns[i]!.numeric ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(t.columns.map((c) => c.label)), widths.map((w) => '-'.repeat(w)).join('  '), ...t.rows.map(line)].join('\n');
}
