/**
 * Wiring facts: the local stores never load the Firestore client (checked in a fresh process),
 * the emulator settings are what the client needs, and the emulator fixture skips visibly
 * without gcloud but fails under CI=true.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { firestoreSettings } from '../../../../functions/store/firestore-client.js';
import { skipUnlessFirestore } from '../../../helpers/firestore-emulator.js';

const CHILD = `
import { createRequire } from 'node:module';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const base = process.env.NBT_BASE;
const loaded = () =>
  Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('@google-cloud/firestore'));
const { openLeaseStore, openRunStore } = await import(base + 'open-stores.js');
const root = await mkdtemp(join(tmpdir(), 'nbt-lazy-'));
const runs = await openRunStore({ kind: 'local', root: join(root, 'runs') });
const leases = await openLeaseStore({ kind: 'local', root: join(root, 'leases') });
await leases.claim('k', 1000);
await runs.list();
const before = loaded();
const { loadFirestoreModule } = await import(base + 'firestore-client.js');
await loadFirestoreModule();
process.stdout.write(JSON.stringify({ before, after: loaded() }));
`;

test('the local stores do not load @google-cloud/firestore; loadFirestoreModule does', async () => {
  const base = new URL('../../../../functions/store/', import.meta.url).href;
  const out = await new Promise<string>((res, rej) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', CHILD],
      { env: { ...process.env, NBT_BASE: base }, timeout: 30_000 },
      (err, stdout, stderr) => (err ? rej(new Error(`${err.message}\n${stderr}`)) : res(stdout)),
    );
  });
  assert.deepEqual(JSON.parse(out), { before: false, after: true });
});

test('emulator settings: plain text, fixed project, no metadata-server probe', () => {
  assert.deepEqual(firestoreSettings({}), { ignoreUndefinedProperties: true });
  assert.deepEqual(firestoreSettings({ projectId: 'p', databaseId: 'd' }), {
    ignoreUndefinedProperties: true,
    projectId: 'p',
    databaseId: 'd',
  });
  assert.deepEqual(firestoreSettings({ emulatorHost: '127.0.0.1:8080' }), {
    ignoreUndefinedProperties: true,
    host: '127.0.0.1:8080',
    ssl: false,
    projectId: 'nbtrigger-local',
    universeDomain: 'googleapis.com',
  });
});

test('emulator fixture: a missing emulator skips with a notice, or fails when CI=true', (t) => {
  const calls: string[] = [];
  const fake = { skip: (m: string) => calls.push(`skip:${m}`) } as unknown as TestContext;
  const saved = process.env.CI;
  t.after(() => {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
  });
  delete process.env.CI;
  assert.equal(skipUnlessFirestore(fake, undefined), false);
  assert.equal(skipUnlessFirestore(fake, 'no gcloud'), true);
  assert.deepEqual(calls, ['skip:no gcloud']);
  process.env.CI = 'true';
  assert.throws(() => skipUnlessFirestore(fake, 'no gcloud'), /Firestore emulator required when CI=true: no gcloud/);
  assert.equal(skipUnlessFirestore(fake, undefined), false);
});
