/**
 * Picks the reader for an external reference (each imported on first use, so the Cloud Storage
 * client loads only for a `gs://` source). `openSource` trusts its caller (the command line);
 * `messageSource` checks the allowlist first (a message).
 * @module
 */
import { realpath } from 'node:fs/promises';
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
    case 'file':
      return (await import('./file-source.js')).fileSource(ref.path, ref.url);
    case 'gcs':
      return (await import('./gcs-source.js')).gcsSource(
        ref.bucket,
        ref.object,
        deps.gcsApiEndpoint ? { apiEndpoint: deps.gcsApiEndpoint } : {},
      );
    case 'http':
      return (await import('./http-source.js')).httpSource(ref, { connector: deps.connector(), allow: deps.allow });
  }
}

/**
 * The reader for a message's source: refused (SOURCE_NOT_ALLOWED) before any request unless the
 * allowlist names it; an http(s) one connects only through the guarded connector.
 */
export async function messageSource(
  ref: ExternalRef,
  patterns: SourcePattern[],
  deps: GuardDeps & { gcsApiEndpoint?: string } = {},
): Promise<NotebookSource> {
  checkSource(ref, patterns);
  if (ref.kind === 'file') {
    // A symbolic link inside an allowed folder may lead out of it: the real path must be allowed too.
    const real = await realpath(ref.path).catch(() => undefined); // a missing file is the reader's NOTEBOOK_NOT_FOUND
    if (real !== undefined) {
      const resolved = { ...ref, path: real };
      checkSource(resolved, patterns);
      return openSource(resolved, {
        connector: () => {
          throw new Error('no connection for a file');
        },
        allow: () => undefined,
      });
    }
  }
  const { sourceConnector } = await import('../security/guard.js');
  return openSource(ref, {
    connector: () =>
      sourceConnector(ref.kind === 'http' ? originOf(ref.secure, ref.host, ref.port) : 'http://invalid', deps),
    allow: (next) => checkSource(next, patterns),
    ...(deps.gcsApiEndpoint ? { gcsApiEndpoint: deps.gcsApiEndpoint } : {}),
  });
}
