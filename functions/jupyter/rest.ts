/**
 * Jupyter Server REST client: kernelspecs, kernels, contents. Every response is validated; the
 * requests themselves (pool, headers, cookies, bounded bodies, classified failures) go through
 * rest-transport.ts.
 *
 * Spec: https://jupyter-server.readthedocs.io/en/latest/developers/rest-api.html and
 * docs/jupyter-protocol.md.
 * @module
 */
import { NbtError } from '../errors.js';
import { jsonStringPieces } from '../notebook/json-pieces.js';
import { isObject } from './messages.js';
import { RestTransport, StreamedJson } from './rest-transport.js';

export interface KernelModel {
  id: string;
  name: string;
}

export interface KernelSpecs {
  default: string;
  /** name → language (as the spec says) */
  specs: Record<string, { language: string; displayName: string }>;
}

/** A small, validated REST client for one Jupyter server. */
export class JupyterRest extends RestTransport {
  /** Lists kernelspecs; the first call of a run doubles as the readiness probe. */
  async kernelspecs(signal?: AbortSignal): Promise<KernelSpecs> {
    const body = await this.json('GET', '/api/kernelspecs', undefined, signal);
    if (!isObject(body) || !isObject(body.kernelspecs)) throw badResponse('/api/kernelspecs', 'kernelspecs');
    const specs: KernelSpecs['specs'] = {};
    for (const [name, v] of Object.entries(body.kernelspecs)) {
      const spec = isObject(v) && isObject(v.spec) ? v.spec : {};
      specs[name] = { language: String(spec.language ?? ''), displayName: String(spec.display_name ?? name) };
    }
    return { default: typeof body.default === 'string' ? body.default : (Object.keys(specs)[0] ?? ''), specs };
  }

  /**
   * Reads a file's text through the contents API (`type=file&format=text`), at most `maxBytes`
   * of it (UTF-8). The answer is read as it streams and cut past the bound (the JSON escaping of
   * the text is allowed for: twice the bound), so a file over it is never held whole.
   */
  async readText(path: string, signal?: AbortSignal, maxBytes = Infinity): Promise<string> {
    const url = `/api/contents/${encodePath(path)}?type=file&format=text&content=1`;
    const tooBig = (): NbtError =>
      new NbtError(
        'BAD_NOTEBOOK',
        `notebook "${path}" is larger than the cap of ${maxBytes} bytes (NBTRIGGER_MAX_NOTEBOOK_BYTES)`,
        { details: { field: 'notebook', maxBytes } },
      );
    const bound = { bytes: 2 * maxBytes + 64 * 1024, error: tooBig };
    const body = await this.json(
      'GET',
      url,
      undefined,
      signal,
      (status, message) => {
        if (status === 404)
          return new NbtError('NOTEBOOK_NOT_FOUND', `notebook "${path}" does not exist on the server`, {
            details: { status },
          });
        if (status === 400 && /directory/i.test(message))
          return new NbtError('NOTEBOOK_NOT_FOUND', `"${path}" is a directory, not a notebook`, {
            details: { status },
          });
        return undefined;
      },
      bound,
    );
    if (!isObject(body) || typeof body.content !== 'string') throw badResponse(url, 'content');
    if (body.content.length > maxBytes && Buffer.byteLength(body.content) > maxBytes) throw tooBig();
    return body.content;
  }

  /**
   * Writes a file through the contents API (PUT, `type=file`, text format). Text given in pieces is
   * sent as a streamed request body, never joined.
   */
  async writeText(
    path: string,
    text: string | (() => Iterable<string | Uint8Array>),
    signal?: AbortSignal,
  ): Promise<void> {
    const url = `/api/contents/${encodePath(path)}`;
    if (typeof text === 'string') await this.json('PUT', url, { type: 'file', format: 'text', content: text }, signal);
    else await this.json('PUT', url, new StreamedJson(() => contentsBody(text())), signal);
  }

  /**
   * Starts a kernel of the given kernelspec (undefined: the server's default). `path` (a directory
   * relative to the server root) sets the kernel's working directory; without it Jupyter Server
   * starts the kernel in its own cwd.
   */
  async startKernel(name: string | undefined, signal?: AbortSignal, path?: string): Promise<KernelModel> {
    const body = await this.json(
      'POST',
      '/api/kernels',
      { ...(name === undefined ? {} : { name }), ...(path === undefined ? {} : { path }) },
      signal,
    );
    if (!isObject(body) || typeof body.id !== 'string' || body.id === '') throw badResponse('/api/kernels', 'id');
    if (name === undefined && typeof body.name !== 'string') throw badResponse('/api/kernels', 'name');
    return { id: body.id, name: typeof body.name === 'string' ? body.name : name! };
  }

  /** Lists running kernels. */
  async listKernels(signal?: AbortSignal): Promise<KernelModel[]> {
    const body = await this.json('GET', '/api/kernels', undefined, signal);
    if (!Array.isArray(body)) throw badResponse('/api/kernels', '(array)');
    return body.filter(isObject).map((k) => ({ id: String(k.id), name: String(k.name) }));
  }

  /** Interrupts a kernel; a kernel already gone is not an error. */
  async interruptKernel(id: string, signal?: AbortSignal): Promise<void> {
    await this.json('POST', `/api/kernels/${encodeURIComponent(id)}/interrupt`, undefined, signal, gone);
  }

  /** Deletes a kernel; 404 means already gone and is success. */
  async deleteKernel(id: string, signal?: AbortSignal): Promise<void> {
    await this.json('DELETE', `/api/kernels/${encodeURIComponent(id)}`, undefined, signal, gone);
  }

  /** Creates a directory through the contents API (idempotent: an existing one is fine). */
  async makeDirectory(path: string, signal?: AbortSignal): Promise<void> {
    await this.json('PUT', `/api/contents/${encodePath(path)}`, { type: 'directory' }, signal);
  }
}

/** `{"type":"file","format":"text","content":"…"}` around a text given in pieces (text or UTF-8 bytes). */
function* contentsBody(text: Iterable<string | Uint8Array>): Generator<string | Uint8Array, void, undefined> {
  yield '{"type":"file","format":"text","content":';
  const decoder = new TextDecoder('utf-8', { fatal: true });
  function* asText(): Generator<string, void, undefined> {
    for (const p of text) yield typeof p === 'string' ? p : decoder.decode(p, { stream: true });
    yield decoder.decode();
  }
  yield* jsonStringPieces(asText());
  yield '}';
}

/** Treats 404 as success (the thing is already gone). */
function gone(status: number): null | undefined {
  return status === 404 ? null : undefined;
}

function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

function badResponse(path: string, field: string): NbtError {
  return new NbtError('PROTOCOL_ERROR', `${path}: response has no valid "${field}"`, { details: { field } });
}
