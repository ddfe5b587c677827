// Bundles the compiled CLI (dist/cli/main.js, made by tsc) into one file, dist/bundle/nbtrigger.cjs, which
// bin/nbtrigger.js loads when it is at least as new as dist/cli/main.js: one file instead of ≈50 ES
// modules and ≈35 CommonJS files on `nbtrigger run`'s path (Node resolves, reads, compiles and links each
// module of a graph on its own), and a file whose compiled code Node 20 can cache (docs/benchmarks.md).
//
// - Made from tsc's output, so it runs exactly the code the tests build.
// - CommonJS, not ESM: in an ESM bundle, a package imported statically by a lazily loaded module
//   (the Google clients of `deploy`, yaml) is hoisted to a top-level import and loads on every command;
//   in a CommonJS bundle it stays a `require` inside that module's initialiser, run at its `import()`.
//   Every package the bundle uses is CommonJS (checked by `require` at build time, below).
// - Every package is external (loaded from node_modules on first use, as from dist/) except the parts
//   of undici and ws the run path uses: CommonJS files that functions/patches/undici-lean.ts and
//   functions/jupyter/channel-open.ts load with a `require` made by createRequire; the bundle makes
//   those plain `require` calls so the files are bundled, still initialised at the call.
// - `import.meta.url` (the project root, createRequire) is the bundle file's own URL.
// Spec: https://esbuild.github.io/api/#bundle, https://esbuild.github.io/api/#external
import { createRequire } from 'node:module';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'cli', 'main.js');
const outdir = join(root, 'dist', 'bundle');

/** The packages bundled in: the deep undici files (and the version they are checked against) and ws. */
const BUNDLED = /^(undici\/lib\/|undici\/package\.json$|ws$)/;

/**
 * The createRequire bindings of the two CommonJS loaders, made plain `require` calls so esbuild
 * sees (and bundles) the files they load. Each must be found, in a file the bundle holds: a source
 * that changed its loader, or moved, fails the build rather than leaving a bundle that loads those
 * files from disk.
 */
const REWRITES = [
  {
    file: /dist[\\/]functions[\\/]patches[\\/]undici-lean\.js$/,
    from: 'const require = createRequire(import.meta.url);',
    to: '',
  },
  { file: /dist[\\/]functions[\\/]jupyter[\\/]channel-open\.js$/, from: "requireCjs('ws')", to: "require('ws')" },
];

const externals = new Set();
const applied = new Set();
const plugin = {
  name: 'nbtrigger-cli',
  setup(b) {
    // Bare specifiers only (relative ones resolve as usual): bundled if listed, else external.
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const fromPackage = args.importer.includes(`${sep}node_modules${sep}`);
      if (!fromPackage && BUNDLED.test(args.path)) return undefined;
      if (!fromPackage && !args.path.startsWith('node:')) externals.add(args.path);
      return { path: args.path, external: true };
    });
    for (const r of REWRITES) {
      b.onLoad({ filter: r.file }, async (args) => {
        const text = await readFile(args.path, 'utf8');
        if (!text.includes(r.from)) throw new Error(`bundle-cli: "${r.from}" not found in ${args.path}`);
        applied.add(r);
        return { contents: text.replace(r.from, r.to), loader: 'js' };
      });
    }
  },
};

await rm(outdir, { recursive: true, force: true });
await build({
  entryPoints: [entry],
  outdir,
  entryNames: 'nbtrigger',
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  plugins: [plugin],
  define: { 'import.meta.url': '__nbtriggerBundleUrl' },
  banner: { js: "const __nbtriggerBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
});

for (const r of REWRITES) {
  if (!applied.has(r)) throw new Error(`bundle-cli: no bundled file matches ${r.file}: its loader stays on disk`);
}

// A package that only ESM can load would fail at its first use on Node 20: fail the build instead.
const requireFromRoot = createRequire(join(root, 'package.json'));
for (const name of [...externals].sort()) {
  try {
    requireFromRoot.resolve(name);
  } catch (e) {
    throw new Error(`bundle-cli: ${name} cannot be loaded by require: ${e.message}`);
  }
}
