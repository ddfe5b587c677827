/**
 * The back ends the deploy tests talk to, started side by side: the in-process Cloud Run and
 * Cloud Scheduler gRPC servers (built from the client packages' own protos), Google's Pub/Sub
 * emulator, and the Cloud Asset search over the Run fake's IAM policies (an index kept up to date:
 * a test of its lag starts its own). `stop()` ends whichever of them started, even when another failed to.
 * @module
 */
import { startFakeAsset, type FakeAsset, type FakePolicy } from './grpc-asset.js';
import { startFakeRun, type FakeRun, type FakeRunOptions } from './grpc-run.js';
import { startFakeScheduler, type FakeScheduler } from './grpc-scheduler.js';
import type { FakeFaults } from './grpc-common.js';
import { startPubsubEmulator, type PubsubEmulator } from './pubsub-emulator.js';

export interface DeployBackends {
  run: FakeRun;
  sch: FakeScheduler;
  ps: PubsubEmulator;
  asset: FakeAsset;
  /** What exists before `nbtrigger deploy` runs: the function, its trigger, the dead-letter topic. */
  seedTrigger(o: TriggerSeed): Promise<SeededTrigger>;
  stop(): Promise<void>;
}

export interface TriggerSeed {
  region: string;
  topic: string;
  functionName?: string;
  /** The function's URL (its Cloud Run service `uri`); a made-up run.app URL by default. */
  functionUrl?: string;
  /** Where the trigger subscription pushes; the function's URL with Eventarc's query by default. */
  pushEndpoint?: string;
}

export interface SeededTrigger {
  functionService: string;
  subscription: string;
  deadLetterTopic: string;
}

/**
 * Seeds what `gcloud functions deploy --trigger-topic` and the one-time setup leave: the
 * function's Cloud Run service (in the Run fake), the topic (unlabelled), a push subscription
 * named as Eventarc names them, the dead-letter topic and its subscription (in the emulator).
 */
async function seedTrigger(run: FakeRun, ps: PubsubEmulator, o: TriggerSeed): Promise<SeededTrigger> {
  const project = ps.project;
  const fn = (o.functionName ?? 'runNotebook').toLowerCase();
  const functionService = `projects/${project}/locations/${o.region}/services/${fn}`;
  const stored = run.put(functionService, o.functionUrl === undefined ? {} : { uri: o.functionUrl });
  const url = String(stored.uri);
  const subscription = `eventarc-${o.region}-${fn}-000000-sub-000`;
  await ps.createTopic(o.topic);
  await ps.createTopic(`${o.topic}-dead-letter`);
  await ps.createSubscription(`${o.topic}-dead-letter-sub`, {
    topic: `projects/${project}/topics/${o.topic}-dead-letter`,
  });
  await ps.createSubscription(subscription, {
    topic: `projects/${project}/topics/${o.topic}`,
    ackDeadlineSeconds: 600,
    pushConfig: {
      pushEndpoint:
        o.pushEndpoint ?? `${url}/?__GCP_CloudEventsMode=CUSTOM_PUBSUB_projects%2F${project}%2Ftopics%2F${o.topic}`,
    },
  });
  return {
    functionService,
    subscription: `projects/${project}/subscriptions/${subscription}`,
    deadLetterTopic: `projects/${project}/topics/${o.topic}-dead-letter`,
  };
}

/** Starts all three; on a failure, stops the others and rethrows. */
export async function startDeployBackends(
  project: string,
  runOptions: FakeRunOptions = {},
  schedulerFaults: FakeFaults = {},
): Promise<DeployBackends> {
  const [ps, run, sch] = await Promise.allSettled([
    startPubsubEmulator({ project }),
    startFakeRun(runOptions),
    startFakeScheduler(schedulerFaults),
  ]);
  const started = [ps, run, sch]
    .filter((r) => r.status === 'fulfilled')
    .map((r) => (r as PromiseFulfilledResult<{ stop(): Promise<void> }>).value);
  const stop = async (): Promise<void> => {
    await Promise.allSettled(started.map((x) => x.stop()));
  };
  const failed = [ps, run, sch].find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const r = (run as PromiseFulfilledResult<FakeRun>).value;
  const p = (ps as PromiseFulfilledResult<PubsubEmulator>).value;
  let asset: FakeAsset;
  try {
    asset = await startFakeAsset({
      project: { id: project, number: '123456789012' },
      source: () => indexed(r),
      live: true,
    });
  } catch (e) {
    await stop();
    throw e;
  }
  started.push(asset);
  return {
    ps: p,
    run: r,
    asset,
    sch: (sch as PromiseFulfilledResult<FakeScheduler>).value,
    seedTrigger: (o) => seedTrigger(r, p, o),
    stop,
  };
}

/** The Run fake's existing services with their policies, as the Asset fake indexes them. */
export function indexed(run: FakeRun): Array<[string, FakePolicy | undefined]> {
  return [...run.services.keys()].map((name) => [name, run.policies.get(name)]);
}
