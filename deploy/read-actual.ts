/**
 * The actual state of a deployment, read from the APIs: one paged list per resource type (Cloud Run
 * services and jobs, Scheduler jobs, the topic's subscriptions), the topics, which notebook objects
 * exist, and the invoker policy of each existing service the manifest wants (deploy/read-invokers.ts:
 * in pages from the Cloud Asset index where it can, else one read a service, paced like deploy's writes).
 *
 * Spec: docs/deploy.md (Scale).
 * @module
 */
import { readRunJobs } from './apply-runjobs.js';
import type { DeployClients } from './clients/index.js';
import { getTopic, listTopicSubscriptions } from './clients/pubsub.js';
import { listServices } from './clients/run.js';
import { listJobs } from './clients/scheduler.js';
import { deadLetterTopicName } from './desired.js';
import type { Manifest } from './manifest.js';
import { existingNotebookObjects } from './notebook-upload.js';
import type { ActualState } from './plan.js';
import { readInvokers, startIndexRead, type InvokerReadOptions } from './read-invokers.js';

/**
 * Reads what exists of the manifest's deployment: services, their invokers (for wanted services that
 * exist), the topic and jobs. Read-only.
 */
export async function readActual(
  clients: DeployClients,
  m: Manifest,
  opts: InvokerReadOptions = {},
): Promise<ActualState> {
  const location = `projects/${m.project}/locations/${m.region}`;
  const topicName = `projects/${m.project}/topics/${m.topic}`;
  const index = startIndexRead(clients, m.project, opts);
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
  const read = await readInvokers(
    clients,
    index,
    services.filter((s) => wanted.has(s.name)).map((s) => s.name),
    `serviceAccount:${m.function.serviceAccount}`,
  );
  const out: ActualState = {
    services,
    invokers: read.invokers,
    jobs,
    subscriptions,
    deadLetterTopicExists: deadLetter !== undefined,
    notebookObjects,
    ...runJobs,
  };
  if (topic) out.topic = topic;
  if (read.notes.length > 0) out.notes = read.notes;
  return out;
}
