/**
 * The run's cookie jar (RFC 6265 subset for one origin): what is kept, what is sent where, the
 * bounds, and that its values are never printed.
 * Spec: https://www.rfc-editor.org/rfc/rfc6265 §5.1–5.4;
 * https://cloud.google.com/run/docs/configuring/session-affinity.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { CookieJar, MAX_COOKIE_BYTES, MAX_COOKIES } from '../../../../functions/jupyter/cookie-jar.js';

const ORIGIN = 'https://nb-abc123-ew.a.run.app';

test("Cloud Run's affinity cookie is kept and sent on every later request", () => {
  const jar = new CookieJar(ORIGIN);
  assert.equal(jar.header('/api/kernelspecs'), undefined);
  jar.store('GOOGAPPUID=xCgsIAxDJAiCpvqXvBg; Path=/; Max-Age=2592000; HttpOnly', '/api/kernelspecs');
  assert.equal(jar.header('/api/kernels'), 'GOOGAPPUID=xCgsIAxDJAiCpvqXvBg');
  assert.equal(jar.header('/api/kernels/k1/channels?session_id=s'), 'GOOGAPPUID=xCgsIAxDJAiCpvqXvBg');
  assert.deepEqual(jar.withCookies({ authorization: 'token t' }, '/'), {
    authorization: 'token t',
    cookie: 'GOOGAPPUID=xCgsIAxDJAiCpvqXvBg',
  });
});

test('a cookie of the same name and path is replaced; several are sent longest path first', () => {
  const jar = new CookieJar(ORIGIN);
  jar.store(['a=1; Path=/', 'b=2; Path=/api/kernels'], '/');
  jar.store('a=3; Path=/', '/');
  assert.equal(jar.size, 2);
  assert.equal(jar.header('/api/kernels/x'), 'b=2; a=3');
  assert.equal(jar.header('/api/contents'), 'a=3');
  assert.equal(jar.header('/api/kernelsX'), 'a=3', 'path-match is by segment');
});

test("without Path the default path is the request path's directory (§5.1.4)", () => {
  const jar = new CookieJar(ORIGIN);
  jar.store('d=1', '/api/kernels/k1?x=1');
  assert.equal(jar.header('/api/kernels/k2'), 'd=1');
  assert.equal(jar.header('/api/contents'), undefined);
  jar.store('e=1; Path=relative', '/api/x');
  assert.equal(jar.header('/api/y'), 'e=1', 'a Path not starting with / is the default path');
});

test('Expires and Max-Age: expired cookies are not sent, Max-Age wins, a past expiry deletes', () => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const jar = new CookieJar(ORIGIN, () => now);
  jar.store('a=1; Max-Age=10', '/');
  jar.store('b=1; Expires=Thu, 01 Jan 2026 00:00:05 GMT', '/');
  jar.store('c=1; Expires=Thu, 01 Jan 2026 00:00:01 GMT; Max-Age=100', '/');
  assert.equal(jar.header('/'), 'a=1; b=1; c=1');
  now += 6_000;
  assert.equal(jar.header('/'), 'a=1; c=1');
  now += 5_000;
  assert.equal(jar.header('/'), 'c=1');
  jar.store('c=gone; Max-Age=0', '/');
  assert.equal(jar.header('/'), undefined);
  jar.store('d=1; Expires=not a date', '/');
  assert.equal(jar.header('/'), 'd=1', 'an unparsable Expires is ignored: a session cookie');
});

test("Domain must domain-match the origin's host, else the cookie is ignored", () => {
  const jar = new CookieJar(ORIGIN);
  jar.store('a=1; Domain=.a.run.app', '/');
  jar.store('b=1; Domain=nb-abc123-ew.a.run.app', '/');
  jar.store('c=1; Domain=other.example', '/');
  jar.store('d=1; Domain=abc123-ew.a.run.app', '/');
  assert.equal(jar.header('/'), 'a=1; b=1');
  const ip = new CookieJar('http://127.0.0.1:8888');
  ip.store('e=1; Domain=0.0.1', '/');
  ip.store('f=1; Domain=127.0.0.1', '/');
  assert.equal(ip.header('/'), 'f=1');
});

test('Secure: kept from and sent to an https origin only', () => {
  const secure = new CookieJar(ORIGIN);
  secure.store('s=1; Secure', '/');
  assert.equal(secure.header('/'), 's=1');
  const plain = new CookieJar('http://127.0.0.1:8888');
  plain.store('s=1; Secure', '/');
  plain.store('p=1', '/');
  assert.equal(plain.header('/'), 'p=1');
});

test('malformed lines are ignored: no "=", an empty name, control characters', () => {
  const jar = new CookieJar(ORIGIN);
  jar.store(['novalue', '=x', 'a=b\u0001c', ' ok = yes ; Path=/ '], '/');
  assert.equal(jar.header('/'), 'ok=yes');
});

test('bounded: a line over the size limit is ignored; past the count the oldest goes', () => {
  const jar = new CookieJar(ORIGIN);
  jar.store(`big=${'x'.repeat(MAX_COOKIE_BYTES)}`, '/');
  assert.equal(jar.size, 0);
  for (let i = 0; i < MAX_COOKIES + 5; i++) jar.store(`c${i}=${i}`, '/');
  assert.equal(jar.size, MAX_COOKIES);
  const sent = jar.header('/')!;
  assert.ok(!sent.split('; ').includes('c0=0') && sent.split('; ').includes(`c${MAX_COOKIES + 4}=${MAX_COOKIES + 4}`));
});

test('its values are never printed (JSON, inspect), and are given to redaction', () => {
  const jar = new CookieJar(ORIGIN);
  jar.store('GOOGAPPUID=secret-affinity-value', '/');
  assert.ok(!JSON.stringify({ jar }).includes('secret-affinity-value'));
  assert.ok(!inspect(jar).includes('secret-affinity-value'));
  assert.ok(!`${String(inspect({ nested: { jar } }))}`.includes('secret-affinity-value'));
  assert.deepEqual(jar.secrets(), ['secret-affinity-value', 'GOOGAPPUID=secret-affinity-value']);
});

test('two jars share nothing', () => {
  const a = new CookieJar(ORIGIN);
  const b = new CookieJar(ORIGIN);
  a.store('GOOGAPPUID=one', '/');
  assert.equal(b.header('/'), undefined);
});

/** A request whose answer the test gives when it likes. */
function pending(): {
  answer: (status: number, setCookie?: string) => void;
  promise: Promise<{ statusCode: number; headers: Record<string, string> }>;
} {
  let answer!: (status: number, setCookie?: string) => void;
  const promise = new Promise<{ statusCode: number; headers: Record<string, string> }>((resolve) => {
    answer = (statusCode, setCookie) => resolve({ statusCode, headers: setCookie ? { 'set-cookie': setCookie } : {} });
  });
  return { answer, promise };
}

test('first contact goes alone: later requests wait for its answer, then carry the cookie it set', async () => {
  const jar = new CookieJar('http://127.0.0.1:8888');
  const first = pending();
  const sent: Array<string | undefined> = [];
  const a = jar.exchange('/api/kernelspecs', { authorization: 'token t' }, (h) => {
    sent.push(h.cookie);
    return first.promise;
  });
  const b = jar.exchange('/api/contents/nb.ipynb', {}, async (h) => {
    sent.push(h.cookie);
    return { statusCode: 200, headers: {} };
  });
  const c = jar.exchange('/api/kernels', {}, async (h) => {
    sent.push(h.cookie);
    return { statusCode: 201, headers: {} };
  });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(sent, [undefined], 'the others wait');
  first.answer(200, 'GOOGAPPUID=v1; Path=/');
  await Promise.all([a, b, c]);
  assert.deepEqual(sent, [undefined, 'GOOGAPPUID=v1', 'GOOGAPPUID=v1']);
});

test('an answer that is not 2xx and sets no cookie keeps the gate; a 2xx without one opens it', async () => {
  const jar = new CookieJar('http://127.0.0.1:8888');
  const order: string[] = [];
  const starting = pending();
  const a = jar.exchange('/api/kernelspecs', {}, () => {
    order.push('a');
    return starting.promise;
  });
  const ready = pending();
  const b = jar.exchange('/api/kernelspecs', {}, () => {
    order.push('b');
    return ready.promise;
  });
  const c = jar.exchange('/api/contents/x', {}, async () => {
    order.push('c');
    return { statusCode: 200, headers: {} };
  });
  await new Promise((r) => setImmediate(r));
  starting.answer(503);
  await a;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, ['a', 'b'], 'after a 503 the next request goes alone');
  ready.answer(200);
  await Promise.all([b, c]);
  assert.deepEqual(order, ['a', 'b', 'c']);
  assert.equal(jar.size, 0);
});

test('a waiting request that is cancelled goes on at once (its client rejects it unsent)', async () => {
  const jar = new CookieJar('http://127.0.0.1:8888');
  const first = pending();
  void jar.exchange('/a', {}, () => first.promise);
  const ac = new AbortController();
  const waiting = jar.exchange(
    '/b',
    {},
    async () => {
      throw new Error('aborted before sending');
    },
    ac.signal,
  );
  ac.abort();
  await assert.rejects(waiting, /aborted before sending/);
  first.answer(200);
});
