/**
 * The README and docs/ name files of this repository (where a change belongs, what a test covers):
 * every such path and every relative link must exist, so the docs stay true when modules move.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../../../cli/project-root.js';

const TOP = ['functions', 'deploy', 'cli', 'bench', 'test', 'infra', 'notebook-image', 'scripts', 'examples', 'docs'];
/** `functions/jupyter/rest.ts`, `test/faults/common.ts`, `notebook-image/Dockerfile`... */
const REPO_PATH = new RegExp(
  `(?<![\\w./-])(?:${TOP.join('|')})/[\\w./-]*?(?:\\.(?:ts|mjs|js|py|sh|md|yaml|json|txt|ipynb)|Dockerfile)(?![\\w/-])`,
  'g',
);
/** Files of a user's project that the docs show as examples, not files of this repository. */
const USER_EXAMPLES = new Set(['infra/teams/sales.yaml']);
/** A relative Markdown link target: `[x](running.md#job-mode)`, `[y](../cloudbuild.yaml)`. */
const LINK = /\]\((?!https?:|mailto:|#)([^)\s#]+)(?:#[^)]*)?\)/g;

function docs(): string[] {
  const dir = join(PROJECT_ROOT, 'docs');
  return [
    join(PROJECT_ROOT, 'README.md'),
    ...readdirSync(dir)
      .filter((f) => f.endsWith('.md'))
      .map((f) => join(dir, f)),
  ];
}

test('every repository path the README and docs/ name exists', () => {
  const missing: string[] = [];
  let named = 0;
  for (const file of docs()) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(REPO_PATH)) {
      // A glob or a placeholder (`test/**/x`, `<name>.ts`) names a pattern, not a file.
      if (/[*<>{}]/.test(m[0])) continue;
      named++;
      if (USER_EXAMPLES.has(m[0])) continue;
      if (!existsSync(join(PROJECT_ROOT, m[0]))) missing.push(`${file.slice(PROJECT_ROOT.length + 1)}: ${m[0]}`);
    }
    for (const m of text.matchAll(LINK)) {
      named++;
      if (!existsSync(resolve(dirname(file), m[1]!))) missing.push(`${file.slice(PROJECT_ROOT.length + 1)}: (${m[1]})`);
    }
  }
  assert.ok(named > 50, `the docs name ${named} paths`);
  assert.deepEqual(missing, []);
});
