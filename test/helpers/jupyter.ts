/**
 * Test fixture: a real local Jupyter Server with ipykernel in a fresh temp root, started by
 * the test itself and stopped after it. Also writes notebooks built from cell sources.
 * @module
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { request } from 'undici';
import { startLocalJupyter, type LocalJupyter } from '../../cli/local/jupyter-server.js';
import { httpBase } from '../../functions/request/address.js';

export interface TestServer extends LocalJupyter {
  /** Writes a notebook (relative path under the root) and returns that path. */
  writeNotebook(path: string, cells: CellSpec[], metadata?: Record<string, unknown>): Promise<string>;
  /** Writes raw text to a file under the root. */
  writeFile(path: string, text: string): Promise<string>;
  /** `GET /api/kernels` ids, straight from the server. */
  kernels(): Promise<string[]>;
  /** `host:port` for messages. */
  hostPort: string;
  /** Stops the server and removes the root. */
  close(): Promise<void>;
}

/** A cell: a code string, or an object for other types/tags. */
export type CellSpec = string | { type?: 'code' | 'markdown' | 'raw'; source: string; tags?: string[] };

/** Builds nbformat 4.5 JSON from cell specs. */
export function notebookJson(cells: CellSpec[], metadata: Record<string, unknown> = {}): string {
  return JSON.stringify({
    cells: cells.map((c, i) => {
      const spec = typeof c === 'string' ? { source: c } : c;
      const type = spec.type ?? 'code';
      const cell: Record<string, unknown> = {
        cell_type: type,
        id: `cell-${i}`,
        metadata: spec.tags ? { tags: spec.tags } : {},
        source: spec.source,
      };
      if (type === 'code') Object.assign(cell, { execution_count: null, outputs: [] });
      return cell;
    }),
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' }, ...metadata },
    nbformat: 4,
    nbformat_minor: 5,
  });
}

/** Starts a server on a fresh temp root. */
export async function startTestServer(
  opts: { token?: string; args?: string[]; env?: Record<string, string> } = {},
): Promise<TestServer> {
  const root = await mkdtemp(join(tmpdir(), 'nbtrigger-test-root-'));
  const server = await startLocalJupyter({
    rootDir: root,
    token: opts.token,
    args: opts.args,
    env: opts.env,
    logTailChars: 64_000,
  });
  const write = async (path: string, text: string): Promise<string> => {
    const full = join(root, path);
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, text);
    return path;
  };
  return {
    ...server,
    hostPort: `127.0.0.1:${server.address.port}`,
    writeFile: write,
    writeNotebook: (path, cells, metadata) => write(path, notebookJson(cells, metadata)),
    async kernels() {
      // While a kernel is launching the server may answer an error for the list (a model not
      // ready yet): asked again, bounded (a hang bound), then the answer is the failure.
      for (let attempt = 0; ; attempt++) {
        const res = await request(`${httpBase(server.address)}/api/kernels`, {
          headers: { authorization: `token ${server.token}` },
        });
        const body = (await res.body.json().catch(() => undefined)) as unknown;
        if (res.statusCode === 200 && Array.isArray(body)) return (body as Array<{ id: string }>).map((k) => k.id);
        if (attempt >= 300) throw new Error(`GET /api/kernels: HTTP ${res.statusCode} ${JSON.stringify(body)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async close() {
      await server.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}
