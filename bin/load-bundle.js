// Loads the CLI's CommonJS bundle (scripts/bundle-cli.mjs), with Node's module compile cache where the
// Node version has it (Node 22.1+, https://nodejs.org/api/module.html#module-compile-cache), so a
// later start skips most of the bundle's compilation; elsewhere (Node 20) a plain `require`.
//
// Node 20 has no module compile cache, and V8's code cache applied through vm.Script is not used:
// a function restored from that cache loses the script's dynamic-import callback, so the `import()`
// of a lazily loaded module (the deploy clients) fails with "A dynamic import callback was not
// specified" on every run after the first. NODE_DISABLE_COMPILE_CACHE turns the cache off.
import module from 'node:module';

/** The bundle's exports. */
export function loadBundle(path) {
  const requireHere = module.createRequire(path);
  if (process.env.NODE_DISABLE_COMPILE_CACHE === undefined && typeof module.enableCompileCache === 'function') {
    module.enableCompileCache();
  }
  return requireHere(path);
}
