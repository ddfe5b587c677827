/** Server addresses: parseServer tables and the URL builders. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NbtError } from '../../../../functions/errors.js';
import {
  canonicalHost,
  clip,
  hostPort,
  httpBase,
  parseServer,
  wsBase,
  type ServerAddress,
} from '../../../../functions/request/address.js';

describe('parseServer', () => {
  const ok: [string, boolean, boolean, ServerAddress][] = [
    ['h', false, true, { host: 'h', port: 80, secure: false }],
    ['h', true, true, { host: 'h', port: 443, secure: true }],
    ['h:8888', false, false, { host: 'h', port: 8888, secure: false }],
    ['h:8888', true, false, { host: 'h', port: 8888, secure: true }],
    ['  Jupyter.Example.com.:1  ', false, false, { host: 'jupyter.example.com', port: 1, secure: false }],
    ['10.0.0.7:65535', false, false, { host: '10.0.0.7', port: 65535, secure: false }],
    ['[::1]', false, false, { host: '::1', port: 80, secure: false }],
    ['[::1]', true, false, { host: '::1', port: 443, secure: true }],
    ['[FE80::A:1]:8888', false, false, { host: 'fe80::a:1', port: 8888, secure: false }],
    ['[::ffff:192.0.2.1]:80', false, false, { host: '::ffff:c000:201', port: 80, secure: false }],
    ['http://h', false, true, { host: 'h', port: 80, secure: false }],
    ['HTTPS://h', false, true, { host: 'h', port: 443, secure: true }],
    ['https://h:8443///', true, true, { host: 'h', port: 8443, secure: true }],
    ['https://[::1]', false, true, { host: '::1', port: 443, secure: true }],
    ['http://h:443', false, true, { host: 'h', port: 443, secure: false }],
  ];
  for (const [text, https, scheme, want] of ok) {
    it(`parses ${JSON.stringify(text)} (useHttps=${https}, allowScheme=${scheme})`, () =>
      assert.deepEqual(parseServer(text, https, 'server', scheme), want));
  }

  const bad: [string, boolean, boolean, RegExp][] = [
    ['', false, true, /host is empty/],
    ['https://', false, true, /host is empty/],
    ['http://h', false, false, /written without a scheme/],
    ['ws://h', false, true, /scheme "ws" is not http or https/],
    ['http://h', true, true, /http:\/\/ contradicts --use-https/],
    ['h/path', false, true, /no path, query, user or spaces/],
    ['h?x=1', false, true, /no path, query/],
    ['h#f', false, true, /no path, query/],
    ['u:p@h', false, true, /no path, query, user/],
    ['a b', false, true, /spaces/],
    ['1:2:3', false, true, /\[brackets\]/],
    ['-h', false, true, /"-h" is not a valid host name/],
    ['h-', false, true, /"h-" is not a valid host name/],
    ['a..b', false, true, /not a valid host name/],
    [`${'a'.repeat(64)}.com`, false, true, /not a valid host name/],
    ['h:', false, true, /port "" is not a number/],
    ['h:1.5', false, true, /port "1.5" is not a number/],
    ['h:123456', false, true, /port "123456" is not a number/],
    ['h:0', false, true, /port 0 is out of range 1-65535/],
    ['h:65536', false, true, /port 65536 is out of range/],
    ['[::1', false, true, /unclosed \[/],
    ['[::1]x', false, true, /expected :PORT after \]/],
    ['[::1]:', false, true, /port "" is not a number/],
    ['[]', false, true, /not an IPv6 address/],
    ['[:]', false, true, /not an IPv6 address/],
    ['[:::]', false, true, /not an IPv6 address/],
    ['[1.2.3.4]', false, true, /not an IPv6 address/],
    ['[fe80::1%25eth0]', false, true, /not an IPv6 address/],
  ];
  for (const [text, https, scheme, message] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseServer(text, https, 'JUPYTER_SERVER', scheme),
        (e: unknown) => {
          assert.ok(e instanceof NbtError);
          assert.equal(e.code, 'BAD_MESSAGE');
          assert.equal(e.details.field, 'JUPYTER_SERVER');
          assert.match(e.message, /^JUPYTER_SERVER: /);
          assert.match(e.message, message);
          if (!/[?#@]/.test(text)) assert.ok(e.message.includes(`(got "${clip(text)}")`), e.message);
          return true;
        },
      );
    });
  }
});

describe('parseServer error messages hide credentials', () => {
  const token = 'abcdef0123456789';
  const cases: [string, string][] = [
    [`https://h/?token=${token}`, '(got "https://h/?…")'],
    [`h:8888?token=${token}`, '(got "h:8888?…")'],
    [`h#token=${token}`, '(got "h?…")'],
    [`https://me:${token}@h:8888`, '(got "https://…@h:8888")'],
    [`${token}@h`, '(got "…@h")'],
    [`https://h/${'p'.repeat(100)}?token=${token}`, '…'],
  ];
  for (const [text, echoed] of cases) {
    it(JSON.stringify(text), () => {
      assert.throws(
        () => parseServer(text, false, 'JUPYTER_SERVER'),
        (e: unknown) => {
          assert.ok(e instanceof NbtError);
          assert.ok(e.message.includes(echoed), e.message);
          assert.ok(!e.message.includes(token.slice(0, 6)), `token leaked: ${e.message}`);
          return true;
        },
      );
    });
  }
});

describe('URL builders', () => {
  const cases: [ServerAddress, string, string, string][] = [
    [{ host: 'h', port: 80, secure: false }, 'http://h', 'ws://h', 'h:80'],
    [{ host: 'h', port: 8888, secure: false }, 'http://h:8888', 'ws://h:8888', 'h:8888'],
    [{ host: 'h', port: 443, secure: true }, 'https://h', 'wss://h', 'h:443'],
    [{ host: 'h', port: 80, secure: true }, 'https://h:80', 'wss://h:80', 'h:80'],
    [{ host: 'h', port: 443, secure: false }, 'http://h:443', 'ws://h:443', 'h:443'],
    [{ host: '::1', port: 8888, secure: false }, 'http://[::1]:8888', 'ws://[::1]:8888', '[::1]:8888'],
    [{ host: '::1', port: 443, secure: true }, 'https://[::1]', 'wss://[::1]', '[::1]:443'],
  ];
  for (const [a, http, ws, hp] of cases) {
    it(`builds URLs for ${JSON.stringify(a)}`, () => {
      assert.equal(httpBase(a), http);
      assert.equal(wsBase(a), ws);
      assert.equal(hostPort(a), hp);
      // What hostPort writes parses back to the same address (the scheme travels as a flag).
      assert.deepEqual(parseServer(hostPort(a), a.secure, 'x', false), a);
      assert.equal(new URL(http).port, a.port === (a.secure ? 443 : 80) ? '' : String(a.port));
    });
  }
});

describe('clip', () => {
  const cases: [string, number, string][] = [
    ['abc', 3, 'abc'],
    ['abcd', 3, 'abc…'],
    ['', 0, ''],
    ['x'.repeat(81), 80, `${'x'.repeat(80)}…`],
  ];
  for (const [s, max, want] of cases) it(`clip(${s.length} chars, ${max})`, () => assert.equal(clip(s, max), want));
  it('defaults to 80', () => assert.equal(clip('y'.repeat(100)), `${'y'.repeat(80)}…`));
});

/** Every numeric spelling of a forbidden address, as the SSRF guard must see it: canonical. */
export const SPELLINGS: [string, string][] = [
  ['2130706433', '127.0.0.1'],
  ['0x7f.1', '127.0.0.1'],
  ['0177.0.0.1', '127.0.0.1'],
  ['127.1', '127.0.0.1'],
  ['0', '0.0.0.0'],
  ['0x7f000001', '127.0.0.1'],
  ['017700000001', '127.0.0.1'],
  ['[0:0::1]', '::1'],
  ['[::0:1]', '::1'],
  ['[0:0:0:0:0:ffff:7f00:1]', '::ffff:7f00:1'],
  ['2852039166', '169.254.169.254'],
  ['0xa9fea9fe', '169.254.169.254'],
  ['0251.0376.0251.0376', '169.254.169.254'],
  ['169.254.43518', '169.254.169.254'],
  ['169.254.169.254.', '169.254.169.254'],
  ['[0:0:0:0:0:ffff:a9fe:a9fe]', '::ffff:a9fe:a9fe'],
];

describe('canonical hosts (WHATWG URL host parsing)', () => {
  for (const [written, canonical] of SPELLINGS) {
    it(`${written} is ${canonical}`, () => {
      assert.equal(canonicalHost(written), canonical);
      assert.equal(parseServer(`${written}:8888`, false, 'HOST:PORT', false).host, canonical);
      assert.equal(parseServer(`http://${written}:8888`, false, 'server').host, canonical);
    });
  }
  const names: [string, string][] = [
    ['Jupyter.EXAMPLE.com.', 'jupyter.example.com'],
    ['LOCALHOST.', 'localhost'],
    ['METADATA.google.internal.', 'metadata.google.internal'],
    ['0X7F.1.', '127.0.0.1'],
    ['%31%32%37.0.0.1', '127.0.0.1'],
    ['１２７.0.0.1', '127.0.0.1'],
    ['exämple.com', 'xn--exmple-cua.com'],
    ['[::FFFF:127.0.0.1]', '::ffff:7f00:1'],
  ];
  for (const [written, canonical] of names)
    it(`${written} is ${canonical}`, () => assert.equal(canonicalHost(written), canonical));
  for (const bad of ['1.2.3.4.5', '09.1', 'a..b', '-h', 'x_y', 'h/x', 'a\\b', '[1.2.3.4]']) {
    it(`"${bad}" is not a host`, () => assert.equal(canonicalHost(bad), undefined));
  }
  it('the message names the field and the host as written', () => {
    assert.throws(
      () => parseServer('1.2.3.4.5:80', false, 'HOST:PORT', false),
      (e: unknown) =>
        e instanceof NbtError &&
        e.code === 'BAD_MESSAGE' &&
        e.details.field === 'HOST:PORT' &&
        /"1\.2\.3\.4\.5" is not a valid host/.test(e.message),
    );
  });
});
