// The report as a person sees it: index.html opened from a file in headless Chromium (Debian's,
// driven by playwright-core), offline. No console error, no request leaves file://, every chart
// rendered to an SVG of real size, and a screenshot saved for a human to look at
// (dist/test-artifacts/report-index.png).

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import { writeReport } from '../../src/report/index.js';
import type { ReportResult } from '../../src/report/index.js';
import { chromiumArgs, ensureChromium } from './chromium.js';
import { tempDir, writeFixture } from './fixtures.js';

const artifacts = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

interface PageStatus {
  total: number;
  rendered: number;
  failed: string[];
  done: boolean;
}

describe('index.html in headless Chromium', { timeout: 20 * 60 * 1000 }, () => {
  let root: string;
  let result: ReportResult;
  before(async () => {
    root = tempDir();
    const dir = writeFixture(root, { latencies: ['1ms', '5ms', '20ms'], repeat: 2, durationSec: 6, crashAtSec: 3 });
    result = await writeReport(dir);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('renders every chart with no console error, offline, and is screenshotted', async (t) => {
    const chromiumOk = ensureChromium((line) => t.diagnostic(line));
    if ('skip' in chromiumOk) {
      t.skip(`browser test skipped: ${chromiumOk.skip}`);
      return;
    }
    const profile = mkdtempSync(join(tmpdir(), 'frb-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumOk.path,
      headless: true,
      args: [...chromiumArgs],
      viewport: { width: 1440, height: 900 },
    });
    try {
      const errors: string[] = [];
      const requests: string[] = [];
      await context.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
        requests.push(url);
        return route.abort();
      });
      const page = await context.newPage();
      page.on('console', (msg) => {
        if (msg.type() === 'error') errors.push(msg.text());
      });
      page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
      await page.goto(pathToFileURL(join(result.outDir, 'index.html')).href);
      await page.waitForFunction(() => (globalThis as unknown as { frbReport?: PageStatus }).frbReport?.done === true, undefined, {
        timeout: 120_000,
      });
      const status = await page.evaluate(() => (globalThis as unknown as { frbReport: PageStatus }).frbReport);
      assert.deepEqual(status.failed, []);
      assert.equal(status.total, result.charts.length);
      assert.equal(status.rendered, result.charts.length);
      for (const chart of result.charts) {
        const el = page.locator(`#chart-${chart.id}`);
        assert.equal(await el.getAttribute('data-rendered'), 'true', chart.id);
        const box = await el.locator('svg').first().boundingBox();
        assert.ok(box !== null && box.width > 300 && box.height > 150, `${chart.id} drew an SVG of ${box?.width}x${box?.height}`);
      }
      assert.ok((await page.locator('table tbody tr').count()) > 12, 'the tables are there');
      assert.deepEqual(errors, []);
      assert.deepEqual(requests, [], 'nothing is fetched from the network');
      const shot = join(result.outDir, 'screenshot.png');
      await page.screenshot({ path: shot, fullPage: true });
      mkdirSync(artifacts, { recursive: true });
      copyFileSync(shot, join(artifacts, 'report-index.png'));
      await page.locator('#latency-percentiles').screenshot({ path: join(artifacts, 'report-percentiles.png') });
      t.diagnostic(`screenshot: ${join(artifacts, 'report-index.png')}`);
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
