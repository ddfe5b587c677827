/**
 * `nbtrigger run` end to end as a user runs it: the real command, a private Jupyter server it
 * starts, exit codes 0/1/2/130, one JSON record with --json, human output otherwise, and no server
 * or kernel left behind. A running server named with --server is in run-command-server.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { before, describe, test } from 'node:test';
import type { RunRecord } from '../../../../functions/run/record.js';
import { BIN, portClosed, runCli, startCli } from '../../../helpers/cli.js';
import { markerCell, waitForFile } from '../../../helpers/events.js';
import { notebookJson } from '../../../helpers/jupyter.js';
import { record } from './run-record.js';

/** Where these tests' runs write their records and executed notebooks. */
const runsRoot = await mkdtemp(join(tmpdir(), 'nbtrigger-cli-runs-'));

describe('nbtrigger run (private local server)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbtrigger-cli-'));
    await writeFile(
      join(dir, 'ok.ipynb'),
      notebookJson(['a = 5', 'b = 10', { type: 'markdown', source: '# x' }, 'a + b']),
    );
    await writeFile(join(dir, 'fail.ipynb'), notebookJson(['x = 1', 'raise ValueError("boom")', 'x + 1']));
    await writeFile(
      join(dir, 'sleep.ipynb'),
      notebookJson(['import time\nprint("sleeping", flush=True)\ntime.sleep(60)']),
    );
    await writeFile(join(dir, 'ctrl-c.ipynb'), notebookJson([markerCell('ctrl-c.running', 'time.sleep(60)')]));
    await writeFile(join(dir, 'bad.ipynb'), '{"nbformat": 3, "cells": []}');
  });

  test('--json: one record, exit 0, last result 15, server stopped', async () => {
    const r = await runCli(['run', '--output-root', runsRoot, '--json', join(dir, 'ok.ipynb')]);
    assert.equal(r.code, 0, r.stderr);
    const rec = record(r.stdout);
    assert.equal(rec.status, 'succeeded');
    assert.deepEqual(rec.lastResult, { 'text/plain': '15' });
    assert.deepEqual(rec.cells, { total: 4, executed: 3, succeeded: 3, failed: 0, aborted: 0, skipped: 1 });
    assert.equal(rec.kernelName, 'python3');
    assert.match(rec.server!, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(await portClosed(rec.server!), 'private server stopped after the run');
  });

  const writesTitle =
    'writes the executed notebook (valid nbformat 4) and the run record side by side; nbtrigger runs lists it';
  test(writesTitle, async () => {
    const root = await mkdtemp(join(tmpdir(), 'nbtrigger-cli-out-'));
    const r = await runCli(['run', '--json', '--output-root', root, '-p', 'unused', '1', join(dir, 'fail.ipynb')]);
    assert.equal(r.code, 1, r.stderr);
    const rec = record(r.stdout) as RunRecord & { runId: string; outputs: { notebook: string } };
    assert.match(rec.runId, /^[0-9a-f]{12}$/);
    assert.ok(rec.outputs.notebook.startsWith(join(root, 'fail')), rec.outputs.notebook);
    const nb = JSON.parse(await readFile(rec.outputs.notebook, 'utf8')) as {
      cells: Array<{ outputs?: Array<{ output_type: string; ename?: string }> }>;
      metadata: Record<string, unknown>;
    };
    assert.ok(
      nb.cells.some((c) => c.outputs?.some((o) => o.output_type === 'error' && o.ename === 'ValueError')),
      'the failing cell holds its error',
    );
    assert.equal((nb.metadata.nbtrigger as { runId: string }).runId, rec.runId);
    const stored = JSON.parse(await readFile(rec.outputs.notebook.replace(/\.ipynb$/, '.json'), 'utf8')) as {
      runId: string;
      status: string;
    };
    assert.deepEqual([stored.runId, stored.status], [rec.runId, 'failed']);
    const check = spawnSync(
      '/usr/bin/python3',
      [
        '-W',
        'error',
        '-c',
        'import nbformat,sys; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))',
        rec.outputs.notebook,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(check.status, 0, check.stderr);
    const runs = await runCli(['runs', '--output-root', root, '--json']);
    assert.equal(runs.code, 0, runs.stderr);
    assert.deepEqual(
      (JSON.parse(runs.stdout) as Array<{ runId: string }>).map((x) => x.runId),
      [rec.runId],
    );
  });

  const htmlTitle =
    '--html writes a page beside the notebook; a failing output is an error in the record, never a lost run';
  test(htmlTitle, async () => {
    const root = await mkdtemp(join(tmpdir(), 'nbtrigger-cli-html-'));
    const r = await runCli(['run', '--json', '--html', '--output-root', root, join(dir, 'ok.ipynb')]);
    assert.equal(r.code, 0, r.stderr);
    const rec = record(r.stdout) as RunRecord & { outputs: { notebook: string; html: string } };
    assert.equal(rec.outputs.html, rec.outputs.notebook.replace(/\.ipynb$/, '.html'));
    assert.match(await readFile(rec.outputs.html, 'utf8'), /<html[\s\S]*<pre>15\s*<\/pre>/);
    const bad = await runCli([
      'run',
      '--json',
      '--output-root',
      root,
      '--output',
      join(dir, 'ok.ipynb', 'below-a-file', '{runId}.ipynb'),
      join(dir, 'ok.ipynb'),
    ]);
    assert.equal(bad.code, 0, 'the notebook succeeded: the exit code says so');
    const b = record(bad.stdout) as RunRecord & { runId: string };
    assert.equal(b.status, 'succeeded');
    assert.equal(b.outputErrors?.[0]?.kind, 'notebook');
    assert.equal(b.outputErrors?.[0]?.code, 'SINK_FAILED');
    const stored = await runCli(['runs', '--output-root', root, '--json']);
    assert.ok(
      (JSON.parse(stored.stdout) as Array<{ runId: string }>).some((x) => x.runId === b.runId),
      'the run is still recorded',
    );
  });

  test('the person at the CLI chooses any output: an absolute path outside the output root, a "../" path', async () => {
    const root = await mkdtemp(join(tmpdir(), 'nbtrigger-cli-free-'));
    const elsewhere = await mkdtemp(join(tmpdir(), 'nbtrigger-cli-elsewhere-'));
    const abs = await runCli([
      'run',
      '--json',
      '--output-root',
      root,
      '--output',
      join(elsewhere, 'x-{runId}.ipynb'),
      join(dir, 'ok.ipynb'),
    ]);
    assert.equal(abs.code, 0, abs.stderr);
    const a = record(abs.stdout) as RunRecord & { runId: string; outputs: { notebook: string } };
    assert.equal(a.outputs.notebook, join(elsewhere, `x-${a.runId}.ipynb`));
    assert.ok((await readFile(a.outputs.notebook, 'utf8')).includes('"nbformat"'));
    // Relative to the CLI's working folder (the project root), through "..".
    const upPath = relative(dirname(dirname(BIN)), join(elsewhere, 'up.ipynb'));
    assert.match(upPath, /^\.\.\//);
    const up = await runCli(['run', '--json', '--output-root', root, '--output', upPath, join(dir, 'ok.ipynb')]);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(
      (record(up.stdout) as RunRecord & { outputs: { notebook: string } }).outputs.notebook,
      join(elsewhere, 'up.ipynb'),
    );
  });

  test('human output: progress lines on a pipe, summary on stderr, last result on stdout', async () => {
    const r = await runCli(['run', '--output-root', runsRoot, join(dir, 'ok.ipynb')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '15\n');
    assert.match(r.stderr, /running 3 code cells/);
    assert.match(r.stderr, /\[3\/3\] cell 3 done/);
    assert.match(r.stderr, /ok\.ipynb succeeded/);
  });

  test('a cell error: exit 1, cell index, ename, traceback, later cells aborted', async () => {
    const r = await runCli(['run', '--output-root', runsRoot, '--json', join(dir, 'fail.ipynb')]);
    assert.equal(r.code, 1);
    const rec = record(r.stdout);
    assert.equal(rec.status, 'failed');
    assert.equal(rec.error?.code, 'CELL_ERROR');
    assert.equal(rec.error?.cellIndex, 1);
    assert.equal(rec.error?.ename, 'ValueError');
    assert.equal(rec.error?.evalue, 'boom');
    assert.ok(rec.error?.traceback?.some((l) => l.includes('ValueError')));
    assert.equal(rec.cells.aborted, 1);
    const human = await runCli(['run', '--output-root', runsRoot, join(dir, 'fail.ipynb')]);
    assert.equal(human.code, 1);
    assert.match(human.stderr, /failed at cell 1/);
    assert.doesNotMatch(human.stderr, /\x1b\[/, 'no ANSI colour codes when stderr is not a TTY');
  });

  test('bad input exits 2: missing file, not .ipynb, nbformat 3, usage', async () => {
    for (const [args, code] of [
      [['run', '--json', join(dir, 'nope.ipynb')], 'NOTEBOOK_NOT_FOUND'],
      [['run', '--json', join(dir, 'ok.txt')], 'BAD_NOTEBOOK'],
      [['run', '--json', join(dir, 'bad.ipynb')], 'BAD_NOTEBOOK'],
      [['run', '--json', `${dir}/`], 'BAD_NOTEBOOK'],
      [['run', '--json'], 'USAGE'],
      [['run', '--json', '--timeout', 'soon', join(dir, 'ok.ipynb')], 'USAGE'],
    ] as const) {
      const r = await runCli([...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(record(r.stdout).error?.code, code, args.join(' '));
    }
    // A local notebook over NBTRIGGER_MAX_NOTEBOOK_BYTES is refused before a server starts, naming the cap.
    const big = await runCli(['run', '--json', join(dir, 'ok.ipynb')], {
      env: { NBTRIGGER_MAX_NOTEBOOK_BYTES: '100' },
    });
    assert.equal(big.code, 2, big.stderr);
    assert.equal(record(big.stdout).error?.code, 'BAD_NOTEBOOK');
    assert.match(
      record(big.stdout).error!.message,
      /larger than the cap of 100 bytes \(NBTRIGGER_MAX_NOTEBOOK_BYTES\)/,
    );
    const unknown = await runCli(['run', '--output-root', runsRoot, '--frobnicate', 'x.ipynb']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /frobnicate/);
  });

  test('--timeout: an endless cell times out, exit 1', async () => {
    const r = await runCli(['run', '--output-root', runsRoot, '--json', '--timeout', '3', join(dir, 'sleep.ipynb')], {
      timeoutMs: 30_000,
    });
    assert.equal(r.code, 1, r.stderr);
    const rec = record(r.stdout);
    assert.equal(rec.status, 'timed_out');
    assert.equal(rec.error?.code, 'TIMEOUT');
    assert.ok(await portClosed(rec.server!));
  });

  test('Ctrl-C mid-cell: exit 130 within seconds, server and kernel stopped', async () => {
    const { child, result } = startCli(['run', '--output-root', runsRoot, '--json', join(dir, 'ctrl-c.ipynb')], {
      timeoutMs: 60_000,
    });
    // Mid-cell: the cell has written its marker (the kernel runs in the notebook's folder).
    await Promise.race([waitForFile(join(dir, 'ctrl-c.running')), result]);
    const sent = Date.now();
    child.kill('SIGINT');
    const r = await result;
    assert.equal(r.code, 130, r.stderr);
    assert.ok(Date.now() - sent < 30_000, 'exits promptly after Ctrl-C');
    const rec = record(r.stdout);
    assert.equal(rec.error?.code, 'CANCELLED');
    if (rec.server) assert.ok(await portClosed(rec.server), 'server stopped');
  });
});
