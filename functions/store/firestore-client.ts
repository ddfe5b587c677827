/**
 * The one place that loads `@google-cloud/firestore`, lazily (dynamic import on first use), so a
 * function or CLI that uses the local stores never pays for the Firestore client at start.
 * Only `import type` of the package appears elsewhere.
 *
 * Spec: https://cloud.google.com/nodejs/docs/reference/firestore/latest (Settings);
 * https://cloud.google.com/firestore/docs/emulator (FIRESTORE_EMULATOR_HOST takes precedence over settings).
 * @module
 */
import type { Firestore, Settings } from '@google-cloud/firestore';

export type FirestoreModule = typeof import('@google-cloud/firestore');

/** How to reach Firestore. All optional: on Cloud Functions the project and credentials come from the runtime. */
export interface FirestoreConnection {
  projectId?: string;
  /** Named database; default `(default)`. */
  databaseId?: string;
  /**
   * `host:port` of an emulator (plain text, admin). `FIRESTORE_EMULATOR_HOST`, when set, wins
   * over this (the client's own rule).
   */
  emulatorHost?: string;
}

let loading: Promise<FirestoreModule> | undefined;

/** Imports the Firestore package once. */
export function loadFirestoreModule(): Promise<FirestoreModule> {
  loading ??= import('@google-cloud/firestore');
  return loading;
}

/** The client settings for a connection (pure). `ignoreUndefinedProperties` lets optional record fields be absent. */
export function firestoreSettings(c: FirestoreConnection): Settings {
  const s: Settings = { ignoreUndefinedProperties: true };
  if (c.projectId) s.projectId = c.projectId;
  if (c.databaseId) s.databaseId = c.databaseId;
  if (c.emulatorHost) {
    s.host = c.emulatorHost;
    s.ssl = false;
    // The emulator accepts any project id; the client would otherwise ask the metadata server for one.
    s.projectId ??= 'nbtrigger-local';
    // Without it google-gax probes the GCE metadata server for the universe domain (MetadataLookupWarning).
    (s as Settings & { universeDomain?: string }).universeDomain = 'googleapis.com';
  }
  return s;
}

/** Creates a client (lazily loading the package). */
export async function createFirestore(c: FirestoreConnection = {}): Promise<Firestore> {
  const { Firestore: Client } = await loadFirestoreModule();
  return new Client(firestoreSettings(c));
}

/** gRPC status codes the stores branch on. */
export const GrpcCode = { ALREADY_EXISTS: 6, NOT_FOUND: 5, FAILED_PRECONDITION: 9, ABORTED: 10 } as const;

/** The gRPC status code of a Firestore error, if any. */
export function grpcCode(e: unknown): number | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}
