import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyChooser } from '../../src/load/keys.js';
import { Rng } from '../../src/core/rand.js';

function histogram(choose: (rng: Rng) => number, n: number, draws: number): number[] {
  const rng = new Rng(42);
  const h = new Array<number>(n).fill(0);
  for (let i = 0; i < draws; i++) h[choose(rng)]!++;
  return h;
}

test('uniform keys cover every key about equally', () => {
  const h = histogram(keyChooser({ dist: 'uniform', count: 10 }, 0), 10, 100_000);
  for (const c of h) assert.ok(Math.abs(c - 10_000) < 600, `count ${c}`);
});

test('zipfian keys follow 1/k^theta: rank 1 twice as frequent as rank 2 at theta 1', () => {
  const h = histogram(keyChooser({ dist: 'zipfian', count: 100, theta: 1 }, 0), 100, 200_000);
  const ratio = h[0]! / h[1]!;
  assert.ok(ratio > 1.85 && ratio < 2.15, `ratio ${ratio}`);
  assert.ok(h[0]! > h[10]! && h[10]! > h[90]!);
});

test('hotspot sends the hot share to the hot keys', () => {
  const h = histogram(keyChooser({ dist: 'hotspot', count: 100, hotFraction: 0.1, hotShare: 0.9 }, 0), 100, 100_000);
  const hot = h.slice(0, 10).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(hot / 100_000 - 0.9) < 0.01, `hot share ${hot / 100_000}`);
});

test('the conflict share goes to the one shared key, on top of the distribution', () => {
  const h = histogram(keyChooser({ dist: 'uniform', count: 1000 }, 0.25), 1000, 100_000);
  const shared = h[0]! / 100_000;
  assert.ok(Math.abs(shared - (0.25 + 0.75 / 1000)) < 0.01, `shared ${shared}`);
});

test('the same seed draws the same keys', () => {
  const c = keyChooser({ dist: 'zipfian', count: 50, theta: 0.99 }, 0.1);
  const a = new Rng(7);
  const b = new Rng(7);
  for (let i = 0; i < 1000; i++) assert.equal(c(a), c(b));
});
