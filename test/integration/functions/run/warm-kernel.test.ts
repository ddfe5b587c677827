/**
 * Integration: opt-in warm kernels (functions/jupyter/warm-kernels.ts) against a real local
 * Jupyter Server. A kept kernel is reused by the next run of the same folder, and that run sees a
 * fresh namespace (no variable, cwd, environment or history of the previous run); a failed run's
 * kernel is deleted; and no kernel outlives the process that kept it (event loop empty,
 * process.exit(), SIGTERM).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { closeWarmKernels, warmKernelCount } from '../../../../functions/jupyter/warm-kernels.js';
import { parseMessage } from '../../../../functions/request/grammar.js';
import { runNotebook, type RunOutcome } from '../../../../functions/run/runner.js';
import { startTestServer, type TestServer } from '../../../helpers/jupyter.js';

const T = { timeout: 90_000 };
let server: TestServer;

before(async () => {
  server = await startTestServer();
  await server.writeNotebook('w/set.ipynb', [
    'import os, sys\nsecret = 42\nos.makedirs("sub", ' +
      'exist_ok=True)\nos.chdir("sub")\nos.environ["NBT_LEAK"] = "1"\nsys.path.append("/leak")',
    'secret',
  ]);
  await server.writeNotebook('w/check.ipynb', [
    'import os, sys',
    '("secret" in globals(), os.path.basename(os.getcwd()), os.environ.get("NBT_LEAK"), "/leak" in sys.path, len(In))',
  ]);
  await server.writeNotebook('w/fail.ipynb', ['x = 1', 'raise ValueError("boom")']);
});
after(async () => {
  await closeWarmKernels();
  await server?.close();
});

function run(path: string): Promise<RunOutcome> {
  return runNotebook({
    request: parseMessage(`${server.hostPort} /${path}`),
    token: server.token,
    warmKernel: true,
    limits: { runTimeoutMs: 60_000 },
  });
}

describe('warm kernels (opt-in)', () => {
  test('the next run reuses the kernel and sees a fresh namespace, cwd, environment and history', T, async () => {
    const first = await run('w/set.ipynb');
    assert.equal(first.record.status, 'succeeded', JSON.stringify(first.record.error));
    assert.deepEqual(first.record.lastResult, { 'text/plain': '42' });
    const kept = await server.kernels();
    assert.equal(kept.length, 1, 'the kernel is kept after a successful run');
    assert.equal(warmKernelCount(), 1);

    const second = await run('w/check.ipynb');
    assert.equal(second.record.status, 'succeeded', JSON.stringify(second.record.error));
    assert.deepEqual(await server.kernels(), kept, 'the same kernel ran the second notebook');
    // No variable, the start's cwd (the notebook folder), no leaked env var or sys.path entry, history restarted.
    assert.deepEqual(second.record.lastResult, { 'text/plain': "(False, 'w', None, False, 3)" });
    assert.equal(second.exec!.cells[0]!.executionCount, 1, 'execution counts start at 1 again');

    await closeWarmKernels();
    assert.deepEqual(await server.kernels(), []);
  });

  test('a failed run deletes its kernel instead of keeping it', T, async () => {
    const out = await run('w/fail.ipynb');
    assert.equal(out.record.status, 'failed');
    assert.equal(warmKernelCount(), 0);
    assert.deepEqual(await server.kernels(), []);
  });

  // `guarded`: the connections go through the SSRF guard's connector, and the exit's DELETE (sent by
  // a child process) is pinned to the address that connector approved.
  for (const [ending, guarded] of [
    ['natural', false],
    ['process.exit', false],
    ['SIGTERM', false],
    ['process.exit', true],
  ] as const) {
    test(
      `no kernel is left after the process ends (${ending}${guarded ? ', guarded connections' : ''})`,
      T,
      async () => {
        const script = join(server.rootDir, `child-${ending.replace('.', '-')}${guarded ? '-guarded' : ''}.mjs`);
        const runner = new URL('../../../../functions/run/runner.js', import.meta.url).href;
        const grammar = new URL('../../../../functions/request/grammar.js', import.meta.url).href;
        const guard = new URL('../../../../functions/security/guard.js', import.meta.url).href;
        const hostPort = guarded ? `localhost:${server.address.port}` : server.hostPort;
        await writeFile(
          script,
          `
const { runNotebook } = await import(${JSON.stringify(runner)});
const { parseMessage } = await import(${JSON.stringify(grammar)});
const { guardFromEnv } = await import(${JSON.stringify(guard)});
const request = parseMessage(${JSON.stringify(`${hostPort} /w/check.ipynb`)});
const connector = ${guarded}
  ? guardFromEnv({ ALLOWED_SERVERS: ${JSON.stringify(hostPort)} }).connectorFor(request.server)
  : undefined;
const out = await runNotebook({ request, connector, token: ${JSON.stringify(server.token)}, warmKernel: true });
process.stdout.write(out.record.status + '\\n');
${ending === 'process.exit' ? 'process.exit(0);' : ending === 'SIGTERM' ? 'setInterval(() => {}, 1000);' : ''}
`,
        );
        const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        const ready = new Promise<void>((res) =>
          child.stdout.setEncoding('utf8').on('data', (d: string) => {
            out += d;
            if (out.includes('\n')) res();
          }),
        );
        const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
        await Promise.race([ready, exited]);
        assert.equal(out.trim(), 'succeeded');
        if (ending === 'SIGTERM') {
          assert.equal((await server.kernels()).length, 1, 'kept while the process lives');
          child.kill('SIGTERM');
        }
        await exited;
        assert.deepEqual(await server.kernels(), [], 'the kept kernel was deleted when the process ended');
      },
    );
  }
});
