/**
 * The chain each schedule's message travels: Scheduler job → topic → the trigger subscription
 * (with its dead-letter policy) → the function (its Cloud Run service) → the notebook's Cloud
 * Run service. Each link is `ok`, will be made or fixed by deploy (`create`, `update`), worth a
 * look (`warn`: a paused job), or broken (`error`): a message would vanish or never run, and
 * deploy cannot mend it. `plan` shows the chain and exits non-zero on an error; `deploy` refuses
 * before changing anything. Pure: no I/O.
 *
 * Spec: docs/deploy.md (The chain).
 * @module
 */
import type { DesiredState } from './desired.js';
import { triggerSubscriptions, type Action, type ActualState } from './plan.js';

export type LinkStatus = 'ok' | 'create' | 'update' | 'warn' | 'error';
/** `runjob`: the Cloud Run job a job-mode schedule starts, in place of a service. */
export type LinkKind = 'job' | 'topic' | 'trigger' | 'dead-letter' | 'function' | 'service' | 'runjob';

export interface Link {
  kind: LinkKind;
  name: string;
  status: LinkStatus;
  detail?: string;
}

export interface Chain {
  /** The job's full name. */
  job: string;
  links: Link[];
}

/** The chain of every job the desired state holds, from what was read and the planned actions. */
export function chains(desired: DesiredState, actual: ActualState, actions: Action[]): Chain[] {
  const byKey = new Map(actions.map((a) => [`${a.resource} ${a.name}`, a]));
  const actionFor = (resource: Action['resource'], name: string): Action | undefined =>
    byKey.get(`${resource} ${name}`);
  const jobStates = new Map(actual.jobs.map((j) => [j.name, j.state]));
  const status = (a: Action | undefined): LinkStatus =>
    a?.op === 'create' ? 'create' : a?.op === 'update' ? 'update' : a?.op === 'conflict' ? 'error' : 'ok';
  const shared = triggerLinks(desired, actual, actions);
  return desired.jobs.map((job) => {
    const ja = actionFor('job', job.name);
    const state = jobStates.get(job.name);
    const jobLink: Link = { kind: 'job', name: job.name, status: status(ja) };
    if (ja?.op === 'conflict') jobLink.detail = ja.changes.join('; ');
    else if (state === 'PAUSED' || state === 'DISABLED')
      Object.assign(jobLink, {
        status: ja?.op === 'update' ? 'update' : 'warn',
        detail: `${state}: publishes nothing until resumed`,
      });
    else if (state) jobLink.detail = state;
    const runJob = desired.runJobs.find((r) => r.jobId === job.service);
    const svcName = runJob ? runJob.name : `${desired.location}/services/${job.service}`;
    const sa = actionFor(runJob ? 'runjob' : 'service', svcName);
    const svcLink: Link = { kind: runJob ? 'runjob' : 'service', name: svcName, status: status(sa) };
    if (sa?.op === 'conflict') svcLink.detail = sa.changes.join('; ');
    return { job: job.name, links: [jobLink, ...shared, svcLink] };
  });
}

/** The links every job shares: topic, trigger subscription(s), dead-letter topic, function. */
export function triggerLinks(desired: DesiredState, actual: ActualState, actions: Action[]): Link[] {
  const t = desired.trigger;
  const topic: Link = { kind: 'topic', name: desired.topic.name, status: actual.topic ? 'ok' : 'create' };
  const fnService = actual.services.find((s) => s.name === t.functionService);
  const fn: Link = fnService
    ? { kind: 'function', name: t.functionService, status: 'ok', detail: `function ${t.functionName}` }
    : {
        kind: 'function',
        name: t.functionService,
        status: 'error',
        detail:
          `function ${t.functionName} is not deployed (no Cloud Run service of that name): ` +
          'deploy it with --trigger-topic',
      };
  const subs = triggerSubscriptions(desired, actual);
  const triggers: Link[] = subs.map((s) => {
    const a = actions.find((x) => x.resource === 'subscription' && x.name === s.name);
    return {
      kind: 'trigger',
      name: s.name,
      status: a?.op === 'update' ? 'update' : 'ok',
      detail: `pushes to the function; dead letters to ${t.deadLetterTopic} after ${t.maxDeliveryAttempts} attempts`,
    };
  });
  if (subs.length === 0) {
    triggers.push({
      kind: 'trigger',
      name: desired.topic.name,
      status: 'error',
      detail: fnService
        ? `no subscription on the topic pushes to function ${t.functionName}: ` +
          'messages would be published into a topic nobody reads ' +
          '(deploy the function with --trigger-topic set to this topic)'
        : 'cannot be found while the function is missing',
    });
  }
  const deadLetter: Link =
    actual.deadLetterTopicExists === false
      ? {
          kind: 'dead-letter',
          name: t.deadLetterTopic,
          status: 'error',
          detail: 'the dead-letter topic does not exist: run the one-time setup',
        }
      : { kind: 'dead-letter', name: t.deadLetterTopic, status: 'ok' };
  return [topic, ...triggers, deadLetter, fn];
}

/** Every broken link, once each (jobs share most links). */
export function chainErrors(cs: Chain[]): Link[] {
  const seen = new Set<string>();
  const out: Link[] = [];
  for (const l of cs.flatMap((c) => c.links)) {
    const key = `${l.kind} ${l.name}`;
    if (l.status === 'error' && !seen.has(key)) {
      seen.add(key);
      out.push(l);
    }
  }
  return out;
}

const LABEL: Record<LinkStatus, string> = {
  ok: 'ok',
  create: 'create',
  update: 'update',
  warn: 'WARN',
  error: 'ERROR',
};

/** The chains as text, one block per job. */
export function renderChains(cs: Chain[]): string {
  if (cs.length === 0) return '';
  const lines: string[] = [];
  for (const c of cs) {
    lines.push(`chain of ${c.job}:`);
    for (const l of c.links)
      lines.push(`  ${LABEL[l.status].padEnd(6)} ${l.kind.padEnd(11)} ${l.name}${l.detail ? `  (${l.detail})` : ''}`);
  }
  const errors = chainErrors(cs);
  lines.push(
    errors.length === 0 ? 'chain: every link holds or is made by deploy' : `chain: ${errors.length} broken link(s)`,
  );
  return `${lines.join('\n')}\n`;
}
