/**
 * file:// sources as a message may read them: only below an ALLOWED_SOURCES folder, a symbolic link
 * leading out of it refused, the sha256 of the bytes as the version, a missing file NOTEBOOK_NOT_FOUND,
 * the cap enforced as the file is read.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NbtError } from '../../../../functions/errors.js';
import { parseSourceAllowlist } from '../../../../functions/security/sources.js';
import { messageSource } from '../../../../functions/sources/open-source.js';
import { parseSourceRef, type ExternalRef } from '../../../../functions/sources/source-ref.js';

describe('file:// sources of a message', () => {
  let dir: string;
  const text = '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbt-file-src-'));
    await mkdir(join(dir, 'allowed'));
    await writeFile(join(dir, 'allowed', 'nb.ipynb'), text);
    await writeFile(join(dir, 'outside.ipynb'), text);
    await symlink(join(dir, 'outside.ipynb'), join(dir, 'allowed', 'link.ipynb'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const patterns = () => parseSourceAllowlist(`file://${dir}/allowed/`);
  const open = (name: string) => messageSource(parseSourceRef(`file://${join(dir, name)}`) as ExternalRef, patterns());
  const signal = () => new AbortController().signal;
  const code = (c: string) => (e: unknown) => e instanceof NbtError && e.code === c;

  test('reads an allowed file; its version is the sha256 of its bytes', async () => {
    const r = await (await open('allowed/nb.ipynb')).read(signal(), 1 << 20);
    assert.equal(r.text, text);
    assert.equal(r.version, `sha256:${createHash('sha256').update(text).digest('hex')}`);
  });
  test('refuses a file outside the folder, by path or through a symbolic link', async () => {
    await assert.rejects(open('outside.ipynb'), code('SOURCE_NOT_ALLOWED'));
    await assert.rejects(open('allowed/link.ipynb'), code('SOURCE_NOT_ALLOWED'));
    await assert.rejects(open('allowed/../outside.ipynb'), code('SOURCE_NOT_ALLOWED'));
  });
  test('a missing file is NOTEBOOK_NOT_FOUND; a file past the cap BAD_NOTEBOOK', async () => {
    await assert.rejects((await open('allowed/none.ipynb')).read(signal(), 1 << 20), code('NOTEBOOK_NOT_FOUND'));
    await assert.rejects((await open('allowed/nb.ipynb')).read(signal(), 10), code('BAD_NOTEBOOK'));
  });
});
