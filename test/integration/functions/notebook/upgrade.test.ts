/**
 * Integration: nbformat 2 and 3 notebooks. The upgrade agrees with Debian's nbformat
 * (`nbformat.reads(text, as_version=4)`) field for field (cell ids aside, both random), and a v3
 * notebook run on a real Jupyter server gives what nbclient gives for it, written as valid 4.5.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildExecutedNotebook } from '../../../../functions/notebook/executed.js';
import { upgradeNotebook } from '../../../../functions/notebook/upgrade.js';
import { parseMessage } from '../../../../functions/request/grammar.js';
import { runNotebook } from '../../../../functions/run/runner.js';
import { startTestServer, type TestServer } from '../../../helpers/jupyter.js';
import { runNbclient } from '../../../helpers/nbclient.js';
import { V2_NOTEBOOK, V3_NOTEBOOK } from '../../../helpers/old-notebooks.js';

const T = { timeout: 120_000 };
const READ = 'import json,sys,nbformat; print(json.dumps(nbformat.reads(sys.stdin.read(), as_version=4)))';
const VALIDATE = 'import nbformat,sys; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))';

function python(args: string[], input?: string): Promise<{ out: string; err: string; code: number }> {
  return new Promise((resolve) => {
    const child = execFile('/usr/bin/python3', args, { maxBuffer: 64 << 20 }, (e, out, err) =>
      resolve({ out, err, code: e ? 1 : 0 }),
    );
    child.stdin!.end(input ?? '');
  });
}

/** Cell ids are random on both sides: compared by position. */
function withoutIds(nb: Record<string, unknown>): Record<string, unknown> {
  const cells = (nb.cells as Array<Record<string, unknown>>).map((c) => ({ ...c, id: 'X' }));
  return { ...nb, cells };
}

type Cell = { cell_type: string; source: unknown; execution_count?: unknown; outputs?: Array<Record<string, unknown>> };
const text = (v: unknown): string => (Array.isArray(v) ? v.join('') : typeof v === 'string' ? v : JSON.stringify(v));

/**
 * Consecutive stream outputs of one name as one: how a kernel's writes are cut into stream messages
 * depends on when its IOPub thread flushes (a loaded machine cuts `print` between text and newline),
 * and nbclient 0.7 keeps each message apart.
 */
function mergedStreams(outputs: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const o of outputs) {
    const last = out[out.length - 1];
    if (o.output_type === 'stream' && last?.output_type === 'stream' && last.name === o.name) {
      out[out.length - 1] = { ...last, text: text(last.text) + text(o.text) };
    } else out.push(o);
  }
  return out;
}

/** What must agree between the two executed notebooks: each cell's type, source and outputs. */
function cellsOf(nb: { cells: unknown[] }): unknown[] {
  return (nb.cells as Cell[]).map((c) => ({
    type: c.cell_type,
    source: text(c.source),
    count: c.execution_count ?? null,
    outputs: mergedStreams(c.outputs ?? []).map((o) => ({
      type: o.output_type,
      name: o.name,
      text: o.text === undefined ? undefined : text(o.text),
      ename: o.ename,
      evalue: o.evalue,
      data:
        o.data === undefined
          ? undefined
          : Object.fromEntries(
              Object.entries(o.data as Record<string, unknown>).map(([k, v]) => [
                k,
                text(v).replace(/0x[0-9a-f]+/g, '0x…'),
              ]),
            ),
    })),
  }));
}

describe('nbformat 2 and 3 upgraded as nbformat upgrades them', () => {
  const cases: Array<[string, unknown]> = [
    ['v3 (IPython 2)', V3_NOTEBOOK],
    ['v2 (IPython 0.12)', V2_NOTEBOOK],
    [
      'v3 with a transient origin and a heading with a trailing newline',
      {
        nbformat: 3,
        nbformat_minor: 0,
        orig_nbformat: 2,
        metadata: { name: '' },
        worksheets: [
          {
            cells: [
              { cell_type: 'heading', level: 2, metadata: {}, source: 'Title\n' },
              { cell_type: 'raw', metadata: {}, source: ['a\n', 'b'] },
            ],
          },
        ],
      },
    ],
  ];
  for (const [name, nb] of cases) {
    test(name, async () => {
      const text = JSON.stringify(nb);
      const ref = await python(['-c', READ], text);
      assert.equal(ref.code, 0, ref.err);
      const theirs = JSON.parse(ref.out) as Record<string, unknown>;
      const ours = upgradeNotebook(JSON.parse(text) as Record<string, unknown>, 'nb.ipynb');
      assert.deepEqual(withoutIds(ours), withoutIds(theirs));
    });
  }
});

describe('a v3 notebook runs and is written as nbformat 4.5', () => {
  let server: TestServer;
  let dir: string;
  before(async () => {
    server = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), 'nbtrigger-upgrade-'));
  });
  after(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('same cells and outputs as nbclient; valid nbformat 4.5 with the origin recorded', T, async () => {
    const text = JSON.stringify(V3_NOTEBOOK);
    await server.writeFile('old.ipynb', text);
    const out = await runNotebook({
      request: parseMessage(`${server.hostPort} /old.ipynb`),
      token: server.token,
      limits: { startTimeoutMs: 60_000, cellTimeoutMs: 30_000 },
    });
    assert.equal(out.record.status, 'succeeded', out.error?.message);
    const started = Date.parse(out.record.startedAt);
    const built = buildExecutedNotebook(out.notebook!, out.exec!.cells, out.exec!.outputs, {
      runId: 'r',
      notebook: 'old.ipynb',
      server: out.record.server,
      kernelName: out.record.kernelName,
      languageInfo: out.exec!.languageInfo,
      status: out.record.status,
      startedAt: started,
      endedAt: started + out.record.durationMs,
    });
    assert.deepEqual([built.nbformat, built.nbformat_minor], [4, 5]);
    const md = built.metadata as Record<string, unknown>;
    // The origin stays in the metadata, as the converter sets it (nbformat's writer drops it from the
    // files nbclient writes).
    assert.deepEqual([md.orig_nbformat, md.orig_nbformat_minor, md.name, md.signature], [3, 0, undefined, undefined]);
    const file = join(dir, 'old-executed.ipynb');
    await writeFile(file, JSON.stringify(built, null, 1));
    const valid = await python(['-W', 'error', '-c', VALIDATE, file]);
    assert.equal(valid.code, 0, valid.err);

    const ref = await runNbclient({ notebookText: text, cwd: dir, timeoutSeconds: 30, kernelName: 'python3' });
    assert.equal(ref.verdict.kind, 'ok', ref.stderr);
    assert.deepEqual(cellsOf(built), cellsOf(ref.notebook!));
    assert.deepEqual(md.language_info, ref.notebook!.metadata.language_info);
  });
});
