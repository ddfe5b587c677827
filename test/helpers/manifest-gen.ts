/**
 * Generated manifests of N notebooks with two schedules each (different time zones, parameters,
 * outputs), for the scale tests and bench/: what a team with hundreds of scheduled notebooks
 * writes. Deterministic: the same N gives the same text.
 *
 * Spec: docs/deploy.md (the manifest), docs/benchmarks.md (the deploy figures).
 * @module
 */

/** Time zones the generated schedules cycle through (tz database names). */
const ZONES = ['Europe/Paris', 'America/New_York', 'Asia/Tokyo', 'UTC', 'Australia/Sydney', 'America/Sao_Paulo', 'Europe/London', 'Asia/Kolkata'];

export interface GeneratedManifest {
  /** Deployment name (default `scale`). */
  name?: string;
  project?: string;
  region?: string;
  /** The image every service runs (default an Artifact Registry reference). */
  image?: string;
}

/** The YAML of notebook entries `from` … `from + count - 1` (a list under `notebooks:`). */
export function notebookEntries(count: number, from = 0, image = 'europe-docker.pkg.dev/my-project/nbtrigger/notebook:v1'): string {
  const out: string[] = [];
  for (let i = from; i < from + count; i++) {
    const id = String(i).padStart(4, '0');
    out.push(
      `  - name: nb-${id}`,
      `    file: notebooks/team-${i % 20}/nb-${id}.ipynb`,
      `    service: {image: "${image}", memory: 2Gi, maxInstances: 1}`,
      '    schedules:',
      `      - name: nb-${id}-daily`,
      `        cron: "${i % 60} ${i % 24} * * *"`,
      `        timeZone: ${ZONES[i % ZONES.length]}`,
      `        parameters: {index: ${i}, team: "team-${i % 20}"}`,
      `        output: gs://my-project-nbtrigger-runs/nb-${id}/`,
      `      - name: nb-${id}-weekly`,
      `        cron: "${(i * 7) % 60} ${(i * 5) % 24} * * 1-5"`,
      `        timeZone: ${ZONES[(i + 3) % ZONES.length]}`,
      '        concurrency: queue',
      '        timeouts: {start: 5m, run: 8m}',
    );
  }
  return `${out.join('\n')}\n`;
}

/** A whole manifest of `count` notebooks × 2 schedules. */
export function generatedManifest(count: number, o: GeneratedManifest = {}): string {
  const project = o.project ?? 'my-project';
  return [
    `name: ${o.name ?? 'scale'}`,
    `project: ${project}`,
    `region: ${o.region ?? 'europe-west1'}`,
    'function:',
    `  serviceAccount: nbtrigger-function@${project}.iam.gserviceaccount.com`,
    'notebooks:',
    notebookEntries(count, 0, o.image),
  ].join('\n');
}
