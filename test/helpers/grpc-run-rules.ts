/**
 * What the Cloud Run Services fake (test/helpers/grpc-run.ts) checks on a service and who may call
 * it: the fields a client may write and those the server owns, the rules of deploy/rules.ts
 * answered as INVALID_ARGUMENT naming the rule and its link, as the real API refuses them, and the
 * IAM gate that answers PERMISSION_DENIED until a granted role has propagated
 * (https://cloud.google.com/iam/docs/access-change-propagation).
 * Spec: https://cloud.google.com/run/docs/reference/rpc/google.cloud.run.v2#services.
 * @module
 */
import { reservedAnnotations, RULES, runViolations, violationText, type RunResources } from '../../deploy/rules.js';
import { grpc, status } from './grpc-common.js';
import type { FakeRunIam } from './grpc-run.js';

/** Top-level Service fields a client may write (snake_case, as update masks name them). */
export const WRITABLE = [
  'description',
  'labels',
  'annotations',
  'client',
  'client_version',
  'ingress',
  'launch_stage',
  'binary_authorization',
  'template',
  'traffic',
  'scaling',
  'invoker_iam_disabled',
  'default_uri_disabled',
  'custom_audiences',
  'build_config',
] as const;
/** Fields the server sets: a client's values for them are dropped. */
export const OUTPUT_ONLY = [
  'uid',
  'generation',
  'createTime',
  'updateTime',
  'uri',
  'urls',
  'etag',
  'reconciling',
  'observedGeneration',
  'creator',
  'lastModifier',
];

/** What the Cloud Run rules look at, from a Service as a client sent it. */
function resourcesOf(service: any): RunResources {
  const tpl = service?.template ?? {};
  const res = tpl.containers?.[0]?.resources;
  const limits = res?.limits ?? {};
  const out: RunResources = {
    cpu: limits.cpu ?? '1',
    memory: limits.memory ?? '512Mi',
    // With resources set, an unset cpu_idle means instance-based billing
    // (revision.proto, ResourceRequirements.cpu_idle).
    cpuIdle: res ? res.cpuIdle === true : true,
  };
  if (tpl.maxInstanceRequestConcurrency !== undefined) out.concurrency = Number(tpl.maxInstanceRequestConcurrency);
  if (tpl.timeout?.seconds !== undefined) out.timeoutSeconds = Number(tpl.timeout.seconds);
  if (tpl.scaling?.minInstanceCount !== undefined) out.minInstances = Number(tpl.scaling.minInstanceCount);
  if (tpl.scaling?.maxInstanceCount !== undefined) out.maxInstances = Number(tpl.scaling.maxInstanceCount);
  if (tpl.executionEnvironment === 'EXECUTION_ENVIRONMENT_GEN2') out.executionEnvironment = 'gen2';
  if (tpl.executionEnvironment === 'EXECUTION_ENVIRONMENT_GEN1') out.executionEnvironment = 'gen1';
  return out;
}

/** Throws INVALID_ARGUMENT naming the first rule `service` breaks. */
export function checkRules(service: any): void {
  if (!service?.template?.containers?.[0]?.image)
    throw status(grpc.status.INVALID_ARGUMENT, 'template.containers[0].image is required');
  const broken = runViolations(resourcesOf(service));
  if (broken.length > 0)
    throw status(grpc.status.INVALID_ARGUMENT, `template: ${broken.map(violationText).join('; ')}`);
  const reserved = [...reservedAnnotations(service.annotations), ...reservedAnnotations(service.template?.annotations)];
  if (reserved.length > 0)
    throw status(
      grpc.status.INVALID_ARGUMENT,
      `annotations ${reserved.join(', ')}: ${RULES.annotations.text} (${RULES.annotations.url})`,
    );
}

type Handlers = Record<string, (req: any) => unknown>;

/**
 * The Services handlers, each refusing first what the caller may not do yet: a call in
 * `iam.needs` without its role. `grantedAt` maps `MEMBER ROLE` to when SetIamPolicy first granted
 * it (ms); a grant counts `iam.propagationMs` later. The fake holds one project, so a role counts
 * wherever it was granted.
 */
export function servicesIamGate(
  iam: FakeRunIam | undefined,
  grantedAt: Map<string, number>,
): (h: Handlers) => Handlers {
  const resourceOf = (req: any): string => req?.name ?? req?.resource ?? req?.service?.name ?? req?.parent ?? '';
  return (handlers: Handlers): Handlers => {
    if (!iam) return handlers;
    return Object.fromEntries(
      Object.entries(handlers).map(([method, fn]) => [
        method,
        (req: any) => {
          for (const need of iam.needs) {
            if (need.method !== method || (need.resource !== undefined && need.resource !== resourceOf(req))) continue;
            const at = grantedAt.get(`${iam.caller} ${need.role}`);
            if (at === undefined || Date.now() < at + iam.propagationMs) {
              const where = `Permission denied on resource '${resourceOf(req)}' (or it may not exist)`;
              throw status(grpc.status.PERMISSION_DENIED, `${where}: ${iam.caller} lacks ${need.role}`);
            }
          }
          return fn(req);
        },
      ]),
    );
  };
}
