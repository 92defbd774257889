// Key choice for KV workloads: uniform, zipfian (rank k with probability proportional to 1/k^theta,
// YCSB's skew) or hotspot (a share of operations on a small set of hot keys), plus a conflict
// share of operations that all go to one key every client shares. For Raft and Fast Raft, whose
// conflicts are per log index, keys matter little; protocols with per-key conflicts need them.

import type { Rng } from '../core/rand.js';
import type { KeyDist } from '../experiment/types.js';

export type KeyChooser = (rng: Rng) => number;

const zipfKeysMax = 10_000_000;

export function keyChooser(dist: KeyDist, conflict: number): KeyChooser {
  const base = baseChooser(dist);
  if (!(conflict > 0)) return base;
  // Key 0 is the shared one.
  return (rng) => (rng.float() < conflict ? 0 : base(rng));
}

function baseChooser(dist: KeyDist): KeyChooser {
  switch (dist.dist) {
    case 'uniform': {
      const n = dist.count;
      return (rng) => rng.intn(n);
    }
    case 'zipfian': {
      const n = dist.count;
      if (n > zipfKeysMax) throw new RangeError(`zipfian over ${n} keys: at most ${zipfKeysMax}`);
      // Cumulative weights once; each draw is a binary search.
      const cdf = new Float64Array(n);
      let sum = 0;
      for (let k = 0; k < n; k++) {
        sum += 1 / Math.pow(k + 1, dist.theta);
        cdf[k] = sum;
      }
      return (rng) => {
        const u = rng.float() * sum;
        let lo = 0;
        let hi = n - 1;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (cdf[mid]! < u) lo = mid + 1;
          else hi = mid;
        }
        return lo;
      };
    }
    case 'hotspot': {
      const n = dist.count;
      const hot = Math.max(1, Math.round(n * dist.hotFraction));
      const share = dist.hotShare;
      return (rng) => (rng.float() < share || hot >= n ? rng.intn(hot) : hot + rng.intn(n - hot));
    }
  }
}
