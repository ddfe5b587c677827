/**
 * Runs a gcloud command line through the installed gcloud with no credentials: its own empty
 * CLOUDSDK_CONFIG, prompts off, no metadata server. gcloud parses and validates every flag first
 * and stops at the missing credentials, so a command that reaches the credentials error is one
 * gcloud itself accepts; anything else (exit 2, "unrecognized arguments", "Invalid value", a flag
 * "is required") is a command gcloud rejects.
 * @module
 */
import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PROJECT_ROOT } from '../../cli/project-root.js';
import { which } from './gcloud-emulator.js';

export interface GcloudVerdict {
  argv: string[];
  /** gcloud accepted the arguments and stopped at the missing credentials. */
  parsed: boolean;
  code: number | null;
  /** The first lines of stderr (what gcloud said). */
  said: string;
}

/** What gcloud says when it has parsed everything and needs an account. */
const NEEDS_CREDENTIALS = new RegExp(
  [
    'You do not currently have an active account selected',
    'gcloud auth login',
    'could not find default credentials',
    'Please run:\\s+\\$ gcloud auth',
  ].join('|'),
  'i',
);
/** What gcloud says when it rejects the command line. */
const REJECTED = new RegExp(
  [
    'unrecognized arguments',
    'argument [^\\n]* is required',
    'must be specified',
    'Invalid value',
    'Invalid choice',
    'expected one argument',
    'not a valid',
    'Bad syntax',
    'ambiguous option',
  ].join('|'),
  'i',
);

/** The environment of an isolated, credential-less gcloud. */
function isolatedGcloudEnv(configDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('CLOUDSDK_') || k.startsWith('GOOGLE_') || k.startsWith('GCE_')) continue;
    env[k] = v;
  }
  return {
    ...env,
    CLOUDSDK_CONFIG: configDir,
    CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
    CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: '1',
    CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: '1',
    CLOUDSDK_CORE_CHECK_GCE_METADATA: 'false',
    // Loopback only: nothing may reach a metadata server or Google.
    GCE_METADATA_HOST: '127.0.0.1:9',
    GCE_METADATA_IP: '127.0.0.1:9',
    NO_GCE_CHECK: 'True',
  };
}

function verdict(argv: string[], code: number | null, stderr: string): GcloudVerdict {
  const said = stderr.trim().split('\n').slice(0, 6).join('\n');
  return { argv, parsed: code === 1 && NEEDS_CREDENTIALS.test(stderr) && !REJECTED.test(stderr), code, said };
}

/**
 * Runs one command line through the `gcloud` command itself (argv[0] must be `gcloud`) and says
 * whether gcloud accepted it.
 */
export function gcloudVerdict(
  argv: string[],
  opts: { cwd: string; configDir: string; timeoutMs?: number },
): Promise<GcloudVerdict> {
  if (argv[0] !== 'gcloud') throw new Error(`not a gcloud command: ${JSON.stringify(argv)}`);
  return new Promise((resolve, reject) => {
    const child = spawn('gcloud', argv.slice(1), {
      cwd: opts.cwd,
      env: isolatedGcloudEnv(opts.configDir),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 64_000) stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(verdict(argv, code, stderr));
    });
  });
}

/** The SDK root and the Python the installed gcloud runs on (as bin/gcloud chooses it). */
export function gcloudInstall(): { root: string; python: string } | undefined {
  const bin = which('gcloud');
  if (!bin) return undefined;
  const root = dirname(dirname(realpathSync(bin)));
  if (!existsSync(join(root, 'lib', 'gcloud.py'))) return undefined;
  const bundled = join(root, 'platform', 'bundledpythonunix', 'bin', 'python3');
  return { root, python: process.env.CLOUDSDK_PYTHON ?? (existsSync(bundled) ? bundled : 'python3') };
}

/**
 * Runs many command lines through one loaded gcloud (test/helpers/gcloud-batch.py: the SDK's own
 * launcher and entry point, a forked child per command), in order of the input.
 */
export function gcloudVerdicts(
  list: string[][],
  opts: { cwd: string; configDir: string; timeoutMs?: number },
): Promise<GcloudVerdict[]> {
  const install = gcloudInstall();
  if (!install) throw new Error('no installed gcloud SDK (bin/gcloud with lib/gcloud.py) found');
  for (const argv of list) if (argv[0] !== 'gcloud') throw new Error(`not a gcloud command: ${JSON.stringify(argv)}`);
  return new Promise((resolve, reject) => {
    const child = spawn(install.python, [join(PROJECT_ROOT, 'test', 'helpers', 'gcloud-batch.py'), install.root], {
      cwd: opts.cwd,
      env: isolatedGcloudEnv(opts.configDir),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 64_000) stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const lines = stdout.split('\n').filter(Boolean);
      if (code !== 0 || lines.length !== list.length) {
        reject(
          new Error(
            `gcloud-batch.py exited ${code} after ${lines.length} of ${list.length} commands: ${stderr.slice(-2000)}`,
          ),
        );
        return;
      }
      resolve(
        lines.map((line, i) => {
          const r = JSON.parse(line) as { code: number; stderr: string };
          return verdict(list[i]!, r.code, r.stderr);
        }),
      );
    });
    child.stdin.end(`${list.map((argv) => JSON.stringify(argv.slice(1))).join('\n')}\n`);
  });
}
