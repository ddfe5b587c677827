/**
 * The deployment manifest: YAML text → a validated, typed {@link Manifest} with every default
 * filled in. Problems are reported together, each as `FILE:LINE:COL: field.path: what was expected`.
 * Pure: parses text it is given (the CLI reads the file). This module reads the top level
 * (deployment, project, function, topic, include) and checks names across notebooks; each notebook
 * entry and its schedules are read in deploy/manifest-notebook.ts.
 *
 * Spec: docs/deploy.md; example: infra/nbtrigger.yaml.
 * @module
 */
import type { JsonValue } from '../functions/request/grammar.js';
import { FieldReader, join, typeName } from './fields.js';
import { includedProblems, readIncludes, type IncludedFile, type ManifestSource } from './manifest-include.js';
import { NAME, readNotebook } from './manifest-notebook.js';
import { locate, manifestError, parseYamlFile, type LocatedProblem } from './manifest-yaml.js';
import type { NotebookSource } from './notebook-source.js';
import type { Execution, JobConfig } from './manifest-job.js';
import type { ServiceConfig } from './manifest-service.js';
import { deliveryAttemptsViolation, RULES } from './rules.js';
import { parseAllowlist } from '../functions/security/allowlist.js';

export type { Billing, ServiceConfig } from './manifest-service.js';
export type { ManifestSource } from './manifest-include.js';
export type { NotebookSource } from './notebook-source.js';
export type { Execution, JobConfig } from './manifest-job.js';

/** What the function does when a schedule fires while its previous run is still going. */
export type Concurrency = 'skip' | 'queue' | 'allow';

/** A validated deployment manifest, defaults filled in. */
export interface Manifest {
  /** The file it was read from (for messages). */
  file: string;
  /** Deployment name: marks every resource nbtrigger makes for this manifest (labels, attributes). */
  name: string;
  project: string;
  region: string;
  function: {
    name: string;
    serviceAccount: string;
    /** Delivery attempts before the trigger subscription dead-letters a message (5 to 100). */
    maxDeliveryAttempts: number;
    /** Servers the function may call besides this deployment's services (`host[:port]` patterns). */
    allowedServers: string[];
  };
  /** Pub/Sub topic id (not the full name) the function is triggered by. */
  topic: string;
  /** Secret Manager secret holding the Jupyter token (mounted as JUPYTER_TOKEN on the service). */
  tokenSecret: string;
  /** The manifest's own notebooks, then those of the files it includes, in include order. */
  notebooks: NotebookSpec[];
  /** The files `include:` pulled in, in the order read. */
  included: string[];
}

export interface NotebookSpec {
  name: string;
  /**
   * The notebook file: in the repository (copied into the image), or with `source`, relative to the
   * manifest naming it.
   */
  file: string;
  /** Extra files copied along. */
  files: string[];
  /** The notebook's path on the Jupyter server (contents API form, no leading slash). */
  path: string;
  /** The image and settings of its Cloud Run service; in job mode, its image and the job's name. */
  service: ServiceConfig;
  schedules: ScheduleSpec[];
  /** Set when the notebook is uploaded to Cloud Storage and read from there (not from the image). */
  source?: NotebookSource;
  /** `service` (the default): run on its Cloud Run service; `job`: run as a Cloud Run Job execution. */
  execution: Execution;
  /** The Cloud Run Job settings of a job-mode notebook. */
  job?: JobConfig;
}

export interface ScheduleSpec {
  name: string;
  /** 5-field unix-cron. */
  cron: string;
  /** IANA time zone. */
  timeZone: string;
  description?: string;
  parameters?: Record<string, JsonValue>;
  output?: string;
  kernelName?: string;
  timeouts?: { startSeconds?: number; cellSeconds?: number; runSeconds?: number };
  concurrency: Concurrency;
}

const PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
const REGION = /^[a-z]+-[a-z]+[0-9]+$/;
const SERVICE_ACCOUNT = /^[a-z0-9][a-z0-9-]*@[a-z0-9.-]+\.gserviceaccount\.com$/;
const TOPIC = /^(?!goog)[A-Za-z][A-Za-z0-9._~+%-]{2,254}$/;
const SECRET = /^[A-Za-z0-9_-]{1,255}$/;

const TOP_KEYS = ['name', 'project', 'region', 'function', 'topic', 'tokenSecret', 'notebooks', 'include'] as const;

/**
 * Parses and validates manifest text, with the files it includes (read through `source`).
 * Throws one `CONFIG` NbtError listing every problem (`details.problems` holds them as
 * `{path, message, file?, line?, column?}`; `file` names an included file).
 */
export function parseManifest(text: string, file: string, source?: ManifestSource): Manifest {
  const root = parseYamlFile(text, file);
  const r = new FieldReader();
  const inc = { files: [] as IncludedFile[], problems: [] as LocatedProblem[] };
  const manifest = readManifest(root.value, file, r, source, inc);
  const problems = [...r.problems.map((p) => locate(p, root)), ...inc.problems, ...includedProblems(inc.files)];
  if (problems.length > 0 || manifest === undefined) throw manifestError(file, problems);
  return manifest;
}

function readManifest(
  v: unknown,
  file: string,
  r: FieldReader,
  source: ManifestSource | undefined,
  inc: { files: IncludedFile[]; problems: LocatedProblem[] },
): Manifest | undefined {
  const o = r.mapping(v, '', TOP_KEYS);
  if (!o) return undefined;
  const name = r.string(o.name, 'name', {
    pattern: NAME,
    expect: 'a deployment name: lowercase letters, digits and hyphens, starting with a letter, at most 30 characters',
  });
  const project = r.string(o.project, 'project', {
    pattern: PROJECT,
    expect: 'a Google Cloud project id (6-30 lowercase letters, digits, hyphens)',
  });
  const region = r.string(o.region, 'region', {
    pattern: REGION,
    expect: 'a Google Cloud region such as "europe-west1"',
  });
  const fn =
    o.function === undefined
      ? {}
      : (r.mapping(o.function, 'function', ['name', 'serviceAccount', 'maxDeliveryAttempts', 'allowedServers']) ?? {});
  const fnName = r.string(fn.name ?? 'runNotebook', 'function.name', {
    pattern: /^[A-Za-z][A-Za-z0-9_-]{0,62}$/,
    expect: 'a Cloud Functions name',
  });
  const fnAccount = r.string(
    fn.serviceAccount ?? `nbtrigger-function@${project ?? 'PROJECT'}.iam.gserviceaccount.com`,
    'function.serviceAccount',
    { pattern: SERVICE_ACCOUNT, expect: 'a service account e-mail (NAME@PROJECT.iam.gserviceaccount.com)' },
  );
  const maxDeliveryAttempts = readDeliveryAttempts(fn.maxDeliveryAttempts, r);
  const allowedServers = readAllowedServers(fn.allowedServers, r);
  const topic = r.string(o.topic ?? 't_nbtrigger', 'topic', {
    pattern: TOPIC,
    expect: 'a Pub/Sub topic id (3-255 characters, starting with a letter, not "goog")',
  });
  const tokenSecret = r.string(o.tokenSecret ?? 'nbtrigger-jupyter-token', 'tokenSecret', {
    pattern: SECRET,
    expect: 'a Secret Manager secret id',
  });
  // With include:, the notebooks may all live in the included files.
  const list =
    o.notebooks === undefined && o.include !== undefined
      ? []
      : (r.list(o.notebooks, 'notebooks', { min: o.include === undefined ? 1 : 0 }) ?? []);
  if (o.include !== undefined) readIncludes(o.include, file, r, source, inc);
  // Every notebook with the file it is written in, so a name clash across files names both.
  const all = [
    ...list.map((raw, i) => ({ raw, path: join('notebooks', i), reader: r, where: '', file })),
    ...inc.files.flatMap((f) =>
      f.notebooks.map((raw, i) => ({
        raw,
        path: join('notebooks', i),
        reader: f.reader,
        where: `${f.yaml.file}: `,
        file: f.yaml.file,
      })),
    ),
  ];
  if (o.include !== undefined && all.length === 0 && r.problems.length === 0)
    r.problem('include', 'expected at least 1 notebook in the manifest or the files it includes, got none');
  const notebooks = all.map((n) =>
    readNotebook(n.raw, n.path, n.reader, { deployment: name ?? 'x', project, manifestFile: n.file }),
  );
  const unique = (
    what: string,
    entries: Array<{ value: string | undefined; path: string; reader: FieldReader; where: string }>,
  ): void => {
    const seen = new Map<string, string>();
    for (const e of entries) {
      if (e.value === undefined) continue;
      const first = seen.get(e.value);
      if (first !== undefined)
        e.reader.problem(e.path, `${what} "${e.value}" is already used at ${first}; expected a unique name`);
      else seen.set(e.value, `${e.where}${e.path}`);
    }
  };
  unique(
    'notebook name',
    all.map((n, i) => ({ ...n, value: notebooks[i]?.name, path: join(n.path, 'name') })),
  );
  unique(
    'Cloud Run service name',
    all.map((n, i) => ({ ...n, value: notebooks[i]?.service.name, path: join(n.path, 'service.name') })),
  );
  // From the raw data, so a clash is reported even when a notebook has other problems.
  unique(
    'schedule name',
    all.flatMap((n) =>
      rawList(n.raw, 'schedules').map((s, j) => ({
        ...n,
        value: rawString(s, 'name'),
        path: `${n.path}.schedules[${j}].name`,
      })),
    ),
  );
  const failed =
    r.problems.length > 0 || inc.problems.length > 0 || inc.files.some((f) => f.reader.problems.length > 0);
  if (
    failed ||
    !name ||
    !project ||
    !region ||
    !fnName ||
    !fnAccount ||
    !topic ||
    !tokenSecret ||
    maxDeliveryAttempts === undefined
  )
    return undefined;
  return {
    file,
    name,
    project,
    region,
    function: { name: fnName, serviceAccount: fnAccount, maxDeliveryAttempts, allowedServers },
    topic,
    tokenSecret,
    notebooks: notebooks as NotebookSpec[],
    included: inc.files.map((f) => f.yaml.file),
  };
}

function readDeliveryAttempts(v: unknown, r: FieldReader): number | undefined {
  const n = v ?? 5;
  if (typeof n === 'number' && deliveryAttemptsViolation(n) === undefined) return n;
  const { text, url } = RULES.deliveryAttempts;
  return r.problem('function.maxDeliveryAttempts', `got ${typeName(v)}: ${text} (${url})`);
}

function readAllowedServers(v: unknown, r: FieldReader): string[] {
  if (v === undefined) return [];
  const list = r.list(v, 'function.allowedServers') ?? [];
  return list.map((x, i) => {
    const path = join('function.allowedServers', i);
    const text = r.string(x, path, { expect: 'a server pattern host[:port] (host may be *.suffix)' });
    if (text === undefined) return '';
    try {
      parseAllowlist(text);
    } catch (e) {
      r.problem(path, (e as Error).message.replace(/^ALLOWED_SERVERS: /, ''));
    }
    if (/[\s,]/.test(text)) r.problem(path, `expected one host[:port] pattern, got "${text}"`);
    return text;
  });
}

function rawList(v: unknown, key: string): unknown[] {
  const x = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
  return Array.isArray(x) ? x : [];
}

function rawString(v: unknown, key: string): string | undefined {
  const x = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
  return typeof x === 'string' ? x : undefined;
}
