import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  failureText,
  resultMessage,
  slackEscape,
  webhookBody,
  type NotifyRecord,
} from '../../../../functions/notify/message.js';
import { notifyConfig, notifyRun, notifyWarnings } from '../../../../functions/notify/notify-run.js';
import { parseTopic } from '../../../../functions/notify/results-topic.js';
import { webhookTarget } from '../../../../functions/notify/webhook.js';

const record: NotifyRecord = {
  status: 'failed',
  notebook: 'reports/<daily>.ipynb',
  server: 'http://127.0.0.1:8888',
  kernelName: 'python3',
  startedAt: '2026-01-21T23:49:30.123Z',
  durationMs: 12_345,
  runId: 'r-1',
  messageId: 'm-9',
  cells: { total: 3, executed: 2, succeeded: 1, failed: 1, aborted: 1, skipped: 0 },
  warnings: [],
  error: {
    code: 'CELL_ERROR',
    message: 'cell 1 raised',
    retryable: false,
    cellIndex: 1,
    ename: 'ValueError',
    evalue: 'bad <value> & more\nsecond line',
  },
  outputs: { notebook: 'gs://nbt-out/runs/daily/r-1.ipynb' },
};

describe('notification content', () => {
  it('says what failed, where, and where the output is, Slack-escaped', () => {
    assert.equal(
      failureText(record),
      [
        'nbtrigger: reports/&lt;daily&gt;.ipynb failed after 12.3 s',
        'cell 1: ValueError: bad &lt;value&gt; &amp; more second line',
        'run r-1 · started 2026-01-21T23:49:30.123Z · server http://127.0.0.1:8888',
        'output: gs://nbt-out/runs/daily/r-1.ipynb',
      ].join('\n'),
    );
    const timedOut = failureText({
      ...record,
      status: 'timed_out',
      durationMs: 500,
      error: { code: 'TIMEOUT', message: 'run exceeded 0.5 s', retryable: false },
    });
    assert.match(timedOut, /^nbtrigger: .* timed out after 500 ms\nTIMEOUT: run exceeded 0\.5 s\n/);
    assert.deepEqual(Object.keys(webhookBody(record)), ['text']);
    assert.equal(slackEscape('a<b>&c'), 'a&lt;b&gt;&amp;c');
  });

  it('publishes the record itself with filterable attributes', () => {
    const m = resultMessage(record);
    assert.deepEqual(JSON.parse(m.data.toString('utf8')), record);
    assert.deepEqual(m.attributes, {
      status: 'failed',
      source: 'nbtrigger',
      notebook: 'reports/<daily>.ipynb',
      runId: 'r-1',
      triggerMessageId: 'm-9',
    });
    const long = resultMessage({ ...record, notebook: `${'é'.repeat(600)}.ipynb` });
    assert.ok(Buffer.byteLength(long.attributes.notebook!) <= 1024);
    assert.doesNotMatch(long.attributes.notebook!, /\uFFFD/);
  });

  it('reads its configuration from the environment', () => {
    assert.deepEqual(notifyConfig({}), {});
    assert.deepEqual(
      notifyConfig({
        RESULTS_TOPIC: ' results ',
        NOTIFY_WEBHOOK: 'https://h/x',
        GCLOUD_PROJECT: 'p',
        NOTIFY_TIMEOUT_MS: '2500',
      }),
      { resultsTopic: 'results', webhook: 'https://h/x', projectId: 'p', timeoutMs: 2500 },
    );
    assert.deepEqual(notifyConfig({ RESULTS_TOPIC: '', NOTIFY_WEBHOOK: '  ', NOTIFY_TIMEOUT_MS: 'x' }), {});
  });

  it('sends nothing when nothing is configured, and nothing to the webhook for a success', async () => {
    assert.deepEqual(await notifyRun(record, {}), []);
    // A webhook that cannot be reached would produce a result; a success must not even try.
    assert.deepEqual(await notifyRun({ ...record, status: 'succeeded' }, { webhook: 'http://127.0.0.1:1/x' }), []);
  });

  it('parses topics and hides webhook paths', () => {
    assert.deepEqual(parseTopic('projects/p1/topics/t1'), { projectId: 'p1', name: 't1' });
    assert.deepEqual(parseTopic('results', 'p2'), { projectId: 'p2', name: 'results' });
    assert.deepEqual(parseTopic('results'), { name: 'results' });
    assert.throws(() => parseTopic('a/b'), /invalid topic/);
    assert.equal(webhookTarget('https://hooks.slack.com/services/T000/B000/SECRET?x=1'), 'https://hooks.slack.com/…');
    assert.equal(webhookTarget('nope'), '(invalid URL)');
    assert.deepEqual(
      notifyWarnings([
        { channel: 'webhook', target: 'https://h/…', ok: false, error: 'HTTP 500' },
        { channel: 'results-topic', target: 't', ok: true },
      ]),
      ['webhook notification to https://h/… failed: HTTP 500'],
    );
  });
});
