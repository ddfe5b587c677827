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
    keepCase: false, longs: String, enums: String, defaults: false, oneofs: true,
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

/** Wraps plain `(request) => response` functions (sync or async, throwing a status) as unary handlers that record calls. */
export function unary(calls: Recorded[], handlers: Record<string, Handler>): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [method, fn] of Object.entries(handlers)) {
    impl[method] = ((call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) => {
      calls.push({ method, request: call.request });
      Promise.resolve().then(() => fn(call.request)).then((res) => cb(null, res), (e: grpc.ServiceError) => cb(e));
    }) as grpc.UntypedHandleCall;
  }
  return impl;
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
    if (!allowed.includes(p.split('.')[0]!)) throw status(grpc.status.INVALID_ARGUMENT, `update_mask path "${p}" is not a field of the resource`);
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
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port)));
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
export function fakeClientOptions(port: number): { apiEndpoint: string; port: number; sslCreds: grpc.ChannelCredentials; clientOptions: { universeDomain: string } } {
  return { apiEndpoint: '127.0.0.1', port, sslCreds: grpc.credentials.createInsecure(), clientOptions: { universeDomain: 'googleapis.com' } };
}

export { grpc };
