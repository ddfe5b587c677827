/**
 * ID tokens for private Cloud Run services: which servers get one (audience), the header shape,
 * the cache (until five minutes before expiry, one fetch for concurrent callers, per audience)
 * and how a failed fetch is classified. The fetcher is injected.
 * Spec: docs/deploy.md (Security by default); functions/auth/id-token.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  audienceFor,
  createIdTokenProvider,
  jwtExpiry,
  SERVERLESS_AUTHORIZATION,
  type IdTokenEnv,
} from '../../../../functions/auth/id-token.js';
import { isNbtError } from '../../../../functions/errors.js';
import type { ServerAddress } from '../../../../functions/request/address.js';

const RUN: ServerAddress = { host: 'reports-hello-abc123-ew.a.run.app', port: 443, secure: true };
const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
/** An unsigned JWT with the given expiry (seconds since epoch). */
const jwt = (exp: number, n = 0): string => `${b64({ alg: 'RS256' })}.${b64({ aud: 'x', exp, n })}.sig`;

test('audience: https *.run.app gets its URL; http, other hosts and "off" get none', () => {
  const cases: Array<[ServerAddress, IdTokenEnv, string | undefined]> = [
    [RUN, {}, 'https://reports-hello-abc123-ew.a.run.app'],
    [{ ...RUN, host: 'Reports-Hello-abc123-ew.a.RUN.app' }, {}, 'https://reports-hello-abc123-ew.a.run.app'],
    [{ ...RUN, port: 8443 }, {}, 'https://reports-hello-abc123-ew.a.run.app:8443'],
    [{ ...RUN, secure: false, port: 80 }, {}, undefined],
    [{ host: 'jupyter.example.com', port: 443, secure: true }, {}, undefined],
    [
      { host: 'jupyter.example.com', port: 443, secure: true },
      { NBTRIGGER_ID_TOKEN: 'always' },
      'https://jupyter.example.com',
    ],
    [
      { host: 'jupyter.example.com', port: 443, secure: true },
      { NBTRIGGER_ID_TOKEN: 'always', NBTRIGGER_ID_TOKEN_AUDIENCE: 'https://svc-x.a.run.app' },
      'https://svc-x.a.run.app',
    ],
    [RUN, { NBTRIGGER_ID_TOKEN: 'off' }, undefined],
    [{ host: 'run.app.evil.com', port: 443, secure: true }, {}, undefined],
  ];
  for (const [server, env, want] of cases)
    assert.equal(audienceFor(server, env), want, `${server.host}:${server.port} ${JSON.stringify(env)}`);
  assert.equal(
    audienceFor({ host: '127.0.0.1', port: 9, secure: false }, { NBTRIGGER_ID_TOKEN: 'always' }, true),
    'http://127.0.0.1:9',
  );
  assert.throws(
    () => audienceFor(RUN, { NBTRIGGER_ID_TOKEN: 'yes' }),
    (e: unknown) => isNbtError(e) && e.code === 'CONFIG',
  );
});

test('jwtExpiry reads exp; garbage gives undefined', () => {
  assert.equal(jwtExpiry(jwt(1_700_000_000)), 1_700_000_000_000);
  assert.equal(jwtExpiry('not-a-jwt'), undefined);
  assert.equal(jwtExpiry(`a.${b64({ exp: 'soon' })}.c`), undefined);
  assert.equal(jwtExpiry('a.%%%.c'), undefined);
});

test('headers: X-Serverless-Authorization with a Bearer ID token; none for servers that need none', async () => {
  const seen: string[] = [];
  const p = createIdTokenProvider({
    env: {},
    fetch: async (aud) => {
      seen.push(aud);
      return jwt(2_000_000_000);
    },
  });
  assert.deepEqual(await p.headersFor(RUN), { [SERVERLESS_AUTHORIZATION]: `Bearer ${jwt(2_000_000_000)}` });
  assert.deepEqual(await p.headersFor({ host: '127.0.0.1', port: 8888, secure: false }), {});
  assert.deepEqual(seen, ['https://reports-hello-abc123-ew.a.run.app']);
  const keys = Object.keys(await p.headersFor(RUN));
  assert.deepEqual(keys, ['x-serverless-authorization'], 'never touches Authorization (that is the Jupyter token)');
});

test('cache: reused until five minutes before exp, then fetched again; per audience', async () => {
  let clock = 1_000_000_000_000;
  let n = 0;
  const fetched: string[] = [];
  const p = createIdTokenProvider({
    env: {},
    now: () => clock,
    fetch: async (aud) => {
      fetched.push(aud);
      return jwt(clock / 1000 + 3600, ++n);
    },
  });
  const first = await p.headersFor(RUN);
  clock += 54 * 60_000;
  assert.deepEqual(await p.headersFor(RUN), first, 'still fresh at 54 minutes');
  clock += 2 * 60_000; // 56 minutes: inside the 5-minute margin
  const second = await p.headersFor(RUN);
  assert.notDeepEqual(second, first);
  await p.headersFor({ ...RUN, host: 'other-xyz.a.run.app' });
  assert.deepEqual(fetched, [
    'https://reports-hello-abc123-ew.a.run.app',
    'https://reports-hello-abc123-ew.a.run.app',
    'https://other-xyz.a.run.app',
  ]);
});

test('cache: a token without a readable exp lasts 55 minutes', async () => {
  let clock = 0;
  let n = 0;
  const p = createIdTokenProvider({ env: {}, now: () => clock, marginMs: 0, fetch: async () => `opaque-${++n}` });
  await p.headersFor(RUN);
  clock = 54 * 60_000;
  assert.equal((await p.headersFor(RUN))[SERVERLESS_AUTHORIZATION], 'Bearer opaque-1');
  clock = 56 * 60_000;
  assert.equal((await p.headersFor(RUN))[SERVERLESS_AUTHORIZATION], 'Bearer opaque-2');
});

test('concurrent callers share one fetch; a failed fetch is not cached', async () => {
  let calls = 0;
  let fail = true;
  const p = createIdTokenProvider({
    env: {},
    fetch: async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 20));
      if (fail) throw new Error('metadata server: connection reset');
      return jwt(2_000_000_000);
    },
  });
  const errs = await Promise.allSettled([p.headersFor(RUN), p.headersFor(RUN), p.headersFor(RUN)]);
  assert.equal(calls, 1);
  for (const e of errs) {
    assert.equal(e.status, 'rejected');
    const err = (e as PromiseRejectedResult).reason;
    assert.ok(isNbtError(err) && err.code === 'SERVER_UNREACHABLE' && err.retryable, String(err));
  }
  fail = false;
  const ok = await Promise.all([p.headersFor(RUN), p.headersFor(RUN)]);
  assert.equal(calls, 2);
  assert.deepEqual(ok[0], ok[1]);
});

test('no credentials is a configuration error (not retried); an empty token is refused', async () => {
  const none = createIdTokenProvider({
    env: {},
    fetch: async () => {
      throw new Error('Could not load the default credentials. Browse to …');
    },
  });
  await assert.rejects(
    none.headersFor(RUN),
    (e: unknown) =>
      isNbtError(e) && e.code === 'CONFIG' && !e.retryable && /ID token for https:\/\/reports-hello/.test(e.message),
  );
  const empty = createIdTokenProvider({ env: {}, fetch: async () => '' });
  await assert.rejects(empty.headersFor(RUN), (e: unknown) => isNbtError(e) && e.code === 'CONFIG');
});

test('the default fetcher loads google-auth-library only when a token is needed', async () => {
  // No credentials on this machine: the lazy import runs and the failure is classified, not thrown raw.
  const p = createIdTokenProvider({ env: { NBTRIGGER_ID_TOKEN: 'auto' } });
  assert.deepEqual(await p.headersFor({ host: '127.0.0.1', port: 8888, secure: false }), {});
  const env = { ...process.env };
  process.env.GOOGLE_APPLICATION_CREDENTIALS = '/nonexistent/nbtrigger-test-credentials.json';
  try {
    await assert.rejects(
      p.headersFor(RUN),
      (e: unknown) => isNbtError(e) && e.code === 'CONFIG' && /could not get a Google ID token/.test(e.message),
    );
  } finally {
    process.env = env;
  }
});
