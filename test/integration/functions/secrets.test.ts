/**
 * The Jupyter token never appears in any output: logs (stdout/stderr of the served function and
 * of the CLI), HTTP answers, run records, executed notebooks and HTML pages — even when a notebook
 * reads the token from a file and prints it, raises it, or dumps its environment (kernels do not
 * inherit the token: the server takes it out of its environment). The test greps everything.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../../helpers/cli.js';
import {
  binaryEvent,
  isFinal,
  startFunctionServer,
  type FinalLine,
  type FunctionServer,
} from '../../helpers/functions-framework.js';
import { startTestServer, type TestServer } from '../../helpers/jupyter.js';

const TOKEN = `tok${Math.random().toString(36).slice(2)}${Date.now().toString(36)}secret`;
let server: TestServer;
let ff: FunctionServer;
let runsDir: string;
const bodies: string[] = [];

before(async () => {
  server = await startTestServer({ token: TOKEN });
  // A leaked copy of the token next to the notebooks: the worst case for the outputs.
  await server.writeFile('leak.txt', TOKEN);
  await server.writeNotebook('prints.ipynb', [
    'import os, json\nprint(json.dumps(dict(os.environ)))',
    'print(open("leak.txt").read())',
    'open("leak.txt").read()',
    // A large print (one frame over 64 KiB: its text stays bytes end to end) with the token at and
    // across the 64 KiB marks, between quotes and after a non-ASCII character.
    't = open("leak.txt").read()\nprint(("x" * 65530 + t + "é\\"" + t) * 5)',
  ]);
  await server.writeNotebook('raises.ipynb', ['raise ValueError("token is " + open("leak.txt").read())']);
  runsDir = await mkdtemp(join(tmpdir(), 'nbtrigger-secrets-'));
  ff = await startFunctionServer({ env: { JUPYTER_TOKEN: TOKEN, NBTRIGGER_RUNS_DIR: runsDir, NBTRIGGER_HTML: '1' } });
});
after(async () => {
  await ff?.stop();
  await server?.close();
});

async function deliver(text: string): Promise<FinalLine> {
  const req = binaryEvent({ text });
  const res = await ff.post(req);
  bodies.push(res.body);
  return (await ff.waitForLine((l) => l.eventId === req.id && isFinal(l), 60_000)) as FinalLine;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
  }
  return out;
}

test('no output of any kind holds the token', { timeout: 180_000 }, async () => {
  const ok = await deliver(`${server.hostPort} /prints.ipynb --verbose`);
  assert.equal(ok.record.status, 'succeeded');
  const failed = await deliver(`${server.hostPort} /raises.ipynb`);
  assert.equal(failed.record.status, 'failed');
  assert.match(
    String(failed.record.error?.evalue),
    /token is \[REDACTED\]/,
    'the error is kept, the token in it is not',
  );
  await deliver('not a valid --message');
  // retried (500)
  await deliver(JSON.stringify({ server: '127.0.0.1:9', notebook: '/x.ipynb', timeouts: { startSeconds: 0.5 } }));
  const cli = await runCli([
    'run',
    '--json',
    '--html',
    '--output-root',
    runsDir,
    '--server',
    server.hostPort,
    '--token',
    TOKEN,
    '--verbose',
    'prints.ipynb',
  ]);
  assert.equal(cli.code, 0, cli.stderr);

  const files = await filesUnder(runsDir);
  assert.ok(
    files.some((f) => f.endsWith('.ipynb')) &&
      files.some((f) => f.endsWith('.html')) &&
      files.some((f) => f.endsWith('.json')),
    `notebooks, pages and records were written: ${files.join(', ')}`,
  );
  const places: Array<[string, string]> = [
    ['function stdout', ff.stdout()],
    ['function stderr', ff.stderr()],
    ['HTTP answers', bodies.join('\n')],
    ['CLI stdout', cli.stdout],
    ['CLI stderr', cli.stderr],
    ...(await Promise.all(files.map(async (f) => [f, await readFile(f, 'utf8')] as [string, string]))),
  ];
  for (const [where, text] of places) assert.ok(!text.includes(TOKEN), `the token leaked into ${where}`);
  // The greps looked at real content: the notebook's outputs are there, with the token replaced.
  const nb = files.find((f) => f.endsWith('.ipynb') && f.includes('prints'))!;
  assert.match(await readFile(nb, 'utf8'), /\[REDACTED\]/);
  // The large print kept its shape: ten tokens replaced, at and across the 64 KiB marks.
  const big = (JSON.parse(await readFile(nb, 'utf8')) as { cells: Array<{ outputs?: Array<{ text?: string }> }> }).cells
    .flatMap((c) => c.outputs ?? [])
    .map((o) => o.text ?? '')
    .find((t) => t.length > 300_000);
  assert.ok(big, 'the large print is in the notebook');
  assert.equal(big.split('[REDACTED]').length - 1, 10);
  assert.equal(big, `${(`${'x'.repeat(65530)}[REDACTED]é"[REDACTED]`).repeat(5)}\n`);
  assert.match(ff.stdout(), /"severity":"DEBUG"/, 'verbose kernel messages were logged (and grepped)');
});
