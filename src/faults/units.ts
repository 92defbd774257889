// Quantities with units, as experiment files and the control channel write them: durations
// (`500us`, `5ms`, `10s`, `2m`), rates (`1000/s`), probabilities (`5%` or 0.05) and byte sizes
// (`128B`, `4KiB`). Internally a duration is always a whole number of microseconds, because the
// simulator's clock has microsecond resolution and a duration it cannot represent exactly would
// silently change an experiment.

import { SpecError, describeValue } from './spec-error.js';

const US_PER_UNIT: Readonly<Record<string, number>> = {
  us: 1,
  µs: 1,
  ms: 1_000,
  s: 1_000_000,
  m: 60_000_000,
  h: 3_600_000_000,
};

const NUMBER_WITH_UNIT = /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e([+-]?[0-9]+))?\s*([A-Za-zµ/]+.*)$/;

function fail(path: string, message: string): never {
  throw new SpecError([{ path, message }]);
}

interface Split {
  readonly magnitude: number;
  readonly unit: string;
}

// splitNumberUnit separates `1.5ms` into 1.5 and `ms`; negatives are reported as such because
// "expected a duration" would be a confusing answer to `-5ms`.
function splitNumberUnit(text: string, path: string, expected: string): Split {
  const trimmed = text.trim();
  if (trimmed.startsWith('-')) fail(path, `${expected}; it must not be negative, got ${describeValue(text)}`);
  const m = NUMBER_WITH_UNIT.exec(trimmed);
  if (m === null) fail(path, `${expected}, got ${describeValue(text)}`);
  const magnitude = Number(m[1]! + (m[2] !== undefined ? `e${m[2]}` : ''));
  if (!Number.isFinite(magnitude)) fail(path, `${expected}, got ${describeValue(text)}`);
  return { magnitude, unit: m[3]!.trim() };
}

// toWhole rounds away float noise (0.0001 * 1e6 = 100.00000000000001) but refuses a real fraction.
function toWhole(x: number): number | undefined {
  const r = Math.round(x);
  return Math.abs(x - r) <= 1e-9 * Math.max(1, Math.abs(x)) ? r : undefined;
}

const DURATION_EXPECTED = 'expected a duration like 500us, 5ms or 10s';

// parseDurationUs accepts a string with a unit (us, ms, s, m, h). A bare number is refused except
// 0, because `latency: 5` is ambiguous and the cost of guessing wrong is a meaningless experiment.
export function parseDurationUs(value: unknown, path = 'duration'): number {
  if (typeof value === 'number') {
    if (value === 0) return 0;
    if (value < 0) fail(path, `${DURATION_EXPECTED}; it must not be negative, got ${value}`);
    fail(path, `${DURATION_EXPECTED}; a bare number needs a unit, got ${value} (did you mean ${value}ms?)`);
  }
  if (typeof value !== 'string') fail(path, `${DURATION_EXPECTED}, got ${describeValue(value)}`);
  if (value.trim() === '0') return 0;
  const { magnitude, unit } = splitNumberUnit(value, path, DURATION_EXPECTED);
  if (unit === 'ns') fail(path, `durations have microsecond resolution; write ${describeValue(value)} in us`);
  const factor = US_PER_UNIT[unit];
  if (factor === undefined) {
    fail(path, `${DURATION_EXPECTED}; unknown unit ${describeValue(unit)} (use us, ms, s, m or h)`);
  }
  const us = toWhole(magnitude * factor);
  if (us === undefined) fail(path, `${describeValue(value)} is not a whole number of microseconds`);
  if (!Number.isSafeInteger(us)) fail(path, `${describeValue(value)} is too long`);
  return us;
}

// formatDurationUs writes the largest unit that keeps the value exact with at most three
// decimals, so that parseDurationUs(formatDurationUs(x)) === x for every whole x.
export function formatDurationUs(us: number): string {
  if (!Number.isFinite(us)) return String(us);
  if (!Number.isInteger(us)) return `${us}us`;
  if (us === 0) return '0us';
  const sign = us < 0 ? '-' : '';
  const abs = Math.abs(us);
  if (abs % 60_000_000 === 0) return `${sign}${abs / 60_000_000}m`;
  const units: readonly (readonly [string, number])[] = [['s', 1_000_000], ['ms', 1_000]];
  for (const [name, factor] of units) {
    if (abs >= factor && (abs * 1000) % factor === 0) return `${sign}${trimDecimals(abs / factor)}${name}`;
  }
  return `${sign}${abs}us`;
}

function trimDecimals(x: number): string {
  return Number(x.toFixed(3)).toString();
}

const RATE_PER_UNIT_TO_PER_SEC: Readonly<Record<string, number>> = {
  '/s': 1,
  '/ms': 1_000,
  '/us': 1_000_000,
  '/m': 1 / 60,
  '/min': 1 / 60,
  '/h': 1 / 3600,
};

const RATE_EXPECTED = 'expected a rate like 1000/s or 50/ms';

// parseRatePerSec accepts `1000/s`, `50/ms`, `120/m`; a bare number is refused except 0 for the
// same reason as durations.
export function parseRatePerSec(value: unknown, path = 'rate'): number {
  if (typeof value === 'number') {
    if (value === 0) return 0;
    if (value < 0) fail(path, `${RATE_EXPECTED}; it must not be negative, got ${value}`);
    fail(path, `${RATE_EXPECTED}; a bare number needs a unit, got ${value} (did you mean ${value}/s?)`);
  }
  if (typeof value !== 'string') fail(path, `${RATE_EXPECTED}, got ${describeValue(value)}`);
  if (value.trim() === '0') return 0;
  const { magnitude, unit } = splitNumberUnit(value, path, RATE_EXPECTED);
  const factor = RATE_PER_UNIT_TO_PER_SEC[unit.replace(/\s+/g, '')];
  if (factor === undefined) fail(path, `${RATE_EXPECTED}; unknown unit ${describeValue(unit)} (use /s, /ms, /us, /m)`);
  return magnitude * factor;
}

export function formatRatePerSec(perSec: number): string {
  return `${Number(perSec.toPrecision(12))}/s`;
}

const PROBABILITY_EXPECTED = 'expected a probability like 5% or 0.05';

// parseProbability accepts a fraction in [0, 1] (number or numeric string) or a percentage.
export function parseProbability(value: unknown, path = 'probability'): number {
  let p: number;
  if (typeof value === 'number') {
    p = value;
  } else if (typeof value === 'string') {
    const text = value.trim();
    const percent = text.endsWith('%');
    const body = percent ? text.slice(0, -1).trim() : text;
    if (!/^-?([0-9]+(\.[0-9]*)?|\.[0-9]+)(e[+-]?[0-9]+)?$/i.test(body)) {
      fail(path, `${PROBABILITY_EXPECTED}, got ${describeValue(value)}`);
    }
    p = percent ? Number(body) / 100 : Number(body);
  } else {
    fail(path, `${PROBABILITY_EXPECTED}, got ${describeValue(value)}`);
  }
  if (!Number.isFinite(p) || p < 0 || p > 1) {
    fail(path, `${PROBABILITY_EXPECTED}; it must be between 0 and 1 (0% and 100%), got ${describeValue(value)}`);
  }
  return p;
}

export function formatPercent(p: number): string {
  return `${Number((p * 100).toPrecision(10))}%`;
}

const BYTES_PER_UNIT: Readonly<Record<string, number>> = {
  B: 1,
  KB: 1_000,
  kB: 1_000,
  MB: 1_000_000,
  GB: 1_000_000_000,
  KiB: 1_024,
  MiB: 1_048_576,
  GiB: 1_073_741_824,
};

const BYTES_EXPECTED = 'expected a size like 128B or 4KiB';

// parseBytes accepts a bare whole number (bytes, as `value_bytes: 128` is written) or a number with
// a unit; decimal (KB, MB) and binary (KiB, MiB) prefixes mean what they say.
export function parseBytes(value: unknown, path = 'size'): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      fail(path, `${BYTES_EXPECTED}; a byte count is a whole number >= 0, got ${value}`);
    }
    return value;
  }
  if (typeof value !== 'string') fail(path, `${BYTES_EXPECTED}, got ${describeValue(value)}`);
  const text = value.trim();
  if (/^[0-9]+$/.test(text)) return parseBytes(Number(text), path);
  const { magnitude, unit } = splitNumberUnit(text, path, BYTES_EXPECTED);
  const factor = BYTES_PER_UNIT[unit];
  if (factor === undefined) fail(path, `${BYTES_EXPECTED}; unknown unit ${describeValue(unit)} (use B, KB, KiB, MB, MiB, GB, GiB)`);
  const bytes = toWhole(magnitude * factor);
  if (bytes === undefined || !Number.isSafeInteger(bytes)) fail(path, `${describeValue(value)} is not a whole number of bytes`);
  return bytes;
}

export function formatBytes(bytes: number): string {
  const binary: readonly (readonly [string, number])[] = [['GiB', 1_073_741_824], ['MiB', 1_048_576], ['KiB', 1_024]];
  for (const [name, factor] of binary) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${name}`;
  }
  return `${bytes}B`;
}
