// Loads the CLI's CommonJS bundle (scripts/bundle-cli.mjs) with its compiled code cached on disk where
// the Node version allows it, so a later start skips most of the bundle's compilation.
//
// - Node 22.1+: Node's own module compile cache (https://nodejs.org/api/module.html#module-compile-cache),
//   then a plain `require`.
// - Node 20: no module compile cache; the bundle is compiled as a vm.Script with V8's code cache
//   (https://nodejs.org/api/vm.html#scriptcreatecacheddata), the way Node wraps a CommonJS file, and
//   `import()` inside it uses the main context's loader (vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER).
//   The cache file is named by a hash of the bundle's text and the Node version, and V8 rejects data
//   made by another V8 or with other flags, so a cache never applies to other code. It is written
//   once, at exit (the functions the run compiled are in it), to a temporary name then renamed, so
//   concurrent runs never read half a file. A folder that cannot be written costs only the cache.
// - Anything else (no USE_MAIN_CONTEXT_DEFAULT_LOADER): a plain `require`.
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import module from 'node:module';
import { dirname } from 'node:path';
import vm from 'node:vm';

/** The bundle's exports. */
export function loadBundle(path) {
  const requireHere = module.createRequire(path);
  if (process.env.NODE_DISABLE_COMPILE_CACHE !== undefined) return requireHere(path);
  if (typeof module.enableCompileCache === 'function') {
    module.enableCompileCache();
    return requireHere(path);
  }
  const importer = vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
  if (importer === undefined) return requireHere(path);
  const source = readFileSync(path, 'utf8');
  const key = createHash('sha256').update(source).update(process.version).digest('hex').slice(0, 20);
  const cachePath = `${path}.${key}.v8cache`;
  let cachedData;
  try {
    cachedData = readFileSync(cachePath);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(module.wrap(source), { filename: path, cachedData, importModuleDynamically: importer });
  if (cachedData === undefined || script.cachedDataRejected) {
    process.once('exit', () => writeCache(cachePath, script));
  }
  const mod = { exports: {}, filename: path, id: path, loaded: false };
  script.runInThisContext().call(mod.exports, mod.exports, requireHere, mod, path, dirname(path));
  mod.loaded = true;
  return mod.exports;
}

function writeCache(cachePath, script) {
  const temp = `${cachePath}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, script.createCachedData());
    renameSync(temp, cachePath);
  } catch {
    rmSync(temp, { force: true });
  }
}
