// Byte-level helpers for the KV encodings: LEB128 varints for whole numbers up to 2^53 (client
// ids, sequence numbers, log indices) and length-prefixed byte strings. Kept separate from the
// state machine so that a reader of the format sees all of it in one place.

export class KvDecodeError extends Error {
  override name = 'KvDecodeError';
}

export function varintBytes(n: number): number {
  let bytes = 1;
  let x = n;
  // At most 8 bytes for n < 2^53 (7 bits per byte).
  while (x >= 0x80 && bytes < 8) {
    x = Math.floor(x / 0x80);
    bytes++;
  }
  return bytes;
}

// ByteWriter writes into a buffer sized up front; encoders compute the exact size first so that
// encoding allocates one array.
export class ByteWriter {
  readonly buf: Uint8Array;
  pos = 0;

  constructor(sizeBytes: number) {
    this.buf = new Uint8Array(sizeBytes);
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  varint(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varint: ${n} is not a whole number in [0, 2^53)`);
    let x = n;
    for (let i = 0; i < 8 && x >= 0x80; i++) {
      this.buf[this.pos++] = (x % 0x80) | 0x80;
      x = Math.floor(x / 0x80);
    }
    this.buf[this.pos++] = x;
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  finish(): Uint8Array {
    if (this.pos !== this.buf.length) throw new Error(`ByteWriter: wrote ${this.pos} of ${this.buf.length} bytes`);
    return this.buf;
  }
}

export class ByteReader {
  pos = 0;

  constructor(readonly buf: Uint8Array, readonly what: string) {}

  get done(): boolean {
    return this.pos === this.buf.length;
  }

  byte(): number {
    if (this.pos >= this.buf.length) throw new KvDecodeError(`${this.what}: truncated at byte ${this.pos}`);
    return this.buf[this.pos++]!;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(result)) break;
        return result;
      }
      scale *= 0x80;
    }
    throw new KvDecodeError(`${this.what}: bad varint ending at byte ${this.pos}`);
  }

  // bytes returns a copy, so that state built from a decoded entry does not pin the entry's
  // (possibly reused) buffer.
  bytes(lengthMax: number): Uint8Array {
    const n = this.varint();
    if (n > lengthMax) throw new KvDecodeError(`${this.what}: length ${n} exceeds the limit ${lengthMax}`);
    if (this.pos + n > this.buf.length) throw new KvDecodeError(`${this.what}: truncated at byte ${this.pos}`);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  end(): void {
    if (this.pos !== this.buf.length) throw new KvDecodeError(`${this.what}: ${this.buf.length - this.pos} trailing bytes`);
  }
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}

export function fromUtf8(b: Uint8Array, what: string): string {
  try {
    return utf8Decoder.decode(b);
  } catch {
    throw new KvDecodeError(`${what}: key is not valid UTF-8`);
  }
}
