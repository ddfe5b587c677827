/**
 * The parts of undici the runner uses, loaded on first use and without the package's index.
 * `import('undici')` loads 110 files (≈60 ms and ≈17 MB RSS on a 2-core machine); the pool, the
 * client and the request API alone are ≈25 files (≈15 ms). The package has no `exports` map,
 * so its files are importable; should its layout change, the full package is loaded instead
 * (same classes, same behaviour), so this can cost speed but never correctness.
 *
 * The deep files do not carry `Dispatcher.prototype.request` (the index adds it): requests are
 * made with {@link LeanUndici.request} called on a dispatcher, never by patching a prototype.
 * @module
 */
import type { Client, Dispatcher, Pool } from 'undici';

/** What the runner needs from undici. */
export interface LeanUndici {
  Pool: typeof Pool;
  Client: typeof Client;
  /** undici's `Dispatcher#request`, to be called with the dispatcher as `this`. */
  request: (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
}

let loading: Promise<LeanUndici> | undefined;

/** Loads (once) the pool, the client and the request API. */
export function loadUndici(): Promise<LeanUndici> {
  loading ??= loadDeep().catch(loadFull);
  return loading;
}

async function loadDeep(): Promise<LeanUndici> {
  const [pool, client, request] = await Promise.all([
    import('undici/lib/dispatcher/pool.js'), import('undici/lib/dispatcher/client.js'), import('undici/lib/api/api-request.js'),
  ]);
  if (typeof pool.default !== 'function' || typeof client.default !== 'function' || typeof request.default !== 'function') {
    throw new Error('undici layout changed');
  }
  return { Pool: pool.default, Client: client.default, request: request.default };
}

async function loadFull(): Promise<LeanUndici> {
  const u = await import('undici');
  return { Pool: u.Pool, Client: u.Client, request: u.Dispatcher.prototype.request as LeanUndici['request'] };
}
