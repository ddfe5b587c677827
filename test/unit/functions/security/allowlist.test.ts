import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isMetadataIp, isPrivateAddress } from '../../../../functions/security/address-policy.js';
import { checkHost, parseAllowlist } from '../../../../functions/security/allowlist.js';

const srv = (host: string, port = 443) => ({ host, port, secure: port === 443 });

describe('parseAllowlist', () => {
  test('parses hosts, wildcards, ports, IPv6 and separators', () => {
    const p = parseAllowlist('jupyter-abc.a.run.app, *.run.app:443  127.0.0.1:8888 [::1]:* *');
    assert.deepEqual(
      p.map((x) => [x.host, x.port]),
      [
        ['jupyter-abc.a.run.app', undefined],
        ['*.run.app', 443],
        ['127.0.0.1', 8888],
        ['::1', undefined],
        ['*', undefined],
      ],
    );
    assert.deepEqual(parseAllowlist(undefined), []);
    assert.deepEqual(parseAllowlist(''), []);
  });
  for (const bad of ['http://x.com', 'x.com/path', 'x.com:0', 'x.com:99999', 'a b:c', 'user@x.com']) {
    test(`refuses "${bad}" naming it`, () => {
      assert.throws(
        () => parseAllowlist(bad),
        (e: Error) => e.message.includes('ALLOWED_SERVERS'),
      );
    });
  }
});

describe('checkHost', () => {
  const patterns = parseAllowlist('nb-1.a.run.app *.example.com:8443 127.0.0.1:8888 10.0.0.5');
  const cases: Array<[string, number, boolean, boolean]> = [
    // host, port, allowed, privateOk
    ['nb-1.a.run.app', 443, true, true],
    ['NB-1.A.RUN.APP', 443, true, true],
    ['nb-2.a.run.app', 443, false, false],
    ['x.example.com', 8443, true, false],
    ['x.example.com', 443, false, false],
    ['example.com', 8443, false, false],
    ['evil-example.com', 8443, false, false],
    ['127.0.0.1', 8888, true, true],
    ['127.0.0.1', 8889, false, false],
    ['10.0.0.5', 80, true, true],
    ['169.254.169.254', 80, false, false],
    ['metadata.google.internal', 80, false, false],
  ];
  for (const [host, port, allowed, privateOk] of cases) {
    test(`${host}:${port} → ${allowed ? 'allowed' : 'refused'}`, () => {
      const v = checkHost(srv(host, port), patterns);
      assert.equal(v.allowed, allowed, v.reason);
      assert.equal(v.privateOk, privateOk);
      if (!allowed) assert.ok(v.reason && v.reason.length > 0);
    });
  }
  test('metadata is refused even when allowlisted explicitly or by *', () => {
    const p = parseAllowlist('169.254.169.254 metadata.google.internal *');
    assert.equal(checkHost(srv('169.254.169.254', 80), p).allowed, false);
    assert.equal(checkHost(srv('metadata.google.internal', 80), p).allowed, false);
    assert.match(checkHost(srv('metadata.google.internal', 80), p).reason!, /metadata/);
  });
  test('a wildcard never allows a private IP literal', () => {
    const p = parseAllowlist('*');
    assert.equal(checkHost(srv('10.1.2.3', 80), p).allowed, false);
    assert.equal(checkHost(srv('192.168.0.1', 80), p).allowed, false);
    assert.equal(checkHost(srv('::1', 80), p).allowed, false);
    assert.equal(checkHost(srv('8.8.8.8', 80), p).allowed, true);
  });
  test('no patterns: everything refused with a hint to configure', () => {
    const v = checkHost(srv('x.run.app'), []);
    assert.equal(v.allowed, false);
    assert.match(v.reason!, /ALLOWED_SERVERS/);
  });
});

describe('address classes', () => {
  const priv = [
    '127.0.0.1',
    '10.1.1.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.1.1',
    '100.64.0.1',
    '0.0.0.0',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd12::1',
    '::ffff:10.0.0.1',
    '::ffff:a00:1',
    '::ffff:127.0.0.1',
    '224.0.0.1',
  ];
  const pub = ['8.8.8.8', '172.32.0.1', '172.15.0.1', '100.128.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8'];
  for (const ip of priv) test(`${ip} is private`, () => assert.equal(isPrivateAddress(ip), true));
  for (const ip of pub) test(`${ip} is public`, () => assert.equal(isPrivateAddress(ip), false));
  test('metadata addresses, also IPv4-mapped', () => {
    assert.equal(isMetadataIp('169.254.169.254'), true);
    assert.equal(isMetadataIp('::ffff:169.254.169.254'), true);
    assert.equal(isMetadataIp('::ffff:a9fe:a9fe'), true);
    assert.equal(isMetadataIp('169.254.169.253'), false);
  });
});

describe('canonical patterns and spellings', () => {
  test('patterns are canonicalised as messages are', () => {
    const p = parseAllowlist('127.1:8888 [0:0::1] 0x0a000005 JUPYTER.example.COM. *.Example.ORG.');
    assert.deepEqual(
      p.map((x) => x.host),
      ['127.0.0.1', '::1', '10.0.0.5', 'jupyter.example.com', '*.example.org'],
    );
    assert.equal(checkHost(srv('127.0.0.1', 8888), p).privateOk, true);
    assert.throws(() => parseAllowlist('1.2.3.4.5'), /ALLOWED_SERVERS: "1\.2\.3\.4\.5" does not name a valid host/);
  });
  test('a wildcard suffix is a name, never digits of an IP address', () => {
    assert.throws(() => parseAllowlist('*.0.1'), /does not name a valid host/);
  });
  // The canonical form of every listed spelling (request/address.ts), refused through a `*` pattern.
  const canonical = [
    '127.0.0.1',
    '0.0.0.0',
    '::1',
    '::ffff:7f00:1',
    '169.254.169.254',
    '::ffff:a9fe:a9fe',
    '10.0.0.1',
    '64:ff9b::7f00:1',
  ];
  for (const host of canonical) {
    test(`${host} is refused through *`, () => {
      const v = checkHost(srv(host, 80), parseAllowlist('*'));
      assert.equal(v.allowed, false);
      assert.match(v.reason!, /metadata|private address/);
    });
  }
  test('metadata names are refused in any case, with a trailing dot', () => {
    for (const h of ['metadata.google.internal', 'metadata', 'instance-data.ec2.internal']) {
      assert.equal(checkHost(srv(h, 80), parseAllowlist(`* ${h}`)).allowed, false, h);
    }
  });
});
