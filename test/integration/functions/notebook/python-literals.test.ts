/**
 * Integration: injected-parameter cells read by real Python (Debian's /usr/bin/python3, no kernel).
 * Each cell must parse to assignments of literals only (no value can inject code) and each
 * value must come back, through `json.dumps`, exactly as given: type (int/float) and value.
 * Hostile strings, edge numbers and a seeded fuzz of random strings and nested values.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { findTranslator, translateParameters } from '../../../../functions/notebook/parameters.js';
import {
  JsonNumber,
  parseExactJson,
  type Parameters,
  type ParamValue,
} from '../../../../functions/notebook/translators/values.js';
import { HOSTILE, normalize, randomValue, seeded } from './param-cases.js';

const PYTHON = '/usr/bin/python3';

/** Python side: check every statement is `NAME = <literal>`, then print the values as JSON. */
const CHECK = `
import ast, json, sys
sys.set_int_max_str_digits(0)
out = []
for src in json.load(sys.stdin):
    tree = ast.parse(src)
    values = {}
    for node in tree.body:
        assert isinstance(node, ast.Assign), ast.dump(node)
        assert len(node.targets) == 1 and isinstance(node.targets[0], ast.Name), ast.dump(node)
        values[node.targets[0].id] = ast.literal_eval(node.value)
    out.append(json.dumps(values))
json.dump(out, sys.stdout)
`;

function python(sources: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, ['-c', CHECK], { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`python failed: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout) as string[]);
    });
    child.stdin!.end(JSON.stringify(sources));
  });
}

/** Translates each parameter set, runs them through Python, and compares every value. */
async function roundTrip(sets: Parameters[]): Promise<void> {
  const py = findTranslator('python');
  const sources = sets.map((p) => translateParameters(p, py));
  const back = await python(sources);
  sets.forEach((params, i) => {
    const got = parseExactJson(back[i]!) as Record<string, ParamValue>;
    assert.deepEqual(Object.keys(got), Object.keys(params), `set ${i}: the names assigned are exactly the parameters`);
    for (const [name, value] of Object.entries(params)) {
      assert.deepEqual(
        normalize(got[name]),
        normalize(value),
        `set ${i}, ${name}: ${JSON.stringify(value)?.slice(0, 80)} ` +
          `came back as ${JSON.stringify(got[name])?.slice(0, 80)}\n${sources[i]!.slice(0, 300)}`,
      );
    }
  });
}

describe('Python reads injected parameters back exactly', () => {
  test('hostile strings, one parameter each', { timeout: 30_000 }, async () => {
    await roundTrip([Object.fromEntries(HOSTILE.map((s, i) => [`s${i}`, s]))]);
  });

  test('numbers: ints stay ints, floats stay floats, values exact', { timeout: 30_000 }, async () => {
    const numbers = [
      '0',
      '-0',
      '1',
      '-1',
      '1.0',
      '-0.0',
      '0.1',
      '1e300',
      '-1e-300',
      '5e-324',
      '1.7976931348623157e308',
      '9007199254740993',
      '123456789012345678901234567890',
      '-98765432109876543210',
      '1E+2',
      '2.5e-5',
      `1${'0'.repeat(5000)}`,
    ];
    const params = Object.fromEntries(numbers.map((t, i) => [`n${i}`, parseExactJson(t)]));
    await roundTrip([
      { ...params, plainNegZero: -0, plainUnsafe: 2 ** 60, plainBig: 1e21, plainFrac: 0.30000000000000004 },
    ]);
  });

  test('structures: nested lists and objects with hostile keys, null, booleans', { timeout: 30_000 }, async () => {
    await roundTrip([
      {
        obj: {
          'k"ey': [1, new JsonNumber('2.0'), { '\\': null }],
          "'); import os #": true,
          '': false,
          '😀\ud800': 'v',
        },
        deep: JSON.parse(`${'['.repeat(150)}1${']'.repeat(150)}`) as ParamValue,
        empty: [],
        emptyObj: {},
        __proto__x: 'x',
        _: 'underscore',
        café: 'é',
      },
    ]);
  });

  test('seeded fuzz: 300 sets of random strings and values', { timeout: 60_000 }, async () => {
    const rand = seeded(20240105);
    const sets = Array.from({ length: 300 }, () =>
      Object.fromEntries(Array.from({ length: 5 }, (_, j) => [`p${j}`, randomValue(rand, 3)])),
    );
    await roundTrip(sets);
  });
});
