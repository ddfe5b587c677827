/**
 * Fault: records that carry markup. `nbtrigger runs --html` over records on disk, one whose status
 * is a `<script>` and one with markup in its notebook name and error message: the invalid record is
 * skipped with a warning, the other is shown escaped, and no live markup or control character
 * reaches the page or the terminal. One fault-table row. The redaction faults are in
 * redaction.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runsCommand } from '../../cli/commands/runs-command.js';
import { recordRow, T } from './common.js';

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nbt-fault-records-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fault: records that carry markup', () => {
  test('runs --html over a record whose status is <script>: skipped with a warning, no live markup', T, async () => {
    const root = join(dir, 'records');
    await mkdir(join(root, 'x'), { recursive: true });
    const base = {
      notebook: 'x.ipynb',
      server: null,
      kernelName: null,
      durationMs: 1,
      warnings: [],
      cells: { total: 0, executed: 0, succeeded: 0, failed: 0, aborted: 0, skipped: 0 },
    };
    await writeFile(
      join(root, 'x', '2026-01-01T00-00-00.000Z-evil.json'),
      JSON.stringify({
        ...base,
        status: '<script>alert(1)</script>',
        startedAt: '2026-01-01T00:00:00.000Z',
        runId: 'evil',
      }),
    );
    await writeFile(
      join(root, 'x', '2026-01-01T00-00-01.000Z-ok.json'),
      JSON.stringify({
        ...base,
        notebook: '<img src=x onerror=alert(1)>.ipynb',
        status: 'failed',
        startedAt: '2026-01-01T00:00:01.000Z',
        runId: 'ok',
        error: { code: 'CELL_ERROR', message: '<script>alert(2)</script>', retryable: false },
      }),
    );
    let out = '';
    let err = '';
    const io = {
      stdout: {
        write: (s: string) => {
          out += s;
          return true;
        },
      },
      stderr: {
        write: (s: string) => {
          err += s;
          return true;
        },
      },
      env: {},
    };
    const t0 = Date.now();
    const page = join(root, 'runs.html');
    assert.equal(await runsCommand(['--output-root', root, '--html', page], io as never), 0, err);
    const html = await readFile(page, 'utf8');
    assert.match(err, /warning: skipped run evil: not a valid run record \(status must be one of/);
    assert.doesNotMatch(html, /<script|<img/i);
    assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(out, /[\u0000-\u0008\u000b-\u001f]/, 'no control character reaches the terminal');
    recordRow({
      fault: 'runs --html: a record with status <script>, another with markup in its fields',
      expected: 'invalid one skipped with a warning; no live markup',
      observed: '1 skipped (warning), 1 shown escaped',
      seconds: (Date.now() - t0) / 1000,
      kernelsLeft: 'n/a',
    });
  });
});
