// Flow control for one follower (etcd-io/raft tracker/inflights.go): a bounded window of MsgApp
// messages sent but not yet acknowledged, each remembered by the index of its last entry and its
// payload size. The leader stops sending entries when the window is full, by count or by bytes,
// which bounds both the messages and the bandwidth one slow follower can tie up.

export class Inflights {
  // Ring buffer of in-flight messages: slots start .. start+count-1 (mod sizeMax) are live. The
  // buffer grows by doubling up to sizeMax so that a large window costs nothing until it is used.
  private start = 0;
  private n = 0;
  private bytesTotal = 0;
  private indexes: Float64Array;
  private sizes: Float64Array;

  // sizeMax is the most messages in flight; bytesMax the most payload bytes in flight (0: no byte
  // limit). The byte limit is soft: one message may take the total from below it to above it.
  constructor(
    readonly sizeMax: number,
    readonly bytesMax: number,
  ) {
    this.indexes = new Float64Array(0);
    this.sizes = new Float64Array(0);
  }

  // clone returns an Inflights with the same contents that shares no memory with this one.
  clone(): Inflights {
    const c = new Inflights(this.sizeMax, this.bytesMax);
    c.start = this.start;
    c.n = this.n;
    c.bytesTotal = this.bytesTotal;
    c.indexes = this.indexes.slice();
    c.sizes = this.sizes.slice();
    return c;
  }

  // add records a message whose last entry is index and whose payload is bytes. Indexes must be
  // added in increasing order, and never while full: the caller checks full() first.
  add(index: number, bytes: number): void {
    if (this.full()) throw new Error('cannot add into a Full inflights');
    let next = this.start + this.n;
    if (next >= this.sizeMax) next -= this.sizeMax;
    if (next >= this.indexes.length) this.grow();
    this.indexes[next] = index;
    this.sizes[next] = bytes;
    this.n++;
    this.bytesTotal += bytes;
  }

  private grow(): void {
    let newSize = this.indexes.length * 2;
    if (newSize === 0) newSize = 1;
    else if (newSize > this.sizeMax) newSize = this.sizeMax;
    const idx = new Float64Array(newSize);
    idx.set(this.indexes);
    const sz = new Float64Array(newSize);
    sz.set(this.sizes);
    this.indexes = idx;
    this.sizes = sz;
  }

  // freeLE frees every message whose last index is <= to (an ack covers all earlier sends).
  freeLE(to: number): void {
    if (this.n === 0 || to < this.indexes[this.start]!) return; // left of the window: stale ack
    let idx = this.start;
    let i = 0;
    let bytes = 0;
    for (; i < this.n; i++) {
      if (to < this.indexes[idx]!) break;
      bytes += this.sizes[idx]!;
      if (++idx >= this.sizeMax) idx -= this.sizeMax;
    }
    this.n -= i;
    this.bytesTotal -= bytes;
    this.start = idx;
    // Restarting at slot 0 when empty keeps the buffer from wrapping needlessly.
    if (this.n === 0) this.start = 0;
  }

  full(): boolean {
    return this.n === this.sizeMax || (this.bytesMax !== 0 && this.bytesTotal >= this.bytesMax);
  }

  count(): number {
    return this.n;
  }

  bytes(): number {
    return this.bytesTotal;
  }

  // reset frees all in-flight messages (on a change of the follower's state).
  reset(): void {
    this.n = 0;
    this.start = 0;
    this.bytesTotal = 0;
  }

  // debugState exposes the ring for white-box tests: start, count, bytes and the whole buffer
  // including stale slots.
  debugState(): { start: number; count: number; bytes: number; buffer: Array<[number, number]> } {
    const buffer: Array<[number, number]> = [];
    for (let i = 0; i < this.indexes.length; i++) buffer.push([this.indexes[i]!, this.sizes[i]!]);
    return { start: this.start, count: this.n, bytes: this.bytesTotal, buffer };
  }
}
