/**
 * The whole deployment of a manifest on one machine: a local Jupyter server per Cloud Run
 * service (root = the repository, so notebook paths match the image), the runNotebook function
 * under functions-framework (ALLOWED_SERVERS = those servers), a Pub/Sub front that
 * `nbtrigger publish` reaches (PUBSUB_EMULATOR_HOST), and an in-process cron that fires each
 * schedule's Scheduler message as a Pub/Sub CloudEvent. Each run's final record is written to
 * the local runs folder (functions/store/runs-local.ts). `stop()` ends every child process.
 *
 * Spec: docs/deploy.md (The same manifest, locally).
 * @module
 */
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { NbtError, toNbtError } from '../../functions/errors.js';
import { parseJobMessage } from '../../functions/jobs/job-message.js';
import { parseMessage } from '../../functions/request/grammar.js';
import { rejectedRecord, type RunRecord } from '../../functions/run/record.js';
import { LocalRunStore } from '../../functions/store/runs-local.js';
import type { StoredRun } from '../../functions/store/runs-store.js';
import { ATTR_SCHEDULE } from '../../deploy/desired.js';
import type { Manifest } from '../../deploy/manifest.js';
import { PROJECT_ROOT } from '../project-root.js';
import { startFunctionServer, type FunctionServer } from './function-server.js';
import { freePort, startLocalJupyter, type LocalJupyter } from './jupyter-server.js';
import { startCron, type LocalCron } from './local-clock.js';
import { localJobs, type LocalJob } from './local-jobs.js';
import { newMessageId, startLocalPubsub, type LocalPubsub } from './local-pubsub.js';
import { deliver } from './publish.js';

export interface LocalStackOptions {
  manifest: Manifest;
  /** The repository root: each Jupyter server's root, so `file` paths match. */
  rootDir: string;
  /** Absolute folder for run records (and gs:// outputs mapped locally). */
  runsDir: string;
  /** Only these Cloud Run services (default: all). */
  services?: string[];
  /** Start the Pub/Sub front (default true); its port (default: a free one). */
  pubsub?: boolean;
  pubsubPort?: number;
  echo?: (line: string) => void;
  say?: (line: string) => void;
}

/** A finished run: its record and where it was written. */
export interface LocalRun {
  record: RunRecord;
  messageId: string;
  path?: string;
}

export interface LocalStack {
  jobs: LocalJob[];
  servers: Map<string, LocalJupyter>;
  fn: FunctionServer;
  pubsub?: LocalPubsub;
  runsDir: string;
  /** Publishes a job's message now; resolves when its run is recorded. */
  fire(job: LocalJob): Promise<LocalRun>;
  /** Starts the cron; `onRun` hears every finished run. */
  startClock(now: () => number, onRun: (job: LocalJob, run: LocalRun) => void): LocalCron;
  /** Resolves when every run started so far has been recorded. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the stack; on failure everything already started is stopped. */
export async function startLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
  const m = opts.manifest;
  const say = opts.say ?? (() => {});
  const wanted = m.notebooks.filter((nb) => !opts.services || opts.services.includes(nb.service.name));
  const token = randomBytes(24).toString('hex');
  const servers = new Map<string, LocalJupyter>();
  let fn: FunctionServer | undefined;
  let pubsub: LocalPubsub | undefined;
  const pending = new Set<Promise<unknown>>();
  const store = new LocalRunStore({ root: opts.runsDir });
  // Runs still going are cut short (their records say so); callers wanting them wait on idle() first.
  const stop = async (): Promise<void> => {
    await Promise.allSettled([pubsub?.stop(), fn?.stop(), ...[...servers.values()].map((s) => s.stop())]);
  };
  try {
    const ports = await Promise.all(wanted.map(() => freePort()));
    const allowed = ports.map((p) => `127.0.0.1:${p}`).join(',');
    const started = await Promise.allSettled([
      ...wanted.map((nb, i) =>
        startLocalJupyter({ rootDir: opts.rootDir, port: ports[i]!, token }).then((s) => {
          servers.set(nb.service.name, s);
        }),
      ),
      startFunctionServer({
        env: {
          ...process.env,
          JUPYTER_TOKEN: token,
          ALLOWED_SERVERS: allowed,
          NBTRIGGER_ID_TOKEN: 'off',
          NBTRIGGER_STORE: 'local',
          NBTRIGGER_RUNS_DIR: opts.runsDir,
          ...localJobEnv(m, opts.rootDir),
        },
        echo: opts.echo,
        maxLines: 1000,
      }).then((f) => {
        fn = f;
      }),
    ]);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    for (const nb of wanted) {
      const port = servers.get(nb.service.name)!.address.port;
      say(`service ${nb.service.name}: Jupyter server on http://127.0.0.1:${port} (root ${opts.rootDir})`);
    }
    say(`function ${m.function.name} on ${fn!.url}/ (functions-framework; ALLOWED_SERVERS=${allowed})`);
    const urls = new Map([...servers].map(([name, s]) => [name, `http://127.0.0.1:${s.address.port}`]));
    const jobs = localJobs({ ...m, notebooks: wanted }, urls);

    const record = async (text: string, attributes: Record<string, string>, messageId: string): Promise<LocalRun> => {
      const started = Date.now();
      let rec: RunRecord;
      try {
        const d = await deliver(`${fn!.url}/`, text, { topic: m.topic, project: m.project, attributes, messageId });
        // The function logged the record before it answered: this bounds only reading its stdout pipe (a hang bound).
        rec = await fn!.waitForRecord(d.messageId, 60_000);
        // Job mode: the function started `nbtrigger job` as a child; its record is the run's.
        if (rec.status === 'dispatched' && rec.execution) rec = await jobRecord(fn!, rec.execution, text);
      } catch (e) {
        rec = { ...rejectedRecord(toNbtError(e), started, Date.now()), messageId };
      }
      // The function keeps its own local run store (NBTRIGGER_RUNS_DIR = runsDir): a record it logs
      // with a runId is already on disk. Only a run it never recorded is written here.
      const logged = rec as Partial<StoredRun>;
      if (typeof logged.runId === 'string') {
        const path = store.pathFor({ notebook: rec.notebook, startedAt: rec.startedAt, runId: logged.runId });
        if (await exists(path)) return { record: rec, messageId, path };
      }
      const run: StoredRun = { ...rec, runId: typeof logged.runId === 'string' ? logged.runId : messageId };
      const schedule = attributes[ATTR_SCHEDULE];
      if (schedule !== undefined && run.schedule === undefined) run.schedule = schedule;
      try {
        const params = parseMessage(text).parameters;
        if (params !== undefined && run.parameters === undefined) run.parameters = params;
      } catch {
        /* a message the function rejected: its record says why */
      }
      try {
        const ref = await store.save(run);
        return { record: rec, messageId, path: ref.location };
      } catch (e) {
        say(`could not write the record of ${messageId}: ${(e as Error).message}`);
        return { record: rec, messageId };
      }
    };
    const track = <T>(p: Promise<T>): Promise<T> => {
      pending.add(p);
      void p.finally(() => pending.delete(p)).catch(() => {});
      return p;
    };

    if (opts.pubsub !== false) {
      const topicName = `projects/${m.project}/topics/${m.topic}`;
      pubsub = await startLocalPubsub(
        topicName,
        (msg, id) => {
          void track(record(msg.data.toString('utf8'), msg.attributes, id)).then((r) =>
            say(`published message ${id}: run ${r.record.status}${r.path ? ` → ${r.path}` : ''}`),
          );
        },
        opts.pubsubPort,
      );
      const publish = `nbtrigger publish ${m.topic} --project ${m.project} --message "…"`;
      say(`Pub/Sub topic ${topicName}: PUBSUB_EMULATOR_HOST=${pubsub.host} ${publish}`);
    }
    return {
      jobs,
      servers,
      fn: fn!,
      pubsub,
      runsDir: opts.runsDir,
      fire: (job) => track(record(job.text, job.attributes, newMessageId())),
      startClock(now, onRun) {
        return startCron(
          jobs,
          (job) => {
            void track(record(job.text, job.attributes, newMessageId())).then((r) => onRun(job, r));
          },
          now,
        );
      },
      async idle() {
        while (pending.size > 0) await Promise.allSettled([...pending]);
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e instanceof NbtError ? e : toNbtError(e);
  }
}

/**
 * The local function's job mode: jobs run as `nbtrigger job` child processes (functions/jobs/local-launcher.ts)
 * on notebooks below the stack's root; the manifest's job-mode notebooks are the allowed jobs.
 */
function localJobEnv(m: Manifest, rootDir: string): Record<string, string> {
  const jobs = m.notebooks
    .filter((nb) => nb.execution === 'job')
    .map((nb) => `projects/${m.project}/locations/${m.region}/jobs/${nb.service.name}`);
  const allowed = [process.env.ALLOWED_JOBS, ...jobs].filter((x) => x !== undefined && x.trim() !== '').join(',');
  return {
    NBTRIGGER_LOCAL_JOB_BIN: join(PROJECT_ROOT, 'bin', 'nbtrigger.js'),
    NBTRIGGER_NOTEBOOK_ROOT: rootDir,
    ...(allowed ? { ALLOWED_JOBS: allowed } : {}),
  };
}

/** The record of a local job execution, once its child exits (bounded by the run's own deadline, else a day). */
async function jobRecord(fn: FunctionServer, execution: string, text: string): Promise<RunRecord> {
  let runSeconds = 24 * 3600;
  try {
    runSeconds = parseJobMessage(text).request.timeouts.runSeconds ?? runSeconds;
  } catch {
    /* the function validated it */
  }
  const line = await fn.waitForLine(
    (l) => l.execution === execution && l.jobExit !== undefined,
    (runSeconds + 120) * 1000,
  );
  const rec = line.jobRecord as RunRecord | undefined;
  if (!rec)
    throw new NbtError('INTERNAL', `job execution ${execution} ended (exit ${String(line.jobExit)}) without a record`);
  return rec;
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() === true;
}
