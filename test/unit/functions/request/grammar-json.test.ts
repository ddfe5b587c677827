/**
 * Message grammar, JSON form: table-driven parse tests for every field, wrong types, bad values and
 * env fallbacks, and exact parameter numbers through parse and encode.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeMessage, encodeRich } from '../../../../functions/request/encode.js';
import { parseMessage, type GrammarEnv, type RunRequest } from '../../../../functions/request/grammar.js';
import { assertBad, req, srv } from '../../../helpers/run-requests.js';

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

describe('exact parameter numbers', () => {
  it('1.0, -0.0 and big integers survive parse and encode exactly', () => {
    const text =
      '{"server":"h:1","notebook":"/n.ipynb",' +
      '"parameters":{"f":1.0,"z":-0.0,"big":123456789012345678901234567890,"x":1.5,"n":3}}';
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
