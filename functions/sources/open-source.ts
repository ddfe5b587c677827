/**
 * Picks the reader for an external reference (each imported on first use, so the Cloud Storage
 * client loads only for a `gs://` source). The caller has checked the allowlist.
 * @module
 */
import type { Connector } from '../security/connector.js';
import type { GuardDeps } from '../security/guard.js';
import { checkSource, type SourcePattern } from '../security/sources.js';
import type { NotebookSource } from './reader.js';
import { type ExternalRef, originOf } from './source-ref.js';

export interface SourceDeps {
  /** The connector for an http(s) source (the function's guard). */
  connector: () => Connector;
  /** Throws when a redirect target may not be read. */
  allow: (ref: ExternalRef) => void;
  /** Cloud Storage endpoint (tests; STORAGE_EMULATOR_HOST works too). */
  gcsApiEndpoint?: string;
}

/** The reader for `ref`. */
export async function openSource(ref: ExternalRef, deps: SourceDeps): Promise<NotebookSource> {
  switch (ref.kind) {
    case 'file': return (await import('./file-source.js')).fileSource(ref.path, ref.url);
    case 'gcs': return (await import('./gcs-source.js')).gcsSource(ref.bucket, ref.object,
      deps.gcsApiEndpoint ? { apiEndpoint: deps.gcsApiEndpoint } : {});
    case 'http': return (await import('./http-source.js')).httpSource(ref,
      { connector: deps.connector(), allow: deps.allow });
  }
}

/**
 * The reader for a message's source: refused (SOURCE_NOT_ALLOWED) before any request unless the
 * allowlist names it; an http(s) one connects only through the guarded connector.
 */
export async function messageSource(ref: ExternalRef, patterns: SourcePattern[],
  deps: GuardDeps & { gcsApiEndpoint?: string } = {}): Promise<NotebookSource> {
  checkSource(ref, patterns);
  const { sourceConnector } = await import('../security/guard.js');
  return openSource(ref, {
    connector: () =>
      sourceConnector(ref.kind === 'http' ? originOf(ref.secure, ref.host, ref.port) : 'http://invalid', deps),
    allow: (next) => checkSource(next, patterns),
    ...(deps.gcsApiEndpoint ? { gcsApiEndpoint: deps.gcsApiEndpoint } : {}),
  });
}
