/**
 * Jupyter widget state, kept as nbclient keeps it so an executed notebook shows its widgets when
 * opened. Fed the iopub comm messages of the run's cells:
 *  - any `comm_open` / `comm_msg` whose data carries `state` (widget protocol 2: ipywidgets 7 and 8,
 *    methods `update` and `echo_update`) is merged into that comm's model state; binary buffers
 *    are kept base64 by their `buffer_paths`;
 *  - an Output widget model (`@jupyter-widgets/output` OutputModel) acts as a front end would:
 *    while its `msg_id` state names a request, outputs of that request (stream, display_data,
 *    execute_result, error, clear_output) belong to the widget's `outputs` state, not to the cell;
 *  - {@link WidgetStore.metadata} is the notebook's `metadata.widgets`, the
 *    `application/vnd.jupyter.widget-state+json` bundle (version 2.0) of every model with a
 *    `_model_name`.
 * ipywidgets 6 (its own protocol: the comm_open data is the state itself, module
 * `jupyter-js-widgets`) is read as far as it goes: states are kept, its Output model captures too.
 * A `comm_close` ends a model's capture; its state stays (nbclient keeps it as well). The state
 * kept is bounded in size, like a cell's outputs. Pure.
 *
 * Spec: https://jupyter-client.readthedocs.io/en/stable/messaging.html#custom-messages ;
 * https://github.com/jupyter-widgets/ipywidgets/blob/main/packages/schema/messages.md ;
 * https://github.com/jupyter/nbclient/blob/main/nbclient/client.py (handle_comm_msg,
 * set_widgets_metadata) and nbclient/output_widget.py .
 * @module
 */
import type { IOutput } from '@jupyterlab/nbformat';

/** The notebook metadata key of saved widget state. */
export const WIDGET_STATE_MIME = 'application/vnd.jupyter.widget-state+json';
/** The comm target widgets open. */
const WIDGET_TARGET = 'jupyter.widget';
/** Output model modules: widget protocol 2 and ipywidgets 6. */
const OUTPUT_MODULES = new Set(['@jupyter-widgets/output', 'jupyter-js-widgets']);

type Json = Record<string, unknown>;
interface SavedBuffer {
  data: string;
  encoding: 'base64';
  path: unknown[];
}

/** The front-end half of an Output widget: where captured outputs go. */
interface OutputModel {
  commId: string;
  outputs: IOutput[];
  clearPending: boolean;
  msgId: string;
}

/** Widget models of one run, and the Output widgets' capture. */
export class WidgetStore {
  private readonly states = new Map<string, Json>();
  private readonly buffers = new Map<string, Map<string, SavedBuffer>>();
  private readonly outputModels = new Map<string, OutputModel>();
  /** Request msg_id → Output models capturing it, innermost last. */
  private readonly hooks = new Map<string, OutputModel[]>();
  private size = 0;
  private full = false;
  private clipNoted = false;
  readonly warnings: string[] = [];

  /** @param maxChars cap on the state kept (strings counted in UTF-16 units, buffers in base64). */
  constructor(private readonly maxChars: number) {}

  /** Applies a `comm_open`, `comm_msg` or `comm_close` (content, and the message's binary buffers). */
  comm(msgType: string, content: Json, buffers: readonly unknown[] = []): void {
    const commId = content.comm_id;
    if (typeof commId !== 'string') return;
    const data = isObject(content.data) ? content.data : {};
    if (msgType === 'comm_close') {
      this.close(commId);
      return;
    }
    // ipywidgets 6 opens with the state as the data itself.
    const v6Open =
      msgType === 'comm_open' && content.target_name === WIDGET_TARGET && typeof data._model_name === 'string';
    const state = isObject(data.state) ? data.state : v6Open ? data : undefined;
    if (state !== undefined && this.fits(state)) {
      const kept = this.states.get(commId) ?? {};
      Object.assign(kept, state);
      this.states.set(commId, kept);
      const paths = Array.isArray(data.buffer_paths) ? data.buffer_paths : [];
      if (paths.length > 0) this.keepBuffers(commId, paths, buffers);
    }
    if (msgType === 'comm_open') {
      const isOutput = state && state._model_name === 'OutputModel' && OUTPUT_MODULES.has(String(state._model_module));
      if (content.target_name === WIDGET_TARGET && isOutput) {
        const outputs = Array.isArray(state.outputs) ? [...(state.outputs as IOutput[])] : [];
        this.outputModels.set(commId, { commId, outputs, clearPending: false, msgId: '' });
      }
    } else if (msgType === 'comm_msg' && state !== undefined) {
      const model = this.outputModels.get(commId);
      if (model && 'msg_id' in state) this.setMsgId(model, typeof state.msg_id === 'string' ? state.msg_id : '');
    }
  }

  /**
   * Offers an output message of request `parentId` to the Output widget capturing that request.
   * Returns false when none is: the output belongs to the cell.
   */
  capture(parentId: string, msgType: string, content: Json, clipped = false): boolean {
    const stack = this.hooks.get(parentId);
    const model = stack?.[stack.length - 1];
    if (!model) return false;
    if (msgType === 'clear_output') {
      if (content.wait === true) model.clearPending = true;
      else this.setOutputs(model, []);
      return true;
    }
    const out = outputFromMessage(msgType, content);
    if (out === undefined) return false;
    if (model.clearPending) {
      model.outputs = [];
      model.clearPending = false;
    }
    if (clipped && !this.clipNoted) {
      this.clipNoted = true;
      this.warnings.push("an Output widget's captured output was cut at the output cap");
    }
    const last = model.outputs[model.outputs.length - 1];
    if (!this.fits(out)) return true;
    if (last?.output_type === 'stream' && out.output_type === 'stream' && last.name === out.name) {
      model.outputs[model.outputs.length - 1] = { ...last, text: joinText(last.text) + joinText(out.text) };
    } else {
      model.outputs.push(out);
    }
    this.setOutputs(model, model.outputs);
    return true;
  }

  /** `metadata.widgets` for the executed notebook; undefined when no widget model was seen. */
  metadata(): Json | undefined {
    const state: Json = {};
    for (const [id, s] of this.states) {
      if (!('_model_name' in s)) continue;
      const saved: Json = {
        model_name: s._model_name ?? null,
        model_module: s._model_module ?? null,
        model_module_version: s._model_module_version ?? null,
        state: s,
      };
      const buffers = this.buffers.get(id);
      if (buffers && buffers.size > 0) saved.buffers = [...buffers.values()];
      state[id] = saved;
    }
    if (Object.keys(state).length === 0) return undefined;
    return { [WIDGET_STATE_MIME]: { state, version_major: 2, version_minor: 0 } };
  }

  /** A model's `msg_id` state: a request id starts capturing it, '' stops (as nbclient's hooks). */
  private setMsgId(model: OutputModel, msgId: string): void {
    if (msgId !== '') {
      const stack = this.hooks.get(msgId) ?? [];
      stack.push(model);
      this.hooks.set(msgId, stack);
    } else {
      this.unhook(model);
    }
    model.msgId = msgId;
  }

  private unhook(model: OutputModel): void {
    const stack = this.hooks.get(model.msgId);
    if (!stack) return;
    const i = stack.lastIndexOf(model);
    if (i >= 0) stack.splice(i, 1);
    if (stack.length === 0) this.hooks.delete(model.msgId);
  }

  private close(commId: string): void {
    const model = this.outputModels.get(commId);
    if (!model) return;
    this.unhook(model);
    this.outputModels.delete(commId);
  }

  private setOutputs(model: OutputModel, outputs: IOutput[]): void {
    model.outputs = outputs;
    const s = this.states.get(model.commId);
    if (s) s.outputs = outputs;
  }

  private keepBuffers(commId: string, paths: unknown[], buffers: readonly unknown[]): void {
    const kept = this.buffers.get(commId) ?? new Map<string, SavedBuffer>();
    paths.forEach((path, i) => {
      const b = buffers[i];
      if (!Array.isArray(path) || !(b instanceof Uint8Array)) return;
      const data = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
      if (!this.fits(data)) return;
      kept.set(JSON.stringify(path), { data, encoding: 'base64', path });
    });
    this.buffers.set(commId, kept);
  }

  /** Counts `v` against the cap; false (and one warning) once the cap is reached. */
  private fits(v: unknown): boolean {
    if (this.full) return false;
    const n = approxSize(v);
    if (this.size + n > this.maxChars) {
      this.overflow();
      return false;
    }
    this.size += n;
    return true;
  }

  private overflow(): void {
    this.full = true;
    this.warnings.push(`widget state over the output cap (${this.maxChars} characters): later widget updates not kept`);
  }
}

/** An nbformat output from an iopub message, as nbformat's `output_from_msg`; undefined for other types. */
export function outputFromMessage(msgType: string, c: Json): IOutput | undefined {
  const data = isObject(c.data) ? c.data : {};
  const metadata = isObject(c.metadata) ? c.metadata : {};
  switch (msgType) {
    case 'stream':
      return { output_type: 'stream', name: c.name === 'stderr' ? 'stderr' : 'stdout', text: joinText(c.text) };
    case 'display_data':
      return { output_type: 'display_data', data, metadata } as IOutput;
    case 'execute_result':
      return {
        output_type: 'execute_result',
        data,
        metadata,
        execution_count: typeof c.execution_count === 'number' ? c.execution_count : null,
      } as IOutput;
    case 'error':
      return {
        output_type: 'error',
        ename: String(c.ename ?? ''),
        evalue: String(c.evalue ?? ''),
        traceback: Array.isArray(c.traceback) ? c.traceback.map(String) : [],
      };
    default:
      return undefined;
  }
}

/** Stream text as one string (a list of lines, or bytes kept raw, are joined). */
function joinText(t: unknown): string {
  return Array.isArray(t) ? t.map(String).join('') : String(t ?? '');
}

/** Cheap size estimate: the length of the strings in a value (as outputs.ts counts). */
function approxSize(v: unknown): number {
  let n = 0;
  const walk = (x: unknown): void => {
    if (typeof x === 'string') n += x.length;
    else if (x instanceof Uint8Array) n += x.byteLength;
    else if (Array.isArray(x)) x.forEach(walk);
    else if (typeof x === 'object' && x !== null) Object.values(x).forEach(walk);
    else n += 8;
  };
  walk(v);
  return n;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
