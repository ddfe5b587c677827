/**
 * The `nbtrigger` command. Each subcommand is loaded only when used, so `run` never loads
 * what `local` or `deploy` needs.
 *
 * Spec: docs/architecture.md (cli: run, publish, deploy, plan, runs, local).
 * @module
 */
import { baselineWasmOnly } from '../functions/patches/wasm-baseline.js';
import type { PreStartedKernel } from '../functions/run/early-kernel.js';

export const USAGE = `usage: nbtrigger <command> [options]

commands:
  run NOTEBOOK         run a notebook (a private local Jupyter server, or --server HOST:PORT)
  local NOTEBOOK       run it through the whole local stack: Jupyter server + the Pub/Sub function
                       under functions-framework + a published message
  local -f MANIFEST    the deployment, locally: a Jupyter server per service, the function, a cron
                       (--fire SCHEDULE fires one schedule now)
  job                  run the notebook of a Cloud Run Job task (NBTRIGGER_REQUEST, CLOUD_RUN_EXECUTION)
  runs                 list past runs newest first (--json, or --html FILE for a page with charts)
  plan [-f MANIFEST]   show what deploy would change (nothing is changed)
  deploy [-f MANIFEST] create/update Cloud Run services, the topic and Scheduler jobs
  destroy [-f MANIFEST] remove what the manifest's deployment made
  publish TOPIC --message "HOST:PORT /nb.ipynb"   publish a run message (PUBSUB_EMULATOR_HOST aware)
  help                 this text

Run 'nbtrigger <command> --help' for a command's options.
`;

/** What `bin/nbtrigger.js` did before loading the CLI. */
export interface MainOptions {
  /** The kernel `bin/early-kernel.js` asked for (`run` on a loopback server); `run` takes or deletes it. */
  preStarted?: PreStartedKernel;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[], opts: MainOptions = {}): Promise<number> {
  baselineWasmOnly(); // before any command's first HTTP response (functions/patches/wasm-baseline.ts)
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return (await import('./commands/run-command.js')).runCommand(rest, undefined, opts.preStarted);
    case 'local':
      return (await import('./commands/local-command.js')).localCommand(rest);
    case 'job':
      return (await import('./commands/job-command.js')).jobCommand(rest);
    case 'runs':
      return (await import('./commands/runs-command.js')).runsCommand(rest);
    case 'plan':
    case 'deploy':
    case 'destroy':
      return (await import('./commands/deploy-command.js')).deployCommand(command, rest);
    case 'publish':
      return (await import('./commands/publish-command.js')).publishCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    case '--version':
      process.stdout.write(`nbtrigger ${(await import('./project-root.js')).packageVersion()}\n`);
      return 0;
    default:
      process.stderr.write(`nbtrigger: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}
