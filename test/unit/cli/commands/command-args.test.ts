/** Argument parsing shared by the commands: a bad argument exits 2 with the usage, --help exits 0. */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { parseCommandArgs } from '../../../../cli/commands/command-args.js';

function io(): { stdout: PassThrough; stderr: PassThrough; text: (s: PassThrough) => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  return { stdout, stderr, text: (s) => String(s.read() ?? '') };
}

const config = (args: string[]) =>
  ({
    args,
    strict: true,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  }) as const;

test('valid arguments come back parsed', () => {
  const o = io();
  const parsed = parseCommandArgs('demo', 'USAGE\n', config(['--json', 'nb.ipynb']), o);
  assert.notEqual(typeof parsed, 'number');
  if (typeof parsed === 'number') return;
  assert.equal(parsed.values.json, true);
  assert.deepEqual(parsed.positionals, ['nb.ipynb']);
});

test('an unknown option exits 2 with the error and the usage on stderr', () => {
  const o = io();
  assert.equal(parseCommandArgs('demo', 'USAGE\n', config(['--nope']), o), 2);
  assert.match(o.text(o.stderr), /^nbtrigger demo: .*--nope[\s\S]*\n\nUSAGE\n$/);
  assert.equal(o.text(o.stdout), '');
});

test('--help exits 0 with the usage on stdout', () => {
  const o = io();
  assert.equal(parseCommandArgs('demo', 'USAGE\n', config(['-h']), o), 0);
  assert.equal(o.text(o.stdout), 'USAGE\n');
});
