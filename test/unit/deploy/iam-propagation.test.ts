/**
 * The wait for a deploy's own IAM grants (a fake clock): what is tried again, for how long, what
 * fails at once, and the message at the bound.
 * Spec: docs/deploy.md (IAM propagation); https://cloud.google.com/iam/docs/access-change-propagation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNbtError, NbtError } from '../../../functions/errors.js';
import { apiError } from '../../../deploy/clients/errors.js';
import {
  DEFAULT_PROPAGATION_WINDOW_MS,
  GrantWatch,
  IAM_PROPAGATION_URL,
  isPermissionDenied,
} from '../../../deploy/iam-propagation.js';

const denied = (): Error => Object.assign(new Error('7 PERMISSION_DENIED: denied'), { code: 7, details: 'denied' });

/** A watch on a fake clock: sleeping advances it. */
function watch(windowMs: number): { w: GrantWatch; clock: { t: number }; waits: number[] } {
  const clock = { t: 1_000_000 };
  const waits: number[] = [];
  const w = new GrantWatch({
    windowMs,
    firstDelayMs: 1000,
    maxDelayMs: 8000,
    now: () => clock.t,
    sleep: async (ms) => {
      waits.push(ms);
      clock.t += ms;
    },
  });
  return { w, clock, waits };
}

test('the documented window is the default (7 minutes)', () => {
  assert.equal(DEFAULT_PROPAGATION_WINDOW_MS, 420_000);
});

test('a permission refusal is recognised raw (gRPC 7, HTTP 403) and as deploy wraps it', () => {
  assert.ok(isPermissionDenied(denied()));
  assert.ok(isPermissionDenied(Object.assign(new Error('forbidden'), { code: 403 })));
  assert.ok(isPermissionDenied(apiError('create Cloud Run service x', denied())));
  assert.ok(isPermissionDenied(new NbtError('AUTH_REFUSED', 'refused', { details: { status: 403 } })));
  assert.ok(!isPermissionDenied(Object.assign(new Error('unavailable'), { code: 14 })));
  assert.ok(!isPermissionDenied(apiError('x', Object.assign(new Error('bad'), { code: 3 }))));
});

test('after a grant, a refusal is tried again with backoff until it passes', async () => {
  const { w, waits } = watch(60_000);
  w.granted('roles/run.invoker', ['serviceAccount:f@p.iam.gserviceaccount.com'], 'projects/p/locations/r/services/a');
  let n = 0;
  const out = await w.call('read policy', async () => {
    if (++n < 4) throw denied();
    return 'ok';
  });
  assert.equal(out, 'ok');
  assert.deepEqual(waits, [1000, 2000, 4000]);
});

test("it gives up at the window's end with the roles, members and resources granted", async () => {
  const { w, waits } = watch(10_000);
  w.granted('roles/run.invoker', ['serviceAccount:f@p.iam.gserviceaccount.com'], 'projects/p/locations/r/services/a');
  let n = 0;
  await assert.rejects(
    w.call('update iam projects/p/locations/r/services/b', async () => {
      n++;
      throw apiError('read the IAM policy of projects/p/locations/r/services/b', denied());
    }),
    (e: unknown) => {
      assert.ok(isNbtError(e) && e.code === 'REQUEST_REJECTED' && !e.retryable);
      assert.match(e.message, /^update iam projects\/p\/locations\/r\/services\/b: permission denied/);
      assert.match(
        e.message,
        new RegExp(
          /roles\/run\.invoker to serviceAccount:f@p\.iam\.gserviceaccount\.com /.source +
            /on projects\/p\/locations\/r\/services\/a/.source,
        ),
      );
      assert.ok(e.message.includes(IAM_PROPAGATION_URL));
      assert.deepEqual(e.details.roles, ['roles/run.invoker']);
      return true;
    },
  );
  assert.equal(
    waits.reduce((a, b) => a + b, 0),
    10_000,
    'it waited exactly to the bound, never past it',
  );
  assert.equal(n, waits.length + 1);
});

test('with no grant before it, a refusal fails at once (the original error)', async () => {
  const { w, waits } = watch(60_000);
  const original = apiError('create Cloud Run service x', denied());
  await assert.rejects(
    w.call('create service x', async () => {
      throw original;
    }),
    (e) => e === original,
  );
  assert.deepEqual(waits, []);
});

test('other failures are never waited for, grant or not', async () => {
  const { w, waits } = watch(60_000);
  w.granted('roles/run.invoker', ['serviceAccount:f@p.iam.gserviceaccount.com'], 'r');
  const bad = apiError('x', Object.assign(new Error('invalid'), { code: 3 }));
  await assert.rejects(
    w.call('x', async () => {
      throw bad;
    }),
    (e) => e === bad,
  );
  assert.deepEqual(waits, []);
});

test('a grant older than the window is not waited for; a window of 0 never waits', async () => {
  const { w, clock, waits } = watch(5_000);
  w.granted('roles/run.invoker', ['m'], 'r');
  clock.t += 5_000;
  await assert.rejects(
    w.call('x', async () => {
      throw denied();
    }),
    /permission denied for 5 s after this deploy granted/,
  );
  assert.deepEqual(waits, []);
  const zero = watch(0);
  zero.w.granted('roles/run.invoker', ['m'], 'r');
  await assert.rejects(
    zero.w.call('x', async () => {
      throw denied();
    }),
    (e: unknown) => isNbtError(e) && e.code === 'REQUEST_REJECTED',
  );
  assert.deepEqual(zero.waits, []);
  assert.throws(() => new GrantWatch({ windowMs: -1 }), /window must be ≥ 0/);
});
