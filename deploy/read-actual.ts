/**
 * The actual state of a deployment, read from the APIs: one paged list per resource type (Cloud Run
 * services and jobs, Scheduler jobs, the topic's subscriptions), the topics, which notebook objects
 * exist, and the invoker policy of each existing service the manifest wants (IAM has no list call:
 * one read each, paced like deploy's writes).
 *
 * Spec: docs/deploy.md (Scale).
 * @module
 */
import { readRunJobs } from './apply-runjobs.js';
import type { DeployClients } from './clients/index.js';
import { getTopic, listTopicSubscriptions } from './clients/pubsub.js';
import { getInvokers, listServices } from './clients/run.js';
import { listJobs } from './clients/scheduler.js';
import { deadLetterTopicName } from './desired.js';
import type { Manifest } from './manifest.js';
import { existingNotebookObjects } from './notebook-upload.js';
import { DEFAULT_PACING, forEachBounded, withQuotaRetry } from './pacing.js';
import type { ActualState } from './plan.js';

/**
 * Reads what exists of the manifest's deployment: services, their invokers (for wanted services that
 * exist), the topic and jobs. Read-only.
 */
export async function readActual(clients: DeployClients, m: Manifest): Promise<ActualState> {
  const location = `projects/${m.project}/locations/${m.region}`;
  const topicName = `projects/${m.project}/topics/${m.topic}`;
  const [services, jobs, topic, subscriptions, deadLetter, notebookObjects, runJobs] = await Promise.all([
    listServices(clients.run, location),
    listJobs(clients.scheduler, location),
    getTopic(clients.pubsub, topicName),
    listTopicSubscriptions(clients.pubsub, topicName),
    getTopic(clients.pubsub, deadLetterTopicName(m.project, m.topic)),
    existingNotebookObjects(clients.storage, m),
    readRunJobs(clients, m, location),
  ]);
  const wanted = new Set(m.notebooks.map((n) => `${location}/services/${n.service.name}`));
  const invokers = new Map<string, string[]>();
  // IAM policies have no list call: one read per existing service of the manifest, paced like deploy's writes.
  const errors: unknown[] = [];
  await forEachBounded(
    services.filter((s) => wanted.has(s.name)),
    DEFAULT_PACING.concurrency,
    async (s) => {
      try {
        invokers.set(
          s.name,
          await withQuotaRetry(`read the IAM policy of ${s.name}`, () => getInvokers(clients.run, s.name)),
        );
      } catch (e) {
        errors.push(e);
      }
    },
  );
  if (errors.length > 0) throw errors[0];
  const out: ActualState = {
    services,
    invokers,
    jobs,
    subscriptions,
    deadLetterTopicExists: deadLetter !== undefined,
    notebookObjects,
    ...runJobs,
  };
  if (topic) out.topic = topic;
  return out;
}
