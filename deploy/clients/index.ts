/**
 * The Google Cloud clients deploy uses, built in one place. Endpoints can be overridden
 * (tests, local fakes): `NBTRIGGER_RUN_ENDPOINT` / `NBTRIGGER_SCHEDULER_ENDPOINT` /
 * `NBTRIGGER_ASSET_ENDPOINT` as `HOST:PORT` select a plaintext gRPC endpoint (the way
 * `PUBSUB_EMULATOR_HOST` does for Pub/Sub, which the Pub/Sub client reads itself). Credentials
 * otherwise come from Application Default Credentials.
 *
 * Spec: docs/deploy.md (clients injected so tests point them at local servers);
 * https://github.com/googleapis/gax-nodejs/blob/main/client-libraries.md#creating-the-client-instance.
 * @module
 */
import { credentials } from '@grpc/grpc-js';
import { AssetServiceClient } from '@google-cloud/asset';
import { JobsClient, ServicesClient } from '@google-cloud/run';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { PubSub } from '@google-cloud/pubsub';
import { NbtError } from '../../functions/errors.js';
import { createNotebookStore, type NotebookStore } from './storage.js';

export interface DeployClients {
  run: ServicesClient;
  /**
   * Cloud Run Jobs, on the same endpoint as `run`. Without it no Cloud Run job is read or
   * written, and a manifest with a job-mode notebook is refused (deploy/apply-runjobs.ts).
   */
  runJobs?: JobsClient;
  scheduler: CloudSchedulerClient;
  pubsub: PubSub;
  /**
   * Cloud Asset Inventory, to read the services' IAM policies in pages (deploy/read-invokers.ts);
   * without it each policy is read from Cloud Run.
   */
  asset?: AssetServiceClient;
  /** Cloud Storage, for notebooks with a `source:` (its library is imported by its first call). */
  storage?: NotebookStore;
}

/** Where a client connects: a plaintext local endpoint, or Google's default (TLS + ADC). */
export interface Endpoint {
  host: string;
  port: number;
}

/**
 * gax options for a plaintext endpoint (no TLS, no credentials): what tests and fakes need. The
 * explicit universe domain keeps google-auth-library from looking for credentials at all.
 */
function insecureOptions(e: Endpoint): {
  apiEndpoint: string;
  port: number;
  sslCreds: ReturnType<typeof credentials.createInsecure>;
  clientOptions: { universeDomain: string };
} {
  return {
    apiEndpoint: e.host,
    port: e.port,
    sslCreds: credentials.createInsecure(),
    clientOptions: { universeDomain: 'googleapis.com' },
  };
}

/** Parses `HOST:PORT` from an environment variable. */
function parseEndpoint(text: string, variable: string): Endpoint {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(text.trim());
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)
    throw new NbtError('CONFIG', `${variable} must be HOST:PORT, got "${text}"`);
  return { host: m[1]!, port: Number(m[2]) };
}

/** Builds the clients for `project`, honouring the endpoint variables in `env`. */
export function createDeployClients(project: string, env: NodeJS.ProcessEnv = process.env): DeployClients {
  const runEnv = env.NBTRIGGER_RUN_ENDPOINT;
  const schedulerEnv = env.NBTRIGGER_SCHEDULER_ENDPOINT;
  const runOptions = runEnv ? insecureOptions(parseEndpoint(runEnv, 'NBTRIGGER_RUN_ENDPOINT')) : {};
  const run = new ServicesClient(runOptions);
  const runJobs = new JobsClient(runOptions);
  const scheduler = new CloudSchedulerClient(
    schedulerEnv ? insecureOptions(parseEndpoint(schedulerEnv, 'NBTRIGGER_SCHEDULER_ENDPOINT')) : {},
  );
  const pubsub = createPubSub(project, env);
  // STORAGE_EMULATOR_HOST, when set, is read by the Storage client itself.
  const out: DeployClients = { run, runJobs, scheduler, pubsub, storage: createNotebookStore({ projectId: project }) };
  // A local Cloud Run endpoint is a fake: Google's Asset index knows nothing of its services, so
  // the Asset client is made for Google's Cloud Run, or for a local Asset endpoint.
  const assetEnv = env.NBTRIGGER_ASSET_ENDPOINT;
  if (assetEnv)
    out.asset = new AssetServiceClient(insecureOptions(parseEndpoint(assetEnv, 'NBTRIGGER_ASSET_ENDPOINT')));
  else if (!runEnv) out.asset = new AssetServiceClient();
  return out;
}

/**
 * A PubSub client for `project`. With `PUBSUB_EMULATOR_HOST` set the library talks plaintext to
 * the emulator by itself; the explicit universe domain then spares a useless credentials lookup.
 */
export function createPubSub(project: string, env: NodeJS.ProcessEnv = process.env): PubSub {
  return new PubSub(
    env.PUBSUB_EMULATOR_HOST
      ? { projectId: project, clientOptions: { universeDomain: 'googleapis.com' } }
      : { projectId: project },
  );
}

/** Closes the clients' channels so the process can exit. */
export async function closeDeployClients(c: DeployClients): Promise<void> {
  await Promise.allSettled([
    c.run.close(),
    c.runJobs?.close(),
    c.scheduler.close(),
    c.pubsub.close(),
    c.asset?.close(),
  ]);
}
