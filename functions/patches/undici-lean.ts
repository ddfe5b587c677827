/**
 * PATCH (speed): undici's internal files loaded by path. Targets undici {@link UNDICI_TARGET}
 * exactly (the version package-lock.json installs); any other version gets the plain fallback,
 * `require('undici')`, the same classes through the package's index. The test
 * test/unit/functions/patches/undici-lean.test.ts fails when the installed undici is not the
 * target or when its files no longer are the classes the index exports: re-check, then move
 * the target.
 *
 * The parts of undici the runner uses, loaded on first use and without the package's index.
 * `import('undici')` loads 110 files (≈60 ms and ≈17 MB RSS on a 2-core machine); the pool, the
 * client and the request API alone are ≈25 files (≈15 ms). The package has no `exports` map,
 * so its files are importable; on another version, or should the layout differ, the full package
 * is loaded instead (same classes, same behaviour), so this can cost speed but never correctness.
 *
 * The files are CommonJS and are loaded with `require` (createRequire): an ESM `import()` of a
 * CommonJS file runs Node's export lexer over it first, which doubled the load (with ws:
 * 35 ms against 17 on a 2-core machine; see channel.ts).
 *
 * The deep files do not carry `Dispatcher.prototype.request` (the index adds it): requests are
 * made with {@link LeanUndici.request} called on a dispatcher, never by patching a prototype.
 * @module
 */
import { createRequire } from 'node:module';
import type { Client, Dispatcher, Pool } from 'undici';
import { baselineWasmOnly } from './wasm-baseline.js';

const require = createRequire(import.meta.url);

/** The undici version whose file layout {@link loadDeep} relies on. */
export const UNDICI_TARGET = '7.30.2';

/** What the runner needs from undici. */
export interface LeanUndici {
  Pool: typeof Pool;
  Client: typeof Client;
  /** undici's `Dispatcher#request`, to be called with the dispatcher as `this`. */
  request: (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
}

let loading: Promise<LeanUndici> | undefined;

/** Which way {@link loadUndici} took: the targeted deep files, or the plain fallback. */
export let undiciLoadedBy: 'deep files' | 'fallback' | undefined;

/** Loads (once) the pool, the client and the request API. */
export function loadUndici(): Promise<LeanUndici> {
  loading ??= new Promise<LeanUndici>((resolve) => {
    baselineWasmOnly(); // before undici compiles its HTTP parser (wasm-baseline.ts)
    try {
      if (installedUndici() !== UNDICI_TARGET) throw new Error('not the targeted undici');
      resolve(loadDeep());
      undiciLoadedBy = 'deep files';
    } catch {
      resolve(loadFull());
      undiciLoadedBy = 'fallback';
    }
  });
  return loading;
}

/** The installed undici's version (its package.json: the package has no `exports` map). */
export function installedUndici(): string {
  return String((require('undici/package.json') as { version?: unknown }).version);
}

/** The pool, the client and the request API from undici's own files (the patch). */
export function loadDeep(): LeanUndici {
  const pool = require('undici/lib/dispatcher/pool.js') as unknown;
  const client = require('undici/lib/dispatcher/client.js') as unknown;
  const request = require('undici/lib/api/api-request.js') as unknown;
  if (typeof pool !== 'function' || typeof client !== 'function' || typeof request !== 'function') {
    throw new Error('undici layout changed');
  }
  return { Pool: pool as typeof Pool, Client: client as typeof Client, request: request as LeanUndici['request'] };
}

/** The plain way: the package's index. */
export function loadFull(): LeanUndici {
  const u = require('undici') as typeof import('undici');
  return { Pool: u.Pool, Client: u.Client, request: u.Dispatcher.prototype.request as LeanUndici['request'] };
}
