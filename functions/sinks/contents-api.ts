/**
 * `server:` sink: writes back to the Jupyter server through its contents API (`PUT /api/contents/…`,
 * `type: file`, text). The contents API does not create parent directories (a PUT below a missing one
 * answers 500), so each missing parent is created first with `PUT {"type": "directory"}`, which is
 * idempotent. Every request goes through the run's REST client, so through its guarded connector.
 *
 * Spec: docs/function.md (`server:/path.ipynb`);
 * https://jupyter-server.readthedocs.io/en/latest/developers/rest-api.html.
 * @module
 */
import type { Location } from './location.js';
import { failed, type Sink, type SinkBody, type SinkDeps, type SinkResult } from './sink.js';

/** Writes one file under the server's root. */
export class ContentsApiSink implements Sink {
  readonly location: Location & { kind: 'server' };

  constructor(
    location: Location & { kind: 'server' },
    private readonly deps: SinkDeps = {},
  ) {
    this.location = location;
  }

  async write(body: SinkBody, _contentType: string, signal?: AbortSignal): Promise<SinkResult> {
    const where = `server:/${this.location.path}`;
    const contents = this.deps.contents;
    if (!contents)
      return failed(where, new Error('a server: location needs a Jupyter server (none is connected to this run)'));
    const secrets = [...(this.deps.secrets ?? []), ...tokenOf(contents.headers)];
    try {
      const text =
        typeof body === 'function' || typeof body === 'string'
          ? body
          : new TextDecoder('utf-8', { fatal: true }).decode(body);
      const parts = this.location.path.split('/');
      for (let i = 1; i < parts.length; i++) await contents.makeDirectory(parts.slice(0, i).join('/'), signal);
      let bytes = 0;
      // Streamed text is counted as it goes out (the count is the last attempt's).
      const counted =
        typeof text === 'string'
          ? text
          : function* count(): Generator<string | Uint8Array> {
              bytes = 0;
              for (const p of text()) {
                bytes += typeof p === 'string' ? Buffer.byteLength(p) : p.byteLength;
                yield p;
              }
            };
      await contents.writeText(this.location.path, counted, signal);
      return { location: where, ok: true, bytes: typeof text === 'string' ? Buffer.byteLength(text) : bytes };
    } catch (e) {
      return failed(where, e, secrets);
    }
  }
}

function tokenOf(headers: Record<string, string>): string[] {
  const auth = Object.entries(headers).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
  return auth ? [auth, auth.replace(/^\S+\s+/, '')] : [];
}
