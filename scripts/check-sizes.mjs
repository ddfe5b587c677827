#!/usr/bin/env node
// The size rules the formatter cannot enforce (docs/testing.md, Lint and format): a source line is
// at most 120 characters (Biome wraps code, not comments or string literals), a source file at most
// 300 lines. Checks the files git tracks (or the paths given); exits 1 naming each offender.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MAX_COLUMNS = 120;
const MAX_LINES = 300;
const SOURCE = /\.(ts|mjs|js|py|sh)$|(^|\/)Dockerfile$|\.ya?ml$/;
/** Vendored or built files (reachable only as paths given on the command line). */
const EXEMPT = /(^|\/)(node_modules|dist)\//;

const given = process.argv.slice(2);
const files = (
  given.length > 0 ? given : execFileSync('git', ['ls-files'], { encoding: 'utf8' }).split('\n')
).filter((f) => f !== '' && SOURCE.test(f) && !EXEMPT.test(f));

const problems = [];
for (const file of files) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    continue; // deleted in the work tree
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length > MAX_LINES) {
    problems.push(`${file}: ${lines.length} lines (at most ${MAX_LINES})`);
  }
  lines.forEach((line, i) => {
    if (line.length > MAX_COLUMNS)
      problems.push(`${file}:${i + 1}: ${line.length} characters (at most ${MAX_COLUMNS})`);
  });
}
for (const p of problems) console.error(p);
if (problems.length > 0) {
  console.error(`check-sizes: ${problems.length} problem(s) in ${files.length} files`);
  process.exit(1);
}
const within = `every line within ${MAX_COLUMNS} characters, every file within ${MAX_LINES} lines`;
console.log(`check-sizes: ${files.length} files, ${within}`);
