/**
 * Pre-flight check of Google Cloud credentials (Application Default Credentials) before the
 * deploy clients call anything. Without it, a missing ADC surfaces inside @google-cloud/run's
 * paged call as an uncaught exception (a crash with a stack trace) instead of a clear error.
 *
 * Spec: https://cloud.google.com/docs/authentication/application-default-credentials
 * @module
 */
import { NbtError } from '../../functions/errors.js';

/** True when the clients are pointed at local servers (tests, emulators) and need no credentials. */
function usesLocalEndpoints(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.NBTRIGGER_RUN_ENDPOINT && env.NBTRIGGER_SCHEDULER_ENDPOINT && env.PUBSUB_EMULATOR_HOST);
}

/** Throws CONFIG with what to do when no credentials can be found. */
export async function checkCredentials(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (usesLocalEndpoints(env)) return;
  const { GoogleAuth } = await import('google-auth-library');
  try {
    await new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] }).getClient();
  } catch (e) {
    throw new NbtError(
      'CONFIG',
      `no Google Cloud credentials (${(e as Error).message.split('. ')[0]}): ` +
        'run "gcloud auth application-default login", or set GOOGLE_APPLICATION_CREDENTIALS',
      { cause: e },
    );
  }
}
