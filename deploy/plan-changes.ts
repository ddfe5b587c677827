/**
 * What a plan says about a resource that exists: the fields that differ between the wanted service or
 * Scheduler job and the one read back (only fields nbtrigger sets, each as `field: got → want`), the
 * note on a job whose message waits for its service's URL, and the conflict line of a resource of
 * that name that this deployment did not make. Pure: no I/O; deploy/plan.ts builds the actions.
 *
 * Spec: docs/deploy.md.
 * @module
 */
import type { JobSpec, ServiceSpec } from './desired.js';
import type { Action, ActualJob, ActualService, Resource } from './plan.js';

/** What differs between the wanted service and the one read back (only fields nbtrigger sets). */
export function serviceChanges(spec: ServiceSpec, cur: ActualService): string[] {
  const out: string[] = [];
  const cmp = (field: string, want: unknown, got: unknown): void => {
    if (want !== got) out.push(`${field}: ${show(got)} → ${show(want)}`);
  };
  cmp('image', spec.image, cur.image);
  cmp('cpu', spec.cpu, cur.cpu);
  cmp('memory', spec.memory, cur.memory);
  cmp('concurrency', spec.concurrency, cur.concurrency ?? 0);
  cmp(
    'billing',
    spec.cpuIdle ? 'request' : 'instance',
    cur.cpuIdle === undefined ? undefined : cur.cpuIdle ? 'request' : 'instance',
  );
  cmp('startupCpuBoost', spec.startupCpuBoost, cur.startupCpuBoost);
  cmp('minInstances', spec.minInstances, cur.minInstances ?? 0);
  cmp('maxInstances', spec.maxInstances, cur.maxInstances);
  cmp('timeout', spec.timeoutSeconds, cur.timeoutSeconds);
  if (spec.serviceAccount !== undefined) cmp('serviceAccount', spec.serviceAccount, cur.serviceAccount);
  cmp('tokenSecret', spec.tokenSecret, cur.tokenSecret);
  for (const [k, v] of Object.entries(spec.labels)) cmp(`labels.${k}`, v, cur.labels[k]);
  return out;
}

/** What differs between the wanted job and the one read back. */
export function jobChanges(spec: JobSpec, cur: ActualJob): string[] {
  const out: string[] = [];
  const cmp = (field: string, want: unknown, got: unknown): void => {
    if (want !== got) out.push(`${field}: ${show(got)} → ${show(want)}`);
  };
  cmp('schedule', spec.schedule, cur.schedule);
  cmp('timeZone', spec.timeZone, cur.timeZone);
  cmp('description', spec.description, cur.description);
  cmp('topic', spec.topicName, cur.topicName);
  if (spec.data === undefined) out.push(...pendingNote(spec));
  else if (spec.data !== cur.data)
    out.push(`message: ${cur.data === undefined ? '(none)' : decodeForShow(cur.data)} → ${decodeForShow(spec.data)}`);
  const keys = new Set([...Object.keys(spec.attributes), ...Object.keys(cur.attributes)]);
  for (const k of [...keys].sort()) cmp(`attributes.${k}`, spec.attributes[k], cur.attributes[k]);
  return out;
}

/** The note of a job whose message is not known until its service has a URL. */
export function pendingNote(spec: JobSpec): string[] {
  return spec.data === undefined ? [`message: set once service ${spec.service} has its URL`] : [];
}

/** The action for a resource of that name that `deployment` did not make: deploy refuses it. */
export function conflict(resource: Resource, name: string, deployment: string): Action {
  return {
    resource,
    op: 'conflict',
    name,
    changes: [
      `exists but was not made by nbtrigger deployment "${deployment}": rename it in the manifest or remove it by hand`,
    ],
  };
}

function show(v: unknown): string {
  return v === undefined ? '(unset)' : JSON.stringify(v);
}

function decodeForShow(b64: string): string {
  return JSON.stringify(Buffer.from(b64, 'base64').toString('utf8'));
}
