import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isNbtError } from '../../../../functions/errors.js';
import { createGuard, guardFromEnv, type LookupFn } from '../../../../functions/security/guard.js';
import { parseAllowlist } from '../../../../functions/security/allowlist.js';

function resolve(lookup: LookupFn, host: string): Promise<string> {
  return new Promise((res, rej) => lookup(host, {}, (err, address) => (err ? rej(err) : res(address as string))));
}

describe('guard', () => {
  test('check() throws SERVER_NOT_ALLOWED, permanent, naming the server', () => {
    const g = createGuard(parseAllowlist('good.example.com'));
    assert.throws(
      () => g.check({ host: 'evil.example.com', port: 443, secure: true }),
      (e: unknown) =>
        isNbtError(e) && e.code === 'SERVER_NOT_ALLOWED' && !e.retryable && e.message.includes('evil.example.com:443'),
    );
    g.check({ host: 'good.example.com', port: 443, secure: true });
  });

  test('the default allowlist is JUPYTER_SERVER exactly (scheme ignored)', () => {
    const g = guardFromEnv({ JUPYTER_SERVER: 'https://127.0.0.1:8888/' });
    g.check({ host: '127.0.0.1', port: 8888, secure: true });
    assert.throws(() => g.check({ host: '127.0.0.1', port: 8889, secure: false }));
    assert.throws(() => guardFromEnv({}).check({ host: 'x.run.app', port: 443, secure: true }), /ALLOWED_SERVERS/);
  });

  test('a malformed ALLOWED_SERVERS is a CONFIG error', () => {
    assert.throws(
      () => guardFromEnv({ ALLOWED_SERVERS: 'http://x' }),
      (e: unknown) => isNbtError(e) && e.code === 'CONFIG',
    );
  });

  test('lookup re-checks resolved addresses: localhost via a wildcard is refused (DNS rebinding)', async () => {
    const g = createGuard(parseAllowlist('*'));
    const server = { host: 'localhost', port: 80, secure: false };
    g.check(server); // the name passes…
    await assert.rejects(resolve(g.lookupFor(server), 'localhost'), /private address/); // …its address does not
  });

  test('lookup lets an exactly allowlisted private host through', async () => {
    const g = createGuard(parseAllowlist('localhost:8888'));
    const addr = await resolve(g.lookupFor({ host: 'localhost', port: 8888, secure: false }), 'localhost');
    assert.match(addr, /^(127\.0\.0\.1|::1)$/);
  });
});
