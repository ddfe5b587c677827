/** Widget state from comm messages, and the Output widget's capture: pure transitions. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { outputFromMessage, WIDGET_STATE_MIME, WidgetStore } from '../../../../functions/notebook/widgets.js';

const CONTROLS = { _model_module: '@jupyter-widgets/controls', _model_module_version: '2.0.0' };
const OUTPUT = {
  _model_name: 'OutputModel',
  _model_module: '@jupyter-widgets/output',
  _model_module_version: '1.0.0',
  outputs: [],
  msg_id: '',
};
const open = (w: WidgetStore, id: string, state: Record<string, unknown>, extra: Record<string, unknown> = {}): void =>
  w.comm('comm_open', { comm_id: id, target_name: 'jupyter.widget', data: { state, buffer_paths: [], ...extra } });
const update = (w: WidgetStore, id: string, state: Record<string, unknown>, method = 'update'): void =>
  w.comm('comm_msg', { comm_id: id, data: { method, state, buffer_paths: [] } });
interface SavedModel {
  model_name: unknown;
  model_module: unknown;
  model_module_version: unknown;
  state: Record<string, unknown>;
  buffers?: unknown[];
}
type Saved = { state: Record<string, SavedModel> };
const saved = (w: WidgetStore): Saved => w.metadata()![WIDGET_STATE_MIME] as Saved;

describe('WidgetStore: model state', () => {
  it('no widget model: no metadata (the input notebook keeps its own)', () => {
    const w = new WidgetStore(1000);
    assert.equal(w.metadata(), undefined);
    w.comm('comm_open', { comm_id: 'x', target_name: 'other', data: { hello: 1 } });
    // No _model_name: not a widget model.
    w.comm('comm_open', { comm_id: 'y', target_name: 'jupyter.widget', data: { state: { value: 1 } } });
    assert.equal(w.metadata(), undefined);
  });

  it('comm_open state, then update and echo_update merged; saved as the version 2.0 bundle', () => {
    const w = new WidgetStore(10_000);
    open(w, 's', { ...CONTROLS, _model_name: 'IntSliderModel', value: 1 });
    update(w, 's', { value: 5 });
    update(w, 's', { description: 'x' }, 'echo_update');
    w.comm('comm_msg', { comm_id: 's', data: { method: 'custom', content: { event: 'click' } } }); // no state: ignored
    assert.deepEqual(w.metadata(), {
      [WIDGET_STATE_MIME]: {
        state: {
          s: {
            model_name: 'IntSliderModel',
            model_module: '@jupyter-widgets/controls',
            model_module_version: '2.0.0',
            state: { ...CONTROLS, _model_name: 'IntSliderModel', value: 5, description: 'x' },
          },
        },
        version_major: 2,
        version_minor: 0,
      },
    });
  });

  it('buffers: kept base64 by path, a later buffer at the same path replaces the earlier one', () => {
    const w = new WidgetStore(10_000);
    open(w, 'i', { ...CONTROLS, _model_name: 'ImageModel' });
    w.comm(
      'comm_msg',
      { comm_id: 'i', data: { method: 'update', state: {}, buffer_paths: [['value'], ['extra', 0]] } },
      [Uint8Array.from([1, 2, 3]), Buffer.from('hi')],
    );
    w.comm('comm_msg', { comm_id: 'i', data: { method: 'update', state: {}, buffer_paths: [['value']] } }, [
      Uint8Array.from([9]),
    ]);
    assert.deepEqual(saved(w).state.i!.buffers, [
      { data: 'CQ==', encoding: 'base64', path: ['value'] },
      { data: 'aGk=', encoding: 'base64', path: ['extra', 0] },
    ]);
  });

  it('a closed model keeps its state (as nbclient); messages without a comm id are ignored', () => {
    const w = new WidgetStore(10_000);
    open(w, 'b', { ...CONTROLS, _model_name: 'ButtonModel' });
    w.comm('comm_close', { comm_id: 'b', data: {} });
    w.comm('comm_msg', { data: { state: { _model_name: 'X' } } });
    assert.deepEqual(Object.keys(saved(w).state), ['b']);
  });

  it('ipywidgets 6: the comm_open data is the state itself', () => {
    const w = new WidgetStore(10_000);
    w.comm('comm_open', {
      comm_id: 'v6',
      target_name: 'jupyter.widget',
      data: { _model_module: 'jupyter-js-widgets', _model_name: 'IntSliderModel', value: 3 },
    });
    update(w, 'v6', { value: 4 });
    assert.deepEqual(saved(w).state.v6, {
      model_name: 'IntSliderModel',
      model_module: 'jupyter-js-widgets',
      model_module_version: null,
      state: { _model_module: 'jupyter-js-widgets', _model_name: 'IntSliderModel', value: 4 },
    });
  });

  it('state over the cap is not kept, with one warning', () => {
    const w = new WidgetStore(100);
    open(w, 's', { ...CONTROLS, _model_name: 'TextModel', value: 'a' });
    update(w, 's', { value: 'x'.repeat(200) });
    update(w, 's', { value: 'b' });
    assert.equal(saved(w).state.s!.state.value, 'a');
    assert.equal(w.warnings.length, 1);
    assert.match(w.warnings[0]!, /widget state over the output cap/);
  });
});

describe('WidgetStore: Output widget capture', () => {
  const stream = (text: string, name = 'stdout'): Record<string, unknown> => ({ name, text });

  it('captures only while msg_id names the request; streams merged; the widget state holds the outputs', () => {
    const w = new WidgetStore(10_000);
    open(w, 'o', OUTPUT);
    assert.equal(w.capture('req1', 'stream', stream('before\n')), false, 'not capturing yet');
    update(w, 'o', { msg_id: 'req1' });
    assert.equal(w.capture('req2', 'stream', stream('other request\n')), false);
    assert.equal(w.capture('req1', 'stream', stream('a\n')), true);
    assert.equal(w.capture('req1', 'stream', stream('b\n')), true);
    const display = { data: { 'text/plain': 'd' }, metadata: {}, transient: { display_id: 'z' } };
    assert.equal(w.capture('req1', 'display_data', display), true);
    assert.equal(w.capture('req1', 'stream', stream('e\n', 'stderr')), true);
    assert.equal(w.capture('req1', 'execute_input', { code: 'x' }), false, 'not an output');
    update(w, 'o', { msg_id: '' });
    assert.equal(w.capture('req1', 'stream', stream('after\n')), false);
    assert.deepEqual(saved(w).state.o!.state.outputs, [
      { output_type: 'stream', name: 'stdout', text: 'a\nb\n' },
      { output_type: 'display_data', data: { 'text/plain': 'd' }, metadata: {} },
      { output_type: 'stream', name: 'stderr', text: 'e\n' },
    ]);
    assert.equal(saved(w).state.o!.state.msg_id, '');
  });

  it('clear_output: at once, or with wait=True before the next output', () => {
    const w = new WidgetStore(10_000);
    open(w, 'o', OUTPUT);
    update(w, 'o', { msg_id: 'r' });
    w.capture('r', 'stream', stream('1\n'));
    assert.equal(w.capture('r', 'clear_output', { wait: false }), true);
    assert.deepEqual(saved(w).state.o!.state.outputs, []);
    w.capture('r', 'stream', stream('2\n'));
    w.capture('r', 'clear_output', { wait: true });
    assert.deepEqual(
      saved(w).state.o!.state.outputs,
      [{ output_type: 'stream', name: 'stdout', text: '2\n' }],
      'kept until the next output',
    );
    w.capture('r', 'error', { ename: 'E', evalue: 'v', traceback: ['t'] });
    assert.deepEqual(saved(w).state.o!.state.outputs, [
      { output_type: 'error', ename: 'E', evalue: 'v', traceback: ['t'] },
    ]);
  });

  it('nested Output widgets: the innermost captures; closing a widget ends its capture', () => {
    const w = new WidgetStore(10_000);
    open(w, 'outer', OUTPUT);
    open(w, 'inner', OUTPUT);
    update(w, 'outer', { msg_id: 'r' });
    update(w, 'inner', { msg_id: 'r' });
    w.capture('r', 'stream', stream('in\n'));
    w.comm('comm_close', { comm_id: 'inner', data: {} });
    w.capture('r', 'stream', stream('out\n'));
    assert.deepEqual(saved(w).state.inner!.state.outputs, [{ output_type: 'stream', name: 'stdout', text: 'in\n' }]);
    assert.deepEqual(saved(w).state.outer!.state.outputs, [{ output_type: 'stream', name: 'stdout', text: 'out\n' }]);
  });

  it('an Output model opened with msg_id already set does not capture until a comm_msg sets it (as nbclient)', () => {
    const w = new WidgetStore(10_000);
    open(w, 'o', { ...OUTPUT, msg_id: 'r' });
    assert.equal(w.capture('r', 'stream', stream('x')), false);
  });

  it('ipywidgets 6 Output model captures too; other models never do', () => {
    const w = new WidgetStore(10_000);
    w.comm('comm_open', {
      comm_id: 'o6',
      target_name: 'jupyter.widget',
      data: { _model_module: 'jupyter-js-widgets', _model_name: 'OutputModel', msg_id: '' },
    });
    open(w, 'box', { ...CONTROLS, _model_name: 'BoxModel' });
    update(w, 'box', { msg_id: 'r' });
    assert.equal(w.capture('r', 'stream', stream('no\n')), false);
    update(w, 'o6', { msg_id: 'r' });
    assert.equal(w.capture('r', 'stream', stream('yes\n')), true);
    assert.deepEqual(saved(w).state.o6!.state.outputs, [{ output_type: 'stream', name: 'stdout', text: 'yes\n' }]);
  });

  it('captured output counts against the cap', () => {
    const w = new WidgetStore(300);
    open(w, 'o', OUTPUT);
    update(w, 'o', { msg_id: 'r' });
    assert.equal(w.capture('r', 'stream', stream('x'.repeat(500))), true, "still the widget's, just not kept");
    assert.deepEqual(saved(w).state.o!.state.outputs, []);
    assert.equal(w.warnings.length, 1);
  });
});

describe('outputFromMessage', () => {
  it('builds nbformat outputs as nbformat.v4.output_from_msg', () => {
    const result = { data: { 'text/plain': '1' }, metadata: {}, execution_count: 3, transient: {} };
    assert.deepEqual(outputFromMessage('execute_result', result), {
      output_type: 'execute_result',
      data: { 'text/plain': '1' },
      metadata: {},
      execution_count: 3,
    });
    assert.deepEqual(outputFromMessage('stream', { name: 'stderr', text: ['a', 'b'] }), {
      output_type: 'stream',
      name: 'stderr',
      text: 'ab',
    });
    assert.equal(outputFromMessage('status', {}), undefined);
  });
});
