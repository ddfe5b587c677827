/**
 * Integration: what the function loads on its run path. The built function is served by the real
 * functions-framework (child process) and handles one real Pub/Sub CloudEvent against a real local
 * Jupyter server; a preload module writes `require.cache` (ESM imports of CommonJS packages land
 * there too) when the process exits. The deploy clients and everything else the run does not need
 * must never have been loaded: their start cost and memory belong to other paths.
 *
 * Spec: docs/benchmarks.md (the deploy clients … are never loaded on it (a test asserts which modules load)).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import {
  isFinal,
  startFunctionServer,
  structuredEvent,
  type FunctionServer,
} from '../../helpers/functions-framework.js';
import { startTestServer, type TestServer } from '../../helpers/jupyter.js';

/** Packages the run path must never load (matched against `node_modules/<name>/` in module paths). */
const FORBIDDEN = [
  '@google-cloud/run',
  '@google-cloud/scheduler',
  '@google-cloud/storage',
  '@google-cloud/firestore',
  '@google-cloud/pubsub',
  'google-gax',
  '@grpc/',
  'yaml',
];

let jupyter: TestServer;
let fn: FunctionServer | undefined;
let dir: string;

before(async () => {
  jupyter = await startTestServer();
  await jupyter.writeNotebook('nb/hello.ipynb', ['a = 5', 'a * 3']);
  dir = await mkdtemp(join(tmpdir(), 'nbtrigger-modules-'));
});
after(async () => {
  await fn?.stop();
  await jupyter?.close();
  await rm(dir, { recursive: true, force: true });
});

test('one real event: the deploy clients, Google client libraries, gRPC and yaml are never loaded', {
  timeout: 120_000,
}, async () => {
  const out = join(dir, 'modules.json');
  const preload = join(dir, 'dump-modules.mjs');
  await writeFile(
    preload,
    `import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
const require = createRequire(import.meta.url);
process.on('exit', () => writeFileSync(${JSON.stringify(out)}, JSON.stringify(Object.keys(require.cache))));
`,
  );
  fn = await startFunctionServer({
    env: {
      JUPYTER_TOKEN: jupyter.token,
      NODE_OPTIONS: `--import=${pathToFileURL(preload).href}`,
      METADATA_SERVER_DETECTION: 'none',
      GCE_METADATA_HOST: '127.0.0.1:9',
      GCE_METADATA_IP: '127.0.0.1:9',
    },
  });
  const ev = structuredEvent({ text: `${jupyter.hostPort} /nb/hello.ipynb` });
  const res = await fn.post(ev);
  assert.equal(res.status, 204, `${res.body}\n${fn.stderr()}`);
  const final = await fn.waitForLine((l) => l.eventId === ev.id && isFinal(l));
  assert.ok(isFinal(final));
  assert.equal(final.record.status, 'succeeded', JSON.stringify(final.record.error));
  assert.deepEqual(final.record.lastResult, { 'text/plain': '15' });
  await fn.stop();
  fn = undefined;

  const modules = JSON.parse(await readFile(out, 'utf8')) as string[];
  const pkgs = new Set(
    modules.map((m) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(m)?.[1]).filter((p): p is string => p !== undefined),
  );
  // Positive control: the dump saw the run's own transports.
  assert.ok(pkgs.has('undici') && pkgs.has('ws'), `expected undici and ws among ${[...pkgs].join(', ')}`);
  const loaded = [...pkgs].filter((p) => FORBIDDEN.some((f) => (f.endsWith('/') ? p.startsWith(f) : p === f)));
  assert.deepEqual(loaded, [], `loaded on the run path: ${loaded.join(', ')}`);
  // The lean undici load: the run path does not need the package's index (110 files).
  assert.ok(!modules.some((m) => /node_modules\/undici\/index\.js$/.test(m)), 'undici/index.js was loaded');
  assert.deepEqual(await jupyter.kernels(), []);
});
