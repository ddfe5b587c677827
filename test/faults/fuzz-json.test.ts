/**
 * Fault: malformed JSON inside rich messages (docs/function.md). Numbers a double does not hold,
 * lone surrogates, NUL, deep nesting, huge arrays, long escape runs and `__proto__` keys, put in a
 * field or a parameter of a near-valid message, through createHandler with an injected `run`:
 * never INTERNAL, always acked (BAD_MESSAGE naming the field, or a run).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createHandler, type HandlerEnv } from '../../functions/handler.js';
import type { RunRecord } from '../../functions/run/record.js';
import type { RunOptions, RunOutcome } from '../../functions/run/runner.js';
import { recordRow } from './common.js';
import { succeededRecord } from './fuzz-arbitraries.js';

/** JSON values that are not text or not numbers a double holds, and shapes that strain a parser. */
const hostileValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '1e400',
    '-1e400',
    '1.5e309',
    '"\\ud800"',
    '"\\udfff x"',
    '"a\\u0000b"',
    '{"__proto__":{"x":1}}',
    '{"constructor":{"prototype":1}}',
    '"\\x"',
    '"\\u12"',
    '01',
    '1.',
    '.5',
    'NaN',
    'Infinity',
    '-',
    'tru',
    '[1,]',
    '{"a":1,}',
    '"\u0001"',
  ),
  fc.integer({ min: 500, max: 2000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.integer({ min: 500, max: 2000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
  fc.integer({ min: 1, max: 200_000 }).map((n) => `[${'0,'.repeat(n)}0]`),
  fc
    .integer({ min: 1, max: 300_000 })
    .chain((n) => fc.constantFrom('\\n', '\\u0041', '\\"', '\\\\').map((e) => `"${e.repeat(n)}"`)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
);
const hostileField = fc.constantFrom(
  'parameters',
  'timeouts',
  'runKey',
  'kernelName',
  'output',
  'notebook',
  'server',
  'verbose',
  '__proto__',
);
/** A near-valid rich message with one hostile value put in a field, or in a parameter, or a key. */
const hostileMessage = fc.tuple(hostileField, hostileValue, fc.boolean()).map(([field, v, asParam]) => {
  const base = '"server":"127.0.0.1:8888","notebook":"/a.ipynb"';
  if (asParam) return `{${base},"parameters":{"p":${v}}}`;
  return field === 'server' || field === 'notebook'
    ? `{"${field}":${v},${base.replace(new RegExp(`"${field}":"[^"]*",?`), '').replace(/,$/, '')}}`
    : `{${base},"${field}":${v}}`;
});

test('300 malformed JSON messages through createHandler: never INTERNAL, always acked (BAD_MESSAGE or a run)', {
  timeout: 300_000,
}, async () => {
  const handlerEnv: HandlerEnv = {
    JUPYTER_TOKEN: 'fuzz-token-s3cr3t',
    ALLOWED_SERVERS: '127.0.0.1:*',
    NBTRIGGER_STORE: 'none',
  };
  const t0 = Date.now();
  let bad = 0;
  let ran = 0;
  await fc.assert(
    fc.asyncProperty(hostileMessage, fc.uuid(), async (text, id) => {
      const records: RunRecord[] = [];
      let calls = 0;
      const run = async (opts: RunOptions): Promise<RunOutcome> => {
        calls++;
        return {
          record: succeededRecord(opts.request.notebook),
        };
      };
      const handler = createHandler({ env: handlerEnv, run, write: () => undefined, onRecord: (r) => records.push(r) });
      // returning = acked
      await handler({ id, data: { message: { data: Buffer.from(text).toString('base64'), messageId: id } } });
      const r = records.at(-1)!;
      assert.notEqual(r.error?.code, 'INTERNAL', `${r.error?.message} for ${text.slice(0, 200)}`);
      if (r.error) {
        // A hostile value may still be a well-formed host (`"\u0041"` is "A"): the allowlist refuses it.
        assert.ok(
          ['BAD_MESSAGE', 'SERVER_NOT_ALLOWED'].includes(r.error.code),
          `${r.error.code}: ${r.error.message} for ${text.slice(0, 200)}`,
        );
        assert.equal(r.error.retryable, false);
        assert.ok(r.error.message.length > 0);
        assert.equal(calls, 0);
        bad++;
      } else ran += calls;
    }),
    { numRuns: 300 },
  );
  assert.ok(bad > 0 && ran > 0, `both outcomes were exercised (${bad} BAD_MESSAGE, ${ran} runs)`);
  recordRow({
    fault:
      '300 malformed JSON messages (1e400, deep nesting, lone surrogates, NUL, huge arrays, escapes, __proto__) ' +
      'through createHandler',
    expected: 'BAD_MESSAGE naming the field (or SERVER_NOT_ALLOWED), acked; never INTERNAL',
    observed: `${bad} refused, ${ran} runs, all acked, no INTERNAL`,
    seconds: (Date.now() - t0) / 1000,
    kernelsLeft: 'n/a',
  });
});
