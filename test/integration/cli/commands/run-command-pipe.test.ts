/**
 * `nbtrigger run` writing into a real pipe (pipe(2), as `nbtrigger run --json nb.ipynb | jq` makes)
 * whose reader is slow: the whole `--json` record and the whole last result arrive, byte for byte,
 * however long the reader takes. A pipe holds 64 KiB; the rest waits in the process, which must
 * not exit before the reader has taken it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findPython } from '../../../../cli/local/jupyter-server.js';
import { BIN } from '../../../helpers/cli.js';
import { notebookJson } from '../../../helpers/jupyter.js';

/**
 * Runs a command with its stdout on an os.pipe() read 4 KiB at a time with a pause after each read.
 * Prints one JSON line `{code, size}` and then the bytes it read.
 */
const SLOW_READER = String.raw`
import json, os, subprocess, sys, time
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
fd = p.stdout.fileno()
data = bytearray()
while True:
    chunk = os.read(fd, 4096)
    if not chunk:
        break
    data += chunk
    time.sleep(0.04)
code = p.wait()
sys.stdout.buffer.write(json.dumps({"code": code, "size": len(data)}).encode() + b"\n" + bytes(data))
`;

async function throughSlowPipe(args: string[]): Promise<{ code: number; bytes: Buffer }> {
  const child = spawn(findPython(), ['-c', SLOW_READER, process.execPath, BIN, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => chunks.push(d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  assert.equal(status, 0, 'the slow reader ran to its end');
  const all = Buffer.concat(chunks);
  const nl = all.indexOf(0x0a);
  const head = JSON.parse(all.subarray(0, nl).toString('utf8')) as { code: number; size: number };
  const bytes = all.subarray(nl + 1);
  assert.equal(bytes.length, head.size);
  return { code: head.code, bytes };
}

describe('nbtrigger run into a slow pipe', () => {
  let dir: string;
  const big = 200_000;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbtrigger-pipe-'));
    await writeFile(join(dir, 'big.ipynb'), notebookJson([`"x" * ${big}`]));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  test('--json: the whole record (far over the 64 KiB a pipe holds) is one valid JSON line', async () => {
    const { code, bytes } = await throughSlowPipe(['run', '--json', '--no-record', join(dir, 'big.ipynb')]);
    assert.equal(code, 0);
    const text = bytes.toString('utf8');
    assert.ok(
      bytes.length > big && text.endsWith('}\n'),
      `${bytes.length} bytes, ending ${JSON.stringify(text.slice(-20))}`,
    );
    const rec = JSON.parse(text) as { status: string; lastResult: Record<string, string> };
    assert.equal(rec.status, 'succeeded');
    assert.ok(rec.lastResult['text/plain'] === `'${'x'.repeat(big)}'`, 'the last result is whole');
  });

  test('the plain last result arrives whole', async () => {
    const { code, bytes } = await throughSlowPipe(['run', '--no-record', join(dir, 'big.ipynb')]);
    assert.equal(code, 0);
    const expected = `'${'x'.repeat(big)}'\n`;
    assert.equal(bytes.length, expected.length, 'every byte of the last result');
    assert.ok(bytes.toString('utf8') === expected, 'the last result, whole');
  });
});
