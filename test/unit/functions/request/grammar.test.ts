/**
 * Message grammar: table-driven parse tests for both forms, every bad input, env fallbacks,
 * gcloud byte compatibility, exact numbers, malformed JSON, and token-safe error quotes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NbtError } from '../../../../functions/errors.js';
import { encodeClassic, encodeData, encodeMessage, encodeRich } from '../../../../functions/request/encode.js';
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

describe('parseMessage: JSON form', () => {
  const full = {
    server: 'nb.example.com:8443',
    notebook: '/reports/daily.ipynb',
    useHttps: true,
    verbose: true,
    kernelName: 'python3',
    sequential: true,
    timeouts: { startSeconds: 120, cellSeconds: 0.5, runSeconds: 604800 },
    parameters: { day: '2024-01-01', n: 3, nested: { list: [1, 'a', null, true] } },
    output: 'gs://bucket/out.ipynb',
    runKey: 'k-1',
  };
  const ok: [string, string, GrammarEnv, RunRequest][] = [
    [
      'every field',
      JSON.stringify(full),
      {},
      {
        server: srv('nb.example.com', 8443, true),
        notebook: 'reports/daily.ipynb',
        verbose: true,
        kernelName: 'python3',
        sequential: true,
        timeouts: full.timeouts,
        parameters: full.parameters,
        output: 'gs://bucket/out.ipynb',
        runKey: 'k-1',
      },
    ],
    ['minimal', '{"server":"h:1","notebook":"a.ipynb"}', {}, req(srv('h', 1), 'a.ipynb')],
    [
      'scheme sets https and its port',
      '{"server":"https://h","notebook":"a.ipynb"}',
      {},
      req(srv('h', 443, true), 'a.ipynb'),
    ],
    [
      'https scheme wins over useHttps false',
      '{"server":"https://h:8443/","notebook":"a.ipynb","useHttps":false}',
      {},
      req(srv('h', 8443, true), 'a.ipynb'),
    ],
    [
      'useHttps default port 443',
      '{"server":"h","notebook":"a.ipynb","useHttps":true}',
      {},
      req(srv('h', 443, true), 'a.ipynb'),
    ],
    ['plain default port 80', '{"server":"h","notebook":"a.ipynb"}', {}, req(srv('h', 80), 'a.ipynb')],
    ['IPv6 in brackets', '{"server":"[::1]:8888","notebook":"a.ipynb"}', {}, req(srv('::1', 8888), 'a.ipynb')],
    ['both from env', '{}', { JUPYTER_SERVER: 'h:2', JUPYTER_NOTEBOOK: 'e.ipynb' }, req(srv('h', 2), 'e.ipynb')],
    [
      'server from env',
      '{"notebook":"n.ipynb","verbose":false}',
      { JUPYTER_SERVER: 'h:2' },
      req(srv('h', 2), 'n.ipynb'),
    ],
    [
      'sequential false kept',
      '{"server":"h:1","notebook":"a.ipynb","sequential":false}',
      {},
      req(srv('h', 1), 'a.ipynb', { sequential: false }),
    ],
    [
      'empty timeouts and parameters',
      '{"server":"h:1","notebook":"a.ipynb","timeouts":{},"parameters":{}}',
      {},
      req(srv('h', 1), 'a.ipynb', { parameters: {} }),
    ],
    ['spaces in path', '  {"server":"h:1","notebook":"/my dir/a b.ipynb"}\n', {}, req(srv('h', 1), 'my dir/a b.ipynb')],
  ];
  for (const [name, text, env, want] of ok) it(`parses ${name}`, () => assert.deepEqual(parseMessage(text, env), want));

  const base = { server: 'h:1', notebook: 'a.ipynb' };
  const wrongTypes: [string, unknown, string][] = [
    ['server', 8888, 'string, got number'],
    ['server', null, 'string, got null'],
    ['notebook', true, 'string, got boolean'],
    ['notebook', ['a.ipynb'], 'string, got array'],
    ['useHttps', 'true', 'boolean, got string'],
    ['useHttps', 1, 'boolean, got number'],
    ['verbose', 'yes', 'boolean, got string'],
    ['kernelName', 3, 'string, got number'],
    ['kernelName', null, 'string, got null'],
    ['sequential', 'no', 'boolean, got string'],
    ['timeouts', 30, 'object, got number'],
    ['timeouts', [30], 'object, got array'],
    ['timeouts', null, 'object, got null'],
    ['parameters', 'x=1', 'object, got string'],
    ['parameters', [1, 2], 'object, got array'],
    ['output', 5, 'string, got number'],
    ['runKey', {}, 'string, got object'],
  ];
  for (const [field, value, what] of wrongTypes) {
    it(`rejects ${field} = ${JSON.stringify(value)}`, () => {
      const text = JSON.stringify({ ...base, [field]: value });
      assertBad(
        () => parseMessage(text),
        field,
        new RegExp(`field "${field}" must be a ${what.replace(/[[\]]/g, '\\$&')}`),
      );
    });
  }

  const bad: [string, string, GrammarEnv, string, RegExp][] = [
    [
      'a token',
      '{"server":"h:1","notebook":"a.ipynb","token":"s3cret"}',
      {},
      'token',
      /a token is never accepted in a message; set JUPYTER_TOKEN/,
    ],
    ['a null token', '{"token":null}', {}, 'token', /token is never accepted/],
    [
      'an unknown field',
      '{"server":"h:1","notebook":"a.ipynb","kernel":"py"}',
      {},
      'kernel',
      /unknown field "kernel" \(known: server, notebook/,
    ],
    ['a prototype key', '{"__proto__":{}}', {}, '__proto__', /unknown field "__proto__"/],
    ['an Object.prototype name', '{"constructor":"x"}', {}, 'constructor', /unknown field "constructor"/],
    ['toString', '{"toString":"x"}', {}, 'toString', /unknown field "toString"/],
    ['broken JSON', '{"server":"h:1",', {}, 'data', /starts with "\{" but is not valid JSON/],
    ['trailing junk', '{"server":"h:1"} x', {}, 'data', /not valid JSON/],
    [
      'timeouts 0',
      '{"server":"h:1","notebook":"a.ipynb","timeouts":{"startSeconds":0}}',
      {},
      'timeouts.startSeconds',
      /"timeouts.startSeconds" must be a number of seconds > 0/,
    ],
    [
      'timeouts negative',
      '{"server":"h:1","notebook":"a.ipynb","timeouts":{"cellSeconds":-5}}',
      {},
      'timeouts.cellSeconds',
      /> 0 and at most 604800/,
    ],
    [
      'timeouts over a week',
      '{"server":"h:1","notebook":"a.ipynb","timeouts":{"runSeconds":604801}}',
      {},
      'timeouts.runSeconds',
      /at most 604800/,
    ],
    [
      'timeouts infinite',
      '{"server":"h:1","notebook":"a.ipynb","timeouts":{"runSeconds":1e400}}',
      {},
      'timeouts.runSeconds',
      /must be a number/,
    ],
    [
      'timeouts as string',
      '{"server":"h:1","notebook":"a.ipynb","timeouts":{"runSeconds":"60"}}',
      {},
      'timeouts.runSeconds',
      /must be a number/,
    ],
    [
      'timeouts null value',
      '{"server":"h:1","notebook":"a.ipynb","timeouts":{"runSeconds":null}}',
      {},
      'timeouts.runSeconds',
      /must be a number/,
    ],
    [
      'unknown timeout',
      '{"server":"h:1","notebook":"a.ipynb","timeouts":{"idleSeconds":5}}',
      {},
      'timeouts.idleSeconds',
      /unknown field "timeouts.idleSeconds" \(known: startSeconds/,
    ],
    [
      'empty kernelName',
      '{"server":"h:1","notebook":"a.ipynb","kernelName":""}',
      {},
      'kernelName',
      /"kernelName" must not be empty/,
    ],
    ['blank output', '{"server":"h:1","notebook":"a.ipynb","output":"  "}', {}, 'output', /"output" must not be empty/],
    ['empty runKey', '{"server":"h:1","notebook":"a.ipynb","runKey":""}', {}, 'runKey', /"runKey" must not be empty/],
    ['ftp scheme', '{"server":"ftp://h","notebook":"a.ipynb"}', {}, 'server', /scheme "ftp" is not http or https/],
    [
      'http with useHttps',
      '{"server":"http://h","notebook":"a.ipynb","useHttps":true}',
      {},
      'server',
      /contradicts --use-https/,
    ],
    ['server with a path', '{"server":"https://h/lab","notebook":"a.ipynb"}', {}, 'server', /no path/],
    ['bad port', '{"server":"h:0","notebook":"a.ipynb"}', {}, 'server', /server: port 0 is out of range/],
    ['empty server', '{"server":"","notebook":"a.ipynb"}', {}, 'server', /host is empty/],
    [
      'notebook with ..',
      '{"server":"h:1","notebook":"a/../../etc/x.ipynb"}',
      {},
      'notebook',
      /must not contain "\.\."/,
    ],
    ['notebook not .ipynb', '{"server":"h:1","notebook":"a.json"}', {}, 'notebook', /does not end in \.ipynb/],
    [
      'notebook with a control character',
      '{"server":"h:1","notebook":"a\\tb.ipynb"}',
      {},
      'notebook',
      /control character/,
    ],
    ['no notebook, no env', '{"server":"h:1"}', {}, 'notebook', /JUPYTER_NOTEBOOK is not set/],
    ['no server, no env', '{"notebook":"a.ipynb"}', {}, 'HOST:PORT', /JUPYTER_SERVER is not set/],
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

describe('exact parameter numbers', () => {
  it('1.0, -0.0 and big integers survive parse and encode exactly', () => {
    const text =
      '{"server":"h:1","notebook":"/n.ipynb","parameters":{"f":1.0,"z":-0.0,"big":123456789012345678901234567890,"x":1.5,"n":3}}';
    const req = parseMessage(text);
    const p = req.parameters!;
    assert.equal((p.f as { text: string }).text, '1.0');
    assert.equal((p.z as { text: string }).text, '-0.0');
    assert.equal((p.big as { text: string }).text, '123456789012345678901234567890');
    assert.equal(p.x, 1.5);
    assert.equal(p.n, 3);
    assert.match(encodeRich(req), /"f":1\.0,"z":-0\.0,"big":123456789012345678901234567890,"x":1\.5,"n":3/);
    assert.deepEqual(parseMessage(encodeMessage(req)), req);
  });
});

describe('malformed JSON messages are BAD_MESSAGE naming the field and the reason', () => {
  const msg = (extra: string): string => `{"server":"127.0.0.1:8888","notebook":"/a.ipynb",${extra}}`;
  const cases: Array<[string, string, string, RegExp]> = [
    [
      'a float beyond a double (1e400)',
      msg('"parameters":{"x":1e400}'),
      'parameters.x',
      /parameters\.x: number 1e400 is out of range/,
    ],
    ['1e400 deep in a list', msg('"parameters":{"x":[1,{"y":-1e400}]}'), 'parameters.x[1].y', /out of range/],
    [
      'nesting deeper than 512 in parameters',
      msg(`"parameters":{"x":${'['.repeat(600)}${']'.repeat(600)}}`),
      undefined as unknown as string,
      /nesting deeper than 512 levels/,
    ],
    [
      'a lone surrogate in a parameter value',
      msg('"parameters":{"x":"a\\ud800b"}'),
      'parameters.x',
      /lone UTF-16 surrogate/,
    ],
    ['a lone surrogate in a parameter name', msg('"parameters":{"\\udc00":1}'), 'parameters', /lone UTF-16 surrogate/],
    [
      'a lone surrogate in the notebook path',
      '{"server":"127.0.0.1:8888","notebook":"/\\ud800.ipynb"}',
      'notebook',
      /lone UTF-16 surrogate/,
    ],
    ['a NUL in runKey', msg('"runKey":"a\\u0000b"'), 'runKey', /NUL/],
    ['a NUL in kernelName', msg('"kernelName":"python3\\u0000"'), 'kernelName', /NUL/],
    [
      'a bad escape after megabytes of escapes',
      msg(`"parameters":{"x":"${'\\n'.repeat(1_000_000)}\\x"}`),
      'data',
      /not valid JSON/,
    ],
  ];
  for (const [name, text, field, re] of cases) it(name, () => assertBad(() => parseMessage(text), field, re));

  it('4.8 million escapes (9.6 MB) parse, in linear time, with no stack overflow', () => {
    const text = msg(`"parameters":{"x":"${'a\\n'.repeat(3_200_000)}"}`);
    assert.ok(text.length > 9_600_000);
    const req = parseMessage(text);
    assert.equal((req.parameters!.x as string).length, 6_400_000);
  });
  it('a NUL inside a parameter is a value (Python strings hold one); __proto__ is a plain name', () => {
    const req = parseMessage(msg('"parameters":{"x":"a\\u0000b","__proto__":{"__proto__":1}}'));
    assert.equal(req.parameters!.x, 'a\u0000b');
    assert.ok(Object.hasOwn(req.parameters!, '__proto__'));
    assert.equal(Object.getPrototypeOf(req.parameters), Object.prototype, 'the prototype is untouched');
  });
  it('data over 10 MB is refused before it is decoded', () => {
    assertBad(() => decodeData('A'.repeat(13_333_340)), 'data', /larger than 10000000 bytes/);
    assert.equal(decodeData(Buffer.from('h:1 /a.ipynb').toString('base64')), 'h:1 /a.ipynb');
  });
});

describe('an error quoting the message never leaves a piece of the token', () => {
  const token = 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4';
  const env: GrammarEnv = { JUPYTER_TOKEN: token };
  const cases: Array<[string, string]> = [
    ['a positional after a flag', `h:1 /a.ipynb --verbose ${token}`],
    ['an unknown flag', `h:1 /a.ipynb --${token}`],
    ['an unknown field', `{"server":"h:1","notebook":"/a.ipynb","x${token}":1}`],
    ['a notebook path', `h:1 /${'d'.repeat(60)}/${token}.py`],
    ['an unknown timeout', `{"server":"h:1","notebook":"/a.ipynb","timeouts":{"${token}":1}}`],
  ];
  for (const [name, text] of cases) {
    it(name, () =>
      assert.throws(
        () => parseMessage(text, env),
        (e: unknown) => {
          assert.ok(e instanceof NbtError && e.code === 'BAD_MESSAGE');
          const all = `${e.message} ${String(e.details.field)}`;
          assert.ok(!all.includes(token.slice(0, 6)) && !all.includes(token.slice(-6)), all);
          return true;
        },
      ),
    );
  }
});
