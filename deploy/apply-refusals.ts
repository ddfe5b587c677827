/**
 * What `nbtrigger deploy` refuses before it changes anything: a plan with a conflict (a resource of
 * that name nbtrigger did not make), a chain to the function with a link deploy cannot mend
 * (deploy/chain.ts), or a quota no project can have raised (deploy/quotas.ts); and, during the
 * deploy, the write of a Scheduler job whose message names something that failed to deploy. Each
 * refusal is one REQUEST_REJECTED error naming what it found. Pure: no I/O.
 *
 * Spec: docs/deploy.md.
 * @module
 */
import { NbtError } from '../functions/errors.js';
import type { Planned } from './apply.js';
import { chainErrors, triggerLinks } from './chain.js';
import type { Action } from './plan.js';
import { renderQuotas, type QuotaFinding } from './quotas.js';

/** Throws when a link deploy cannot mend is broken (no function, no trigger, no dead-letter topic). */
export function refuseBrokenChain(p: Planned): void {
  const broken = chainErrors([...p.chains, { job: '', links: triggerLinks(p.desired, p.actual, p.actions) }]).filter(
    (l) => l.kind !== 'job' && l.kind !== 'service' && l.kind !== 'runjob',
  );
  if (broken.length === 0) return;
  const lines = broken.map((l) => `${l.kind} ${l.name}: ${l.detail}`);
  throw new NbtError(
    'REQUEST_REJECTED',
    `refusing to deploy: the chain to the function is broken:\n  ${lines.join('\n  ')}`,
    { details: { broken: broken.map((l) => l.name) } },
  );
}

/** Throws when the plan breaks a quota no project can have raised (deploy/quotas.ts). */
export function refuseQuotas(findings: readonly QuotaFinding[]): void {
  const errors = findings.filter((f) => f.level === 'error');
  if (errors.length === 0) return;
  throw new NbtError('REQUEST_REJECTED', `refusing to deploy: ${renderQuotas(errors).trimEnd()}`, {
    details: { quotas: errors.map((f) => f.rule.id) },
  });
}

/** Throws when the plan holds a conflict (a resource of that name that nbtrigger did not make). */
export function refuseConflicts(actions: Action[]): void {
  const conflicts = actions.filter((a) => a.op === 'conflict');
  if (conflicts.length === 0) return;
  throw new NbtError(
    'REQUEST_REJECTED',
    `refusing to deploy: ${conflicts.map((c) => `${c.resource} ${c.name} ${c.changes.join('; ')}`).join('\n  ')}`,
    { details: { conflicts: conflicts.map((c) => c.name) } },
  );
}

/**
 * Throws when a Scheduler job is not to be written: its Cloud Run job failed, its service failed (so
 * its URL is not known), or the upload of its notebook failed. A delete is always written.
 */
export function refuseJobWrite(
  a: Action,
  location: string,
  failedServices: ReadonlySet<string>,
  failedNotebooks: ReadonlySet<string>,
): void {
  if (a.op !== 'delete' && a.job && failedServices.has(`${location}/jobs/${a.job.service}`)) {
    throw new NbtError('REQUEST_REJECTED', `not written: its Cloud Run job ${a.job.service} failed`);
  }
  if (a.job?.data === undefined && a.op !== 'delete') {
    throw new NbtError(
      'REQUEST_REJECTED',
      `not written: its service ${a.job?.service ?? ''} failed, so its URL is not known`,
    );
  }
  if (a.job?.request && failedNotebooks.has(a.job.request.notebook)) {
    throw new NbtError('REQUEST_REJECTED', `not written: the upload of its notebook ${a.job.request.notebook} failed`);
  }
}
