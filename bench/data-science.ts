/**
 * Kernel start with the notebook image's data-science base (numpy, pandas, matplotlib,
 * ipywidgets: notebook-image/versions.txt) beside the bare kernel's, in the same rounds. Each round
 * measures, in a rotating order, with the bare client of physical-limit.ts (POST /api/kernels
 * until the kernel_info_reply):
 * - `kernel start bare`: the image's python3 kernel;
 * - `kernel start data-science base`: a kernel that imports the base as it starts (a kernelspec
 *   with IPKernelApp.exec_lines, run before it answers kernel_info), what a kernel pool would hold;
 * - `kernel start bare + first cell importing the base`: the bare kernel, then a first cell
 *   `import numpy, pandas, matplotlib.pyplot, ipywidgets` until its reply: what a notebook's run pays
 *   without a pool.
 * The ratios to the bare start are printed by reportDataScience. When the base is not importable
 * by the server's Python, the case is left out and the bench says why.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchCase } from './rounds.js';
import { measurePhysical, type BareServer } from './physical-limit.js';
import { fmtRatio, type Samples } from './stats.js';

/** The base's modules as a notebook's first cell imports them. */
const BASE_IMPORT = 'import numpy, pandas, matplotlib.pyplot, ipywidgets';
/** The kernelspec that imports the base as it starts (in the bench's own JUPYTER_PATH folder). */
const DATA_SCIENCE_KERNEL = 'nbtrigger-bench-data-science';

const BARE = 'kernel start bare';
const BASE = 'kernel start data-science base';
const FIRST = 'kernel start bare + first cell importing the base';

/** Why the case cannot run with `python` (undefined: it can). */
export function dataScienceUnavailable(python: string): string | undefined {
  const r = spawnSync(python, ['-c', BASE_IMPORT], { encoding: 'utf8', timeout: 60_000 });
  if (r.status === 0) return undefined;
  const last = (r.stderr || r.error?.message || '').trim().split('\n').at(-1);
  return (
    `${python} cannot ${BASE_IMPORT} (${last}); on Debian: apt-get install --no-install-recommends ` +
    'python3-numpy python3-pandas python3-matplotlib python3-ipywidgets'
  );
}

/** Writes the data-science kernelspec under `jupyterPath`/kernels (put `jupyterPath` on the server's JUPYTER_PATH). */
export async function writeDataScienceKernelspec(jupyterPath: string, python: string): Promise<void> {
  const dir = join(jupyterPath, 'kernels', DATA_SCIENCE_KERNEL);
  await mkdir(dir, { recursive: true });
  const spec = {
    argv: [python, '-m', 'ipykernel_launcher', '-f', '{connection_file}', `--IPKernelApp.exec_lines=${BASE_IMPORT}`],
    display_name: 'Python 3 (data-science base imported)',
    language: 'python',
  };
  await writeFile(join(dir, 'kernel.json'), JSON.stringify(spec, null, 1));
}

/** The three kernel starts, one case, their order rotated on every call. */
export function dataScienceCase(server: BareServer): BenchCase {
  let call = 0;
  const steps: Array<() => Promise<Record<string, number>>> = [
    async () => pick(await measurePhysical(server, ['1'], 'bare'), 'physical kernel start (bare)', BARE),
    async () =>
      pick(
        await measurePhysical(server, ['1'], 'base', undefined, '', DATA_SCIENCE_KERNEL),
        'physical kernel start (base)',
        BASE,
      ),
    async () => {
      const m = await measurePhysical(server, [BASE_IMPORT], 'first cell');
      return { [FIRST]: m['physical kernel start (first cell)']! + m['physical cells pipelined wall (first cell)']! };
    },
  ];
  return {
    name: 'kernel start: bare and with the data-science base',
    run: async () => {
      const shift = call++ % steps.length;
      const out: Record<string, number> = {};
      for (const step of [...steps.slice(shift), ...steps.slice(0, shift)]) Object.assign(out, await step());
      return out;
    },
  };
}

function pick(m: Record<string, number>, from: string, to: string): Record<string, number> {
  const v = m[from];
  if (v === undefined) throw new Error(`no ${from} measured`);
  return { [to]: v };
}

/** `ratio …` lines of the case (nothing when it did not run). */
export function reportDataScience(s: Samples): string[] {
  if (s.values(BARE).length === 0) return [];
  const m = (name: string): number => s.median(name);
  return [`ratio ${BASE}/bare: ${fmtRatio(m(BASE), m(BARE))}`, `ratio ${FIRST}/bare: ${fmtRatio(m(FIRST), m(BARE))}`];
}
