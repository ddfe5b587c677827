/**
 * The fast-check arbitraries and checks of the message fuzz tests (fuzz.test.ts, fuzz-json.test.ts):
 * hosts, ports, paths and flags in the classic grammar, rich JSON messages (docs/function.md),
 * Pub/Sub `data` as it may arrive, and whole CloudEvents; plus the check that a thrown value is a
 * classified NbtError and a timer that bounds each call against a hang.
 * @module
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCodes, isNbtError, type NbtError } from '../../functions/errors.js';
import type { HandlerEnv, PubsubCloudEvent } from '../../functions/handler.js';
import type { RunRecord } from '../../functions/run/record.js';
import { RICH_FIELDS } from '../../functions/request/grammar.js';

export const RUNS = 10_000;
/**
 * A hang bound per call, not a speed one: a parser that backtracks catastrophically or loops takes
 * seconds to forever on inputs this small, while one GC pause on a machine under a CPU hog can take
 * hundreds of milliseconds (seen: a 200-byte message over 500 ms in CI's loaded leg).
 */
export const SLOW_MS = 5000;

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
export const server = fc.oneof(
  host,
  fc.tuple(host, port).map(([h, p]) => `${h}:${p}`),
);
export const path = fc.oneof(
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
export const classic = fc
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
export const rich = fc.dictionary(richKey, fieldValue, { maxKeys: 6 }).map((o) => JSON.stringify(o));
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
export const data: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: text.map((t) => Buffer.from(t, 'utf8').toString('base64')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('base64')) }, // not UTF-8
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) }, // not base64
  { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) },
);
export const env: fc.Arbitrary<HandlerEnv> = fc.record(
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
export const event: fc.Arbitrary<PubsubCloudEvent> = fc.oneof(
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
export function assertClassified(e: unknown, allowed?: Set<string>): asserts e is NbtError {
  assert.ok(isNbtError(e), `not an NbtError: ${String((e as Error)?.stack ?? e)}`);
  assert.ok(Object.hasOwn(ErrorCodes, e.code) && e.code !== 'INTERNAL', e.code);
  if (allowed) assert.ok(allowed.has(e.code), `unexpected code ${e.code}: ${e.message}`);
  assert.equal(typeof e.message, 'string');
  assert.ok(e.message.length > 0);
}

export function timed<T>(fn: () => T): { value?: T; error?: unknown; ms: number } {
  const t0 = performance.now();
  try {
    return { value: fn(), ms: performance.now() - t0 };
  } catch (error) {
    return { error, ms: performance.now() - t0 };
  }
}

export const MESSAGE_CODES = new Set(['BAD_MESSAGE', 'CONFIG']);

/** The record a stub runner returns: the run of `notebook` succeeded, with nothing in it. */
export function succeededRecord(notebook: string): RunRecord {
  return {
    status: 'succeeded',
    notebook,
    server: 'x',
    kernelName: 'python3',
    startedAt: new Date().toISOString(),
    durationMs: 1,
    cells: { total: 0, executed: 0, succeeded: 0, failed: 0, aborted: 0, skipped: 0 },
    warnings: [],
  };
}
