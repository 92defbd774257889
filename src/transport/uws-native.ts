// Loading uWebSockets.js, and refusing its slow path.
//
// The package we install (an npm alias of @trufflesuite/uws-js-unofficial) ships native builds for
// Node 16/18/20 (ABI 93/108/115) and, on any other Node or platform, silently falls back to a
// JavaScript re-implementation on top of `ws` that is much slower. A benchmark that ran on the
// fallback would report the wrong transport's numbers, so we never let it load: we look for the
// binary this Node needs before requiring the package, and after requiring it we check that a
// native addon is what got loaded. The official uWebSockets.js build (installed from its GitHub
// release, see README.md) has the same binary naming and passes the same checks.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Uws from 'uWebSockets.js';
import { UwsUnavailableError } from './errors.js';

export type UwsModule = typeof Uws;

export interface UwsBuild {
  readonly module: UwsModule;
  readonly packageName: string;
  readonly version: string;
  readonly binaryPath: string;
}

// Node major versions by module ABI, for messages only.
const nodeByAbi: Readonly<Record<string, string>> = {
  '93': '16', '108': '18', '115': '20', '120': '21', '127': '22', '131': '23', '137': '24', '141': '25',
};

const require = createRequire(import.meta.url);
let loaded: UwsBuild | null = null;

export function nativeBinaryName(): string {
  return `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
}

function where(): string {
  const abi = process.versions.modules;
  return `Node ${process.version} (ABI ${abi}) on ${process.platform}-${process.arch}`;
}

const remedy =
  'Install a native uWebSockets.js build for this Node (see src/transport/README.md: the official build ' +
  'from its GitHub releases supports Node 22 and later), use Node 20, or run with --transport ws.';

// loadNativeUws returns the native uWebSockets.js or throws UwsUnavailableError naming the cause.
export function loadNativeUws(): UwsBuild {
  if (loaded !== null) return loaded;
  const fallbackFlag = process.env['UWS_USE_FALLBACK'];
  if (fallbackFlag !== undefined && /^(1|true)$/i.test(fallbackFlag)) {
    throw new UwsUnavailableError(
      `uWebSockets.js would run its slow JavaScript fallback because UWS_USE_FALLBACK=${fallbackFlag} is set; unset it, or run with --transport ws.`,
    );
  }
  let pkgJsonPath: string;
  try {
    pkgJsonPath = require.resolve('uWebSockets.js/package.json');
  } catch {
    throw new UwsUnavailableError(`uWebSockets.js is not installed (npm ci installs it). ${remedy}`);
  }
  const pkgDir = dirname(pkgJsonPath);
  const pkg = JSON.parse(readFileSync(pkgJsonPath, 'utf8')) as { name?: unknown; version?: unknown };
  const packageName = typeof pkg.name === 'string' ? pkg.name : 'uWebSockets.js';
  const version = typeof pkg.version === 'string' ? pkg.version : 'unknown';
  const name = nativeBinaryName();
  // The unofficial package keeps its binaries in binaries/, the official one at its root.
  const candidates = [join(pkgDir, 'binaries', name), join(pkgDir, name)];
  const binaryPath = candidates.find((p) => existsSync(p));
  if (binaryPath === undefined) {
    const abi = process.versions.modules;
    const forNode = nodeByAbi[abi] ? ` (Node ${nodeByAbi[abi]})` : '';
    throw new UwsUnavailableError(
      `uWebSockets.js (${packageName}@${version}) has no native build for ${where()}: ${name} is missing${forNode}, ` +
        `so it would fall back to its slow JavaScript implementation. ${remedy}`,
    );
  }
  let mod: UwsModule;
  try {
    mod = require('uWebSockets.js') as UwsModule;
  } catch (err) {
    throw new UwsUnavailableError(
      `uWebSockets.js (${packageName}@${version}) failed to load on ${where()}: ${err instanceof Error ? err.message : String(err)}. ${remedy}`,
    );
  }
  // The binary exists but may still fail to open (a libc mismatch, say), in which case the
  // unofficial package falls back quietly: the native addon must be in the module cache.
  const nativeLoaded = Object.keys(require.cache).some((k) => k.endsWith(name));
  if (!nativeLoaded || typeof mod.App !== 'function' || typeof mod.us_socket_local_port !== 'function') {
    throw new UwsUnavailableError(
      `uWebSockets.js (${packageName}@${version}) did not load its native addon ${name} on ${where()} ` +
        `(it fell back to its slow JavaScript implementation). ${remedy}`,
    );
  }
  loaded = { module: mod, packageName, version, binaryPath };
  return loaded;
}

// packageVersion reads an installed package's version (for the transport's description).
export function packageVersion(name: string): string | null {
  try {
    const pkg = JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : null;
  } catch {
    return null;
  }
}

// bufferutilLoaded tells whether `ws` will mask and unmask with the native bufferutil addon.
export function bufferutilLoaded(): boolean {
  if (process.env['WS_NO_BUFFER_UTIL'] !== undefined) return false;
  try {
    require('bufferutil');
    return true;
  } catch {
    return false;
  }
}
