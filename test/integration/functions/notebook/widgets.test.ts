/**
 * Integration: widget notebooks through the real command (private Jupyter Server, ipykernel),
 * compared with nbclient. Widgets of protocol 2 (ipywidgets 7 and 8) are opened from the notebook
 * exactly as ipywidgets opens them, through `ipykernel.comm.Comm(target_name='jupyter.widget')`
 * (ipywidgets 7/8 cannot be installed here); Debian's ipywidgets 6 runs as itself when installed.
 * Also: `metadata.language_info` comes from the kernel even when no code cell runs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findPython } from '../../../../cli/local/jupyter-server.js';
import { WIDGET_STATE_MIME } from '../../../../functions/notebook/widgets.js';
import { runCli } from '../../../helpers/cli.js';
import { notebookJson } from '../../../helpers/jupyter.js';
import { runNbclient } from '../../../helpers/nbclient.js';

const T = { timeout: 180_000 };
const VIEW = 'application/vnd.jupyter.widget-view+json';

/**
 * Protocol 2 widgets as ipywidgets 7/8 send them: state + buffer_paths, update and echo_update,
 * the Output widget's msg_id capture.
 */
const PROTOCOL2_CELLS = [
  String.raw`from ipykernel.comm import Comm
from IPython.display import display
import sys
def view(c):
    display({'${VIEW}': {'model_id': c.comm_id, 'version_major': 2, 'version_minor': 0}, 'text/plain': 'W()'}, raw=True)
base = {'_model_module': '@jupyter-widgets/controls', '_model_module_version': '2.0.0'}
def opened(**state):
    return Comm(target_name='jupyter.widget', data={'state': dict(base, **state), 'buffer_paths': []},
                metadata={'version': '2.1.0'})
slider = opened(_model_name='IntSliderModel', value=1)
view(slider)
slider.send({'method': 'update', 'state': {'value': 5}, 'buffer_paths': []})
slider.send({'method': 'echo_update', 'state': {'description': 'x'}, 'buffer_paths': []})
img = opened(_model_name='ImageModel', format='png')
img.send({'method': 'update', 'state': {'width': '10'}, 'buffer_paths': [['value']]}, buffers=[b'\x89PNG\x00\x01'])`,
  `base = {'_model_module': '@jupyter-widgets/output', '_model_module_version': '1.0.0'}
out = opened(_model_name='OutputModel', outputs=[], msg_id='')
view(out)
print('before')
sys.stdout.flush()  # as ipywidgets' Output.__enter__ and __exit__ flush
request = get_ipython().kernel.get_parent()['header']['msg_id']
out.send({'method': 'update', 'state': {'msg_id': request}, 'buffer_paths': []})
print('captured 1')
print('captured 2')
display({'text/plain': 'shown in the widget'}, raw=True)
sys.stdout.flush()
out.send({'method': 'update', 'state': {'msg_id': ''}, 'buffer_paths': []})
print('after')`,
  `base = {'_model_module': '@jupyter-widgets/controls', '_model_module_version': '2.0.0'}
button = opened(_model_name='ButtonModel')
button.close()
other = Comm(target_name='something.else', data={'hello': 1})
'done'`,
];

const STALE = {
  [WIDGET_STATE_MIME]: {
    state: { stale0: { model_name: 'OldModel', model_module: 'x', model_module_version: '1', state: {} } },
    version_major: 2,
    version_minor: 0,
  },
};

type Out = Record<string, unknown> & { output_type: string; text?: unknown; name?: string };
type Nb = { cells: Array<{ cell_type: string; outputs?: Out[] }>; metadata: Record<string, unknown> };
interface Model {
  model_name: string;
  model_module: string;
  model_module_version: string | null;
  state: Record<string, unknown>;
  buffers?: unknown[];
}

const joined = (t: unknown): string => (Array.isArray(t) ? t.join('') : String(t));
/** Outputs as both write them, with consecutive streams of one name merged (nbclient 0.7 keeps them apart). */
function outputs(nb: Nb): Out[][] {
  return nb.cells
    .filter((c) => c.cell_type === 'code')
    .map((c) =>
      (c.outputs ?? []).reduce<Out[]>((acc, o) => {
        const last = acc[acc.length - 1];
        const o2 = o.output_type === 'stream' ? { ...o, text: joined(o.text) } : { ...o };
        // nbformat's writer stores text data as lists of lines.
        if (o2.data) {
          o2.data = Object.fromEntries(
            Object.entries(o2.data).map(([k, v]) => [k, k.startsWith('text/') ? joined(v) : v]),
          );
        }
        const merges = last?.output_type === 'stream' && o2.output_type === 'stream' && last.name === o2.name;
        if (merges) last.text = String(last.text) + String(o2.text);
        else acc.push(o2);
        return acc;
      }, []),
    );
}
/**
 * Models by model name (ids are random on each run), with outputs' text joined and references
 * to other models (`IPY_MODEL_<id>`) naming the model referred to.
 */
function models(nb: Nb): Record<string, Model> {
  const bundle = (nb.metadata.widgets as Record<string, { state: Record<string, Model> }>)[WIDGET_STATE_MIME]!;
  const out: Record<string, Model> = {};
  const named = (v: unknown): unknown =>
    JSON.parse(
      JSON.stringify(v).replace(
        /IPY_MODEL_([0-9a-f]+)/g,
        (_, id: string) => `IPY_MODEL_${bundle.state[id]?.model_name ?? 'MISSING'}`,
      ),
    );
  for (const m of Object.values(bundle.state)) {
    const state = named(m.state) as Model['state'];
    if (Array.isArray(state.outputs)) {
      state.outputs = (state.outputs as Out[]).map((o) => (o.text === undefined ? o : { ...o, text: joined(o.text) }));
    }
    out[m.model_name] = { ...m, state };
  }
  return out;
}
/** Widget-view outputs with their model id replaced by the model's name. */
function views(nb: Nb): string[] {
  const bundle = (nb.metadata.widgets as Record<string, { state: Record<string, Model> }>)[WIDGET_STATE_MIME]!;
  return outputs(nb)
    .flat()
    .filter((o) => (o.data as Record<string, unknown> | undefined)?.[VIEW])
    .map((o) => (o.data as Record<string, { model_id: string }>)[VIEW]!.model_id)
    .map((id) => bundle.state[id]?.model_name ?? 'MISSING');
}
const withoutViewIds = (cells: Out[][]): unknown =>
  JSON.parse(JSON.stringify(cells).replace(/"model_id":"[0-9a-f]+"/g, '"model_id":"ID"'));
const VALIDATE = 'import nbformat,sys; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))';
const stdout = (text: string): Out => ({ output_type: 'stream', name: 'stdout', text });

describe('widget notebooks', () => {
  let dir: string;
  let root: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbtrigger-widgets-'));
    root = join(dir, 'runs');
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  async function nbtrigger(name: string, text: string): Promise<Nb> {
    const file = join(dir, name);
    await writeFile(file, text);
    const r = await runCli(['run', '--json', '--output-root', root, file], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    const rec = JSON.parse(r.stdout) as { outputs: { notebook: string }; warnings: string[] };
    assert.deepEqual(rec.warnings, []);
    const check = spawnSync('/usr/bin/python3', ['-W', 'error', '-c', VALIDATE, rec.outputs.notebook], {
      encoding: 'utf8',
    });
    assert.equal(check.status, 0, check.stderr);
    return JSON.parse(await readFile(rec.outputs.notebook, 'utf8')) as Nb;
  }

  test('protocol 2 (ipywidgets 7/8): state, buffers, Output capture as nbclient; stale state replaced', T, async () => {
    const text = notebookJson(PROTOCOL2_CELLS, { widgets: STALE });
    const ours = await nbtrigger('p2.ipynb', text);
    const ref = await runNbclient({ notebookText: text, cwd: dir, timeoutSeconds: 60 });
    assert.equal(ref.verdict.kind, 'ok', ref.stderr);
    const theirs = ref.notebook as unknown as Nb;

    // What the Output widget captured is the widget's, not the cell's.
    assert.deepEqual(
      outputs(ours)[1]!.filter((o) => o.output_type === 'stream'),
      [stdout('before\nafter\n')],
    );
    const m = models(ours);
    assert.deepEqual(m.OutputModel!.state.outputs, [
      stdout('captured 1\ncaptured 2\n'),
      { output_type: 'display_data', data: { 'text/plain': 'shown in the widget' }, metadata: {} },
    ]);
    assert.equal(m.IntSliderModel!.state.value, 5);
    assert.equal(m.IntSliderModel!.state.description, 'x');
    const png = Buffer.from('\x89PNG\x00\x01', 'latin1').toString('base64');
    assert.deepEqual(m.ImageModel!.buffers, [{ data: png, encoding: 'base64', path: ['value'] }]);
    assert.ok(m.ButtonModel, 'a closed model keeps its state');
    assert.equal(m.OldModel, undefined, "the input's stale state is replaced");
    assert.deepEqual(views(ours), ['IntSliderModel', 'OutputModel'], 'every widget view refers to a saved model');

    // And all of it exactly as nbclient has it.
    assert.deepEqual(withoutViewIds(outputs(ours)), withoutViewIds(outputs(theirs)));
    assert.deepEqual(models(ours), models(theirs));
    assert.deepEqual(views(ours), views(theirs));
    const bundle = (ours.metadata.widgets as Record<string, Record<string, unknown>>)[WIDGET_STATE_MIME]!;
    assert.deepEqual([bundle.version_major, bundle.version_minor], [2, 0]);
  });

  const isV6 = 'import ipywidgets; assert ipywidgets.__version__.startswith("6.")';
  const v6 = spawnSync(findPython(), ['-c', isV6]).status === 0;
  const v6Options = { ...T, skip: !v6 && 'ipywidgets 6 is not installed' };
  test('ipywidgets 6 (Debian): runs, keeps its models and Output capture as nbclient', v6Options, async () => {
    const text = notebookJson([
      'import ipywidgets as w\nfrom IPython.display import display\n' +
        's = w.IntSlider(value=3, description="n")\ndisplay(s)\ns.value = 4',
      'out = w.Output()\ndisplay(out)\nprint("cell text")\nwith out:\n    print("in the v6 output")\nprint("after")',
    ]);
    const ours = await nbtrigger('v6.ipynb', text);
    const m = models(ours);
    assert.equal(m.IntSliderModel!.state.value, 4);
    assert.equal(m.IntSliderModel!.model_module, 'jupyter-js-widgets');
    assert.deepEqual(m.OutputModel!.state.outputs, [stdout('in the v6 output\n')]);
    assert.deepEqual(
      outputs(ours)[1]!.filter((o) => o.name === 'stdout'),
      [stdout('cell text\nafter\n')],
    );
    assert.deepEqual(views(ours), ['IntSliderModel', 'OutputModel']);
    // The reference: nbclient reading protocol 1 in protocol 2's form (test/helpers/nbclient.ts).
    const ref = await runNbclient({ notebookText: text, cwd: dir, timeoutSeconds: 60 });
    assert.equal(ref.verdict.kind, 'ok', ref.stderr);
    const theirs = ref.notebook as unknown as Nb;
    assert.deepEqual(withoutViewIds(outputs(ours)), withoutViewIds(outputs(theirs)));
    assert.deepEqual(models(ours), models(theirs));
    assert.deepEqual(views(ours), views(theirs));
  });

  test("language_info from the kernel replaces the notebook's, even with no code cell to run", T, async () => {
    const stale = { name: 'python', version: '2.7.0', codemirror_mode: { name: 'ipython', version: 2 } };
    const textOnly = [{ type: 'markdown' as const, source: '# only text' }];
    const allSkipped = [{ source: 'print(1)', tags: ['skip-execution'] }];
    for (const cells of [textOnly, allSkipped]) {
      const text = notebookJson(cells, { language_info: stale });
      const ours = await nbtrigger('text-only.ipynb', text);
      const ref = await runNbclient({ notebookText: text, cwd: dir, timeoutSeconds: 60 });
      const info = ours.metadata.language_info as Record<string, unknown>;
      assert.notEqual(info.version, '2.7.0');
      assert.deepEqual(info, ref.notebook!.metadata.language_info);
    }
  });
});
