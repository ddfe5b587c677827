/**
 * The rules Google's APIs apply to what nbtrigger sends, and nbtrigger's own, each with the page
 * that states it. `plan --check` runs them on the manifest offline; the local gRPC servers the
 * tests use run them on the requests they receive, so a request the real API would refuse fails
 * in the tests too. Pure: no I/O. The table of rules is in docs/deploy.md.
 * @module
 */
import { parseCpu, parseMemoryMiB } from './resource-quantities.js';
import { STORAGE_RULES } from './rules-storage.js';

/** One rule: a stable id, what it says, where it is written. */
export interface Rule {
  id: string;
  text: string;
  url: string;
}

const RUN_CPU_DOC = 'https://cloud.google.com/run/docs/configuring/services/cpu';
const RUN_MEMORY_DOC = 'https://cloud.google.com/run/docs/configuring/services/memory-limits';
const SCHEDULER_RPC = 'https://cloud.google.com/scheduler/docs/reference/rpc/google.cloud.scheduler.v1';

export const RULES = {
  cpuValues: {
    id: 'run.cpu-values',
    url: RUN_CPU_DOC,
    text: 'CPU is 0.08 to 1 in steps of 0.001, or one of 1, 2, 4, 6, 8',
  },
  memoryPerCpu: {
    id: 'run.memory-per-cpu',
    url: RUN_CPU_DOC,
    text:
      'memory per CPU: up to 4 GiB with 1 CPU, up to 8 GiB with 2, 2 to 16 GiB with 4, 4 to 24 GiB ' +
      'with 6, 4 to 32 GiB with 8',
  },
  memoryBounds: {
    id: 'run.memory-bounds',
    url: RUN_MEMORY_DOC,
    text: 'memory is 128 MiB (first generation; 512 MiB second generation) to 32 GiB',
  },
  fractionalMemory: {
    id: 'run.fractional-memory',
    url: RUN_CPU_DOC,
    text: 'below 1 CPU, memory above 512 MiB needs at least 0.5 CPU and memory above 1 GiB needs 1 CPU',
  },
  fractionalConcurrency: {
    id: 'run.fractional-concurrency',
    url: RUN_CPU_DOC,
    text: 'below 1 CPU, maximum concurrency must be 1',
  },
  fractionalBilling: {
    id: 'run.fractional-billing',
    url: RUN_CPU_DOC,
    text: 'below 1 CPU, billing must be request-based (cpu_idle true)',
  },
  fractionalGen1: {
    id: 'run.fractional-gen1',
    url: RUN_CPU_DOC,
    text: 'below 1 CPU, the execution environment must be the first generation',
  },
  concurrencyRange: {
    id: 'run.concurrency-range',
    url: 'https://cloud.google.com/run/docs/about-concurrency',
    text: 'maximum concurrency is 1 to 1000',
  },
  requestTimeout: {
    id: 'run.request-timeout',
    url: 'https://cloud.google.com/run/docs/configuring/request-timeout',
    text: 'the request timeout is 1 to 3600 seconds',
  },
  instances: {
    id: 'run.instances',
    url: 'https://cloud.google.com/run/docs/configuring/max-instances-limits',
    text: 'min instances is 0 or more, max instances 1 to 1000 (the regional quota may be lower), and min ≤ max',
  },
  annotations: {
    id: 'run.v2-annotations',
    url: 'https://cloud.google.com/run/docs/reference/rpc/google.cloud.run.v2#service',
    text:
      'the v2 API refuses annotations in the run.googleapis.com, cloud.googleapis.com, ' +
      'serving.knative.dev and autoscaling.knative.dev namespaces',
  },
  notebookConcurrency: {
    id: 'nbtrigger.notebook-concurrency',
    url: 'https://cloud.google.com/run/docs/about-concurrency',
    text:
      'the notebook service needs concurrency of at least 2: a run holds the kernel WebSocket and ' +
      'calls the REST API at the same time',
  },
  jobId: {
    id: 'scheduler.job-id',
    url: `${SCHEDULER_RPC}#job`,
    text: 'a job id has only letters, digits, hyphens and underscores, at most 500 characters',
  },
  jobDescription: {
    id: 'scheduler.description',
    url: `${SCHEDULER_RPC}#job`,
    text: 'a job description is at most 500 characters',
  },
  schedule: {
    id: 'scheduler.schedule',
    url: 'https://cloud.google.com/scheduler/docs/configuring/cron-job-schedules',
    text: 'the schedule is a unix-cron expression',
  },
  timeZone: {
    id: 'scheduler.time-zone',
    url: `${SCHEDULER_RPC}#job`,
    text: 'the time zone is a name from the tz database',
  },
  retryCount: {
    id: 'scheduler.retry-count',
    url: `${SCHEDULER_RPC}#retryconfig`,
    text: 'retry_count is 0 to 5',
  },
  pubsubTarget: {
    id: 'scheduler.pubsub-target',
    url: `${SCHEDULER_RPC}#pubsubtarget`,
    text:
      'a Pub/Sub target names projects/PROJECT/topics/TOPIC and carries non-empty data or at least one' + ' attribute',
  },
  deliveryAttempts: {
    id: 'pubsub.max-delivery-attempts',
    url: 'https://cloud.google.com/pubsub/docs/reference/rpc/google.pubsub.v1#deadletterpolicy',
    text: 'a dead-letter policy allows 5 to 100 delivery attempts',
  },
  ...STORAGE_RULES,
  functionCeiling: {
    id: 'functions.event-timeout',
    url: 'https://cloud.google.com/functions/docs/configuring/timeout',
    text: 'an event-driven function runs at most 540 s, and the run deadline is 30 s less: 510 s',
  },
  jobTaskTimeout: {
    id: 'run-jobs.task-timeout',
    url: 'https://cloud.google.com/run/docs/configuring/task-timeout',
    text: 'a Cloud Run job task runs at most 168 hours (604800 s); at least 1 s',
  },
  jobMaxRetries: {
    id: 'run-jobs.max-retries',
    url: 'https://cloud.google.com/run/docs/configuring/max-retries',
    text: 'max retries per task is an integer from 0 to 10',
  },
  jobTaskCount: {
    id: 'run-jobs.task-count',
    url: 'https://cloud.google.com/run/quotas',
    text: 'a job execution has 1 to 10,000 tasks, and parallelism is 0 (as many as possible) to the task count',
  },
  jobResources: {
    id: 'run-jobs.cpu-memory',
    url: 'https://cloud.google.com/run/docs/configuring/jobs/cpu',
    text:
      'job CPU and memory follow the service rules: CPU 0.08 to 1 in steps of 0.001 or 1, 2, 4, 6, 8; ' +
      'memory per CPU as for services',
  },
  jobOverridesRole: {
    id: 'run-jobs.overrides-role',
    url: 'https://cloud.google.com/run/docs/execute/jobs#override-job-configuration',
    text:
      'starting a job with overrides needs run.jobs.runWithOverrides on the job ' +
      '(roles/run.jobsExecutorWithOverrides, https://cloud.google.com/iam/docs/roles-permissions/run)',
  },
} as const satisfies Record<string, Rule>;

/** A broken rule: which field, which rule, and what was found. */
export interface Violation {
  field: string;
  rule: Rule;
  found: string;
}

/** `FOUND: breaks RULE (URL)`: how a violation reads in a message. */
export function violationText(v: Violation): string {
  return `${v.found}: ${v.rule.text} (${v.rule.url})`;
}

/** Longest the function may run, seconds (event-driven functions). */
const FUNCTION_MAX_SECONDS = 540;
/** Seconds between the run deadline and the function's timeout (functions/config.ts, DEADLINE_MARGIN_SEC). */
const FUNCTION_MARGIN_SECONDS = 30;
/** The longest run a schedule can ask for. */
export const MAX_RUN_SECONDS = FUNCTION_MAX_SECONDS - FUNCTION_MARGIN_SECONDS;

/** What the Cloud Run rules look at on a service's revision template. */
export interface RunResources {
  cpu: string;
  memory: string;
  /** Maximum concurrent requests per instance; 0 or undefined: Cloud Run's default. */
  concurrency?: number;
  /** True: request-based billing (CPU only during requests). */
  cpuIdle: boolean;
  timeoutSeconds?: number;
  minInstances?: number;
  maxInstances?: number;
  executionEnvironment?: 'gen1' | 'gen2';
}

/** MiB of memory allowed per whole CPU: [min, max]. */
const CPU_MEMORY: Record<number, [number, number]> = {
  1: [128, 4096],
  2: [128, 8192],
  4: [2048, 16384],
  6: [4096, 24576],
  8: [4096, 32768],
};

/** Every Cloud Run rule `r` breaks (field names as in the manifest's `service`). */
export function runViolations(r: RunResources): Violation[] {
  const out: Violation[] = [];
  const cpu = parseCpu(r.cpu);
  const mem = parseMemoryMiB(r.memory);
  const v = (field: string, rule: Rule, found: string): void => {
    out.push({ field, rule, found });
  };
  const fractional = cpu !== undefined && cpu < 1;
  const offStep = fractional && Math.abs(cpu * 1000 - Math.round(cpu * 1000)) > 1e-9;
  if (cpu === undefined || cpu < 0.08 || (cpu > 1 && !(cpu in CPU_MEMORY)) || offStep) {
    v('cpu', RULES.cpuValues, `cpu ${r.cpu}`);
  }
  if (mem === undefined || mem < 128 || mem > 32768) v('memory', RULES.memoryBounds, `memory ${r.memory}`);
  if (cpu !== undefined && mem !== undefined && cpu in CPU_MEMORY) {
    const [lo, hi] = CPU_MEMORY[cpu]!;
    if (mem < lo || mem > hi) v('memory', RULES.memoryPerCpu, `memory ${r.memory} with cpu ${r.cpu}`);
  }
  if (fractional && cpu >= 0.08) {
    if (mem !== undefined && ((mem > 512 && cpu < 0.5) || mem > 1024)) {
      v('memory', RULES.fractionalMemory, `memory ${r.memory} with cpu ${r.cpu}`);
    }
    if (r.concurrency !== 1) {
      v('concurrency', RULES.fractionalConcurrency, `concurrency ${r.concurrency ?? '(default)'} with cpu ${r.cpu}`);
    }
    if (!r.cpuIdle) v('billing', RULES.fractionalBilling, `instance-based billing with cpu ${r.cpu}`);
    if (r.executionEnvironment === 'gen2') {
      v('executionEnvironment', RULES.fractionalGen1, `second generation with cpu ${r.cpu}`);
    }
  }
  if (r.concurrency !== undefined && r.concurrency !== 0 && (r.concurrency < 1 || r.concurrency > 1000)) {
    v('concurrency', RULES.concurrencyRange, `concurrency ${r.concurrency}`);
  }
  if (r.timeoutSeconds !== undefined && (r.timeoutSeconds < 1 || r.timeoutSeconds > 3600)) {
    v('timeout', RULES.requestTimeout, `timeout ${r.timeoutSeconds} s`);
  }
  const min = r.minInstances ?? 0;
  const max = r.maxInstances;
  if (min < 0 || (max !== undefined && (max < 1 || max > 1000 || min > max))) {
    const field = min > (max ?? Infinity) ? 'minInstances' : 'maxInstances';
    v(field, RULES.instances, `minInstances ${min}, maxInstances ${max}`);
  }
  return out;
}

/** The Cloud Run rules plus nbtrigger's own for the Jupyter service. */
export function notebookServiceViolations(r: RunResources): Violation[] {
  const out = runViolations(r);
  if (r.concurrency !== undefined && r.concurrency < 2) {
    out.push({ field: 'concurrency', rule: RULES.notebookConcurrency, found: `concurrency ${r.concurrency}` });
  }
  return out;
}

/** Annotation namespaces the Cloud Run v2 API refuses. */
const RESERVED_NAMESPACES = [
  'run.googleapis.com',
  'cloud.googleapis.com',
  'serving.knative.dev',
  'autoscaling.knative.dev',
];

/** Annotation keys the Cloud Run v2 API refuses. */
export function reservedAnnotations(annotations: Record<string, string> | undefined): string[] {
  const names = RESERVED_NAMESPACES.map((n) => n.replace(/\./g, '\\.')).join('|');
  const reserved = new RegExp(`^(?:[a-z0-9.-]*\\.)?(?:${names})/`);
  return Object.keys(annotations ?? {}).filter((k) => reserved.test(k));
}

/** The Scheduler job-id rule, or undefined when `id` keeps it. */
export function jobIdViolation(id: string): Violation | undefined {
  return /^[A-Za-z0-9_-]{1,500}$/.test(id) ? undefined : { field: 'name', rule: RULES.jobId, found: `job id "${id}"` };
}

/** The max-delivery-attempts rule, or undefined. */
export function deliveryAttemptsViolation(n: number): Violation | undefined {
  if (Number.isInteger(n) && n >= 5 && n <= 100) return undefined;
  return { field: 'maxDeliveryAttempts', rule: RULES.deliveryAttempts, found: `${n}` };
}

/** The function-ceiling rule for a schedule's run timeout, or undefined. */
export function runTimeoutViolation(seconds: number): Violation | undefined {
  if (seconds <= MAX_RUN_SECONDS) return undefined;
  return { field: 'timeouts.run', rule: RULES.functionCeiling, found: `run ${seconds} s` };
}
