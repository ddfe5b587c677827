/**
 * The deployment the apply test (apply.test.ts) deploys and destroys: its project, location,
 * function service account and topic, the manifest with the variations the test applies (a new
 * cron or image, a schedule removed, a notebook whose service name is taken), and the resources
 * of others seeded beside it, which deploy and destroy must leave alone. Manifest format:
 * docs/deploy.md.
 * @module
 */
import type { FakeRun } from '../../helpers/grpc-run.js';
import type { FakeScheduler } from '../../helpers/grpc-scheduler.js';

export const PROJECT = 'nbtrigger-deploy';
export const LOC = `projects/${PROJECT}/locations/europe-west1`;
export const FN = `serviceAccount:fn@${PROJECT}.iam.gserviceaccount.com`;
export const TOPIC = `projects/${PROJECT}/topics/t_reports`;

/** The deployment's manifest; `over` changes a cron or an image, drops a schedule, adds a clashing notebook. */
export const yaml = (
  over: { cron?: string; image?: string; extraSchedule?: boolean; extraNotebook?: boolean } = {},
): string => {
  const image = over.image ?? 'europe-docker.pkg.dev/p/nb/sales:v1';
  const cron = over.cron ?? '0 2 * * *';
  return `
name: reports
project: ${PROJECT}
region: europe-west1
function: {serviceAccount: fn@${PROJECT}.iam.gserviceaccount.com}
topic: t_reports
notebooks:
  - name: sales
    file: notebooks/sales.ipynb
    service: {image: "${image}", cpu: 2, memory: 4Gi, maxInstances: 1, timeout: 30m}
    schedules:
      - {name: nightly, cron: "${cron}", timeZone: Europe/Paris, parameters: {region: EU}, output: "gs://b/runs/"}
${over.extraSchedule === false ? '' : '      - {name: hourly, cron: "15 * * * *", concurrency: allow}'}
${over.extraNotebook ? '  - {name: taken, file: t.ipynb, service: {name: foreign-svc, image: "gcr.io/p/t:1"}}' : ''}
`;
};

/** Foreign resources nbtrigger must never touch: a job made by hand, another deployment's job, a service. */
export function seedForeignResources(run: FakeRun, sch: FakeScheduler): void {
  sch.jobs.set(`${LOC}/jobs/by-hand`, {
    name: `${LOC}/jobs/by-hand`,
    schedule: '* * * * *',
    timeZone: 'UTC',
    pubsubTarget: { topicName: TOPIC, data: Buffer.from('x') },
  });
  sch.jobs.set(`${LOC}/jobs/billing_daily`, {
    name: `${LOC}/jobs/billing_daily`,
    schedule: '0 0 * * *',
    timeZone: 'UTC',
    pubsubTarget: {
      topicName: TOPIC,
      data: Buffer.from('x'),
      attributes: { 'managed-by': 'nbtrigger', 'nbtrigger-deployment': 'billing' },
    },
  });
  run.services.set(`${LOC}/services/foreign-svc`, {
    name: `${LOC}/services/foreign-svc`,
    labels: { team: 'other' },
    template: { containers: [{ image: 'x' }] },
  });
}
