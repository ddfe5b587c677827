/**
 * A notebook's `service:` in the manifest: the Cloud Run service hosting its Jupyter server.
 * Every resource setting is explicit (CPU, memory, concurrency, billing, startup CPU boost) and
 * checked against the Cloud Run rules (deploy/rules.ts), so `plan --check` refuses offline what
 * the API would refuse, naming the field and the rule. Pure: no I/O.
 *
 * Spec: docs/deploy.md (Rules, Images).
 * @module
 */
import { durationSeconds, type FieldReader, join, typeName } from './fields.js';
import { notebookServiceViolations, violationText } from './rules.js';

/** Billing: `request` = CPU only during requests (cpu_idle true); `instance` = CPU for the instance's life. */
export type Billing = 'request' | 'instance';

export interface ServiceConfig {
  /** Cloud Run service id. */
  name: string;
  /** The image to run; undefined for a `build:` service until `--built-image` (or the running service) says which. */
  image?: string;
  /** Set when the image is built from a folder (by Cloud Build), not given. */
  build?: { context: string };
  cpu: string;
  memory: string;
  /** Maximum concurrent requests per instance. */
  concurrency: number;
  billing: Billing;
  startupCpuBoost: boolean;
  minInstances: number;
  maxInstances: number;
  timeoutSeconds: number;
  serviceAccount?: string;
  labels: Record<string, string>;
}

const SERVICE_ID = /^[a-z](?:[a-z0-9-]{0,47}[a-z0-9])?$/;
const SERVICE_ACCOUNT = /^[a-z0-9][a-z0-9-]*@[a-z0-9.-]+\.gserviceaccount\.com$/;
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const CPU = /^(?:\d+(?:\.\d+)?|\d+m)$/;
const MEMORY = /^\d+(?:Mi|Gi)$/;
const IMAGE = /^[a-z0-9][^\s]*$/;
const RELATIVE_FILE = /^(?!\/)(?!.*(?:^|\/)\.\.(?:\/|$))[^\0\\]+$/;

const SERVICE_KEYS = [
  'name',
  'image',
  'build',
  'cpu',
  'memory',
  'concurrency',
  'billing',
  'startupCpuBoost',
  'minInstances',
  'maxInstances',
  'timeout',
  'serviceAccount',
  'labels',
] as const;

/** Defaults: 1 CPU, 2 GiB, concurrency 80 (Cloud Run's own for 1 CPU), request-based billing, startup boost on. */
const SERVICE_DEFAULTS = {
  cpu: '1',
  memory: '2Gi',
  concurrency: 80,
  billing: 'request' as Billing,
  startupCpuBoost: true,
};

export function readService(
  v: unknown,
  path: string,
  r: FieldReader,
  d: { name: string; notebook: string },
): ServiceConfig | undefined {
  const o = r.mapping(v, path, SERVICE_KEYS);
  if (!o) return undefined;
  const name = r.string(o.name ?? `${d.name}-${d.notebook}`, join(path, 'name'), {
    pattern: SERVICE_ID,
    expect:
      'a Cloud Run service name: lowercase letters, digits, hyphens, starting with a letter, at most 49 characters',
  });
  let image: string | undefined;
  let build: { context: string } | undefined;
  if (o.image !== undefined && o.build !== undefined)
    r.problem(join(path, 'image'), 'expected either "image" or "build", not both');
  if (o.image !== undefined)
    image = r.string(o.image, join(path, 'image'), { pattern: IMAGE, expect: 'a container image reference' });
  else {
    const b = o.build ?? 'notebook-image';
    const bo = typeof b === 'string' ? { context: b } : r.mapping(b, join(path, 'build'), ['context', 'image']);
    const context =
      bo &&
      r.string(bo.context ?? 'notebook-image', join(path, 'build.context'), {
        pattern: RELATIVE_FILE,
        expect: 'a folder relative to the repository',
      });
    if (context) build = { context: context.replace(/\/+$/, '') };
    if (bo?.image !== undefined)
      image = r.string(bo.image, join(path, 'build.image'), { pattern: IMAGE, expect: 'a container image reference' });
  }
  const cpu = r.string(o.cpu === undefined ? SERVICE_DEFAULTS.cpu : String(o.cpu), join(path, 'cpu'), {
    pattern: CPU,
    expect: 'a CPU limit such as 1, 2, 0.5 or 500m',
  });
  const memory = r.string(o.memory ?? SERVICE_DEFAULTS.memory, join(path, 'memory'), {
    pattern: MEMORY,
    expect: 'a memory limit such as 512Mi or 2Gi',
  });
  const concurrency = r.integer(o.concurrency ?? SERVICE_DEFAULTS.concurrency, join(path, 'concurrency'), {
    min: 1,
    max: 1000,
  });
  const billing =
    o.billing === undefined
      ? SERVICE_DEFAULTS.billing
      : r.oneOf(o.billing, join(path, 'billing'), ['request', 'instance'] as const);
  const boost = o.startupCpuBoost ?? SERVICE_DEFAULTS.startupCpuBoost;
  if (typeof boost !== 'boolean')
    r.problem(join(path, 'startupCpuBoost'), `expected true or false, got ${typeName(boost)}`);
  const maxInstances = r.integer(o.maxInstances ?? 1, join(path, 'maxInstances'), { min: 1, max: 1000 });
  const minInstances = r.integer(o.minInstances ?? 0, join(path, 'minInstances'), {
    min: 0,
    max: maxInstances ?? 1000,
  });
  const timeoutSeconds = durationSeconds(o.timeout ?? 3600);
  if (timeoutSeconds === undefined || timeoutSeconds < 1 || timeoutSeconds > 3600) {
    r.problem(
      join(path, 'timeout'),
      `expected a request timeout from 1 to 3600 seconds (e.g. 3600, "900s", "15m", "1h"), got ${typeName(o.timeout)}`,
    );
  }
  const serviceAccount = r.string(o.serviceAccount, join(path, 'serviceAccount'), {
    pattern: SERVICE_ACCOUNT,
    expect: 'a service account e-mail',
    optional: true,
  });
  const labels =
    o.labels === undefined
      ? {}
      : (r.stringMap(
          o.labels,
          join(path, 'labels'),
          LABEL_KEY,
          'a label key (lowercase letter first, then lowercase letters, digits, _ or -)',
        ) ?? {});
  for (const [k, val] of Object.entries(labels)) {
    if (!/^[a-z0-9_-]{0,63}$/.test(val))
      r.problem(
        join(join(path, 'labels'), k),
        `expected a label value (at most 63 lowercase letters, digits, _ or -), got "${val}"`,
      );
    if (k === 'managed-by' || k.startsWith('nbtrigger'))
      r.problem(join(join(path, 'labels'), k), `label "${k}" is reserved for nbtrigger`);
  }
  if (cpu && memory && concurrency !== undefined && billing) {
    for (const x of notebookServiceViolations({ cpu, memory, concurrency, cpuIdle: billing === 'request' }))
      r.problem(join(path, x.field), violationText(x));
  }
  if (
    !name ||
    !cpu ||
    !memory ||
    concurrency === undefined ||
    !billing ||
    typeof boost !== 'boolean' ||
    maxInstances === undefined ||
    minInstances === undefined ||
    timeoutSeconds === undefined
  )
    return undefined;
  const out: ServiceConfig = {
    name,
    cpu,
    memory,
    concurrency,
    billing,
    startupCpuBoost: boost,
    minInstances,
    maxInstances,
    timeoutSeconds,
    labels,
  };
  if (image) out.image = image;
  if (build) out.build = build;
  if (serviceAccount) out.serviceAccount = serviceAccount;
  return out;
}
