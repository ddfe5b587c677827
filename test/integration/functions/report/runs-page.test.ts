/**
 * `nbtrigger runs` over a local output root (table, filters, --json, errors), and the `--html` page
 * opened in headless Chromium (Debian's `chromium`): the rendered DOM holds one table row and one chart
 * dot per run, no script ran or was created from record text, and a screenshot is taken. Skips with a
 * notice when chromium is missing (fails instead under CI=true); running it is in headless-chromium.ts.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { runsCommand } from '../../../../cli/commands/runs-command.js';
import { sampleRuns } from '../../../unit/functions/report/fixtures.js';
import { chromium, skipUnlessChromium } from './headless-chromium.js';

function io(): {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  out: () => string;
  err: () => string;
} {
  let out = '';
  let err = '';
  return {
    stdout: {
      write: (s: string) => {
        out += s;
        return true;
      },
    } as unknown as NodeJS.WritableStream,
    stderr: {
      write: (s: string) => {
        err += s;
        return true;
      },
    } as unknown as NodeJS.WritableStream,
    env: {},
    out: () => out,
    err: () => err,
  };
}

describe('nbtrigger runs (local records) and the HTML page in Chromium', () => {
  let dir: string;
  const runs = sampleRuns();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbt-runs-'));
    for (const r of runs) {
      const folder = join(
        dir,
        (r.notebook ?? '_unknown')
          .replace(/^.*\//, '')
          .replace(/\.ipynb$/, '')
          .replace(/[^A-Za-z0-9_.-]/g, '_'),
      );
      await mkdir(folder, { recursive: true });
      await writeFile(join(folder, `${r.startedAt.replace(/:/g, '-')}-${r.runId}.json`), JSON.stringify(r));
      await writeFile(
        join(folder, `${r.startedAt.replace(/:/g, '-')}-${r.runId}.ipynb`),
        '{"cells": [], "nbformat": 4}',
      );
    }
    await writeFile(join(dir, 'package.json'), '{"name": "not a record"}');
    await writeFile(join(dir, 'broken.json'), '{');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('lists runs newest first with when, notebook, status, duration, failing cell, output', async () => {
    const o = io();
    assert.equal(await runsCommand(['--output-root', dir], o), 0, o.err());
    const lines = o.out().trimEnd().split('\n');
    assert.equal(lines.length, runs.length + 1);
    assert.match(lines[0]!, /^WHEN +NOTEBOOK +STATUS +DURATION +CELL +FAILURE +OUTPUT$/);
    assert.match(
      lines[1]!,
      /^2026-01-21 21:00:00Z +reports\/daily\.ipynb +succeeded +6\.4 s +- +- +\/srv\/runs\/daily\/daily-7\.ipynb$/,
    );
    assert.match(
      o.out(),
      /\n2026-01-20 12:00:00Z +etl\/load\.ipynb +timed_out +5 min 00 s +- +TIMEOUT: run exceeded 300 s +-\n/,
    );
  });

  it('filters by notebook and status, limits, and prints --json records', async () => {
    const o = io();
    assert.equal(
      await runsCommand(['--output-root', dir, '--notebook', 'daily', '--status', 'failed', '--json'], o),
      0,
      o.err(),
    );
    const got = JSON.parse(o.out()) as Array<{ runId: string; error: { cellIndex: number } }>;
    assert.deepEqual(
      got.map((r) => r.runId),
      ['daily-6', 'daily-3'],
    );
    assert.equal(got[0]!.error.cellIndex, 2);
    const l = io();
    assert.equal(await runsCommand(['--output-root', dir, '--limit', '2', '--json'], l), 0);
    assert.deepEqual(
      (JSON.parse(l.out()) as Array<{ runId: string }>).map((r) => r.runId),
      ['daily-7', 'evil-0'],
    );
  });

  it('refuses bad input with exit 2', async () => {
    for (const argv of [
      ['--status', 'broken'],
      ['--limit', '0'],
      ['--limit', 'x'],
      ['--bogus'],
      ['positional'],
      ['--firestore', '--output-root', dir],
    ]) {
      const o = io();
      assert.equal(await runsCommand(argv, o), 2, argv.join(' '));
      assert.match(o.err(), /usage: nbtrigger runs/);
    }
    const o = io();
    assert.equal(await runsCommand(['--output-root', join(dir, 'nope')], o), 2);
    assert.match(o.err(), /no such directory/);
  });

  it('writes a page that renders the runs in headless Chromium', async (t) => {
    const page = join(dir, 'report', 'runs.html');
    const o = io();
    assert.equal(await runsCommand(['--output-root', dir, '--html', page], o), 0, o.err());
    assert.match(o.err(), /wrote .*runs\.html \(12 runs\)/);
    const html = await readFile(page, 'utf8');
    assert.match(html, /<svg /);
    if (skipUnlessChromium(t)) return;

    const profile = await mkdtemp(join(tmpdir(), 'nbt-chromium-'));
    try {
      const dom = await chromium(['--virtual-time-budget=2000', '--dump-dom', pathToFileURL(page).href], profile);
      assert.equal((dom.match(/<tr class="run /g) ?? []).length, runs.length, 'one table row per run');
      assert.equal((dom.match(/<circle class="run /g) ?? []).length, runs.length, 'one chart dot per run');
      assert.equal((dom.match(/<svg /g) ?? []).length, 3, 'one chart per notebook');
      assert.match(dom, /<table id="runs">/);
      assert.doesNotMatch(dom, /<script|<img/i, 'record text never became markup');
      assert.match(dom, /x\/&lt;script&gt;alert\(1\)&lt;\/script&gt;\.ipynb/);

      const shot = join(dir, 'report', 'runs.png');
      await chromium(
        ['--hide-scrollbars', '--window-size=1200,1900', `--screenshot=${shot}`, pathToFileURL(page).href],
        profile,
      );
      const png = await readFile(shot);
      assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
      assert.ok((await stat(shot)).size > 20_000, 'a screenshot with content');
      if (process.env.NBTRIGGER_KEEP_SCREENSHOT) await writeFile(process.env.NBTRIGGER_KEEP_SCREENSHOT, png);
    } finally {
      await rm(profile, { recursive: true, force: true });
    }
  });
});

describe('nbtrigger runs over records that carry markup', () => {
  let dir: string;
  const base = {
    notebook: 'hostile.ipynb',
    server: 'http://127.0.0.1:1',
    kernelName: 'python3',
    durationMs: 5,
    cells: { total: 1, executed: 1, succeeded: 0, failed: 1, aborted: 0, skipped: 0 },
    warnings: [],
  };
  const SCRIPT = '<script>document.title="pwned"</script>';
  const records: Array<[string, unknown]> = [
    ['bad-status', { ...base, status: SCRIPT, startedAt: '2026-02-01T00:00:00.000Z', runId: 'bad-status' }],
    [
      'bad-duration',
      {
        ...base,
        status: 'failed',
        durationMs: '<img src=x onerror=alert(1)>',
        startedAt: '2026-02-01T00:00:01.000Z',
        runId: 'bad-duration',
      },
    ],
    [
      'bad-runid',
      { ...base, status: 'failed', startedAt: '2026-02-01T00:00:02.000Z', runId: `"><svg onload=alert(1)>` },
    ],
    ['bad-when', { ...base, status: 'failed', startedAt: `2026-02-01T00:00:03Z${SCRIPT}`, runId: 'bad-when' }],
    [
      'bad-cells',
      { ...base, status: 'failed', startedAt: '2026-02-01T00:00:04.000Z', runId: 'bad-cells', cells: SCRIPT },
    ],
    // Valid records whose text fields all carry markup and terminal escapes: shown, escaped.
    [
      'markup',
      {
        ...base,
        notebook: `x/${SCRIPT}.ipynb`,
        status: 'failed',
        startedAt: '2026-02-01T00:00:05.000Z',
        runId: 'markup',
        kernelName: SCRIPT,
        server: SCRIPT,
        warnings: [SCRIPT],
        error: {
          code: `<b>CELL_ERROR</b>`,
          message: SCRIPT,
          retryable: false,
          cellIndex: 0,
          ename: `<i>E</i>\u001b[2J`,
          evalue: `${SCRIPT}\u001b]0;title\u0007`,
        },
        outputs: { notebook: `javascript:alert(1)//${SCRIPT}`, html: `"><script>alert(2)</script>` },
      },
    ],
  ];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbt-runs-hostile-'));
    await mkdir(join(dir, 'hostile'));
    for (const [name, r] of records)
      await writeFile(
        join(dir, 'hostile', `2026-02-01T00-00-0${records.findIndex(([n]) => n === name)}.000Z-${name}.json`),
        JSON.stringify(r),
      );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('skips invalid records with a warning and renders no live markup (page and table)', async (t) => {
    const page = join(dir, 'runs.html');
    const o = io();
    assert.equal(await runsCommand(['--output-root', dir, '--html', page], o), 0, o.err());
    for (const name of ['bad-status', 'bad-duration', 'bad-when', 'bad-cells']) {
      assert.match(o.err(), new RegExp(`warning: skipped run ${name}: not a valid run record`), o.err());
    }
    assert.match(o.err(), /warning: skipped run "><svg onload=alert\(1\)>: not a valid run record \(runId/);
    assert.match(o.err(), /wrote .*runs\.html \(1 run\)/);
    // The table: one run, no control character reaches the terminal.
    const lines = o.out().trimEnd().split('\n');
    assert.equal(lines.length, 2, o.out());
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(o.out(), /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    const html = await readFile(page, 'utf8');
    assert.doesNotMatch(html, /<script|<img|<svg onload|<b>CELL|<i>E|href="javascript|pwned"/i);
    assert.ok(
      html.includes('&lt;i&gt;E&lt;/i&gt;') && html.includes('javascript:alert(1)//&lt;script'),
      'fields shown as text, not links',
    );
    assert.ok(
      html.includes('&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;'),
      'the markup is shown as text',
    );
    if (skipUnlessChromium(t)) return;
    const profile = await mkdtemp(join(tmpdir(), 'nbt-chromium-'));
    try {
      const dom = await chromium(['--virtual-time-budget=2000', '--dump-dom', pathToFileURL(page).href], profile);
      assert.equal((dom.match(/<tr class="run /g) ?? []).length, 1);
      assert.doesNotMatch(
        dom,
        /<script|<img|<b>CELL|<i>E|onload=|<a href="javascript/i,
        'record text never became markup',
      );
      assert.match(dom, /<title>nbtrigger runs<\/title>/, 'no script changed the title');
    } finally {
      await rm(profile, { recursive: true, force: true });
    }
  });
});
