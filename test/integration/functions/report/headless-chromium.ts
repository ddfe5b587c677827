/**
 * Headless Chromium (Debian's `chromium`, or NBTRIGGER_CHROMIUM) for the report page tests: run
 * with a fresh profile and bounded in time, its stdout (a dumped DOM) returned, and the skip that
 * names the package to install when the browser is missing.
 * @module
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';

const CHROMIUM = process.env.NBTRIGGER_CHROMIUM ?? '/usr/bin/chromium';

/** Skips `t` with a notice when Chromium is missing; fails instead under CI=true. */
export function skipUnlessChromium(t: TestContext): boolean {
  if (existsSync(CHROMIUM)) return false;
  const reason = `${CHROMIUM} is missing (apt-get install -y --no-install-recommends chromium)`;
  if (process.env.CI === 'true') assert.fail(`chromium required when CI=true: ${reason}`);
  console.log(`# SKIP headless Chromium checks: ${reason}`);
  t.skip(reason);
  return true;
}

/** Runs headless Chromium with a fresh profile; resolves to stdout. */
export async function chromium(args: string[], profile: string): Promise<string> {
  const base = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-dev-shm-usage',
    `--user-data-dir=${profile}`,
  ];
  return new Promise((res, rej) => {
    execFile(
      CHROMIUM,
      [...base, ...args],
      { timeout: 90_000, killSignal: 'SIGKILL', maxBuffer: 32 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) rej(new Error(`chromium failed: ${err.message}\n${stderr.slice(-2000)}`));
        else res(stdout);
      },
    );
  });
}
