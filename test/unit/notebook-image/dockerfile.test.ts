/**
 * The notebook image's intent, checked on paper (no Docker engine runs here): the Dockerfile is
 * parsed and every rule (dockerfile-intent.ts) is also run against a broken copy, so each check can
 * fail. The files the image copies are checked in dockerfile-files.test.ts. See
 * notebook-image/README.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from '../../helpers/dockerfile.js';
import { DOCKERFILE, intentProblems, notebooks } from './dockerfile-intent.js';

test('parser: continuations, comments inside them, exec form, flags, escape directive', () => {
  const ins = parseDockerfile(
    '# syntax=docker/dockerfile:1\nFROM --platform=linux/amd64 a:1.2 AS b\nRUN echo 1 \\\n  # a comment\n\n' +
      '  && echo 2\nCOPY --chown=1:1 ["a b", "c"]\nCMD ["sh", "-c", "x"]\nENTRYPOINT exec x\n',
  );
  assert.deepEqual(
    ins.map((i) => [i.keyword, i.line]),
    [
      ['FROM', 2],
      ['RUN', 3],
      ['COPY', 7],
      ['CMD', 8],
      ['ENTRYPOINT', 9],
    ],
  );
  assert.deepEqual(ins[0]!.flags, { platform: 'linux/amd64' });
  assert.deepEqual(ins[0]!.args, ['a:1.2', 'AS', 'b']);
  assert.equal(ins[1]!.raw, 'echo 1 && echo 2');
  assert.deepEqual(ins[2]!.json, ['a b', 'c']);
  assert.deepEqual(ins[2]!.flags, { chown: '1:1' });
  assert.deepEqual(ins[3]!.json, ['sh', '-c', 'x']);
  assert.equal(ins[4]!.json, undefined);
  const tick = parseDockerfile('# escape=`\nRUN a `\n b\n');
  assert.equal(tick[0]!.raw, 'a b');
  assert.throws(() => parseDockerfile('CMD ["a", 1]'), /array of strings/);
  assert.throws(() => parseDockerfile('CMD ["a",'), /not a JSON array/);
  assert.throws(() => parseDockerfile('RUN a \\\n'), /continues past the end/);
});

test('the notebook image meets every rule', () => {
  assert.deepEqual(intentProblems(DOCKERFILE), []);
  assert.ok(notebooks.length > 0);
});

const broken: Array<[string, (s: string) => string, RegExp]> = [
  ['FROM :latest', (s) => s.replace(/^FROM \$\{DEBIAN_IMAGE\}$/m, 'FROM debian:latest'), /not pinned/],
  ['FROM without a version', (s) => s.replace(/^FROM \$\{DEBIAN_IMAGE\}$/m, 'FROM debian:bookworm-slim'), /not pinned/],
  [
    'the base ARG without a version',
    (s) => s.replace(/^ARG DEBIAN_IMAGE=.*$/m, 'ARG DEBIAN_IMAGE=debian:bookworm-slim'),
    /"debian:bookworm-slim" is not pinned/,
  ],
  [
    'not Debian bookworm',
    (s) => s.replace(/^FROM \$\{DEBIAN_IMAGE\}$/m, 'FROM python:3.12.8-slim-bookworm'),
    /not Debian bookworm/,
  ],
  [
    'the pins not installed',
    (s) => s.replace(/\$\(awk '[^']*' [^)]*\)/, 'python3-jupyter-server python3-ipykernel'),
    /not take its packages from/,
  ],
  [
    'the pins read without their versions',
    (s) => s.replace('$2 "=" $3', '$2'),
    /package list is python3\.11 python3-jupyter-server /,
  ],
  ['recommends installed', (s) => s.replace('install -y --no-install-recommends', 'install -y'), /installs recommends/],
  [
    'no version check',
    (s) => s.replace(/ && \/usr\/bin\/python3 \/opt\/nbtrigger\/versions\.py check [^&]*/, ' '),
    /no build-time check/,
  ],
  [
    'no constraints',
    (s) => s.replace(/ && \/usr\/bin\/python3 \/opt\/nbtrigger\/versions\.py constraints .*$/m, ''),
    /no pip constraints/,
  ],
  [
    'PIP_CONSTRAINT elsewhere',
    (s) => s.replace(/^ENV PIP_CONSTRAINT=.*$/m, 'ENV PIP_CONSTRAINT=/tmp/c.txt'),
    /ENV PIP_CONSTRAINT is \/tmp\/c\.txt/,
  ],
  [
    'requirements not installed',
    (s) => s.replace(/^RUN sh \/opt\/nbtrigger\/install-requirements\.sh.*$/m, ''),
    /not installed by install-requirements\.sh/,
  ],
  [
    'a bare pip install',
    (s) => s.replace(/^USER /m, 'RUN python3 -m pip install --break-system-packages tornado==6.4\nUSER '),
    /pip install outside install-requirements\.sh/,
  ],
  [
    'versions.py not copied',
    (s) => s.replace(' notebook-image/versions.py ', ' '),
    /notebook-image\/versions\.py is not copied/,
  ],
  ['no EXPOSE', (s) => s.replace(/^EXPOSE .*$/m, ''), /EXPOSE 8080/],
  ['token in ENV', (s) => s.replace(/^USER /m, 'ENV JUPYTER_TOKEN=abc\nUSER '), /sets JUPYTER_TOKEN/],
  [
    'token literal on the CMD',
    (s) => s.replace(/^CMD .*$/m, 'CMD ["/bin/sh", "/opt/nbtrigger/start-server.sh", "--IdentityProvider.token=x"]'),
    /token literal/,
  ],
  ['a hex secret', (s) => s.replace(/^USER /m, `ENV SOMETHING=${'ab12'.repeat(10)}\nUSER `), /long hex/],
  ['shell-form CMD', (s) => s.replace(/^CMD .*$/m, 'CMD /bin/sh /opt/nbtrigger/start-server.sh'), /exec \(JSON\) form/],
  [
    'CMD without the script',
    (s) => s.replace(/^CMD .*$/m, 'CMD ["python", "-m", "jupyter_server"]'),
    /does not run the start script/,
  ],
  ['script not copied', (s) => s.replace(/ notebook-image\/start-server\.sh/, ''), /not copied into the image/],
  [
    'server kernels file not copied',
    (s) => s.replace(/ notebook-image\/jupyter_server_kernels\.py/, ''),
    /jupyter_server_kernels\.py, which the server config loads/,
  ],
  [
    'kernel pool file not copied',
    (s) => s.replace(/ notebook-image\/jupyter_kernel_pool\.py/, ''),
    /jupyter_kernel_pool\.py, which the server config loads/,
  ],
  [
    'a kernel pool part not copied',
    (s) => s.replace(/ notebook-image\/jupyter_kernel_pool_kernels\.py/, ''),
    /jupyter_kernel_pool_kernels\.py, which the server config loads/,
  ],
  [
    'the kernel pool adoption part not copied',
    (s) => s.replace(/ notebook-image\/jupyter_kernel_pool_adopt\.py/, ''),
    /jupyter_kernel_pool_adopt\.py, which the server config loads/,
  ],
  [
    'server_main.py not copied',
    (s) => s.replace(/ notebook-image\/server_main\.py/, ''),
    /server_main\.py, which the start script runs, is not copied/,
  ],
  [
    'kernel config not copied',
    (s) => s.replace(/^COPY notebook-image\/ipython_kernel_config\.py .*$/m, ''),
    /ipython_kernel_config\.py is not copied/,
  ],
  [
    'kernel config elsewhere',
    (s) => s.replace('nbtrigger_kernel_patches.py /etc/ipython/', 'nbtrigger_kernel_patches.py /opt/nbtrigger/'),
    /ipython_kernel_config\.py is not copied/,
  ],
  [
    'kernel patches not copied',
    (s) => s.replace(' notebook-image/nbtrigger_kernel_patches.py /etc/ipython/', ' /etc/ipython/'),
    /nbtrigger_kernel_patches\.py is not copied beside/,
  ],
  ['root user', (s) => s.replace(/^USER .*$/m, 'USER root'), /runs as root/],
  ['no user', (s) => s.replace(/^USER .*$/m, ''), /USER is not set/],
  [
    'notebooks not copied',
    (s) => s.replace(/^COPY --chown=1000:1000 examples\/.*$/m, ''),
    /notebook examples\/hello\.ipynb is not copied/,
  ],
  ['notebooks copied elsewhere', (s) => s.replace(/\.\/examples\/$/m, './nb/'), /is not copied/],
  [
    'root dir not the workdir',
    (s) => s.replace(/^WORKDIR \/home\/nbtrigger\/work$/m, 'WORKDIR /srv'),
    /NBTRIGGER_ROOT_DIR/,
  ],
  ['lab build', (s) => s.replace(/^USER /m, 'RUN jupyter lab build\nUSER '), /JupyterLab/],
];
for (const [name, mutate, why] of broken) {
  test(`a broken Dockerfile is caught: ${name}`, () => {
    const text = mutate(DOCKERFILE);
    assert.notEqual(text, DOCKERFILE, 'the mutation must change the file');
    assert.match(intentProblems(text).join('\n'), why);
  });
}
