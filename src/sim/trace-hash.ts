// A running 64-bit FNV-1a hash over everything a simulation does. Two runs with the same seed
// must end with the same hash; when they do not, the first divergence is a determinism bug (an
// unseeded random, a Map iterated in insertion order that differs, a timer read). It is cheap
// enough to feed every event, and any component can feed it more (message bytes, applied
// commands) to make the check stricter.
//
// The 64-bit state lives in two 32-bit halves so that no BigInt is allocated per step. Numbers are
// fed a 32-bit word per step (FNV-1a's xor-then-multiply, on words rather than bytes): four times
// cheaper than bytewise, and still a strong enough fingerprint for "did these runs diverge".

const FNV_OFFSET_HI = 0xcbf29ce4;
const FNV_OFFSET_LO = 0x84222325;

// Shared scratch for reading a float64's bits; module-level so that mixNumber allocates nothing.
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

export class TraceHash {
  private hi = FNV_OFFSET_HI;
  private lo = FNV_OFFSET_LO;
  // How many 32-bit words were fed: a second, cheap fingerprint for "the runs did different amounts of work".
  private words = 0;

  reset(): void {
    this.hi = FNV_OFFSET_HI;
    this.lo = FNV_OFFSET_LO;
    this.words = 0;
  }

  // mixU32 feeds the low 32 bits of x as one step.
  mixU32(x: number): void {
    // h = (h ^ x) * prime, prime = 2^40 + 0x1b3, on 32-bit halves: (hi, lo) * 0x1b3 exactly
    // (lo * 0x1b3 < 2^41 fits a double), plus h << 40, which only touches hi, as lo << 8.
    const lo = (this.lo ^ x) >>> 0;
    const t = lo * 0x1b3;
    const carry = Math.floor(t / 0x100000000);
    this.hi = (Math.imul(this.hi, 0x1b3) + carry + (lo << 8)) >>> 0;
    this.lo = t >>> 0;
    this.words++;
  }

  // mixUint feeds a whole number in [0, 2^53) (a time, an index) without a float round trip.
  mixUint(x: number): void {
    this.mixU32(x >>> 0);
    this.mixU32(Math.floor(x / 0x100000000));
  }

  // mixNumber feeds a number's IEEE-754 bits, so that 1 and 1.0000001 differ and every safe
  // integer is exact.
  mixNumber(x: number): void {
    f64[0] = x;
    this.mixU32(u32[0]!);
    this.mixU32(u32[1]!);
  }

  // mixString feeds the length first, so that ("ab", "c") and ("a", "bc") hash differently.
  mixString(s: string): void {
    this.mixU32(s.length);
    for (let i = 0; i < s.length; i++) this.mixU32(s.charCodeAt(i));
  }

  mixBytes(b: Uint8Array): void {
    this.mixU32(b.length);
    for (let i = 0; i < b.length; i++) this.mixU32(b[i]!);
  }

  get wordsMixed(): number {
    return this.words;
  }

  // hex is the hash as 16 lowercase hex digits.
  hex(): string {
    return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0');
  }

  bigint(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }
}
