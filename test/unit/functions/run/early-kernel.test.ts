/** The early kernel: adopted when it is the kernelspec the notebook wants, deleted exactly once otherwise. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KernelModel } from '../../../../functions/jupyter/rest.js';
import { EarlyKernel, type EarlyKernelDeps } from '../../../../functions/run/early-kernel.js';

function deps(
  result: KernelModel | Error,
): EarlyKernelDeps & { started: Array<[string | undefined, string]>; removed: string[] } {
  const started: Array<[string | undefined, string]> = [];
  const removed: string[] = [];
  return {
    started,
    removed,
    start: async (name, path) => {
      started.push([name, path]);
      await new Promise((r) => setTimeout(r, 5));
      if (result instanceof Error) throw result;
      return result;
    },
    remove: async (id) => {
      await new Promise((r) => setTimeout(r, 5));
      removed.push(id);
    },
  };
}

describe('EarlyKernel', () => {
  it('starts at once, with the requested name (or none) in the notebook folder', () => {
    const d = deps({ id: 'k1', name: 'python3' });
    void new EarlyKernel(d, undefined, 'reports').discard();
    void new EarlyKernel(d, 'ir', '').discard();
    assert.deepEqual(d.started, [
      [undefined, 'reports'],
      ['ir', ''],
    ]);
  });

  it('is adopted when its kernelspec is the one wanted: never deleted here', async () => {
    const d = deps({ id: 'k1', name: 'python3' });
    const e = new EarlyKernel(d, undefined, '');
    assert.deepEqual(await e.take('python3'), { id: 'k1', name: 'python3' });
    await e.discard();
    assert.deepEqual(d.removed, []);
  });

  it('is deleted (once) when the notebook wants another kernelspec; discard waits for that', async () => {
    const d = deps({ id: 'k1', name: 'python3' });
    const e = new EarlyKernel(d, undefined, '');
    assert.equal(await e.take('ir'), undefined);
    await e.discard();
    await e.discard();
    assert.deepEqual(d.removed, ['k1']);
    assert.equal(await e.take('python3'), undefined, 'a discarded kernel is never handed out');
  });

  it('is deleted when the run ends before taking it (a notebook that cannot be read)', async () => {
    const d = deps({ id: 'k2', name: 'python3' });
    const e = new EarlyKernel(d, undefined, '');
    await e.discard();
    assert.deepEqual(d.removed, ['k2']);
  });

  it('a start that failed (a server still cold) is simply no early kernel', async () => {
    const d = deps(new Error('503'));
    const e = new EarlyKernel(d, undefined, '');
    assert.equal(await e.take('python3'), undefined);
    await e.discard();
    assert.deepEqual(d.removed, []);
  });
});
