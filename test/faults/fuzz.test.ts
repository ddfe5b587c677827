/**
 * Fault: hostile or broken messages. 10,000 random Pub/Sub payloads (fast-check) into the
 * message parser (decodeData + parseMessage), 10,000 random events into the handler's
 * validation (validateEvent), and a few hundred whole events through createHandler with an
 * injected `run`: never a crash or a hang, always a request or an NbtError with a known code,
 * and `run` is never called for a message that is invalid or not allowed.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ErrorCodes, isNbtError, type NbtError } from '../../functions/errors.js';
import { createHandler, validateEvent, type HandlerEnv, type PubsubCloudEvent } from '../../functions/handler.js';
import { decodeData, parseMessage, RICH_FIELDS, type RunRequest } from '../../functions/request/grammar.js';
import type { RunRecord } from '../../functions/run/record.js';
import type { RunOptions, RunOutcome } from '../../functions/run/runner.js';
import { guardFromEnv } from '../../functions/security/guard.js';
import { recordRow } from './common.js';
import { forbiddenSpelling } from './ssrf-spellings.js';

const RUNS = 10_000;
/**
 * A hang bound per call, not a speed one: a parser that backtracks catastrophically or loops takes
 * seconds to forever on inputs this small, while one GC pause on a machine under a CPU hog can take
 * hundreds of milliseconds (seen: a 200-byte message over 500 ms in CI's loaded leg).
 */
const SLOW_MS = 5000;

// --- generators -------------------------------------------------------------------------------

const host = fc.oneof(
  fc.constantFrom(
    '127.0.0.1',
    'localhost',
    '169.254.169.254',
    'metadata.google.internal',
    '[::1]',
    '[fe80::1]',
    '0.0.0.0',
    '10.0.0.1',
    'nb.example.com',
    'http://nb.example.com',
    'https://x',
    'user:pw@host',
    '::',
    '[',
    ']',
    ':',
    '..',
    '%00',
    'a b',
  ),
  fc.domain(),
  fc.ipV4(),
  fc.ipV6().map((ip) => `[${ip}]`),
  fc.string({ maxLength: 30 }),
);
const port = fc.oneof(
  fc.integer({ min: -5, max: 70_000 }).map(String),
  fc.constantFrom('', '0', '080', '8888', '65535', '65536', 'x', '1e3', ' 1'),
);
const server = fc.oneof(
  host,
  fc.tuple(host, port).map(([h, p]) => `${h}:${p}`),
);
const path = fc.oneof(
  fc.constantFrom(
    '/a.ipynb',
    'a.ipynb',
    '/../../etc/passwd.ipynb',
    '/x/../../y.ipynb',
    '/dir/',
    '/a.ipynb\u0000',
    '/a b.ipynb',
    '/ü.ipynb',
    '//a.ipynb',
    '/a.IPYNB',
    '/a.py',
    '',
  ),
  fc.string({ maxLength: 40 }).map((s) => `/${s}.ipynb`),
  fc.string({ maxLength: 40 }),
);
const flag = fc.constantFrom('--use-https', '--verbose', '--token=abc', '-v', '--', '--use-https=1', '--VERBOSE');
const classic = fc
  .array(fc.oneof({ weight: 3, arbitrary: server }, { weight: 3, arbitrary: path }, { weight: 2, arbitrary: flag }), {
    maxLength: 5,
  })
  .chain((tokens) => fc.constantFrom(' ', '\t', '\n', '  ', '\u00a0').map((sep) => tokens.join(sep)));
const fieldValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  server,
  path,
  fc.boolean(),
  fc.record(
    { startSeconds: fc.jsonValue({ maxDepth: 1 }), cellSeconds: fc.double(), runSeconds: fc.integer() },
    { requiredKeys: [] },
  ),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
);
const richKey = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...Object.keys(RICH_FIELDS)) },
  { weight: 1, arbitrary: fc.constantFrom('token', '__proto__', 'constructor', 'toString', 'Server', '') },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);
const rich = fc.dictionary(richKey, fieldValue, { maxKeys: 6 }).map((o) => JSON.stringify(o));
/** Near-valid messages, so that many parse and the checks on a parsed request run often. */
const goodServer = fc
  .tuple(fc.oneof(fc.constantFrom('127.0.0.1', 'nb.example.com'), fc.domain()), fc.integer({ min: 1, max: 65535 }))
  .map(([h, p]) => `${h}:${p}`);
const goodPath = fc.stringMatching(/^[a-zA-Z0-9_ .-]{1,12}(\/[a-zA-Z0-9_.-]{1,12}){0,2}$/).map((s) => `/${s}.ipynb`);
const plausible = fc.oneof(
  fc
    .tuple(goodServer, goodPath, fc.subarray(['--use-https', '--verbose']))
    .map(([s, p, f]) => [s, p.replace(/ /g, '_'), ...f].join(' ')),
  fc
    .record(
      {
        server: goodServer,
        notebook: goodPath,
        timeouts: fc.record({ runSeconds: fc.integer({ min: -1, max: 700_000 }) }, { requiredKeys: [] }),
        parameters: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), {
          maxKeys: 3,
        }),
        verbose: fc.boolean(),
      },
      { requiredKeys: ['server', 'notebook'] },
    )
    .map((o) => JSON.stringify(o)),
);
const text = fc.oneof(
  { weight: 4, arbitrary: plausible },
  { weight: 4, arbitrary: classic },
  { weight: 4, arbitrary: rich },
  { weight: 1, arbitrary: rich.chain((s) => fc.nat(s.length).map((n) => s.slice(0, n))) }, // truncated JSON
  { weight: 1, arbitrary: fc.json() },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
);
/** Pub/Sub `data` as it may arrive: base64 of a text, or something that is not base64 text. */
const data: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: text.map((t) => Buffer.from(t, 'utf8').toString('base64')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('base64')) }, // not UTF-8
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) }, // not base64
  { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) },
);
const env: fc.Arbitrary<HandlerEnv> = fc.record(
  {
    JUPYTER_SERVER: fc.oneof(fc.constant(undefined), server),
    JUPYTER_NOTEBOOK: fc.oneof(fc.constant(undefined), path),
  },
  { requiredKeys: [] },
);
const message = fc.record(
  {
    data,
    messageId: fc.oneof(
      { weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) },
      { weight: 1, arbitrary: fc.anything({ maxDepth: 1 }) },
    ),
    attributes: fc.oneof(
      fc.constant(undefined),
      fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }),
      fc.anything({ maxDepth: 1 }),
    ),
    publishTime: fc.oneof(
      fc.constant(undefined),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.string({ maxLength: 10 }),
    ),
  },
  { requiredKeys: ['data'] },
);
const event: fc.Arbitrary<PubsubCloudEvent> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      id: fc.string({ maxLength: 8 }),
      data: fc.record({ message, subscription: fc.string({ maxLength: 10 }) }, { requiredKeys: [] }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ id: fc.string(), data: fc.oneof(fc.string(), fc.json(), fc.anything({ maxDepth: 3 })) }),
  },
  { weight: 1, arbitrary: message.map((m) => ({ message: m }) as PubsubCloudEvent) }, // a raw push body
  { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }) as fc.Arbitrary<PubsubCloudEvent> },
);

// --- checks -------------------------------------------------------------------------------------

/** A thrown value must be a classified NbtError (a known code, not INTERNAL, a message). */
function assertClassified(e: unknown, allowed?: Set<string>): asserts e is NbtError {
  assert.ok(isNbtError(e), `not an NbtError: ${String((e as Error)?.stack ?? e)}`);
  assert.ok(Object.hasOwn(ErrorCodes, e.code) && e.code !== 'INTERNAL', e.code);
  if (allowed) assert.ok(allowed.has(e.code), `unexpected code ${e.code}: ${e.message}`);
  assert.equal(typeof e.message, 'string');
  assert.ok(e.message.length > 0);
}

function timed<T>(fn: () => T): { value?: T; error?: unknown; ms: number } {
  const t0 = performance.now();
  try {
    return { value: fn(), ms: performance.now() - t0 };
  } catch (error) {
    return { error, ms: performance.now() - t0 };
  }
}

const MESSAGE_CODES = new Set(['BAD_MESSAGE', 'CONFIG']);

describe('fault: random messages (fast-check)', () => {
  test(`${RUNS} random payloads into decodeData + parseMessage: a request or a classified error, never a crash or hang`, {
    timeout: 120_000,
  }, () => {
    const t0 = Date.now();
    let parsed = 0;
    let slowest = 0;
    fc.assert(
      fc.property(data, env, (d, e) => {
        const r = timed(() => parseMessage(decodeData(d), e));
        slowest = Math.max(slowest, r.ms);
        assert.ok(r.ms < SLOW_MS, `took ${r.ms.toFixed(0)} ms`);
        if (r.error !== undefined) return assertClassified(r.error, MESSAGE_CODES);
        const req = r.value as RunRequest;
        parsed++;
        assert.equal(typeof req.server.host, 'string');
        assert.ok(
          Number.isInteger(req.server.port) && req.server.port > 0 && req.server.port < 65536,
          `port ${req.server.port}`,
        );
        assert.match(req.notebook, /\.ipynb$/i);
        assert.ok(!req.notebook.split('/').includes('..'), `path escapes the root: ${req.notebook}`);
      }),
      { numRuns: RUNS },
    );
    const seconds = (Date.now() - t0) / 1000;
    assert.ok(parsed > 0 && parsed < RUNS, `both outcomes were exercised (${parsed} parsed)`);
    recordRow({
      fault: `${RUNS} random messages into the parser`,
      expected: 'request or classified error',
      observed: `${parsed} requests, ${RUNS - parsed} classified errors, slowest ${slowest.toFixed(1)} ms`,
      seconds,
      kernelsLeft: 'n/a',
    });
  });

  test(`${RUNS} random events into validateEvent: a message or BAD_MESSAGE, never a crash`, {
    timeout: 120_000,
  }, () => {
    const t0 = Date.now();
    let valid = 0;
    fc.assert(
      fc.property(event, (ev) => {
        const r = timed(() => validateEvent(ev));
        assert.ok(r.ms < SLOW_MS);
        if (r.error !== undefined) return assertClassified(r.error, new Set(['BAD_MESSAGE']));
        valid++;
        assert.equal(typeof r.value!.messageId, 'string');
        assert.equal(typeof r.value!.data, 'string');
      }),
      { numRuns: RUNS },
    );
    assert.ok(valid > 0 && valid < RUNS, `both outcomes were exercised (${valid} valid)`);
    recordRow({
      fault: `${RUNS} random events into validateEvent`,
      expected: 'message or BAD_MESSAGE',
      observed: `${valid} valid, ${RUNS - valid} BAD_MESSAGE`,
      seconds: (Date.now() - t0) / 1000,
      kernelsLeft: 'n/a',
    });
  });

  test('300 random events through createHandler: run is never called for an invalid or refused message', {
    timeout: 120_000,
  }, async () => {
    const TOKEN = 'fuzz-token-s3cr3t';
    const handlerEnv: HandlerEnv = { JUPYTER_TOKEN: TOKEN, ALLOWED_SERVERS: '127.0.0.1:*,nb.example.com' };
    const t0 = Date.now();
    let invalid = 0;
    let ran = 0;
    // Mostly well-formed events, so that both paths are taken often.
    const wellFormed = fc
      .record({
        id: fc.uuid(),
        text: fc.oneof(
          classic,
          rich,
          fc.constantFrom('127.0.0.1:8888 /a.ipynb', 'nb.example.com /b/c.ipynb --use-https'),
        ),
      })
      .map(
        ({ id, text: t }): PubsubCloudEvent => ({
          id,
          data: { message: { data: Buffer.from(t).toString('base64'), messageId: id } },
        }),
      );
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 3, arbitrary: wellFormed }, { weight: 1, arbitrary: event }), async (ev) => {
        // What the handler should decide, computed from the pure pieces.
        let expected: NbtError | undefined;
        try {
          const m = validateEvent(ev);
          guardFromEnv(handlerEnv).check(parseMessage(decodeData(m.data), handlerEnv).server);
        } catch (e) {
          assertClassified(e);
          expected = e;
        }
        const calls: RunOptions[] = [];
        const records: RunRecord[] = [];
        const lines: string[] = [];
        const run = async (opts: RunOptions): Promise<RunOutcome> => {
          calls.push(opts);
          return {
            record: {
              status: 'succeeded',
              notebook: opts.request.notebook,
              server: 'x',
              kernelName: 'python3',
              startedAt: new Date().toISOString(),
              durationMs: 1,
              cells: { total: 0, executed: 0, succeeded: 0, failed: 0, aborted: 0, skipped: 0 },
              warnings: [],
            },
          };
        };
        const handler = createHandler({
          env: handlerEnv,
          run,
          write: (l) => lines.push(l),
          onRecord: (r) => records.push(r),
        });
        let timer: NodeJS.Timeout | undefined;
        const hang = new Promise<never>((_, rej) => {
          timer = setTimeout(() => rej(new Error('handler hung')), 5000);
        });
        try {
          await Promise.race([handler(ev), hang]);
        } finally {
          clearTimeout(timer);
        }
        assert.ok(!lines.join('\n').includes(TOKEN), 'the token is never logged');
        if (expected) {
          invalid++;
          assert.equal(calls.length, 0, `run called for an invalid message (${expected.code}: ${expected.message})`);
          assert.equal(records.at(-1)?.error?.code, expected.code, JSON.stringify(records.at(-1)));
        } else {
          ran += calls.length;
          assert.ok(calls.length <= 1);
        }
      }),
      { numRuns: 300 },
    );
    assert.ok(invalid > 0 && ran > 0, `both paths were exercised (${invalid} invalid, ${ran} runs)`);
    recordRow({
      fault: '300 random events through createHandler',
      expected: 'run never called when invalid',
      observed: `${invalid} refused without run, ${ran} runs`,
      seconds: (Date.now() - t0) / 1000,
      kernelsLeft: 'n/a',
    });
  });

  test('1,000 random encodings of forbidden addresses through createHandler with ALLOWED_SERVERS=*: refused, run never called', {
    timeout: 120_000,
  }, async () => {
    const t0 = Date.now();
    const handlerEnv: HandlerEnv = {
      JUPYTER_TOKEN: 'fuzz-token-s3cr3t',
      ALLOWED_SERVERS: '*',
      NBTRIGGER_STORE: 'none',
    } as HandlerEnv;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(forbiddenSpelling, fc.integer({ min: 1, max: 65535 }), fc.boolean(), async (s, port, rich) => {
        const calls: RunOptions[] = [];
        const records: RunRecord[] = [];
        const run = async (opts: RunOptions): Promise<RunOutcome> => {
          calls.push(opts);
          throw new Error('run must not be called');
        };
        const handler = createHandler({
          env: handlerEnv,
          run,
          write: () => undefined,
          onRecord: (r) => records.push(r),
        });
        const text = rich
          ? JSON.stringify({ server: `http://${s.text}:${port}`, notebook: '/a.ipynb' })
          : `${s.text}:${port} /a.ipynb`;
        await handler({ id: 'x', data: { message: { data: Buffer.from(text).toString('base64'), messageId: 'x' } } });
        assert.equal(calls.length, 0, `run called for ${s.text}`);
        assert.equal(
          records.at(-1)?.error?.code,
          'SERVER_NOT_ALLOWED',
          `${s.text}: ${JSON.stringify(records.at(-1)?.error)}`,
        );
        refused++;
      }),
      { numRuns: 1000 },
    );
    recordRow({
      fault: '1000 random encodings of forbidden addresses into the handler',
      expected: 'SERVER_NOT_ALLOWED, run never called',
      observed: `${refused} refused, 0 runs`,
      seconds: (Date.now() - t0) / 1000,
      kernelsLeft: 'n/a',
    });
  });
});

// --- malformed JSON messages through the handler ---------------------------------------------------

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
          record: {
            status: 'succeeded',
            notebook: opts.request.notebook,
            server: 'x',
            kernelName: 'python3',
            startedAt: new Date().toISOString(),
            durationMs: 1,
            cells: { total: 0, executed: 0, succeeded: 0, failed: 0, aborted: 0, skipped: 0 },
            warnings: [],
          },
        };
      };
      const handler = createHandler({ env: handlerEnv, run, write: () => undefined, onRecord: (r) => records.push(r) });
      await handler({ id, data: { message: { data: Buffer.from(text).toString('base64'), messageId: id } } }); // returning = acked
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
      '300 malformed JSON messages (1e400, deep nesting, lone surrogates, NUL, huge arrays, escapes, __proto__) through createHandler',
    expected: 'BAD_MESSAGE naming the field (or SERVER_NOT_ALLOWED), acked; never INTERNAL',
    observed: `${bad} refused, ${ran} runs, all acked, no INTERNAL`,
    seconds: (Date.now() - t0) / 1000,
    kernelsLeft: 'n/a',
  });
});
