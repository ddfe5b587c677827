/**
 * The three back ends the deploy tests talk to, started side by side: the in-process Cloud Run and
 * Cloud Scheduler gRPC servers (built from the client packages' own protos) and Google's Pub/Sub
 * emulator. `stop()` ends whichever of them started, even when another failed to.
 * @module
 */
import { startFakeRun, type FakeRun } from './grpc-run.js';
import { startFakeScheduler, type FakeScheduler } from './grpc-scheduler.js';
import { startPubsubEmulator, type PubsubEmulator } from './pubsub-emulator.js';

export interface DeployBackends {
  run: FakeRun;
  sch: FakeScheduler;
  ps: PubsubEmulator;
  stop(): Promise<void>;
}

/** Starts all three; on a failure, stops the others and rethrows. */
export async function startDeployBackends(project: string): Promise<DeployBackends> {
  const [ps, run, sch] = await Promise.allSettled([startPubsubEmulator({ project }), startFakeRun(), startFakeScheduler()]);
  const started = [ps, run, sch].filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ stop(): Promise<void> }>).value);
  const stop = async (): Promise<void> => {
    await Promise.allSettled(started.map((x) => x.stop()));
  };
  const failed = [ps, run, sch].find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return { ps: (ps as PromiseFulfilledResult<PubsubEmulator>).value, run: (run as PromiseFulfilledResult<FakeRun>).value, sch: (sch as PromiseFulfilledResult<FakeScheduler>).value, stop };
}
