/**
 * End to end, the used-by path: Google's Pub/Sub emulator with a push subscription to the
 * function served by functions-framework, messages published with the real
 * `gcloud pubsub topics publish`, the notebook run on a real local Jupyter server.
 *
 * The emulator pushes the raw Pub/Sub push body (`{message, subscription}`, not a CloudEvent);
 * functions-framework's legacy Pub/Sub middleware turns it into a messagePublished CloudEvent
 * whose id is the messageId. Skips with a notice when gcloud/the emulator is missing, except
 * under CI=true, where that is a failure.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../../cli/local/jupyter-server.js';
import { startTestServer, type TestServer } from '../../helpers/jupyter.js';
import {
  isFinal,
  startFunctionServer,
  type FinalLine,
  type FunctionServer,
  type LogLine,
} from '../../helpers/functions-framework.js';
import {
  emulatorUnavailableReason,
  skipUnlessEmulator,
  startPubsubEmulator,
  type PubsubEmulator,
} from '../../helpers/pubsub-emulator.js';

const PROJECT = 'nbtrigger-e2e';
const TOPIC = 't_nbtrigger';

const finalsFor = (ff: FunctionServer, messageId: string): FinalLine[] =>
  ff.lines().filter((l): l is FinalLine => isFinal(l) && l.record.messageId === messageId);

const finalFor =
  (messageId: string) =>
  (l: LogLine): boolean =>
    isFinal(l) && l.record.messageId === messageId;

test('Pub/Sub emulator push → functions-framework → notebook', { timeout: 180_000 }, async (t) => {
  if (skipUnlessEmulator(t, emulatorUnavailableReason())) return;

  let emu: PubsubEmulator | undefined;
  let jup: TestServer | undefined;
  let ff: FunctionServer | undefined;
  t.after(async () => {
    await ff?.stop();
    await emu?.stop();
    await jup?.close();
  });

  // Started side by side, each kept as soon as it is up so t.after stops it even if the other fails.
  await Promise.all([
    startPubsubEmulator({ project: PROJECT }).then((x) => {
      emu = x;
    }),
    startTestServer().then((x) => {
      jup = x;
    }),
  ]);
  assert.ok(emu && jup);
  await jup.writeNotebook('hello.ipynb', ['a = 5\nb = 10', 'a + b']);
  // A short retry window, so the redelivery loop of a transient failure ends within the test.
  ff = await startFunctionServer({ env: { JUPYTER_TOKEN: jup.token, NBTRIGGER_RETRY_WINDOW_SEC: '4' } });
  const [e, j, f] = [emu, jup, ff];

  await e.createTopic(TOPIC);
  // The push endpoint names the topic: functions-framework takes the CloudEvent source from the path.
  await e.createPushSubscription('s_nbtrigger', TOPIC, `${f.url}/projects/${PROJECT}/topics/${TOPIC}`, 60);

  await t.test('a classic message published with gcloud runs the notebook (succeeded, 15)', async () => {
    const ids = await e.publish(TOPIC, `${j.hostPort} /hello.ipynb`);
    assert.equal(ids.length, 1);
    const id = ids[0]!;
    const final = (await f.waitForLine(finalFor(id), 60_000)) as FinalLine;
    assert.equal(final.record.status, 'succeeded', JSON.stringify(final.record));
    assert.deepEqual(final.record.lastResult, { 'text/plain': '15' });
    assert.equal(final.ack, true);
    // Converted by functions-framework: the CloudEvent id is the Pub/Sub messageId.
    assert.equal(final.eventId, id);
    assert.deepEqual(await j.kernels(), []);
  });

  await t.test('a JSON message with attributes runs the notebook', async () => {
    const [id] = await e.publish(
      TOPIC,
      JSON.stringify({ server: j.hostPort, notebook: 'hello.ipynb', verbose: true }),
      { origin: 'e2e' },
    );
    const final = (await f.waitForLine(finalFor(id!), 60_000)) as FinalLine;
    assert.equal(final.record.status, 'succeeded');
    assert.deepEqual(final.record.lastResult, { 'text/plain': '15' });
    assert.ok(
      f.linesFor(id!).some((l) => l.severity === 'DEBUG'),
      'verbose: DEBUG lines for the kernel messages',
    );
  });

  await t.test(
    'transient failure: 500 → the emulator redelivers, until the ' +
      'retry window ends (ack); a bad message (204) is delivered once',
    async () => {
      const closed = await freePort();
      const [transient] = await e.publish(
        TOPIC,
        JSON.stringify({ server: `127.0.0.1:${closed}`, notebook: 'hello.ipynb', timeouts: { startSeconds: 1 } }),
      );
      const [bad] = await e.publish(TOPIC, `${j.hostPort} /hello.ipynb --no-such-flag`);
      const badFinal = (await f.waitForLine(finalFor(bad!), 60_000)) as FinalLine;
      assert.equal(badFinal.record.error?.code, 'BAD_MESSAGE');
      assert.equal(badFinal.ack, true);
      // Each attempt answers 500 and the emulator pushes the same message again, until the message is
      // older than NBTRIGGER_RETRY_WINDOW_SEC: then the function acknowledges (gives up).
      const givenUp = (await f.waitForLine(
        (l) => finalFor(transient!)(l) && (l as FinalLine).ack,
        60_000,
      )) as FinalLine;
      const attempts = finalsFor(f, transient!);
      assert.ok(attempts.length >= 2, `expected redeliveries, got ${attempts.length} attempt(s)`);
      for (const l of attempts) assert.equal(l.record.error?.code, 'SERVER_UNREACHABLE');
      for (const l of attempts.slice(0, -1)) {
        assert.equal(l.ack, false);
        assert.equal(l.severity, 'WARNING');
      }
      assert.equal(attempts.at(-1), givenUp);
      assert.equal(givenUp.severity, 'ERROR');
      // Acknowledged messages are not delivered again.
      await sleep(3000);
      assert.equal(finalsFor(f, transient!).length, attempts.length, 'redelivered after the function acknowledged');
      assert.equal(finalsFor(f, bad!).length, 1);
      assert.ok(!(f.stdout() + f.stderr()).includes(j.token), 'token leaked');
    },
  );
});
