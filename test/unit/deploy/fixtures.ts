/**
 * Shared fixtures for the deploy unit tests: a small manifest, and the actual state a fully
 * applied desired state would read back.
 * @module
 */
import { parseManifest, type Manifest } from '../../../deploy/manifest.js';
import type { DesiredState } from '../../../deploy/desired.js';
import type { ActualState } from '../../../deploy/plan.js';

export const MANIFEST_YAML = `
name: reports
project: my-project
region: europe-west1
function:
  serviceAccount: fn@my-project.iam.gserviceaccount.com
notebooks:
  - name: sales
    file: notebooks/sales.ipynb
    service:
      image: europe-docker.pkg.dev/my-project/nb/sales:v1
      memory: 4Gi
    schedules:
      - name: nightly
        cron: "0 2 * * *"
        timeZone: Europe/Paris
        parameters: {region: EU, limit: 10}
        output: gs://bucket/runs/
      - name: hourly
        cron: "15 * * * *"
  - name: ops
    file: ops.ipynb
    service: {image: "gcr.io/my-project/ops:1", maxInstances: 2}
`;

export function manifest(yaml = MANIFEST_YAML): Manifest {
  return parseManifest(yaml, 'test.yaml');
}

/** Service id → URL, as Cloud Run would give them. */
export function urlsFor(m: Manifest): Map<string, string> {
  return new Map(m.notebooks.map((n) => [n.service.name, `https://${n.service.name}-abc.a.run.app`]));
}

/** The actual state after `desired` was applied exactly (with the function as the only invoker). */
export function appliedState(desired: DesiredState, urls: Map<string, string>): ActualState {
  return {
    services: desired.services.map((s) => ({
      name: s.name,
      labels: { ...s.labels },
      image: s.image,
      cpu: s.cpu,
      memory: s.memory,
      minInstances: s.minInstances,
      concurrency: s.concurrency,
      cpuIdle: s.cpuIdle,
      startupCpuBoost: s.startupCpuBoost,
      maxInstances: s.maxInstances,
      timeoutSeconds: s.timeoutSeconds,
      tokenSecret: s.tokenSecret,
      uri: urls.get(s.serviceId)!,
      ...(s.serviceAccount ? { serviceAccount: s.serviceAccount } : {}),
    })),
    invokers: new Map(desired.services.map((s) => [s.name, [desired.invoker]])),
    topic: { name: desired.topic.name, labels: { ...desired.topic.labels } },
    jobs: desired.jobs.map((j) => ({
      name: j.name,
      description: j.description,
      schedule: j.schedule,
      timeZone: j.timeZone,
      topicName: j.topicName,
      data: j.data!,
      attributes: { ...j.attributes },
    })),
  };
}
