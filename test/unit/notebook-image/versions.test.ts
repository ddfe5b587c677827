/**
 * notebook-image/versions.txt is the one list of the image's pinned packages: it pins every
 * package of the server and kernel path to an exact Debian version, holds the data-science base,
 * and the versions the kernel and server configs' patches accept are the pinned ones. (That this
 * machine runs those versions is test/integration/notebook-image/versions.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../../cli/project-root.js';
import { parsePins, pinDifferences, type Pin } from '../../helpers/image-pins.js';

const read = (p: string): string => readFileSync(join(PROJECT_ROOT, 'notebook-image', p), 'utf8');
const PINS = parsePins(read('versions.txt'));
const byDist = (pins: readonly Pin[], d: string): Pin | undefined => pins.find((p) => p.distribution === d);

/** The server and kernel path: each must be pinned to an exact Debian version. */
const PATH = ['jupyter_server', 'jupyter_client', 'ipykernel', 'pyzmq', 'tornado', 'traitlets'];
const BASE = ['numpy', 'pandas', 'matplotlib', 'ipywidgets'];

function problems(pins: readonly Pin[]): string[] {
  const out: string[] = [];
  for (const d of PATH) {
    const p = byDist(pins, d);
    if (!p) out.push(`${d} is not pinned`);
    else if (p.role !== 'path' || !/^(?:\d+:)?\d[\w.+~]*-[\w.+~]+$/.test(p.debianVersion)) {
      out.push(`${d}: not a \`path\` pin with an exact Debian version (${p.role} ${p.debianVersion})`);
    }
  }
  for (const d of BASE) if (byDist(pins, d)?.role !== 'base') out.push(`${d} is not in the data-science base`);
  const seen = new Set<string>();
  for (const p of pins) {
    if (seen.has(p.debianPackage)) out.push(`${p.debianPackage} is pinned twice`);
    seen.add(p.debianPackage);
  }
  return out;
}

test('versions.txt pins the server and kernel path exactly and holds the data-science base', () => {
  assert.deepEqual(problems(PINS), []);
  const broken = PINS.map((p) => (p.distribution === 'tornado' ? { ...p, debianVersion: 'any' } : p));
  assert.match(problems(broken).join('\n'), /tornado: not a `path` pin with an exact Debian version/);
  assert.match(problems(PINS.filter((p) => p.distribution !== 'pyzmq')).join('\n'), /pyzmq is not pinned/);
  assert.match(
    problems(PINS.filter((p) => p.distribution !== 'pandas')).join('\n'),
    /pandas is not in the data-science base/,
  );
  assert.throws(() => parsePins('path python3-x 1.0-1 x\n'), /versions\.txt:1/);
});

test('the configs patch only the pinned ipykernel and jupyter_client', () => {
  const kernel = read('nbtrigger_kernel_patches.py');
  const tested = /^TESTED = \{"ipykernel": "([^"]+)", "jupyter_client": "([^"]+)"\}/m.exec(kernel);
  assert.ok(tested, 'nbtrigger_kernel_patches.py names the versions its patches were measured on');
  assert.equal(tested[1], byDist(PINS, 'ipykernel')?.version);
  assert.equal(tested[2], byDist(PINS, 'jupyter_client')?.version);
  const server = /_NBTRIGGER_TESTED_JUPYTER_CLIENT = "([^"]+)"/.exec(read('jupyter_server_kernels.py'));
  assert.equal(server?.[1], byDist(PINS, 'jupyter_client')?.version);
});

test('pinDifferences names every package that differs, and nothing when all agree', () => {
  const agree = {
    debian: Object.fromEntries(PINS.map((p) => [p.debianPackage, p.debianVersion === 'any' ? '9-9' : p.debianVersion])),
    python: Object.fromEntries(PINS.map((p) => [p.distribution, p.version])),
  };
  assert.deepEqual(pinDifferences(PINS, agree), []);
  const drifted = {
    debian: { ...agree.debian, 'python3-tornado': '6.2.0-3+deb12u9' },
    python: { ...agree.python, ipykernel: '6.29.5', numpy: undefined },
  };
  assert.deepEqual(pinDifferences(PINS, drifted).sort(), [
    `ipykernel: reports 6.29.5, pinned ${byDist(PINS, 'ipykernel')!.version}`,
    `numpy: reports nothing, pinned ${byDist(PINS, 'numpy')!.version}`,
    `python3-tornado: Debian version 6.2.0-3+deb12u9, pinned ${byDist(PINS, 'tornado')!.debianVersion}`,
  ]);
});
