/**
 * Shared pieces of the in-process gRPC fakes of Google APIs: loading the .proto files that the
 * client packages ship, starting a plaintext server on a free port, recording every request,
 * and gRPC errors with a status code. The fakes answer the real client libraries over the wire.
 *
 * Proto paths: node_modules/@google-cloud/run/build/protos, node_modules/@google-cloud/scheduler/build/protos,
 * and their imports (google/api, google/iam, google/longrunning, google/protobuf) from
 * node_modules/google-gax/build/protos.
 * @module
 */
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const require = createRequire(import.meta.url);

/** The `build/protos` folder of an installed package. */
function protosDir(pkg: string): string {
  // Some packages (google-gax) do not export ./package.json: find the package root from its main file.
  const main = require.resolve(pkg);
  const marker = `${sep}node_modules${sep}${pkg.split('/').join(sep)}${sep}`;
  const at = main.lastIndexOf(marker);
  if (at < 0) throw new Error(`cannot locate the package folder of ${pkg} from ${main}`);
  return join(main.slice(0, at + marker.length), 'build', 'protos');
}

/** Loads .proto files with the include path the Google client packages need. */
export function loadProtos(files: string[], pkg: string): grpc.GrpcObject & protoLoader.PackageDefinition {
  const def = protoLoader.loadSync(files, {
    includeDirs: [protosDir(pkg), protosDir('google-gax')],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
  });
  return Object.assign(grpc.loadPackageDefinition(def), def);
}

/** The service definition for a fully-qualified service name (e.g. `google.longrunning.Operations`). */
export function serviceDef(def: protoLoader.PackageDefinition, name: string): grpc.ServiceDefinition {
  const d = def[name];
  if (!d || 'format' in d) throw new Error(`no service ${name} in the loaded protos`);
  return d as unknown as grpc.ServiceDefinition;
}

/** One request a fake received. */
export interface Recorded {
  method: string;
  request: any;
}

/** An error the client sees as a gRPC status. */
export function status(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

type Handler = (request: any) => unknown;

/**
 * Wraps plain `(request) => response` functions (sync or async, throwing a status) as unary
 * handlers that record calls.
 */
export function unary(calls: Recorded[], handlers: Record<string, Handler>): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [method, fn] of Object.entries(handlers)) {
    impl[method] = ((call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) => {
      calls.push({ method, request: call.request });
      Promise.resolve()
        .then(() => fn(call.request))
        .then(
          (res) => cb(null, res),
          (e: grpc.ServiceError) => cb(e),
        );
    }) as grpc.UntypedHandleCall;
  }
  return impl;
}

/**
 * RESOURCE_EXHAUSTED as Google's APIs answer a rate quota: a `google.rpc.Status` in the
 * `grpc-status-details-bin` trailer carrying a `google.rpc.RetryInfo` with the delay to wait
 * (https://google.aip.dev/193#retryinfo, https://cloud.google.com/apis/design/errors#error_payloads).
 * Encoded by hand: field numbers from google/rpc/status.proto, error_details.proto, any.proto, duration.proto.
 */
export function resourceExhausted(details: string, retryDelayMs: number): grpc.ServiceError {
  const delay = pb([
    [1, Math.floor(retryDelayMs / 1000)],
    [2, (retryDelayMs % 1000) * 1_000_000],
  ]);
  const retryInfo = pb([[1, delay]]);
  const any = pb([
    [1, 'type.googleapis.com/google.rpc.RetryInfo'],
    [2, retryInfo],
  ]);
  const statusProto = pb([
    [1, grpc.status.RESOURCE_EXHAUSTED],
    [2, details],
    [3, any],
  ]);
  const metadata = new grpc.Metadata();
  metadata.set('grpc-status-details-bin', statusProto);
  return Object.assign(new Error(details), { code: grpc.status.RESOURCE_EXHAUSTED, details, metadata });
}

/** A protobuf message from (field number, value) pairs: numbers as varints, strings and bytes length-delimited. */
function pb(fields: Array<[number, number | string | Buffer]>): Buffer {
  const varint = (n: number): Buffer => {
    const out: number[] = [];
    let v = n;
    while (v > 0x7f) {
      out.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
    return Buffer.from(out);
  };
  const parts: Buffer[] = [];
  for (const [no, value] of fields) {
    if (typeof value === 'number') {
      if (value !== 0) parts.push(varint(no * 8), varint(value));
    } else {
      const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
      parts.push(varint(no * 8 + 2), varint(bytes.length), bytes);
    }
  }
  return Buffer.concat(parts);
}

/**
 * One page of a list (AIP-158): `pageSize` capped at `maxPageSize` (0 or unset: the maximum),
 * `pageToken` the offset the previous page gave. https://google.aip.dev/158
 */
export function page<T>(
  items: T[],
  request: { pageSize?: number; pageToken?: string },
  maxPageSize: number,
): { items: T[]; nextPageToken: string } {
  const size = request.pageSize && request.pageSize > 0 ? Math.min(request.pageSize, maxPageSize) : maxPageSize;
  const from = request.pageToken ? Number(Buffer.from(request.pageToken, 'base64url').toString('utf8')) : 0;
  if (!Number.isInteger(from) || from < 0 || from > items.length)
    throw status(grpc.status.INVALID_ARGUMENT, `bad page_token "${request.pageToken}"`);
  const to = Math.min(from + size, items.length);
  return {
    items: items.slice(from, to),
    nextPageToken: to < items.length ? Buffer.from(String(to)).toString('base64url') : '',
  };
}

/**
 * Faults a fake can be told to answer, by method: `exhaustOnce` answers the first call of the
 * method RESOURCE_EXHAUSTED with a RetryInfo delay; `failWhen` refuses (FAILED_PRECONDITION)
 * every call of the method whose request names a resource matching the pattern.
 */
export interface FakeFaults {
  exhaustOnce?: { method: string; retryDelayMs: number };
  failWhen?: { method: string; resource: RegExp };
}

/** Wraps handlers so the faults in `f` are answered before the real handler runs. */
export function withFaults(
  f: FakeFaults,
  handlers: Record<string, Handler>,
  nameOf: (request: any) => string,
): Record<string, Handler> {
  let exhausted = false;
  const out: Record<string, Handler> = {};
  for (const [method, fn] of Object.entries(handlers)) {
    out[method] = (req) => {
      if (f.exhaustOnce?.method === method && !exhausted) {
        exhausted = true;
        throw resourceExhausted(
          `Quota exceeded for quota metric 'Write requests' (${method}); retry after the delay`,
          f.exhaustOnce.retryDelayMs,
        );
      }
      if (f.failWhen?.method === method && f.failWhen.resource.test(nameOf(req))) {
        throw status(grpc.status.FAILED_PRECONDITION, `${method} ${nameOf(req)}: refused by the fault this test set`);
      }
      return fn(req);
    };
  }
  return out;
}

/** A started fake: its port, what it received, and stop(). */
export interface FakeServer {
  port: number;
  calls: Recorded[];
  /** Calls whose method name is in `mutating`. */
  mutatingCalls(): Recorded[];
  /** How many calls each method received. */
  counts(): Record<string, number>;
  stop(): Promise<void>;
}

/** Calls per method. */
export function countCalls(calls: Recorded[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) out[c.method] = (out[c.method] ?? 0) + 1;
  return out;
}

/** snake_case → camelCase, as proto-loader names fields (`keepCase: false`). */
function camel(path: string): string {
  return path.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Applies an update mask (AIP-134): each dotted path is copied from `request` onto a copy of
 * `stored` (a path absent from the request clears the field); every other field keeps its value.
 * Throws INVALID_ARGUMENT for a path outside `allowed` (top-level field names, snake_case).
 */
export function applyMask(stored: any, request: any, paths: string[], allowed: readonly string[]): any {
  const out = structuredClone(stored);
  for (const p of paths) {
    const segs = p.split('.').map(camel);
    if (!allowed.includes(p.split('.')[0]!))
      throw status(grpc.status.INVALID_ARGUMENT, `update_mask path "${p}" is not a field of the resource`);
    let src = request;
    let dst = out;
    for (const s of segs.slice(0, -1)) {
      src = src?.[s];
      dst[s] = dst[s] ?? {};
      dst = dst[s];
    }
    const last = segs[segs.length - 1]!;
    if (src?.[last] === undefined) delete dst[last];
    else dst[last] = structuredClone(src[last]);
  }
  return out;
}

/** Binds `server` on 127.0.0.1:0 with plaintext credentials. */
export async function listen(server: grpc.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    );
  });
}

/** Stops a server at once (in-flight calls are cancelled). */
export function shutdown(server: grpc.Server): Promise<void> {
  server.forceShutdown();
  return Promise.resolve();
}

/**
 * Client options that point a Google client at a fake: plaintext, no credentials. The explicit
 * universe domain stops google-auth-library looking for credentials (and the GCE metadata server).
 */
export function fakeClientOptions(port: number): {
  apiEndpoint: string;
  port: number;
  sslCreds: grpc.ChannelCredentials;
  clientOptions: { universeDomain: string };
} {
  return {
    apiEndpoint: '127.0.0.1',
    port,
    sslCreds: grpc.credentials.createInsecure(),
    clientOptions: { universeDomain: 'googleapis.com' },
  };
}

export { grpc };
