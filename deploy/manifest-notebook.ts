/**
 * One notebook entry of a manifest (`notebooks[i]`) and its schedules: the notebook file and its
 * server path, its service, its `source:` and `execution:`, then each schedule's cron, time zone,
 * parameters, output, kernel, timeouts and concurrency, every field checked with a message naming
 * it. Read for the manifest and for each file it includes (deploy/manifest.ts). Pure: no I/O.
 *
 * Spec: docs/deploy.md; example: infra/nbtrigger.yaml.
 * @module
 */
import { normalizeNotebookPath, type JsonValue } from '../functions/request/grammar.js';
import { cronProblem, timeZoneProblem } from './cron.js';
import { durationSeconds, type FieldReader, join, typeName } from './fields.js';
import type { Concurrency, NotebookSpec, ScheduleSpec } from './manifest.js';
import { readNotebookJob, runTimeoutProblem, type Execution } from './manifest-job.js';
import { readService } from './manifest-service.js';
import { readSource, SOURCE_FILE, sourceServerPath } from './notebook-source.js';

/** A deployment, notebook or schedule name: lowercase letters, digits and hyphens, starting with a letter. */
export const NAME = /^[a-z](?:[a-z0-9-]{0,28}[a-z0-9])?$/;
const RELATIVE_FILE = /^(?!\/)(?!.*(?:^|\/)\.\.(?:\/|$))[^\0\\]+$/;
const CONCURRENCY: readonly Concurrency[] = ['skip', 'queue', 'allow'];

const NOTEBOOK_KEYS = ['name', 'file', 'files', 'path', 'service', 'schedules', 'source', 'execution', 'job'] as const;
const SCHEDULE_KEYS = [
  'name',
  'cron',
  'timeZone',
  'description',
  'parameters',
  'output',
  'kernel',
  'timeouts',
  'concurrency',
] as const;

/** Reads `notebooks[i]` at `path`: undefined (with its problems in `r`) when any field is wrong. */
export function readNotebook(
  v: unknown,
  path: string,
  r: FieldReader,
  at: { deployment: string; project: string | undefined; manifestFile: string },
): NotebookSpec | undefined {
  const o = r.mapping(v, path, NOTEBOOK_KEYS);
  if (!o) return undefined;
  const name = r.string(o.name, join(path, 'name'), {
    pattern: NAME,
    expect: 'a notebook name: lowercase letters, digits and hyphens, starting with a letter',
  });
  const file = r.string(
    o.file,
    join(path, 'file'),
    o.source === undefined
      ? { pattern: /^(?!\/)(?!.*(?:^|\/)\.\.(?:\/|$)).+\.ipynb$/, expect: 'a relative path to an .ipynb file' }
      : SOURCE_FILE,
  );
  const files =
    o.files === undefined
      ? []
      : (r.list(o.files, join(path, 'files')) ?? []).map(
          (f, i) =>
            r.string(f, join(join(path, 'files'), i), {
              pattern: RELATIVE_FILE,
              expect: 'a relative path inside the repository',
            }) ?? '',
        );
  let nbPath: string | undefined;
  const pathText =
    o.path === undefined
      ? o.source === undefined
        ? file
        : sourceServerPath(file)
      : r.string(o.path, join(path, 'path'));
  if (pathText !== undefined) {
    try {
      nbPath = normalizeNotebookPath(pathText, join(path, 'path'));
    } catch (e) {
      r.problem(join(path, 'path'), (e as Error).message);
    }
  }
  const service = readService(o.service ?? {}, join(path, 'service'), r, {
    name: at.deployment,
    notebook: name ?? 'x',
  });
  const source = readSource(o.source, join(path, 'source'), r, {
    project: at.project,
    manifestFile: at.manifestFile,
    file,
    notebook: name,
  });
  const mode = readNotebookJob(o, path, r, at.deployment, service?.name);
  const schedules =
    o.schedules === undefined
      ? []
      : (r.list(o.schedules, join(path, 'schedules')) ?? []).map((s, i) =>
          readSchedule(s, join(join(path, 'schedules'), i), r, mode.execution ?? 'service'),
        );
  const job = mode.job?.(schedules.map((s) => s?.timeouts?.runSeconds));
  if (!name || !file || !nbPath || !service || !mode.execution || schedules.some((s) => s === undefined))
    return undefined;
  if ((o.source !== undefined && !source) || (mode.execution === 'job' && !job)) return undefined;
  const out: NotebookSpec = {
    name,
    file,
    files,
    path: nbPath,
    service,
    schedules: schedules as ScheduleSpec[],
    execution: mode.execution,
  };
  if (source) out.source = source;
  if (job) out.job = job;
  return out;
}

function readSchedule(v: unknown, path: string, r: FieldReader, execution: Execution): ScheduleSpec | undefined {
  const o = r.mapping(v, path, SCHEDULE_KEYS);
  if (!o) return undefined;
  const name = r.string(o.name, join(path, 'name'), {
    pattern: NAME,
    expect: 'a schedule name: lowercase letters, digits and hyphens, starting with a letter',
  });
  let cron = r.string(o.cron, join(path, 'cron'), { expect: 'a 5-field unix-cron expression such as "0 6 * * 1-5"' });
  const cronWhy = cron === undefined ? undefined : cronProblem(cron);
  if (cronWhy) cron = r.problem(join(path, 'cron'), cronWhy);
  let timeZone = r.string(o.timeZone ?? 'UTC', join(path, 'timeZone'), {
    expect: 'an IANA time zone name such as "Europe/Paris"',
  });
  const tzWhy = timeZone === undefined ? undefined : timeZoneProblem(timeZone);
  if (tzWhy) timeZone = r.problem(join(path, 'timeZone'), tzWhy);
  const description = r.string(o.description, join(path, 'description'), { optional: true });
  const output = r.string(o.output, join(path, 'output'), {
    optional: true,
    expect: 'an output location (a path or gs://bucket/prefix)',
  });
  const kernelName = r.string(o.kernel, join(path, 'kernel'), { optional: true, expect: 'a kernelspec name' });
  const concurrency =
    o.concurrency === undefined ? 'skip' : r.oneOf(o.concurrency, join(path, 'concurrency'), CONCURRENCY);
  let parameters: Record<string, JsonValue> | undefined;
  if (o.parameters !== undefined) {
    const p = r.mapping(o.parameters, join(path, 'parameters'), Object.keys((o.parameters ?? {}) as object));
    if (p) {
      for (const [k, val] of Object.entries(p)) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
          r.problem(
            join(join(path, 'parameters'), k),
            `expected a Python identifier as the parameter name, got "${k}"`,
          );
        if (!isJson(val))
          r.problem(
            join(join(path, 'parameters'), k),
            `expected a JSON value (string, number, boolean, null, list, mapping), got ${typeName(val)}`,
          );
      }
      parameters = p as Record<string, JsonValue>;
    }
  }
  let timeouts: ScheduleSpec['timeouts'];
  if (o.timeouts !== undefined) {
    const t = r.mapping(o.timeouts, join(path, 'timeouts'), ['start', 'cell', 'run']);
    if (t) {
      timeouts = {};
      for (const [k, key] of [
        ['start', 'startSeconds'],
        ['cell', 'cellSeconds'],
        ['run', 'runSeconds'],
      ] as const) {
        if (t[k] === undefined) continue;
        const s = durationSeconds(t[k]);
        if (s === undefined || s < 1 || s > 604800)
          r.problem(
            join(join(path, 'timeouts'), k),
            `expected a duration from 1 second to 7 days (e.g. 300, "90s", "15m", "2h"), got ${typeName(t[k])}`,
          );
        else timeouts[key] = s;
        const ceiling = k === 'run' && s !== undefined ? runTimeoutProblem(s, execution) : undefined;
        if (ceiling) r.problem(join(join(path, 'timeouts'), k), ceiling);
      }
    }
  }
  if (!name || !cron || !timeZone || !concurrency) return undefined;
  const out: ScheduleSpec = { name, cron: cron.trim().split(/\s+/).join(' '), timeZone, concurrency };
  if (description !== undefined) out.description = description;
  if (parameters !== undefined) out.parameters = parameters;
  if (output !== undefined) out.output = output;
  if (kernelName !== undefined) out.kernelName = kernelName;
  if (timeouts !== undefined && Object.keys(timeouts).length > 0) out.timeouts = timeouts;
  return out;
}

function isJson(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(isJson);
  if (typeof v === 'object')
    return Object.getPrototypeOf(v) === Object.prototype && Object.values(v as object).every(isJson);
  return false;
}
