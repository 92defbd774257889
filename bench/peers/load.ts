// The one load generator of bench/peers, for every system it measures: N closed-loop clients, each
// with one put outstanding, sending the next as soon as the previous one is acknowledged. Keys are
// 16 bytes, values 128 bytes (both ASCII, so the same bytes whichever encoding a system's API
// uses). Latency is from the send to the acknowledgement (in a closed loop the intended send time
// is the actual one), on this process's monotonic clock, in microseconds.

import type { OpSample } from '../lib/results.js';

export const keyBytes = 16;
export const valueBytes = 128;
// Keys cycle over this many: writes overwrite, so that no store grows without bound during a run.
export const keyCount = 10_000;

// A client of one system, attached to one node: put resolves once the write is acknowledged
// (committed and applied where the system answers) and rejects on failure.
export interface PutClient {
  put(key: string, value: string): Promise<void>;
  close(): void;
}

export function keyFor(n: number): string {
  const s = String(n % keyCount).padStart(keyBytes - 1, '0');
  return `k${s}`;
}

export function valueFor(client: number, seq: number): string {
  const token = `c${client}-s${seq}-`;
  return token.length >= valueBytes ? token.slice(0, valueBytes) : token + 'v'.repeat(valueBytes - token.length);
}

export interface ClosedLoopOptions {
  readonly warmupUs: number;
  readonly durationUs: number;
  // Bound on errors kept as text (the count is complete).
  readonly errorsKeptMax?: number;
}

export interface ClosedLoopResult {
  readonly samples: OpSample[];
  readonly windowStartUs: number;
  readonly windowEndUs: number;
  readonly failures: number;
  readonly errors: string[];
}

export async function closedLoop(clients: readonly PutClient[], o: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const t0 = performance.now();
  const clock = (): number => (performance.now() - t0) * 1000;
  const samples: OpSample[] = [];
  const errors: string[] = [];
  const keptMax = o.errorsKeptMax ?? 20;
  let failures = 0;
  await Promise.all(
    clients.map(async (c, ci) => {
      let seq = 0;
      while (clock() < o.durationUs) {
        seq++;
        const key = keyFor(ci * 7919 + seq);
        const value = valueFor(ci, seq);
        const sentUs = clock();
        let ok = true;
        try {
          await c.put(key, value);
        } catch (err) {
          ok = false;
          failures++;
          if (errors.length < keptMax) errors.push(`client ${ci}: ${(err as Error).message}`);
        }
        const completeUs = clock();
        samples.push({ ok, completeUs, latencyUs: completeUs - sentUs, latencyUncorrectedUs: completeUs - sentUs });
        // A failing system must not turn the loop into a busy spin.
        if (!ok) await new Promise((r) => setTimeout(r, 10));
      }
    }),
  );
  // The window ends when the clients stop sending: the last answers (at most one per client) come
  // after it and are left out, so that throughput is not diluted by a draining tail.
  return { samples, windowStartUs: o.warmupUs, windowEndUs: o.durationUs, failures, errors };
}
