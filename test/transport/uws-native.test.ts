import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UwsUnavailableError, loadNativeUws, nativeBinaryName } from '../../src/transport/index.js';

const modulePath = fileURLToPath(new URL('../../src/transport/uws-native.js', import.meta.url));

test('the native uWebSockets.js build loads here, or the reason is named', () => {
  assert.match(nativeBinaryName(), new RegExp(`^uws_${process.platform}_${process.arch}_${process.versions.modules}\\.node$`));
  try {
    const build = loadNativeUws();
    assert.ok(existsSync(build.binaryPath));
    assert.equal(typeof build.module.App, 'function');
  } catch (err) {
    assert.ok(err instanceof UwsUnavailableError);
    assert.match(err.message, new RegExp(`Node ${process.version.replace(/\./g, '\\.')}`));
    assert.match(err.message, /--transport ws/);
  }
});

test('the slow JavaScript fallback is refused, naming the cause', () => {
  const script = `import(${JSON.stringify(modulePath)}).then((m) => { try { m.loadNativeUws(); console.log('loaded'); } catch (e) { console.log(e.name + ': ' + e.message); } })`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, UWS_USE_FALLBACK: '1' },
    encoding: 'utf8',
    timeout: 20000,
  });
  assert.match(out, /UwsUnavailableError: .*UWS_USE_FALLBACK=1/);
  assert.match(out, /--transport ws/);
});
