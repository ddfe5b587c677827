/**
 * Message grammar, classic form: table-driven decodeData and parse tests for every bad input, env
 * fallbacks, and gcloud byte compatibility. The JSON form is in grammar-json.test.ts, malformed
 * messages and token-safe error quotes in grammar-malformed.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeClassic, encodeData, encodeMessage } from '../../../../functions/request/encode.js';
import { decodeData, parseMessage, type GrammarEnv, type RunRequest } from '../../../../functions/request/grammar.js';
import { assertBad, b64, req, srv } from '../../../helpers/run-requests.js';

describe('decodeData', () => {
  const ok: [string, string, string][] = [
    ['plain ASCII', b64('h:1 /a.ipynb'), 'h:1 /a.ipynb'],
    ['UTF-8 multibyte', b64('h:1 /ü/日本/📓.ipynb'), 'h:1 /ü/日本/📓.ipynb'],
    ['unpadded base64', b64('ab').replace(/=+$/, ''), 'ab'],
    ['base64 with line breaks', `${b64('hello world').slice(0, 8)}\n${b64('hello world').slice(8)}`, 'hello world'],
    ['UTF-8 BOM dropped', b64(Buffer.from([0xef, 0xbb, 0xbf, 0x61])), 'a'],
  ];
  for (const [name, data, want] of ok) it(`decodes ${name}`, () => assert.equal(decodeData(data), want));

  const bad: [string, unknown, RegExp][] = [
    ['empty string', '', /message data is empty/],
    ['undefined', undefined, /message data is empty/],
    ['null', null, /message data is empty/],
    ['a number', 42, /must be a base64 string, got number/],
    ['an object', { a: 1 }, /must be a base64 string, got object/],
    ['non-base64 characters', 'h:1 /a.ipynb!', /not base64/],
    ['URL-safe alphabet', 'a-b_', /not base64/],
    ['impossible length', 'QUJDR', /not base64/],
    ['padding in the middle', 'QQ==QQ==', /not base64/],
    ['invalid UTF-8 byte', b64(Buffer.from([0x68, 0xff, 0x69])), /not valid UTF-8/],
    ['overlong UTF-8', b64(Buffer.from([0xc0, 0x80])), /not valid UTF-8/],
    ['UTF-8-encoded surrogate', b64(Buffer.from([0xed, 0xa0, 0x80])), /not valid UTF-8/],
    ['truncated multibyte', b64(Buffer.from([0xe6, 0x97])), /not valid UTF-8/],
  ];
  for (const [name, data, message] of bad)
    it(`rejects ${name}`, () => assertBad(() => decodeData(data), 'data', message));
});

describe('parseMessage: classic form', () => {
  const ok: [string, string, GrammarEnv, RunRequest][] = [
    [
      'gcloud example',
      '127.0.0.1:8888 /nb.ipynb --use-https --verbose',
      {},
      req(srv('127.0.0.1', 8888, true), 'nb.ipynb', { verbose: true }),
    ],
    ['no flags', 'jupyter.local:8888 /work/nb.ipynb', {}, req(srv('jupyter.local', 8888), 'work/nb.ipynb')],
    ['default port 80', 'example.com /nb.ipynb', {}, req(srv('example.com', 80), 'nb.ipynb')],
    [
      'default port 443 with --use-https',
      'example.com /nb.ipynb --use-https',
      {},
      req(srv('example.com', 443, true), 'nb.ipynb'),
    ],
    [
      'explicit port 80 with https',
      'example.com:80 /nb.ipynb --use-https',
      {},
      req(srv('example.com', 80, true), 'nb.ipynb'),
    ],
    ['IPv6 in brackets with port', '[::1]:8888 /nb.ipynb', {}, req(srv('::1', 8888), 'nb.ipynb')],
    [
      'IPv6 in brackets, https default',
      '[2001:DB8::1] /nb.ipynb --use-https',
      {},
      req(srv('2001:db8::1', 443, true), 'nb.ipynb'),
    ],
    ['host lower-cased, no leading slash', 'Example.COM:8080 nb.ipynb', {}, req(srv('example.com', 8080), 'nb.ipynb')],
    ['odd whitespace', '  h:1\t\n /a.ipynb \r\n --verbose\n', {}, req(srv('h', 1), 'a.ipynb', { verbose: true })],
    ['repeated flag', 'h:1 /a.ipynb --verbose --verbose', {}, req(srv('h', 1), 'a.ipynb', { verbose: true })],
    ['port 65535', 'h:65535 /a.ipynb', {}, req(srv('h', 65535), 'a.ipynb')],
    ['port with a leading zero', 'h:08888 /a.ipynb', {}, req(srv('h', 8888), 'a.ipynb')],
    ['upper-case extension', 'h:1 /A.IPYNB', {}, req(srv('h', 1), 'A.IPYNB')],
    [
      'message positionals beat env',
      'h:1 /a.ipynb',
      { JUPYTER_SERVER: 'env:2', JUPYTER_NOTEBOOK: 'env.ipynb' },
      req(srv('h', 1), 'a.ipynb'),
    ],
    [
      'JUPYTER_NOTEBOOK fills a lone server',
      'h:8888',
      { JUPYTER_NOTEBOOK: '/dir/env.ipynb' },
      req(srv('h', 8888), 'dir/env.ipynb'),
    ],
    [
      'JUPYTER_SERVER fills a lone notebook path',
      '/dir/nb.ipynb',
      { JUPYTER_SERVER: 'srv:9000' },
      req(srv('srv', 9000), 'dir/nb.ipynb'),
    ],
    [
      'lone name ending .ipynb is the notebook',
      'nb.ipynb',
      { JUPYTER_SERVER: 'srv:9000' },
      req(srv('srv', 9000), 'nb.ipynb'),
    ],
    [
      'flags only, both from env',
      '--verbose --use-https',
      { JUPYTER_SERVER: 'srv', JUPYTER_NOTEBOOK: 'x.ipynb' },
      req(srv('srv', 443, true), 'x.ipynb', { verbose: true }),
    ],
    [
      'JUPYTER_SERVER may carry a scheme',
      '/nb.ipynb',
      { JUPYTER_SERVER: 'https://nb-abc.a.run.app/' },
      req(srv('nb-abc.a.run.app', 443, true), 'nb.ipynb'),
    ],
    [
      'JUPYTER_SERVER https with --use-https',
      '/nb.ipynb --use-https',
      { JUPYTER_SERVER: 'https://h:8443' },
      req(srv('h', 8443, true), 'nb.ipynb'),
    ],
  ];
  for (const [name, text, env, want] of ok) it(`parses ${name}`, () => assert.deepEqual(parseMessage(text, env), want));

  const bad: [string, string, GrammarEnv, string, RegExp][] = [
    ['empty text', '', {}, 'data', /message data is empty/],
    [
      'blank text, even with env',
      ' \n\t ',
      { JUPYTER_SERVER: 'h', JUPYTER_NOTEBOOK: 'a.ipynb' },
      'data',
      /message data is empty/,
    ],
    [
      'notebook missing, no JUPYTER_NOTEBOOK',
      '127.0.0.1:8888',
      {},
      'notebook',
      /no notebook path in the message and JUPYTER_NOTEBOOK is not set/,
    ],
    [
      'notebook missing, blank JUPYTER_NOTEBOOK',
      '127.0.0.1:8888',
      { JUPYTER_NOTEBOOK: ' ' },
      'notebook',
      /JUPYTER_NOTEBOOK is not set/,
    ],
    [
      'server missing, no JUPYTER_SERVER',
      '/nb.ipynb',
      {},
      'HOST:PORT',
      /no server in the message and JUPYTER_SERVER is not set/,
    ],
    ['lone .ipynb, no JUPYTER_SERVER', 'nb.ipynb --verbose', {}, 'HOST:PORT', /JUPYTER_SERVER is not set/],
    [
      'lone path without .ipynb is a notebook path',
      'dir/nb',
      { JUPYTER_SERVER: 'h' },
      'notebook',
      /does not end in \.ipynb/,
    ],
    [
      'bad JUPYTER_SERVER',
      '/nb.ipynb',
      { JUPYTER_SERVER: 'h:99999' },
      'JUPYTER_SERVER',
      /JUPYTER_SERVER: port 99999 is out of range/,
    ],
    ['bad JUPYTER_NOTEBOOK', 'h:1', { JUPYTER_NOTEBOOK: '../x.ipynb' }, 'JUPYTER_NOTEBOOK', /must not contain "\.\."/],
    [
      'env http:// contradicts --use-https',
      '/a.ipynb --use-https',
      { JUPYTER_SERVER: 'http://h' },
      'JUPYTER_SERVER',
      /http:\/\/ contradicts --use-https/,
    ],
    ['port 0', 'h:0 /a.ipynb', {}, 'HOST:PORT', /port 0 is out of range 1-65535/],
    ['port 70000', 'h:70000 /a.ipynb', {}, 'HOST:PORT', /port 70000 is out of range 1-65535/],
    ['port abc', 'h:abc /a.ipynb', {}, 'HOST:PORT', /port "abc" is not a number/],
    ['empty port', 'h: /a.ipynb', {}, 'HOST:PORT', /port "" is not a number/],
    ['negative port', 'h:-1 /a.ipynb', {}, 'HOST:PORT', /port "-1" is not a number/],
    ['IPv6 port 0', '[::1]:0 /a.ipynb', {}, 'HOST:PORT', /port 0 is out of range/],
    ['unknown flag', 'h:1 /a.ipynb --foo', {}, '--foo', /unknown flag "--foo" \(known: --use-https, --verbose/],
    ['short flag', 'h:1 /a.ipynb -v', {}, '-v', /unknown flag "-v"/],
    ['flag with a value', 'h:1 /a.ipynb --use-https=true', {}, '--use-https=…', /unknown flag "--use-https=…"/],
    [
      'a secret flag value is not echoed',
      'h:1 /a.ipynb --token=s3cr3t',
      {},
      '--token=…',
      /^unknown flag "--token=…" \(known[^3]*$/,
    ],
    ['flag in the wrong case', 'h:1 /a.ipynb --VERBOSE', {}, '--VERBOSE', /unknown flag "--VERBOSE"/],
    ['positional after a flag', 'h:1 --verbose /a.ipynb', {}, '/a.ipynb', /positional "\/a\.ipynb" after a flag/],
    ['three positionals', 'h:1 /a.ipynb extra', {}, 'data', /at most 2 positionals .* got 3/],
    ['scheme in classic host', 'http://h:1 /a.ipynb', {}, 'HOST:PORT', /without a scheme/],
    ['IPv6 without brackets', '::1:8888 /a.ipynb', {}, 'HOST:PORT', /IPv6 addresses must be written in \[brackets\]/],
    ['unclosed bracket', '[::1:8888 /a.ipynb', {}, 'HOST:PORT', /unclosed \[/],
    ['junk after bracket', '[::1]8888 /a.ipynb', {}, 'HOST:PORT', /expected :PORT after \]/],
    ['IPv4 in brackets', '[127.0.0.1]:80 /a.ipynb', {}, 'HOST:PORT', /not an IPv6 address/],
    ['not an IPv6 address in brackets', '[:]:80 /a.ipynb', {}, 'HOST:PORT', /not an IPv6 address/],
    ['too many colons in brackets', '[1:2:3:4:5:6:7:8:9] /a.ipynb', {}, 'HOST:PORT', /not an IPv6 address/],
    ['IPv6 zone id', '[fe80::1%eth0]:80 /a.ipynb', {}, 'HOST:PORT', /not an IPv6 address/],
    ['underscore host', 'bad_host:80 /a.ipynb', {}, 'HOST:PORT', /"bad_host" is not a valid host name/],
    ['user info in host', 'me@h:80 /a.ipynb', {}, 'HOST:PORT', /no path, query, user/],
    ['host and path swapped', '/a.ipynb h:1', {}, 'HOST:PORT', /no path, query, user/],
    [
      'path with ..',
      'h:1 /a/../b.ipynb',
      {},
      'notebook',
      /notebook path "\/a\/\.\.\/b\.ipynb" must not contain "\.\."/,
    ],
    ['path that is ..', 'h:1 ../b.ipynb', {}, 'notebook', /must not contain "\.\."/],
    ['path with .', 'h:1 ./b.ipynb', {}, 'notebook', /must not contain/],
    ['path with //', 'h:1 /a//b.ipynb', {}, 'notebook', /"\/\/"/],
    ['path with trailing /', 'h:1 /a.ipynb/', {}, 'notebook', /must not contain/],
    ['path not ending .ipynb', 'h:1 /a.py', {}, 'notebook', /"\/a\.py" does not end in \.ipynb/],
    ['path ending .ipynb.bak', 'h:1 /a.ipynb.bak', {}, 'notebook', /does not end in \.ipynb/],
    ['path with backslash', 'h:1 /a\\b.ipynb', {}, 'notebook', /control character or backslash/],
    ['root path only', 'h:1 /', {}, 'notebook', /notebook path is empty/],
  ];
  for (const [name, text, env, field, message] of bad) {
    it(`rejects ${name}`, () => assertBad(() => parseMessage(text, env), field, message));
  }
});

describe('gcloud byte compatibility', () => {
  it('decodes and parses what `gcloud pubsub topics publish --message=…` sends', () => {
    const text = '127.0.0.1:8888 /nb.ipynb --use-https --verbose';
    const data = Buffer.from(text).toString('base64');
    const want = req(srv('127.0.0.1', 8888, true), 'nb.ipynb', { verbose: true });
    assert.deepEqual(parseMessage(decodeData(data)), want);
    assert.equal(encodeClassic(want), text);
    assert.equal(encodeData(want), data);
  });
  it('encodes a plain request without flags', () => {
    assert.equal(encodeMessage(req(srv('h', 8888), 'dir/nb.ipynb')), 'h:8888 /dir/nb.ipynb');
    assert.equal(encodeMessage(req(srv('::1', 80), 'nb.ipynb')), '[::1]:80 /nb.ipynb');
  });
});
