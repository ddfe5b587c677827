/** A fresh kernel and an open channel to it, for one test; the kernel deleted and checked gone afterwards. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { KernelChannel } from '../../functions/jupyter/channel.js';
import type { JupyterRest } from '../../functions/jupyter/rest.js';
import type { TestServer } from './jupyter.js';

/**
 * Starts a python3 kernel on `server`, opens its channel on a new session and runs `body`; the
 * channel is closed and the kernel deleted on every path (a failed connect included), and the server
 * must have no kernel left.
 */
export async function withKernelChannel<T>(
  server: TestServer,
  rest: JupyterRest,
  body: (ch: KernelChannel, session: string, kernelId: string) => Promise<T>,
  /** How the kernel is deleted (default `rest.deleteKernel`), e.g. one the test killed. */
  remove: (kernelId: string) => Promise<unknown> = (id) => rest.deleteKernel(id),
): Promise<T> {
  const kernel = await rest.startKernel('python3');
  const session = randomUUID();
  try {
    const ch = await KernelChannel.connect({
      server: server.address,
      kernelId: kernel.id,
      sessionId: session,
      headers: rest.headers,
    });
    try {
      return await body(ch, session, kernel.id);
    } finally {
      ch.close();
    }
  } finally {
    await remove(kernel.id);
    assert.deepEqual(await server.kernels(), []);
  }
}
