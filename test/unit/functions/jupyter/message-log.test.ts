/** DEBUG lines for kernel messages: content kept, long strings (and text kept as bytes) clipped, stream length said. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LOG_STRING_CHARS, logMessage } from '../../../../functions/jupyter/message-log.js';
import type { Message } from '../../../../functions/jupyter/messages.js';
import type { Logger } from '../../../../functions/log.js';
import { RawJsonText } from '../../../../functions/notebook/raw-text.js';

function capture(): { log: Logger; lines: Array<{ message: string; fields?: Record<string, unknown> }> } {
  const lines: Array<{ message: string; fields?: Record<string, unknown> }> = [];
  const log: Logger = {
    debugEnabled: true,
    child: () => log,
    log: (_s, message, fields) => lines.push({ message, fields }),
  };
  return { log, lines };
}

function msg(type: string, content: Record<string, unknown>): Message {
  return {
    header: { msg_id: 'm', msg_type: type, session: 's', username: 'u', date: '', version: '5.3' },
    parent_header: { msg_id: 'p' },
    metadata: {},
    content,
    channel: 'iopub',
  } as Message;
}

test('a small message is logged whole', () => {
  const { log, lines } = capture();
  logMessage(log, msg('stream', { name: 'stdout', text: 'hi\n' }));
  assert.deepEqual(lines, [
    {
      message: 'kernel iopub stream',
      fields: {
        channel: 'iopub',
        msgType: 'stream',
        parent: 'p',
        content: { name: 'stdout', text: 'hi\n' },
        textLength: 3,
      },
    },
  ]);
});

test('long strings, nested or kept as bytes, are clipped and their length said', () => {
  const { log, lines } = capture();
  const big = 'é'.repeat(1_000_000);
  logMessage(log, msg('stream', { name: 'stdout', text: RawJsonText.of(Buffer.from(big))! }));
  logMessage(log, msg('error', { traceback: ['x'.repeat(5000)], ename: 'E' }));
  const f0 = lines[0]!.fields!;
  assert.equal(f0.textLength, 1_000_000);
  assert.equal((f0.content as { text: string }).text, `${'é'.repeat(LOG_STRING_CHARS)}… [1000000 characters]`);
  const f1 = lines[1]!.fields!;
  assert.equal(
    (f1.content as { traceback: string[] }).traceback[0],
    `${'x'.repeat(LOG_STRING_CHARS)}… [5000 characters]`,
  );
  assert.equal(f1.textLength, undefined);
  assert.ok(JSON.stringify(lines).length < 20_000);
});

test('a token that the cut splits is redacted, not left as its prefix (raw text and text kept as bytes)', () => {
  const token = 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4';
  for (const at of [LOG_STRING_CHARS - 47, LOG_STRING_CHARS - 1, LOG_STRING_CHARS - 4]) {
    const { log, lines } = capture();
    const text = `${'x'.repeat(at)}${token}${'y'.repeat(3000)}`;
    logMessage(log, msg('stream', { name: 'stdout', text }), [token]);
    logMessage(log, msg('stream', { name: 'stdout', text: RawJsonText.of(Buffer.from(text))! }), [token]);
    for (const l of lines) {
      const t = (l.fields!.content as { text: string }).text;
      assert.ok(
        t.startsWith(`${'x'.repeat(at)}${'[REDACTED]'.slice(0, LOG_STRING_CHARS - at)}`),
        t.slice(at - 5, at + 20),
      );
      assert.ok(!t.includes(token.slice(0, 4)), `a fragment of the token at ${at}`);
    }
  }
});
