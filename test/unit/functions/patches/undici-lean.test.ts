/**
 * The undici patch (functions/patches/undici-lean.ts): fails loudly when an upgrade changes what
 * it relies on (the installed version, the files' paths, what they export), and shows the plain
 * fallback gives the same classes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  installedUndici,
  loadDeep,
  loadFull,
  loadUndici,
  UNDICI_TARGET,
  undiciLoadedBy,
} from '../../../../functions/patches/undici-lean.js';

test('the installed undici is the one the patch targets (on an upgrade: re-check, then move the target)', () => {
  assert.equal(
    installedUndici(),
    UNDICI_TARGET,
    `undici ${installedUndici()} is installed, the patch targets ${UNDICI_TARGET}: check that ` +
      "lib/dispatcher/pool.js, lib/dispatcher/client.js and lib/api/api-request.js are still the index's " +
      'Pool, Client and request',
  );
});

test("the deep files are exactly the classes and the request API of the package's index", () => {
  const deep = loadDeep();
  const full = loadFull();
  assert.equal(deep.Pool, full.Pool);
  assert.equal(deep.Client, full.Client);
  assert.equal(deep.request, full.request);
});

test('the targeted version loads the deep files', async () => {
  const u = await loadUndici();
  assert.equal(undiciLoadedBy, 'deep files');
  assert.equal(typeof u.Pool, 'function');
});
