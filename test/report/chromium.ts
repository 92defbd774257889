// Debian's Chromium for the browser test, installed by the test itself when it is missing: CI
// machines start without it, run as root and reach Debian's package mirror. Never a browser
// download of a test tool's own (that fails here, and is not what users run).

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const chromiumPath = '/usr/bin/chromium';
const aptGet = '/usr/bin/apt-get';
const aptTimeoutMs = 15 * 60 * 1000;

// The flags the workplace's machines need: no GPU, no sandbox as root, and none of Chromium's
// background traffic, which a closed network refuses (and which a test must not depend on).
export const chromiumArgs: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export type ChromiumOutcome = { readonly path: string } | { readonly skip: string };

function tail(text: string | null | undefined): string {
  return (text ?? '').trim().split('\n').slice(-3).join(' | ');
}

export function ensureChromium(log: (line: string) => void = () => {}): ChromiumOutcome {
  if (existsSync(chromiumPath)) return { path: chromiumPath };
  if (!existsSync(aptGet)) return { skip: `${chromiumPath} is missing and there is no apt-get to install it (install Debian's chromium)` };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return { skip: `${chromiumPath} is missing and installing it needs root: apt-get install -y chromium` };
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  log('installing Debian chromium: apt-get update');
  const update = spawnSync(aptGet, ['update'], { env, encoding: 'utf8', timeout: aptTimeoutMs });
  if (update.status !== 0) return { skip: `apt-get update failed (${update.status ?? update.signal}): ${tail(update.stderr)}` };
  log('installing Debian chromium: apt-get install -y chromium fonts-dejavu-core');
  const install = spawnSync(aptGet, ['install', '-y', '--no-install-recommends', 'chromium', 'fonts-dejavu-core'], {
    env,
    encoding: 'utf8',
    timeout: aptTimeoutMs,
  });
  if (install.status !== 0 || !existsSync(chromiumPath)) {
    return { skip: `apt-get install chromium failed (${install.status ?? install.signal}): ${tail(install.stderr)}` };
  }
  return { path: chromiumPath };
}
