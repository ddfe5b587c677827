/**
 * Message grammar against hostile input: malformed JSON messages (numbers beyond a double, deep
 * nesting, lone surrogates, NULs, megabytes of escapes, oversized data) are BAD_MESSAGE naming the
 * field, and an error quoting the message never leaves a piece of the token.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NbtError } from '../../../../functions/errors.js';
import { decodeData, parseMessage, type GrammarEnv } from '../../../../functions/request/grammar.js';
import { assertBad } from '../../../helpers/run-requests.js';

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
