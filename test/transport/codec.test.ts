import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import type { Entry, Message, Snapshot } from '../../src/core/types.js';
import { MessageType, newEntry, newMessage } from '../../src/core/types.js';
import { nodeIdMax } from '../../src/faults/index.js';
import { FrameCodec, FrameError, defaultCodecLimits } from '../../src/transport/index.js';
import type { Frame } from '../../src/transport/index.js';

const plainRecord = { noNullPrototype: true } as const;
const bytesArb = fc.uint8Array({ maxLength: 64 });
const uintArb = fc.oneof(fc.nat(1000), fc.maxSafeNat());
const nodeArb = fc.integer({ min: 0, max: nodeIdMax });

const entryArb: fc.Arbitrary<Entry> = fc.record(
  {
    term: uintArb,
    index: uintArb,
    type: fc.constantFrom(0, 1, 2),
    data: bytesArb,
    approval: fc.constantFrom(0, 1, 2),
    digest: fc.maxSafeNat(),
  },
  { requiredKeys: ['term', 'index', 'type', 'data'], noNullPrototype: true },
) as fc.Arbitrary<Entry>;

const snapshotArb: fc.Arbitrary<Snapshot> = fc.record({
  data: bytesArb,
  metadata: fc.record({
    confState: fc.record({
      voters: fc.array(nodeArb, { maxLength: 5 }),
      learners: fc.array(nodeArb, { maxLength: 3 }),
      votersOutgoing: fc.array(nodeArb, { maxLength: 5 }),
      learnersNext: fc.array(nodeArb, { maxLength: 3 }),
      autoLeave: fc.boolean(),
    }, plainRecord),
    index: uintArb,
    term: uintArb,
  }, plainRecord),
}, plainRecord);

function messageArb(responses: fc.Arbitrary<Message[]>): fc.Arbitrary<Message> {
  return fc
    .record({
      type: fc.integer({ min: 0, max: MessageType.MsgFastVote }),
      to: nodeArb,
      from: nodeArb,
      term: uintArb,
      logTerm: uintArb,
      index: uintArb,
      entries: fc.array(entryArb, { maxLength: 4 }),
      commit: uintArb,
      vote: nodeArb,
      snapshot: fc.option(snapshotArb, { nil: null }),
      reject: fc.boolean(),
      rejectHint: uintArb,
      context: bytesArb,
      responses,
    }, plainRecord)
    .map((m) => newMessage(m as Partial<Message> & { type: MessageType }));
}

const leafMessageArb = messageArb(fc.constant([]));
const frameArb: fc.Arbitrary<Frame> = fc.record({
  cluster: fc.string({ minLength: 1, maxLength: 40 }),
  from: nodeArb,
  msgs: fc.array(messageArb(fc.array(leafMessageArb, { maxLength: 2 })), { maxLength: 6 }),
}, plainRecord);

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof FrameError, `expected a FrameError, got ${String(err)}`);
    return err.reason;
  }
  return 'decoded';
}

test('frames round-trip, optional entry fields and bytes included, across codec instances', () => {
  const enc = new FrameCodec();
  fc.assert(
    fc.property(fc.array(frameArb, { minLength: 1, maxLength: 4 }), (frames) => {
      // A fresh decoder for every batch, frames in reverse order: nothing may carry over.
      const dec = new FrameCodec();
      const encoded = frames.map((f) => enc.encode(f));
      for (let i = frames.length - 1; i >= 0; i--) assert.deepStrictEqual(dec.decode(encoded[i]!), frames[i]);
    }),
    { numRuns: 300 },
  );
});

test('a message built with another key order still round-trips (inline record)', () => {
  const codec = new FrameCodec();
  const m = newMessage({ type: MessageType.MsgVote, from: 2, to: 1, term: 9 });
  const reordered = Object.fromEntries(Object.entries(m).reverse()) as unknown as Message;
  const e = newEntry({ term: 1, index: 2, data: new Uint8Array([7]), digest: 5 });
  const eReordered = { digest: 5, data: e.data, type: e.type, index: 2, term: 1 } as Entry;
  const frame: Frame = { cluster: 'c', from: 2, msgs: [reordered, { ...m, entries: [eReordered] }, m] };
  const out = codec.decode(codec.encode(frame));
  assert.deepStrictEqual(out.msgs[0], m);
  assert.deepStrictEqual(out.msgs[1]!.entries[0], e);
  assert.deepStrictEqual(out.msgs[2], m);
  // And the decoder's shared structures are unchanged afterwards.
  assert.deepStrictEqual(new FrameCodec().decode(codec.encode({ cluster: 'c', from: 1, msgs: [m] })).msgs[0], m);
});

test('decoded bytes are plain Uint8Array copies, not views of the frame', () => {
  const codec = new FrameCodec();
  const data = new Uint8Array([1, 2, 3]);
  const bytes = Buffer.from(codec.encode({ cluster: 'c', from: 1, msgs: [newMessage({ type: MessageType.MsgApp, entries: [newEntry({ data })] })] }));
  const out = codec.decode(bytes);
  const got = out.msgs[0]!.entries[0]!.data;
  assert.equal(got.constructor, Uint8Array);
  bytes.fill(0);
  assert.deepStrictEqual([...got], [1, 2, 3]);
});

test('arbitrary bytes decode to a Frame or a FrameError, never anything else', () => {
  const codec = new FrameCodec();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
      const r = reasonOf(() => codec.decode(bytes));
      assert.ok(['decoded', 'undecodable', 'shape'].includes(r), r);
    }),
    { numRuns: 2000 },
  );
});

test('corrupted valid frames decode to a Frame or a FrameError, never anything else', () => {
  const enc = new FrameCodec();
  const dec = new FrameCodec();
  fc.assert(
    fc.property(frameArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (frame, flips) => {
      const bytes = Uint8Array.from(enc.encode(frame));
      for (const [pos, v] of flips) bytes[pos % bytes.length] = v;
      const r = reasonOf(() => dec.decode(bytes));
      assert.ok(['decoded', 'undecodable', 'shape'].includes(r), r);
      // The decoder is still sound afterwards.
      assert.deepStrictEqual(dec.decode(enc.encode(frame)), frame);
    }),
    { numRuns: 500 },
  );
});

test('bad shapes are FrameErrors with the field named', () => {
  const codec = new FrameCodec();
  const plain = new Packr({ useRecords: false });
  const good = newMessage({ type: MessageType.MsgHeartbeat, from: 1, to: 2 });
  const frame = (msgs: unknown[], extra: Record<string, unknown> = {}): Uint8Array => plain.pack({ cluster: 'c', from: 1, msgs, ...extra });
  const cases: [string, Uint8Array, RegExp][] = [
    ['not a record', plain.pack([1, 2, 3]), /frame: expected a frame record/],
    ['extra frame field', frame([good], { x: 1 }), /unexpected field 'x'/],
    ['missing frame field', plain.pack({ cluster: 'c', msgs: [] }), /missing field 'from'/],
    ['empty cluster', plain.pack({ cluster: '', from: 1, msgs: [] }), /frame.cluster/],
    ['unknown type', frame([{ ...good, type: 99 }]), /msgs\[0\].type: unknown message type/],
    ['negative term', frame([{ ...good, term: -1 }]), /msgs\[0\].term/],
    ['fractional index', frame([{ ...good, index: 1.5 }]), /msgs\[0\].index/],
    ['node id too big', frame([{ ...good, to: nodeIdMax + 1 }]), /msgs\[0\].to/],
    ['string context', frame([{ ...good, context: 'x' }]), /msgs\[0\].context: expected bytes/],
    ['extra message field', frame([{ ...good, evil: true }]), /unexpected field 'evil'/],
    ['missing message field', frame([{ ...good, reject: undefined }]), /msgs\[0\]/],
    ['bad entry approval', frame([{ ...good, entries: [{ ...newEntry({}), approval: 7 }] }]), /entries\[0\].approval/],
    ['entry data as list', frame([{ ...good, entries: [{ ...newEntry({}), data: [1] }] }]), /entries\[0\].data/],
    ['bad snapshot', frame([{ ...good, snapshot: { data: new Uint8Array(0) } }]), /snapshot: missing field 'metadata'/],
    ['responses too deep', frame([{ ...good, responses: [{ ...good, responses: [good] }] }]), /nested too deep/],
  ];
  for (const [name, bytes, pattern] of cases) {
    assert.throws(() => codec.decode(bytes), (err: unknown) => {
      assert.ok(err instanceof FrameError, name);
      assert.equal(err.reason, 'shape', name);
      assert.match(err.message, pattern, name);
      return true;
    });
  }
});

test('oversize, trailing bytes and truncation are typed', () => {
  const codec = new FrameCodec({ ...defaultCodecLimits, frameBytesMax: 64 });
  assert.equal(reasonOf(() => codec.decode(new Uint8Array(65))), 'oversize');
  const ok = new FrameCodec().encode({ cluster: 'c', from: 1, msgs: [] });
  assert.equal(reasonOf(() => codec.decode(Uint8Array.from([...ok, 0]))), 'undecodable');
  assert.equal(reasonOf(() => codec.decode(ok.subarray(0, ok.length - 1))), 'undecodable');
  assert.equal(reasonOf(() => codec.decode(new Uint8Array(0))), 'undecodable');
  const many = new FrameCodec({ ...defaultCodecLimits, msgsPerFrameMax: 2 });
  const three = new FrameCodec().encode({ cluster: 'c', from: 1, msgs: [1, 2, 3].map(() => newMessage({ type: MessageType.MsgBeat })) });
  assert.equal(reasonOf(() => many.decode(three)), 'shape');
});

test('a frame of a Ready is compact: records make a heartbeat cost a few dozen bytes', () => {
  const codec = new FrameCodec();
  const hb = newMessage({ type: MessageType.MsgHeartbeat, from: 1, to: 2, term: 5, commit: 100 });
  const one = codec.encode({ cluster: 'c', from: 1, msgs: [hb] }).byteLength;
  const ten = codec.encode({ cluster: 'c', from: 1, msgs: Array.from({ length: 10 }, () => hb) }).byteLength;
  assert.ok(one < 40, `one heartbeat frame is ${one} bytes`);
  assert.ok(ten - one < 9 * 25, `each further heartbeat costs ${(ten - one) / 9} bytes`);
});
