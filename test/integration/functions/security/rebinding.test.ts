/**
 * DNS rebinding at output time. The function (createHandler, the real runner, a real Jupyter
 * server) reaches the server by a name that a test resolver answers with 127.0.0.1 while the
 * run goes on (the name is allowlisted exactly, so loopback is fine), then, once the runner has
 * returned, with the metadata address. Every connection the finish step opens — the contents-API
 * write-back, the server's nbconvert, the failure webhook — goes through the guarded connector:
 * each asks the resolver again and is refused, and none reaches its target. A control run with a
 * resolver that does not rebind shows the same outputs succeed.
 */
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createHandler, type HandlerEnv } from '../../../../functions/handler.js';
import type { StoredRun as RunRecord } from '../../../../functions/store/runs-store.js';
import { runNotebook } from '../../../../functions/run/runner.js';
import type { Resolver } from '../../../../functions/security/connector.js';
import { startTestServer, type TestServer } from '../../../helpers/jupyter.js';

const TOKEN = 'rebinding-token-5ecret';
const NB_HOST = 'nb.rebind.test';
const HOOK_HOST = 'hook.rebind.test';

describe('DNS rebinding after the run', { timeout: 180_000 }, () => {
  let jupyter: TestServer;
  let hook: Server;
  let hookPort = 0;
  let hookRequests = 0;
  let dir: string;

  before(async () => {
    // Jupyter Server refuses a Host header it does not know as local unless remote access is on.
    jupyter = await startTestServer({ token: TOKEN, args: ['--ServerApp.allow_remote_access=True'] });
    // A failed run: outputs are written and the failure webhook fires.
    await jupyter.writeNotebook('rb/nb.ipynb', ['x = 1', 'raise ValueError("boom")']);
    hook = createServer((req, res) => {
      hookRequests++;
      req.resume().on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    hookPort = (hook.address() as { port: number }).port;
    dir = await mkdtemp(join(tmpdir(), 'nbtrigger-rebind-'));
  });
  after(async () => {
    await jupyter?.close();
    hook?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * Resolves the server's name to loopback, or (once `rebound`) to the metadata server; the hook's
   * name to loopback.
   */
  function resolver(): { resolve: Resolver; state: { rebound: boolean; lookupsAfter: number } } {
    const state = { rebound: false, lookupsAfter: 0 };
    const resolve: Resolver = async (host) => {
      const at = (address: string): LookupAddress[] => [{ address, family: 4 }];
      if (host === HOOK_HOST) return at('127.0.0.1');
      if (host !== NB_HOST) throw Object.assign(new Error(`unknown host ${host}`), { code: 'ENOTFOUND' });
      if (!state.rebound) return at('127.0.0.1');
      state.lookupsAfter++;
      return at('169.254.169.254');
    };
    return { resolve, state };
  }

  async function fire(
    output: string,
    webhook: string,
    rebind: boolean,
  ): Promise<{ record: RunRecord; lookupsAfter: number; log: string }> {
    const env: HandlerEnv = {
      JUPYTER_TOKEN: TOKEN,
      ALLOWED_SERVERS: `${NB_HOST}:${jupyter.address.port}`,
      NBTRIGGER_STORE: 'none',
      NBTRIGGER_HTML: '1',
      NBTRIGGER_RUNS_DIR: dir,
      NOTIFY_WEBHOOK: webhook,
    } as HandlerEnv;
    const { resolve, state } = resolver();
    const records: RunRecord[] = [];
    const lines: string[] = [];
    const handler = createHandler({
      env,
      resolve,
      write: (l) => lines.push(l),
      onRecord: (r) => records.push(r as RunRecord),
      // The real runner; the name rebinds as soon as it returns, before the finish step connects.
      run: async (o) => {
        const out = await runNotebook(o);
        state.rebound = rebind;
        return out;
      },
    });
    const text = JSON.stringify({ server: `${NB_HOST}:${jupyter.address.port}`, notebook: '/rb/nb.ipynb', output });
    await handler({
      id: `ev-${Math.random()}`,
      data: { message: { data: Buffer.from(text).toString('base64'), messageId: `m-${Math.random()}` } },
    });
    const record = records.at(-1)!;
    assert.equal(record.status, 'failed', JSON.stringify(record.error));
    assert.equal(record.error?.ename, 'ValueError');
    return { record, lookupsAfter: state.lookupsAfter, log: lines.join('\n') };
  }

  const controlTitle =
    'control: without rebinding, the write-back, nbconvert and the webhook (by its address) all succeed';
  test(controlTitle, async () => {
    const before = hookRequests;
    const { record } = await fire('server:/out/control-{runId}.ipynb', `http://127.0.0.1:${hookPort}/x`, false);
    assert.deepEqual(
      record.warnings.filter((w) => !/^\d+ cells? /.test(w)),
      [],
      JSON.stringify(record.warnings),
    );
    assert.match(String(record.outputs?.notebook), /^server:\/out\/control-/);
    assert.match(String(record.outputs?.html), /^server:\/out\/control-.*\.html$/);
    assert.equal(hookRequests, before + 1);
  });

  const reboundWritesTitle =
    'the contents-API write-back and the webhook by name: refused after the rebinding, nothing reaches them';
  test(reboundWritesTitle, async () => {
    const before = hookRequests;
    const { record, lookupsAfter, log } = await fire(
      'server:/out/rebound-{runId}.ipynb',
      `http://${HOOK_HOST}:${hookPort}/x`,
      true,
    );
    assert.equal(record.outputs?.notebook, undefined, 'the notebook was not written');
    const all = [...record.warnings, ...(record.outputErrors ?? []).map((e) => e.message)].join('\n');
    assert.match(
      all,
      new RegExp(`${NB_HOST.replace(/\./g, '\\.')} resolves to 169\\.254\\.169\\.254, a cloud metadata address`),
    );
    // The webhook's name resolves to loopback: an endpoint named by a host name must be public.
    assert.match(
      all,
      new RegExp(
        /webhook notification to http:\/\/hook\.rebind\.test:\d+\/… failed: /.source +
          /.*resolves to 127\.0\.0\.1, a private address \(loopback\)/.source,
      ),
    );
    assert.equal(hookRequests, before, 'the webhook listener saw no request');
    assert.ok(lookupsAfter >= 1, 'the write-back asked the resolver again');
    assert.ok(!log.includes(TOKEN), 'the token is never logged');
  });

  test('nbconvert after the rebinding: refused, the page comes from the built-in renderer', async () => {
    const { record, lookupsAfter } = await fire('rebound/{runId}.ipynb', `http://127.0.0.1:${hookPort}/x`, true);
    assert.match(String(record.outputs?.notebook), /\.ipynb$/);
    assert.match(String(record.outputs?.html), /\.html$/);
    const nbconvert = record.warnings.find((w) => /built-in renderer/.test(w));
    assert.match(
      nbconvert ?? '',
      /resolves to 169\.254\.169\.254, a cloud metadata address/,
      JSON.stringify(record.warnings),
    );
    assert.ok(lookupsAfter >= 1);
  });
});
