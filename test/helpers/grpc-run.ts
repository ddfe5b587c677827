/**
 * An in-process fake of the Cloud Run Admin API v2 `Services` service and the
 * `google.longrunning.Operations` service it uses, built from the .proto files @google-cloud/run
 * ships, keeping services and IAM policies in memory. Create/Update/Delete answer an operation
 * that is not done; the first GetOperation on it completes it (so the client must really wait).
 *
 * Spec: https://cloud.google.com/run/docs/reference/rpc/google.cloud.run.v2#services;
 * https://google.aip.dev/151 (long-running operations).
 * @module
 */
import { randomUUID } from 'node:crypto';
import { fakeClientOptions, grpc, listen, loadProtos, serviceDef, shutdown, status, unary, type FakeServer, type Recorded } from './grpc-common.js';

const MUTATING = new Set(['CreateService', 'UpdateService', 'DeleteService', 'SetIamPolicy']);

export interface FakeRun extends FakeServer {
  services: Map<string, any>;
  policies: Map<string, any>;
  /** Client options for ServicesClient. */
  clientOptions(): ReturnType<typeof fakeClientOptions>;
}

/** Starts the fake on a free port. */
export async function startFakeRun(): Promise<FakeRun> {
  const def = loadProtos(['google/cloud/run/v2/service.proto', 'google/longrunning/operations.proto'], '@google-cloud/run');
  const services = serviceDef(def, 'google.cloud.run.v2.Services');
  const encodeService = (s: unknown): Buffer => services.GetService!.responseSerialize(s);
  const calls: Recorded[] = [];
  const store = new Map<string, any>();
  const policies = new Map<string, any>();
  const operations = new Map<string, { done: boolean; service: any }>();
  let etag = 0;

  const any = (s: unknown): { typeUrl: string; value: Buffer } => ({ typeUrl: 'type.googleapis.com/google.cloud.run.v2.Service', value: encodeService(s) });
  const startOp = (location: string, service: any): any => {
    const name = `${location}/operations/${randomUUID()}`;
    operations.set(name, { done: false, service });
    return { name, done: false, metadata: any(service) };
  };
  const locationOf = (name: string): string => name.slice(0, name.indexOf('/services/'));
  const mustGet = (name: string): any => {
    const s = store.get(name);
    if (!s) throw status(grpc.status.NOT_FOUND, `Resource '${name}' was not found`);
    return s;
  };

  const server = new grpc.Server();
  server.addService(services, unary(calls, {
    CreateService(req) {
      const name = `${req.parent}/services/${req.serviceId}`;
      if (!/^[a-z]([a-z0-9-]{0,47}[a-z0-9])?$/.test(req.serviceId ?? '')) throw status(grpc.status.INVALID_ARGUMENT, `bad service id "${req.serviceId}"`);
      if (store.has(name)) throw status(grpc.status.ALREADY_EXISTS, `Resource '${name}' already exists`);
      if (!req.service?.template?.containers?.[0]?.image) throw status(grpc.status.INVALID_ARGUMENT, 'template.containers[0].image is required');
      const s = { ...req.service, name, uid: randomUUID(), generation: '1', uri: `https://${req.serviceId}-1234567890.${req.parent.split('/')[3]}.run.app`, etag: `"e${++etag}"` };
      store.set(name, s);
      policies.set(name, { version: 1, etag: Buffer.from(`p${++etag}`), bindings: [] });
      return startOp(req.parent, s);
    },
    UpdateService(req) {
      const cur = mustGet(req.service?.name);
      const s = { ...req.service, uid: cur.uid, uri: cur.uri, generation: String(Number(cur.generation) + 1), etag: `"e${++etag}"` };
      store.set(s.name, s);
      return startOp(locationOf(s.name), s);
    },
    DeleteService(req) {
      const s = mustGet(req.name);
      store.delete(req.name);
      policies.delete(req.name);
      return startOp(locationOf(req.name), s);
    },
    GetService: (req) => mustGet(req.name),
    ListServices(req) {
      if (req.pageToken) throw status(grpc.status.INVALID_ARGUMENT, 'this fake answers one page');
      return { services: [...store.values()].filter((s) => locationOf(s.name) === req.parent) };
    },
    GetIamPolicy(req) {
      mustGet(req.resource);
      if (!policies.has(req.resource)) policies.set(req.resource, { version: 1, etag: Buffer.from(`p${++etag}`), bindings: [] });
      return policies.get(req.resource);
    },
    SetIamPolicy(req) {
      mustGet(req.resource);
      const cur = policies.get(req.resource) ?? { etag: Buffer.alloc(0) };
      const sent = req.policy?.etag as Buffer | undefined;
      if (sent && sent.length > 0 && !Buffer.from(sent).equals(cur.etag)) throw status(grpc.status.ABORTED, 'etag mismatch: the policy changed');
      const next = { version: req.policy?.version ?? 1, bindings: req.policy?.bindings ?? [], etag: Buffer.from(`p${++etag}`) };
      policies.set(req.resource, next);
      return next;
    },
  }));
  server.addService(serviceDef(def, 'google.longrunning.Operations'), unary(calls, {
    GetOperation(req) {
      const op = operations.get(req.name);
      if (!op) throw status(grpc.status.NOT_FOUND, `operation ${req.name} not found`);
      op.done = true;
      return { name: req.name, done: true, metadata: any(op.service), response: any(op.service) };
    },
  }));
  const port = await listen(server);
  return {
    port, calls, services: store, policies,
    mutatingCalls: () => calls.filter((c) => MUTATING.has(c.method)),
    clientOptions: () => fakeClientOptions(port),
    stop: () => shutdown(server),
  };
}
