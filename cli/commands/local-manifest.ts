/**
 * `nbtrigger local -f MANIFEST [--fire SCHEDULE]`: the manifest's deployment on this machine
 * (cli/local/local-stack.ts). With `--fire` one schedule's message is published now and the command
 * exits with that run's exit code; without it the stack runs until SIGINT/SIGTERM, firing the
 * schedules on their cron in their time zones, and `nbtrigger publish` reaches it.
 *
 * Spec: docs/deploy.md (The same manifest, locally).
 * @module
 */
import { stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { NbtError, toNbtError } from '../../functions/errors.js';
import { describeResult, rejectedRecord, type RunRecord } from '../../functions/run/record.js';
import { formatInZone } from '../../deploy/cron.js';
import type { Manifest } from '../../deploy/manifest.js';
import { offsetClock } from '../local/local-clock.js';
import { findJob } from '../local/local-jobs.js';
import { startLocalStack, type LocalStack } from '../local/local-stack.js';
import { loadManifest } from './manifest-file.js';
import { summary } from './progress.js';
import { exitCode } from './run-command.js';

export interface ManifestModeOptions {
  file: string;
  fire?: string;
  /** ISO time the cron's clock reads at start (then runs at real speed). */
  now?: string;
  root?: string;
  runs?: string;
  pubsubPort?: string;
  json: boolean;
  verbose: boolean;
}

/** Runs the manifest mode; resolves to the exit code. */
export async function localManifest(o: ManifestModeOptions): Promise<number> {
  const out = (event: Record<string, unknown>): void => {
    if (o.json) process.stdout.write(`${JSON.stringify(event)}\n`);
  };
  const say = (s: string): void => {
    if (!o.json) process.stderr.write(`local: ${s}\n`);
  };
  const echo = o.verbose
    ? (l: string): void => {
        process.stderr.write(`${l}\n`);
      }
    : undefined;
  let stack: LocalStack | undefined;
  const started = Date.now();
  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> => (stopping ??= stack?.stop() ?? Promise.resolve());
  let wake: (() => void) | undefined;
  const stopped = new Promise<void>((r) => {
    wake = r;
  });
  const onSignal = (): void => {
    wake?.();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const root = resolve(o.root ?? process.cwd());
    const m = localSources(await loadManifest(o.file), root);
    const runsDir = resolve(o.runs ?? join(root, 'runs'));
    await checkNotebooks(m, root);
    const clockStart = o.now === undefined ? undefined : new Date(o.now);
    if (clockStart && Number.isNaN(clockStart.getTime()))
      throw new NbtError('USAGE', `--now takes an ISO time such as 2024-01-01T06:59:58Z, got "${o.now}"`);
    const pubsubPort = o.pubsubPort === undefined ? undefined : Number(o.pubsubPort);
    if (pubsubPort !== undefined && !(Number.isInteger(pubsubPort) && pubsubPort > 0 && pubsubPort < 65536))
      throw new NbtError('USAGE', `--pubsub-port takes a port number, got "${o.pubsubPort}"`);

    if (o.fire !== undefined) {
      const nb = m.notebooks.find((n) =>
        n.schedules.some((s) => s.name === o.fire || `${m.name}_${s.name}` === o.fire),
      );
      if (!nb) {
        const known = m.notebooks.flatMap((n) => n.schedules.map((sc) => sc.name));
        throw new NbtError('USAGE', `no schedule "${o.fire}" in the manifest (known: ${known.join(', ') || 'none'})`);
      }
      stack = await startLocalStack({
        manifest: m,
        rootDir: root,
        runsDir,
        services: [nb!.service.name],
        pubsub: false,
        echo,
        say,
      });
      const job = findJob(stack.jobs, o.fire);
      say(`firing ${job.schedule} (${job.jobId}): ${job.text}`);
      const run = await Promise.race([stack.fire(job), stopped.then(() => undefined)]);
      if (run === undefined) {
        say('interrupted: stopping the stack');
        return 130;
      }
      say(`run ${run.record.status}${run.path ? `: record ${run.path}` : ''}`);
      out({
        event: 'run',
        schedule: job.schedule,
        messageId: run.messageId,
        status: run.record.status,
        path: run.path ?? null,
        record: run.record,
      });
      if (!o.json) printRecord(run.record);
      return exitCode(run.record);
    }

    stack = await startLocalStack({ manifest: m, rootDir: root, runsDir, pubsubPort, echo, say });
    const now = clockStart ? offsetClock(clockStart) : Date.now;
    const cron = stack.startClock(now, (job, run) => {
      say(`${job.schedule}: run ${run.record.status}${run.path ? ` → ${run.path}` : ''}`);
      out({
        event: 'run',
        schedule: job.schedule,
        messageId: run.messageId,
        status: run.record.status,
        path: run.path ?? null,
      });
    });
    const next = cron.next();
    for (const job of stack.jobs) {
      const at = next.get(job);
      const nextRun = at ? formatInZone(at, job.timeZone) : 'never';
      say(`schedule ${job.schedule} (${job.cron}, ${job.timeZone}): next ${nextRun}`);
    }
    if (clockStart) say(`clock starts at ${clockStart.toISOString()} (--now)`);
    say(`runs are recorded under ${runsDir}; Ctrl-C stops everything`);
    out({
      event: 'ready',
      pid: process.pid,
      runsDir,
      pubsub: stack.pubsub?.host ?? null,
      topic: m.topic,
      project: m.project,
      function: { url: stack.fn.url, pid: stack.fn.child.pid },
      services: Object.fromEntries(
        [...stack.servers].map(([name, s]) => [name, { url: `http://127.0.0.1:${s.address.port}`, pid: s.child.pid }]),
      ),
      schedules: Object.fromEntries(stack.jobs.map((j) => [j.schedule, next.get(j)?.toISOString() ?? null])),
    });
    await stopped;
    cron.stop();
    say('stopping');
    return 0;
  } catch (e) {
    const err = toNbtError(e);
    if (o.fire !== undefined && err.code !== 'USAGE' && err.code !== 'CONFIG') {
      const record = rejectedRecord(err, started, Date.now());
      out({ event: 'run', schedule: o.fire, status: record.status, path: null, record });
      if (!o.json) printRecord(record);
      return exitCode(record);
    }
    process.stderr.write(`nbtrigger local: ${err.message}\n`);
    return err.code === 'USAGE' || err.code === 'CONFIG' ? 2 : exitCode(rejectedRecord(err, started, Date.now()));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopAll();
    out({ event: 'stopped' });
  }
}

/**
 * Locally, a notebook with `source:` (Cloud Storage) runs from its file on this machine, which the
 * private Jupyter server serves from the root like a notebook of the image: no upload, no bucket.
 */
function localSources(m: Manifest, root: string): Manifest {
  const notebooks = m.notebooks.map((nb) => {
    if (nb.source === undefined) return nb;
    const file = relative(root, resolve(nb.source.file)).split(sep).join('/');
    if (file.startsWith('../') || isAbsolute(file)) {
      throw new NbtError(
        'CONFIG',
        `${m.file}: notebook ${nb.source.file} (${nb.name}) is not under ${root} (pass --root)`,
      );
    }
    const local = { ...nb, file, path: file };
    delete local.source;
    return local;
  });
  return { ...m, notebooks };
}

/** Every notebook the manifest names must be under the root (the image copies them from there). */
async function checkNotebooks(m: Manifest, root: string): Promise<void> {
  for (const nb of m.notebooks) {
    const s = await stat(join(root, nb.file)).catch(() => undefined);
    if (!s?.isFile())
      throw new NbtError(
        'CONFIG',
        `${m.file}: notebook ${nb.file} (${nb.name}) is not a file under ${root}` +
          ' (run from the repository root, or pass --root)',
      );
  }
}

function printRecord(record: RunRecord): void {
  process.stderr.write(summary(record, process.stderr.isTTY === true));
  const result = describeResult(record.lastResult);
  if (result !== undefined) process.stdout.write(`${result}\n`);
}
