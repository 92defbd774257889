import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  SpecError,
  formatBytes,
  formatDurationUs,
  formatPercent,
  formatRatePerSec,
  parseBytes,
  parseDurationUs,
  parseProbability,
  parseRatePerSec,
} from '../../src/faults/index.js';

function throwsSpec(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SpecError, `expected SpecError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

test('durations parse to whole microseconds', () => {
  assert.equal(parseDurationUs('500us'), 500);
  assert.equal(parseDurationUs('5ms'), 5_000);
  assert.equal(parseDurationUs('1.5ms'), 1_500);
  assert.equal(parseDurationUs('10s'), 10_000_000);
  assert.equal(parseDurationUs('0.0001s'), 100);
  assert.equal(parseDurationUs('2m'), 120_000_000);
  assert.equal(parseDurationUs('1h'), 3_600_000_000);
  assert.equal(parseDurationUs(' 7 ms '), 7_000);
  assert.equal(parseDurationUs('0'), 0);
  assert.equal(parseDurationUs(0), 0);
  assert.equal(parseDurationUs('1e3us'), 1_000);
});

test('durations reject garbage, negatives, bare numbers and sub-microsecond values', () => {
  throwsSpec(() => parseDurationUs('-5ms', 'network.latency'), /^network\.latency: .*must not be negative/);
  throwsSpec(() => parseDurationUs('abc', 'x.y'), /^x\.y: expected a duration like 500us/);
  throwsSpec(() => parseDurationUs(5), /bare number needs a unit.*5ms/);
  throwsSpec(() => parseDurationUs(-1), /must not be negative/);
  throwsSpec(() => parseDurationUs('5 parsecs'), /unknown unit "parsecs"/);
  throwsSpec(() => parseDurationUs('100ns'), /microsecond resolution/);
  throwsSpec(() => parseDurationUs('1.5us'), /not a whole number of microseconds/);
  throwsSpec(() => parseDurationUs(null), /got null/);
  throwsSpec(() => parseDurationUs({}), /got a mapping/);
  throwsSpec(() => parseDurationUs('ms'), /expected a duration/);
});

test('formatDurationUs picks the largest exact unit and round-trips', () => {
  assert.equal(formatDurationUs(500), '500us');
  assert.equal(formatDurationUs(1_500), '1.5ms');
  assert.equal(formatDurationUs(5_000), '5ms');
  assert.equal(formatDurationUs(10_000_000), '10s');
  assert.equal(formatDurationUs(120_000_000), '2m');
  assert.equal(formatDurationUs(1_234_567), '1234.567ms');
  assert.equal(formatDurationUs(0), '0us');
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 45 }), (us) => parseDurationUs(formatDurationUs(us)) === us));
});

test('rates parse to per-second numbers', () => {
  assert.equal(parseRatePerSec('1000/s'), 1000);
  assert.equal(parseRatePerSec('50/ms'), 50_000);
  assert.equal(parseRatePerSec('2/us'), 2_000_000);
  assert.equal(parseRatePerSec('120/m'), 2);
  assert.equal(parseRatePerSec('0.5/s'), 0.5);
  assert.equal(parseRatePerSec(0), 0);
  throwsSpec(() => parseRatePerSec(1000, 'workload.rate'), /^workload\.rate: .*1000\/s/);
  throwsSpec(() => parseRatePerSec('-1/s'), /must not be negative/);
  throwsSpec(() => parseRatePerSec('1000/fortnight'), /unknown unit/);
  assert.equal(parseRatePerSec(formatRatePerSec(1234.5)), 1234.5);
});

test('probabilities accept fractions and percentages in [0, 1]', () => {
  assert.equal(parseProbability('5%'), 0.05);
  assert.equal(parseProbability(0.05), 0.05);
  assert.equal(parseProbability('0.05'), 0.05);
  assert.equal(parseProbability('100%'), 1);
  assert.equal(parseProbability(0), 0);
  throwsSpec(() => parseProbability('150%'), /between 0 and 1/);
  throwsSpec(() => parseProbability(-0.1), /between 0 and 1/);
  throwsSpec(() => parseProbability('lots'), /expected a probability/);
  assert.equal(parseProbability(formatPercent(0.125)), 0.125);
});

test('byte sizes accept bare counts and decimal or binary units', () => {
  assert.equal(parseBytes(128), 128);
  assert.equal(parseBytes('128'), 128);
  assert.equal(parseBytes('128B'), 128);
  assert.equal(parseBytes('4KiB'), 4096);
  assert.equal(parseBytes('4KB'), 4000);
  assert.equal(parseBytes('1.5MiB'), 1_572_864);
  assert.equal(parseBytes('2GiB'), 2 ** 31);
  throwsSpec(() => parseBytes(-1), /whole number >= 0/);
  throwsSpec(() => parseBytes(1.5), /whole number >= 0/);
  throwsSpec(() => parseBytes('4 quarts'), /unknown unit/);
  throwsSpec(() => parseBytes('0.5B'), /not a whole number of bytes/);
  assert.equal(formatBytes(4096), '4KiB');
  assert.equal(formatBytes(100), '100B');
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (n) => parseBytes(formatBytes(n)) === n));
});
