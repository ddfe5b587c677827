// A node:test reporter that stays silent while the tests run and, once they end, prints each failed
// test: its file, its name and the head of its error. A CI log is often read from its tail, cut above
// it; the TAP stream holds a failure hundreds of lines up, this summary puts it last. Bounded: at most
// MAX_FAILURES tests, each error cut to MAX_ERROR_CHARS.
import { inspect } from 'node:util';

const MAX_FAILURES = 20;
const MAX_ERROR_CHARS = 2000;
const MAX_ERROR_LINES = 24;
const MAX_STDERR_CHARS = 1500;

/** The error worth reading: the test runner wraps a test's own error as the `cause` of its own. */
function describe(error) {
  if (error === undefined || error === null) return '(no error given)';
  const inner = error.failureType === 'testCodeFailure' && error.cause ? error.cause : error;
  const text = typeof inner === 'object' ? inspect(inner, { depth: 3, breakLength: 120 }) : String(inner);
  // The runner's own frames say nothing about the test.
  const frame = /^\s+at .*\(node:(?:internal|async_hooks)[^)]*\)( \{)?$/;
  const own = text
    .split('\n')
    .map((line) => line.replace(frame, (_all, brace) => (brace ? '  {' : '\0')))
    .filter((line) => line !== '\0');
  const lines = own.slice(0, MAX_ERROR_LINES).join('\n');
  return lines.length > MAX_ERROR_CHARS ? `${lines.slice(0, MAX_ERROR_CHARS)} …(cut)` : lines;
}

export default async function* failures(source) {
  const failed = [];
  const stderrTail = new Map(); // file → the last MAX_STDERR_CHARS its process wrote to stderr
  let count = 0;
  for await (const event of source) {
    if (event.type === 'test:stderr' && event.data.file) {
      const tail = (stderrTail.get(event.data.file) ?? '') + event.data.message;
      stderrTail.set(event.data.file, tail.slice(-MAX_STDERR_CHARS));
      continue;
    }
    if (event.type !== 'test:fail') continue;
    const { name, file, details } = event.data;
    // A suite fails when one of its tests fails; that test is already listed.
    if (details?.error?.failureType === 'subtestsFailed') continue;
    count += 1;
    if (failed.length < MAX_FAILURES) failed.push({ name, file, error: describe(details?.error) });
  }
  // A file that failed outside any test (it threw while loading, or its process died) says why on
  // its stderr only; that is read once every event is in.
  for (const f of failed) {
    if (f.name === f.file && stderrTail.has(f.file)) f.error += `\nits stderr (tail):\n${stderrTail.get(f.file)}`;
  }
  if (count === 0) return;
  yield `\n# ${count} failed test${count === 1 ? '' : 's'} (repeated here from the stream above)\n`;
  for (const f of failed) {
    yield `\n✖ ${f.name}\n  file: ${f.file ?? '(unknown)'}\n${f.error.replace(/^/gm, '  | ')}\n`;
  }
  if (count > failed.length) yield `\n… and ${count - failed.length} more\n`;
}
