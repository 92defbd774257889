// Seeded pseudo-random numbers: the only source of randomness the core (election timeouts) and the
// simulator (latencies, faults, schedules) may use, so that a seed replays a run exactly.
// xoshiro128** seeded through splitmix32: fast, 32-bit arithmetic only, good statistical quality.

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    // Fold the whole 53-bit seed in, so that seeds differing only in high bits differ.
    const st = { s: (seed | 0) ^ Math.floor(seed / 0x100000000) };
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  // nextU32 returns a uniform integer in [0, 2^32).
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  // float returns a uniform number in [0, 1) with 53 bits of precision.
  float(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  // intn returns a uniform integer in [0, n); n must be a positive integer below 2^32.
  intn(n: number): number {
    if (!(n > 0) || n > 0x100000000 || !Number.isInteger(n)) throw new RangeError(`intn: bad bound ${n}`);
    // Rejection sampling keeps the result unbiased for bounds that do not divide 2^32.
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  // fork derives an independent generator, so that adding draws in one component does not shift
  // the sequence another component sees.
  fork(salt: number): Rng {
    return new Rng((this.nextU32() ^ Math.imul(salt | 0, 0x27d4eb2d)) + this.nextU32() * 0x100000);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

// deriveSeed gives a stable seed for (base, index), e.g. one per repetition or per fuzz schedule.
export function deriveSeed(base: number, index: number): number {
  const st = { s: (base | 0) ^ Math.imul(index + 1, 0x9e3779b1) };
  const hi = splitmix32(st) & 0x1fffff;
  const lo = splitmix32(st);
  return hi * 0x100000000 + lo;
}
