/**
 * Results topic against Google's real Pub/Sub emulator: the record arrives on a pull subscription
 * intact, with its attributes; a missing topic is a failed result. Skips with a notice where the
 * emulator is missing (fails instead under CI=true).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { NotifyRecord } from '../../../../functions/notify/message.js';
import { notifyRun } from '../../../../functions/notify/notify-run.js';
import { publishResult } from '../../../../functions/notify/results-topic.js';
import {
  emulatorUnavailableReason,
  skipUnlessEmulator,
  startPubsubEmulator,
  type PubsubEmulator,
} from '../../../helpers/pubsub-emulator.js';

const record: NotifyRecord = {
  status: 'failed',
  notebook: 'reports/daily.ipynb',
  server: 'http://127.0.0.1:8888',
  kernelName: 'python3',
  startedAt: '2026-01-21T23:49:30.123Z',
  durationMs: 2100,
  runId: 'r-42',
  messageId: 'trigger-1',
  cells: { total: 2, executed: 2, succeeded: 1, failed: 1, aborted: 0, skipped: 0 },
  warnings: ['w1'],
  error: { code: 'CELL_ERROR', message: 'x', retryable: false, cellIndex: 1, ename: 'KeyError', evalue: "'ü'" },
  lastResult: { 'text/plain': '42' },
  outputs: { notebook: '/tmp/x.ipynb' },
};

interface Pulled {
  message: { data: string; attributes?: Record<string, string>; messageId: string };
}

describe('results topic (Pub/Sub emulator)', () => {
  const reason = emulatorUnavailableReason();
  let emu: PubsubEmulator | undefined;
  const saved = process.env.PUBSUB_EMULATOR_HOST;

  before(async () => {
    if (reason) return;
    emu = await startPubsubEmulator({ project: 'nbt-results' });
    process.env.PUBSUB_EMULATOR_HOST = emu.host;
    await emu.createTopic('run-results');
    const res = await request(`http://${emu.host}/v1/projects/${emu.project}/subscriptions/results-pull`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ topic: `projects/${emu.project}/topics/run-results`, ackDeadlineSeconds: 30 }),
    });
    assert.equal(res.statusCode, 200, await res.body.text());
    await res.body.dump().catch(() => undefined);
  });
  after(async () => {
    if (saved === undefined) delete process.env.PUBSUB_EMULATOR_HOST;
    else process.env.PUBSUB_EMULATOR_HOST = saved;
    await emu?.stop();
  });

  async function pull(): Promise<Pulled[]> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const res = await request(`http://${emu!.host}/v1/projects/${emu!.project}/subscriptions/results-pull:pull`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ maxMessages: 10, returnImmediately: true }),
      });
      const body = (await res.body.json()) as { receivedMessages?: Pulled[] };
      if (body.receivedMessages?.length || Date.now() > deadline) return body.receivedMessages ?? [];
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it('publishes the run record with attributes', async (t) => {
    if (skipUnlessEmulator(t, reason)) return;
    const results = await notifyRun(record, {
      resultsTopic: 'run-results',
      projectId: emu!.project,
      timeoutMs: 20_000,
    });
    assert.equal(results.length, 1);
    const r = results[0]!;
    assert.equal(r.ok, true, r.error);
    assert.equal(r.channel, 'results-topic');
    assert.equal(r.target, `projects/${emu!.project}/topics/run-results`);
    const got = await pull();
    assert.equal(got.length, 1);
    const m = got[0]!.message;
    assert.equal(m.messageId, r.messageId);
    assert.deepEqual(JSON.parse(Buffer.from(m.data, 'base64').toString('utf8')), record);
    assert.deepEqual(m.attributes, {
      status: 'failed',
      source: 'nbtrigger',
      notebook: 'reports/daily.ipynb',
      runId: 'r-42',
      triggerMessageId: 'trigger-1',
    });
  });

  it('a full topic name works and a missing topic is a failed result', async (t) => {
    if (skipUnlessEmulator(t, reason)) return;
    const ok = await publishResult(
      { ...record, status: 'succeeded', runId: 'r-43' },
      { topic: `projects/${emu!.project}/topics/run-results`, timeoutMs: 20_000 },
    );
    assert.equal(ok.ok, true, ok.error);
    const got = await pull();
    assert.equal(got.map((g) => g.message.attributes?.runId).join(','), 'r-43');
    const missing = await publishResult(record, { topic: 'no-such-topic', projectId: emu!.project, timeoutMs: 20_000 });
    assert.equal(missing.ok, false);
    assert.match(missing.error ?? '', /NOT_FOUND|not found/i);
  });
});
