/**
 * The WebAssembly patch (functions/patches/wasm-baseline.ts): a Node process that makes HTTP
 * requests through undici recompiles undici's parser with TurboFan (the control: when it no longer
 * does, the patch is moot and this test says so), and does not once the patch ran, whether set
 * directly or by the runner's undici loader. V8 reports each wasm compile with
 * `--trace-wasm-compilation-times` ("Compiled function … using TurboFan").
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const dist = new URL('../../../../functions/patches/', import.meta.url);

/** A child that serves 150 responses of a dozen headers to itself through undici. */
function child(setup: 'none' | 'patch' | 'loader'): string {
  const patch = JSON.stringify(new URL('wasm-baseline.js', dist).href);
  return `
import { createServer } from 'node:http';
const lean = await import(${JSON.stringify(new URL('undici-lean.js', dist).href)});
${setup === 'patch' ? `(await import(${patch})).baselineWasmOnly();` : ''}
const u = ${setup === 'loader' ? 'await lean.loadUndici()' : 'lean.loadDeep()'};
const headers = {};
for (let i = 0; i < 12; i++) headers['x-header-' + i] = 'v'.repeat(40);
const server = createServer((req, res) => { res.writeHead(200, headers); res.end('ok'); });
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const pool = new u.Pool('http://127.0.0.1:' + server.address().port);
for (let i = 0; i < 150; i++) {
  const r = await u.request.call(pool, { path: '/', method: 'GET' });
  await r.body.text();
}
// A background compile reports when it ends: give it ten times what it takes alone (≈0.2 s).
await new Promise((r) => setTimeout(r, 2500));
await pool.close();
server.close();
console.log('served');
`;
}

async function turbofanCompiles(setup: 'none' | 'patch' | 'loader'): Promise<number> {
  const { stdout } = await run(
    process.execPath,
    ['--trace-wasm-compilation-times', '--input-type=module', '-e', child(setup)],
    { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
  );
  assert.match(stdout, /^served$/m, 'the child made its requests');
  assert.match(stdout, /using Liftoff/, 'the trace reports wasm compiles at all');
  return stdout.split('\n').filter((l) => /Compiled function .* using TurboFan/.test(l)).length;
}

test('control: without the patch, undici recompiles its parser with TurboFan', { timeout: 90_000 }, async () => {
  assert.ok((await turbofanCompiles('none')) >= 1, 'no tier-up seen: the patch may no longer be needed');
});

test('with baselineWasmOnly(), no wasm function is compiled with TurboFan', { timeout: 90_000 }, async () => {
  assert.equal(await turbofanCompiles('patch'), 0);
});

test("the runner's undici loader sets it before undici's first request", { timeout: 90_000 }, async () => {
  assert.equal(await turbofanCompiles('loader'), 0);
});
