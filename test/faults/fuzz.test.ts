/**
 * Fault: hostile or broken messages. 10,000 random Pub/Sub payloads (fast-check) into the
 * message parser (decodeData + parseMessage), 10,000 random events into the handler's
 * validation (validateEvent), and a few hundred whole events through createHandler with an
 * injected `run`: never a crash or a hang, always a request or an NbtError with a known code,
 * and `run` is never called for a message that is invalid or not allowed. Malformed JSON values
 * inside rich messages are in fuzz-json.test.ts; the arbitraries are in fuzz-arbitraries.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { NbtError } from '../../functions/errors.js';
import { createHandler, validateEvent, type HandlerEnv, type PubsubCloudEvent } from '../../functions/handler.js';
import { decodeData, parseMessage, type RunRequest } from '../../functions/request/grammar.js';
import type { RunRecord } from '../../functions/run/record.js';
import type { RunOptions, RunOutcome } from '../../functions/run/runner.js';
import { guardFromEnv } from '../../functions/security/guard.js';
import { recordRow } from './common.js';
import {
  assertClassified,
  classic,
  data,
  env,
  event,
  MESSAGE_CODES,
  RUNS,
  rich,
  SLOW_MS,
  timed,
  succeededRecord,
} from './fuzz-arbitraries.js';
import { forbiddenSpelling } from './ssrf-spellings.js';

const PARSER_OUTCOME = 'a request or a classified error, never a crash or hang';

describe('fault: random messages (fast-check)', () => {
  test(`${RUNS} random payloads into decodeData + parseMessage: ${PARSER_OUTCOME}`, { timeout: 120_000 }, () => {
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
            record: succeededRecord(opts.request.notebook),
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

  const forbiddenTitle =
    '1,000 random encodings of forbidden addresses through createHandler with ALLOWED_SERVERS=*: ' +
    'refused, run never called';
  test(forbiddenTitle, { timeout: 120_000 }, async () => {
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
