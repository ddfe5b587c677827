/**
 * deploy/pacing.ts: a rate-quota refusal is retried after the server's RetryInfo delay (or a
 * bounded backoff), a bounded number of times; any other failure is not retried; at most
 * `limit` calls run at once. Spec: docs/deploy.md ("Scale").
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiError } from '../../../deploy/clients/errors.js';
import {
  DEFAULT_PACING,
  forEachBounded,
  isQuotaExhausted,
  serverRetryDelayMs,
  withQuotaRetry,
  type Pacing,
} from '../../../deploy/pacing.js';

/** What google-gax gives for RESOURCE_EXHAUSTED with a RetryInfo detail (GoogleError.statusDetails). */
const exhausted = (seconds: number, nanos = 0): Error =>
  Object.assign(new Error('quota'), { code: 8, statusDetails: [{ retryDelay: { seconds, nanos } }] });

function pacing(over: Partial<Pacing> = {}): Pacing & { slept: number[] } {
  const slept: number[] = [];
  return {
    ...DEFAULT_PACING,
    sleep: async (ms) => {
      slept.push(ms);
    },
    ...over,
    slept,
  };
}

test("the server's RetryInfo delay is waited for, through the NbtError that wraps the API error", async () => {
  const p = pacing();
  let calls = 0;
  const got = await withQuotaRetry(
    'create job x',
    async () => {
      calls++;
      if (calls < 3) throw apiError('create job x', exhausted(2, 500_000_000));
      return 'done';
    },
    p,
  );
  assert.equal(got, 'done');
  assert.equal(calls, 3);
  assert.deepEqual(p.slept, [2500, 2500]);
  assert.equal(serverRetryDelayMs(apiError('x', exhausted(0, 250_000_000))), 250);
});

test('without a RetryInfo, HTTP 429 backs off exponentially within bounds', async () => {
  const p = pacing({ baseDelayMs: 100, maxDelayMs: 300, attempts: 5 });
  await assert.rejects(
    withQuotaRetry(
      'w',
      async () => {
        throw Object.assign(new Error('Too Many Requests'), { code: 429 });
      },
      p,
    ),
    /Too Many/,
  );
  assert.equal(p.slept.length, 4, 'attempts - 1 waits');
  const caps = [100, 200, 300, 300];
  for (const [i, ms] of p.slept.entries()) assert.ok(ms >= caps[i]! / 2 && ms <= caps[i]!, `wait ${i}: ${ms}`);
});

test('other failures are not retried; a delay above the bound is not waited for', async () => {
  const p = pacing();
  let calls = 0;
  await assert.rejects(
    withQuotaRetry(
      'w',
      async () => {
        calls++;
        throw Object.assign(new Error('denied'), { code: 7 });
      },
      p,
    ),
    /denied/,
  );
  assert.equal(calls, 1);
  await assert.rejects(
    withQuotaRetry(
      'w',
      async () => {
        throw exhausted(600);
      },
      p,
    ),
    /quota/,
  );
  assert.deepEqual(p.slept, []);
  assert.equal(isQuotaExhausted(new Error('plain')), false);
  assert.equal(isQuotaExhausted(apiError('x', { code: 8, details: 'q' })), true);
});

test('forEachBounded runs at most `limit` at once, every item, and a failure does not stop the rest', async () => {
  let running = 0;
  let peak = 0;
  const seen: number[] = [];
  await forEachBounded(
    Array.from({ length: 25 }, (_, i) => i),
    4,
    async (i) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 2));
      running--;
      seen.push(i);
      if (i === 3) throw new Error('one fails');
    },
  );
  assert.equal(peak, 4);
  assert.deepEqual(
    seen.sort((a, b) => a - b),
    Array.from({ length: 25 }, (_, i) => i),
  );
});
