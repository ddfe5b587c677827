/**
 * Test fixture: a local HTTP server speaking the parts of the Cloud Storage JSON API that the real
 * `@google-cloud/storage` client uses to write and read objects, objects kept in memory. There is no
 * Cloud Storage emulator on these machines, so the gs:// sink is tested with the real client pointed
 * here through its `apiEndpoint` option.
 *
 * Paths served (as the client sends them):
 * - `POST /upload/storage/v1/b/{bucket}/o?uploadType=multipart&name=…` — `multipart/related`: a JSON
 *   metadata part, then the media part with its own Content-Type (the client's simple upload);
 * - `POST …?uploadType=media&name=…` — the raw body;
 * - `POST …?uploadType=resumable&name=…` — starts a session, answers `Location: …&upload_id=…`;
 *   then `PUT {Location}` with `Content-Range: bytes A-B/TOTAL` (308 + `Range` until complete) or
 *   `bytes *\/TOTAL` / `bytes *\/*` (status check);
 * - `GET /storage/v1/b/{bucket}/o/{object}` (metadata) and `?alt=media` (the bytes, with `x-goog-hash`);
 * - `GET /storage/v1/b/{bucket}/o?prefix=…` (list);
 * - `DELETE /storage/v1/b/{bucket}/o/{object}` (the client deletes after a failed integrity check).
 * Object resources carry `md5Hash` and `crc32c` (base64, big-endian), which the client verifies. An upload
 * with `ifGenerationMatch` is answered 412 `conditionNotMet` unless the object's generation is that
 * number (0: the object must not exist), checked when the object would be written.
 * Every request is recorded for assertions. The wire formats (CRC32C, multipart bodies) are in
 * test/helpers/gcs-wire.ts.
 *
 * Spec: https://cloud.google.com/storage/docs/json_api/v1/objects/insert,
 * https://cloud.google.com/storage/docs/request-preconditions,
 * https://cloud.google.com/storage/docs/performing-resumable-uploads.
 * @module
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32cBase64, parseMultipart, readBody } from './gcs-wire.js';

export interface StoredObject {
  bucket: string;
  name: string;
  contentType: string;
  metadata: Record<string, unknown>;
  body: Buffer;
  generation: number;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  bodyBytes: number;
}

export interface GcsServer {
  /** `http://127.0.0.1:PORT` — what `apiEndpoint` takes. */
  endpoint: string;
  objects: Map<string, StoredObject>;
  requests: ReceivedRequest[];
  createBucket(name: string): void;
  get(bucket: string, name: string): StoredObject | undefined;
  /** Makes the next `n` upload requests answer `status` (to test failures and retries). */
  failUploads(n: number, status: number): void;
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1, port 0. */
export async function startGcsServer(): Promise<GcsServer> {
  const buckets = new Set<string>();
  const objects = new Map<string, StoredObject>();
  const requests: ReceivedRequest[] = [];
  const sessions = new Map<
    string,
    {
      bucket: string;
      name: string;
      metadata: Record<string, unknown>;
      contentType: string;
      chunks: Buffer[];
      received: number;
      ifGenerationMatch?: string;
    }
  >();
  let failing = { n: 0, status: 503 };
  let generation = 1;
  let endpoint = '';

  const key = (b: string, n: string): string => `${b}/${n}`;
  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { ...(text ? { 'content-type': 'application/json; charset=UTF-8' } : {}), ...headers });
    res.end(text);
  };
  const error = (res: ServerResponse, status: number, message: string): void =>
    send(res, status, {
      error: { code: status, message, errors: [{ message, reason: status === 404 ? 'notFound' : 'invalid' }] },
    });
  const resource = (o: StoredObject): Record<string, unknown> => ({
    kind: 'storage#object',
    id: `${o.bucket}/${o.name}/${o.generation}`,
    name: o.name,
    bucket: o.bucket,
    generation: String(o.generation),
    metageneration: '1',
    contentType: o.contentType,
    size: String(o.body.length),
    md5Hash: createHash('md5').update(o.body).digest('base64'),
    crc32c: crc32cBase64(o.body),
    ...(typeof o.metadata.cacheControl === 'string' ? { cacheControl: o.metadata.cacheControl } : {}),
    updated: new Date().toISOString(),
  });
  /** False (and answered 412) when `ifGenerationMatch` is given and the object's generation is not it (0: absent). */
  const preconditionHolds = (
    res: ServerResponse,
    bucket: string,
    name: string,
    ifGenerationMatch: string | undefined,
  ): boolean => {
    if (ifGenerationMatch === undefined) return true;
    const generation = objects.get(key(bucket, name))?.generation ?? 0;
    if (generation === Number(ifGenerationMatch)) return true;
    const message = 'At least one of the pre-conditions you specified did not hold.';
    send(res, 412, {
      error: { code: 412, message, errors: [{ message, reason: 'conditionNotMet', domain: 'global' }] },
    });
    return false;
  };
  const store = (
    bucket: string,
    name: string,
    metadata: Record<string, unknown>,
    contentType: string,
    body: Buffer,
  ): StoredObject => {
    const o: StoredObject = { bucket, name, metadata, contentType, body, generation: generation++ };
    objects.set(key(bucket, name), o);
    return o;
  };

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const body = await readBody(req);
      const query = Object.fromEntries(url.searchParams);
      requests.push({
        method: req.method ?? '',
        path: url.pathname,
        query,
        headers: req.headers,
        bodyBytes: body.length,
      });
      const up = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
      const obj = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname);
      const list = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
      if (up) {
        const bucket = decodeURIComponent(up[1]!);
        if (failing.n > 0) {
          failing.n--;
          return error(res, failing.status, 'injected failure');
        }
        if (!buckets.has(bucket)) return error(res, 404, 'The specified bucket does not exist.');
        const type = query.uploadType;
        if (req.method === 'POST' && type === 'multipart') {
          const parts = parseMultipart(body, String(req.headers['content-type'] ?? ''));
          if (parts.length !== 2) return error(res, 400, `multipart upload needs 2 parts, got ${parts.length}`);
          const meta = JSON.parse(parts[0]!.body.toString('utf8')) as Record<string, unknown>;
          const name = query.name ?? String(meta.name ?? '');
          if (!preconditionHolds(res, bucket, name, query.ifGenerationMatch)) return;
          const o = store(
            bucket,
            name,
            meta,
            parts[1]!.headers['content-type'] ?? String(meta.contentType ?? 'application/octet-stream'),
            parts[1]!.body,
          );
          return send(res, 200, resource(o));
        }
        if (req.method === 'POST' && type === 'media') {
          if (!preconditionHolds(res, bucket, query.name ?? '', query.ifGenerationMatch)) return;
          const o = store(
            bucket,
            query.name ?? '',
            {},
            String(req.headers['content-type'] ?? 'application/octet-stream'),
            body,
          );
          return send(res, 200, resource(o));
        }
        if (req.method === 'POST' && type === 'resumable') {
          const meta = body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
          const name = query.name ?? String(meta.name ?? '');
          const id = randomUUID();
          const contentType = String(
            req.headers['x-upload-content-type'] ?? meta.contentType ?? 'application/octet-stream',
          );
          if (!preconditionHolds(res, bucket, name, query.ifGenerationMatch)) return;
          sessions.set(id, {
            bucket,
            name,
            metadata: meta,
            contentType,
            chunks: [],
            received: 0,
            ifGenerationMatch: query.ifGenerationMatch,
          });
          const uploadUrl = `${endpoint}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o`;
          const location = `${uploadUrl}?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`;
          return send(res, 200, undefined, { location });
        }
        if (req.method === 'PUT' && type === 'resumable') {
          const s = sessions.get(query.upload_id ?? '');
          if (!s) return error(res, 404, 'No such upload session');
          const range = String(req.headers['content-range'] ?? '');
          // `bytes A-B/TOTAL` (a chunk; TOTAL may be `*`), `bytes A-*/TOTAL` (the client streams the rest in this one
          // request: its end completes the upload), `bytes */TOTAL` (status check, or finalise at TOTAL).
          const m = /^bytes (?:\*|(\d+)-(\d+|\*))\/(\*|\d+)$/.exec(range);
          if (!m) return error(res, 400, `bad Content-Range ${JSON.stringify(range)}`);
          if (m[1] !== undefined) {
            if (Number(m[1]) !== s.received) return error(res, 400, `chunk starts at ${m[1]}, expected ${s.received}`);
            if (m[2] !== '*' && Number(m[2]) - Number(m[1]) + 1 !== body.length)
              return error(res, 400, `chunk ${range} but ${body.length} bytes sent`);
            s.chunks.push(body);
            s.received += body.length;
          }
          const total = m[3] === '*' ? (m[2] === '*' ? s.received : undefined) : Number(m[3]);
          if (total !== undefined && s.received === total) {
            sessions.delete(query.upload_id ?? '');
            if (!preconditionHolds(res, s.bucket, s.name, s.ifGenerationMatch)) return;
            return send(
              res,
              200,
              resource(store(s.bucket, s.name, s.metadata, s.contentType, Buffer.concat(s.chunks))),
            );
          }
          return send(res, 308, undefined, s.received > 0 ? { range: `bytes=0-${s.received - 1}` } : {});
        }
        return error(res, 400, `unsupported upload ${req.method} uploadType=${type}`);
      }
      if (obj) {
        const o = objects.get(key(decodeURIComponent(obj[1]!), decodeURIComponent(obj[2]!)));
        if (req.method === 'DELETE') {
          if (!o) return error(res, 404, 'No such object');
          objects.delete(key(o.bucket, o.name));
          return send(res, 204);
        }
        if (!o) return error(res, 404, 'No such object');
        if (query.alt === 'media') {
          const r = resource(o);
          res.writeHead(200, {
            'content-type': o.contentType,
            'content-length': String(o.body.length),
            'x-goog-hash': `crc32c=${String(r.crc32c)},md5=${String(r.md5Hash)}`,
            'x-goog-generation': String(o.generation),
          });
          return res.end(o.body);
        }
        return send(res, 200, resource(o));
      }
      if (list && req.method === 'GET') {
        const bucket = decodeURIComponent(list[1]!);
        if (!buckets.has(bucket)) return error(res, 404, 'The specified bucket does not exist.');
        const prefix = query.prefix ?? '';
        const items = [...objects.values()]
          .filter((o) => o.bucket === bucket && o.name.startsWith(prefix))
          .map(resource);
        return send(res, 200, { kind: 'storage#objects', items });
      }
      return error(res, 404, `not served here: ${req.method} ${url.pathname}`);
    })().catch((e: unknown) => {
      if (!res.headersSent) error(res, 500, String((e as Error).message));
      else res.destroy();
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    objects,
    requests,
    createBucket: (name) => void buckets.add(name),
    get: (bucket, name) => objects.get(key(bucket, name)),
    failUploads(n, status) {
      failing = { n, status };
    },
    close: () =>
      new Promise<void>((res) => {
        server.closeAllConnections();
        server.close(() => res());
      }),
  };
}
