/**
 * What the Cloud Run Jobs fake (test/helpers/grpc-run-jobs.ts) checks on a job and how it applies
 * RunJob overrides: the rules of deploy/rules.ts and deploy/rules-jobs.ts, answered as
 * INVALID_ARGUMENT naming the rule and its link, as the real API refuses them.
 * Spec: https://cloud.google.com/run/docs/reference/rpc/google.cloud.run.v2#runjobrequest.overrides.
 * @module
 */
import { reservedAnnotations, RULES, violationText } from '../../deploy/rules.js';
import {
  JOBS_EXECUTOR_WITH_OVERRIDES,
  jobTimeoutViolation,
  jobViolations,
  MAX_JOB_TASKS,
} from '../../deploy/rules-jobs.js';
import { grpc, status } from './grpc-common.js';
import type { FakeRunIam } from './grpc-run.js';

const seconds = (d: any): number | undefined => (d?.seconds === undefined ? undefined : Number(d.seconds));

/** Throws INVALID_ARGUMENT naming the first rule `job` breaks. */
export function checkJob(job: any): void {
  const exec = job?.template ?? {};
  const task = exec.template ?? {};
  const c = task.containers?.[0];
  if (!c?.image) throw status(grpc.status.INVALID_ARGUMENT, 'template.template.containers[0].image is required');
  const limits = c.resources?.limits ?? {};
  const broken = jobViolations({
    cpu: limits.cpu ?? '1',
    memory: limits.memory ?? '512Mi',
    timeoutSeconds: seconds(task.timeout),
    maxRetries: task.maxRetries === undefined ? undefined : Number(task.maxRetries),
    taskCount: exec.taskCount === undefined ? undefined : Number(exec.taskCount),
    parallelism: exec.parallelism === undefined ? undefined : Number(exec.parallelism),
  });
  if (broken.length > 0)
    throw status(grpc.status.INVALID_ARGUMENT, `template: ${broken.map(violationText).join('; ')}`);
  const reserved = [...reservedAnnotations(job.annotations), ...reservedAnnotations(exec.annotations)];
  if (reserved.length > 0)
    throw status(
      grpc.status.INVALID_ARGUMENT,
      `annotations ${reserved.join(', ')}: ${RULES.annotations.text} (${RULES.annotations.url})`,
    );
}

/** The task template of an execution: the job's, with the overrides applied. */
export function overridden(job: any, o: any): { template: any; taskCount: number; parallelism: number } {
  const template = structuredClone(job.template?.template ?? {});
  let taskCount = Number(job.template?.taskCount ?? 1) || 1;
  if (o) {
    if (o.timeout !== undefined && o.timeout !== null) {
      const v = jobTimeoutViolation(seconds(o.timeout) ?? 0, 'overrides.timeout');
      if (v) throw status(grpc.status.INVALID_ARGUMENT, `overrides.timeout: ${violationText(v)}`);
      template.timeout = o.timeout;
    }
    if (o.taskCount !== undefined && Number(o.taskCount) !== 0) {
      const n = Number(o.taskCount);
      if (n < 1 || n > MAX_JOB_TASKS)
        throw status(
          grpc.status.INVALID_ARGUMENT,
          `overrides.task_count ${n}: ${RULES.jobTaskCount.text} (${RULES.jobTaskCount.url})`,
        );
      taskCount = n;
    }
    for (const co of o.containerOverrides ?? []) {
      const containers: any[] = template.containers ?? [];
      const target = co.name ? containers.find((c) => c.name === co.name) : containers[0];
      if (!target)
        throw status(grpc.status.INVALID_ARGUMENT, `overrides.container_overrides: no container named "${co.name}"`);
      const env = new Map<string, any>((target.env ?? []).map((e: any) => [e.name, e]));
      for (const e of co.env ?? []) env.set(e.name, e);
      target.env = [...env.values()];
      if (co.clearArgs) target.args = [];
      if ((co.args ?? []).length > 0) target.args = co.args;
    }
  }
  const parallelism = Math.min(Number(job.template?.parallelism ?? 0) || taskCount, taskCount);
  return { template, taskCount, parallelism };
}

type Handlers = Record<string, (req: any) => unknown>;

/**
 * The Jobs handlers, each refusing first what the caller may not do yet: a call in `iam.needs`
 * without its role, and RunJob with overrides without roles/run.jobsExecutorWithOverrides on the
 * job. `grantedAt` maps `RESOURCE MEMBER ROLE` to when SetIamPolicy granted it (ms); a grant
 * counts `iam.propagationMs` later (https://cloud.google.com/iam/docs/access-change-propagation).
 */
export function iamGate(iam: FakeRunIam | undefined, grantedAt: Map<string, number>): (h: Handlers) => Handlers {
  const holds = (member: string, role: string, resource: string | undefined, propagationMs: number): boolean => {
    const times = [...grantedAt.entries()].filter(
      ([k]) => k.endsWith(` ${member} ${role}`) && (resource === undefined || k.startsWith(`${resource} `)),
    );
    return times.some(([, at]) => Date.now() >= at + propagationMs);
  };
  const denied = (resource: string, caller: string, role: string): grpc.ServiceError =>
    status(
      grpc.status.PERMISSION_DENIED,
      `Permission denied on resource '${resource}' (or it may not exist): ${caller} lacks ${role}`,
    );
  return (handlers: Handlers): Handlers => {
    if (!iam) return handlers;
    return Object.fromEntries(
      Object.entries(handlers).map(([method, fn]) => [
        method,
        (req: any) => {
          const resource = String(req?.name ?? req?.resource ?? req?.job?.name ?? req?.parent ?? '');
          for (const need of iam.needs) {
            if (need.method !== method || (need.resource !== undefined && need.resource !== resource)) continue;
            if (!holds(iam.caller, need.role, need.resource, iam.propagationMs))
              throw denied(resource, iam.caller, need.role);
          }
          // run.jobs.runWithOverrides (https://cloud.google.com/run/docs/execute/jobs#override-job-configuration).
          if (
            method === 'RunJob' &&
            req.overrides &&
            !holds(iam.caller, JOBS_EXECUTOR_WITH_OVERRIDES, resource, iam.propagationMs)
          ) {
            throw denied(resource, iam.caller, `${JOBS_EXECUTOR_WITH_OVERRIDES} (${RULES.jobOverridesRole.url})`);
          }
          return fn(req);
        },
      ]),
    );
  };
}
