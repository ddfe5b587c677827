/**
 * `nbtrigger plan | deploy | destroy [-f manifest]`: read the manifest, read the actual state
 * from Google Cloud (Cloud Run, Pub/Sub, Cloud Scheduler), then show (plan), apply (deploy) or
 * remove (destroy) what the manifest makes. `plan` changes nothing. Exit codes: 0 done,
 * 2 bad manifest / usage / refused (conflict, broken chain, unknown image, permission), 3 the APIs failed.
 *
 * Spec: docs/deploy.md.
 * @module
 */
import { writeFile } from 'node:fs/promises';
import { exitCodeFor, NbtError, toNbtError } from '../../functions/errors.js';
import type { DeployOptions } from '../../deploy/apply.js';
import { builtImageProblem } from '../../deploy/image.js';
import type { DeployClients } from '../../deploy/clients/index.js';
import { checkCredentials } from '../../deploy/clients/credentials.js';
import { manifestCounts, quotaFindings, renderQuotas } from '../../deploy/quotas.js';
import { parseCommandArgs, processIo, type CommandIo } from './command-args.js';
import { loadManifest } from './manifest-file.js';

export type DeployVerb = 'plan' | 'deploy' | 'destroy';

const DEPLOY_USAGE = `usage: nbtrigger plan|deploy|destroy [-f MANIFEST] [options]

  plan      show what deploy would create, update or delete (changes nothing),
            and each schedule's next three fire times in its time zone
  deploy    create or update the Cloud Run services, the topic and the Scheduler jobs;
            delete the jobs/services this deployment made that the manifest no longer names
  destroy   delete what this deployment made (jobs, services, the topic if nbtrigger made it)

options:
  -f, --file MANIFEST   the manifest (default: ./nbtrigger.yaml, else ./infra/nbtrigger.yaml)
  --check               only validate the manifest and the API rules (no API call)
  --built-image REF     plan/deploy: every service with build: runs REF, the image Cloud Build
                        pushed (REGION-docker.pkg.dev/PROJECT/nbtrigger/notebook:TAG)
  --write-allowed-servers FILE
                        deploy: write the deployment's servers (host:443 of each service, then
                        function.allowedServers) to FILE, comma-separated, for ALLOWED_SERVERS
  --iam-wait SECONDS    deploy: how long a call refused (permission denied) right after this
                        deploy granted a role is tried again while IAM takes effect
                        (default 420; 0: never)
  --live-iam            plan/deploy: read each service's invoker policy from Cloud Run (one
                        call a service), not from the Cloud Asset index (one call a page)
  --dry-run             deploy/destroy: print the plan, change nothing
  --json                print the actions as JSON on stdout

environment: Application Default Credentials; PUBSUB_EMULATOR_HOST, NBTRIGGER_RUN_ENDPOINT,
NBTRIGGER_SCHEDULER_ENDPOINT, NBTRIGGER_ASSET_ENDPOINT (HOST:PORT, plaintext),
STORAGE_EMULATOR_HOST (http://HOST:PORT) point the clients elsewhere.
`;

interface Io extends CommandIo {
  /** Test seam: the clients to use instead of building them from the environment. */
  clients?: DeployClients;
  now?: Date;
}

/** Runs one of the verbs; resolves to the exit code. */
export async function deployCommand(verb: DeployVerb, argv: string[], io: Io = processIo()): Promise<number> {
  const parsed = parseCommandArgs(
    verb,
    DEPLOY_USAGE,
    {
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        file: { type: 'string', short: 'f' },
        check: { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        json: { type: 'boolean' },
        'built-image': { type: 'string' },
        'write-allowed-servers': { type: 'string' },
        'iam-wait': { type: 'string' },
        'live-iam': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    io,
  );
  if (typeof parsed === 'number') return parsed;
  const v = parsed.values;
  let clients: DeployClients | undefined;
  try {
    const opts: DeployOptions = {};
    if (v['built-image'] !== undefined) {
      const why = verb === 'destroy' ? '--built-image is for plan and deploy' : builtImageProblem(v['built-image']);
      if (why) throw new NbtError('USAGE', why);
      opts.builtImage = v['built-image'];
    }
    if (v['iam-wait'] !== undefined) {
      const seconds = Number(v['iam-wait']);
      if (verb !== 'deploy') throw new NbtError('USAGE', '--iam-wait is for deploy');
      if (!/^\d+$/.test(v['iam-wait']) || seconds > 3600) {
        throw new NbtError('USAGE', `--iam-wait must be whole seconds from 0 to 3600, got "${v['iam-wait']}"`);
      }
      opts.iamPropagation = { windowMs: seconds * 1000 };
    }
    if (v['live-iam'] === true) {
      if (verb === 'destroy') throw new NbtError('USAGE', '--live-iam is for plan and deploy');
      opts.liveIam = true;
    }
    if (v['write-allowed-servers'] !== undefined && (verb !== 'deploy' || v['dry-run'])) {
      throw new NbtError('USAGE', '--write-allowed-servers is for deploy (it writes what was deployed)');
    }
    const manifest = await loadManifest(v.file);
    if (v.check) {
      const files = manifest.included.length > 0 ? `, ${manifest.included.length} included file(s)` : '';
      const schedules = manifest.notebooks.reduce((n, nb) => n + nb.schedules.length, 0);
      io.stdout.write(
        `${manifest.file}: valid (${manifest.notebooks.length} notebook(s), ${schedules} schedule(s)${files})\n`,
      );
      const quotas = quotaFindings(manifestCounts(manifest));
      io.stdout.write(renderQuotas(quotas));
      return quotas.some((q) => q.level === 'error') ? 2 : 0;
    }
    // Loaded only past --check: the Google client libraries take longer to load than the check takes.
    const { allowedServers, applyDestroy, deploy, partialFailure, planDestroyFor, planFor } = await import(
      '../../deploy/apply.js'
    );
    const { chainErrors, renderChains } = await import('../../deploy/chain.js');
    const { renderPlan, renderSchedules, summarize } = await import('../../deploy/render.js');
    if (!io.clients) await checkCredentials(io.env);
    clients =
      io.clients ?? (await import('../../deploy/clients/index.js')).createDeployClients(manifest.project, io.env);
    const json = v.json === true;
    const out = (actions: import('../../deploy/plan.js').Action[]): void => {
      if (json) {
        const shown = actions.map(({ job, service, ...rest }) => ({
          ...rest,
          ...(job?.request ? { request: job.request } : {}),
        }));
        io.stdout.write(`${JSON.stringify(shown)}\n`);
      } else io.stdout.write(renderPlan(actions));
    };
    const dry = verb === 'plan' || v['dry-run'] === true;
    if (verb === 'destroy') {
      if (dry) out(await planDestroyFor(clients, manifest));
      else out(await applyDestroy(clients, manifest, (l) => io.stderr.write(`${l}\n`)));
      return 0;
    }
    if (dry) {
      const { actions, actual, chains, quotas } = await planFor(clients, manifest, opts);
      for (const n of actual.notes ?? []) io.stderr.write(`note: ${n}\n`);
      if (json)
        io.stdout.write(
          `${JSON.stringify({ actions: actions.map(({ job, service, ...rest }) => rest), chains, quotas })}\n`,
        );
      else
        io.stdout.write(
          renderPlan(actions) +
            renderChains(chains) +
            renderQuotas(quotas) +
            renderSchedules(manifest, io.now ?? new Date()),
        );
      return summarize(actions).conflict > 0 ||
        chainErrors(chains).length > 0 ||
        quotas.some((q) => q.level === 'error')
        ? 2
        : 0;
    }
    const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
    // On a terminal one line counts the changes (a deploy of 1,000 notebooks makes thousands);
    // elsewhere (a build log) each change is a line of its own. Failures and quota notes are always lines.
    const line = (l: string): void => {
      if (!tty) io.stderr.write(`${l}\n`);
      else if (!/^(create|update|delete) /.test(l)) io.stderr.write(`\r\x1b[2K${l}\n`);
    };
    if (tty)
      opts.progress = (finished, total, failed) =>
        io.stderr.write(`\r\x1b[2Kdeploy: ${finished}/${total} changes${failed > 0 ? `, ${failed} failed` : ''}`);
    const done = await deploy(clients, manifest, line, opts);
    if (tty) io.stderr.write('\r\x1b[2K');
    out(done.actions);
    if (done.failures.length > 0) {
      const err = partialFailure(done);
      io.stderr.write(`nbtrigger deploy: ${err.message}\n`);
      return exitCodeFor(err.kind);
    }
    const file = v['write-allowed-servers'];
    if (file !== undefined) {
      await writeFile(file, allowedServers(manifest, done.urls).join(','));
      io.stderr.write(`wrote the deployment's servers to ${file}\n`);
    }
    return 0;
  } catch (e) {
    const err = toNbtError(e);
    io.stderr.write(`nbtrigger ${verb}: ${err.message}\n`);
    return exitCodeFor(err.kind);
  } finally {
    if (clients && !io.clients) await (await import('../../deploy/clients/index.js')).closeDeployClients(clients);
  }
}
