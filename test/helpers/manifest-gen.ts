/**
 * Generated manifests of N notebooks with two schedules each (different time zones, parameters,
 * outputs), for the scale tests and bench/: what a team with hundreds of scheduled notebooks
 * writes. Deterministic: the same N gives the same text.
 *
 * Spec: docs/deploy.md (the manifest), docs/benchmarks.md (the deploy figures).
 * @module
 */

/** Time zones the generated schedules cycle through (tz database names). */
const ZONES = [
  'Europe/Paris',
  'America/New_York',
  'Asia/Tokyo',
  'UTC',
  'Australia/Sydney',
  'America/Sao_Paulo',
  'Europe/London',
  'Asia/Kolkata',
];

export interface GeneratedManifest {
  /** Deployment name (default `scale`). */
  name?: string;
  project?: string;
  region?: string;
  /** The image every service runs (default an Artifact Registry reference). */
  image?: string;
}

/** The YAML of notebook entries `from` … `from + count - 1` (a list under `notebooks:`). */
export function notebookEntries(
  count: number,
  from = 0,
  image = 'europe-docker.pkg.dev/my-project/nbtrigger/notebook:v1',
): string {
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
  return `${header(o)}notebooks:\n${notebookEntries(count, 0, o.image)}`;
}

/**
 * The same notebooks split a folder per team: the manifest (`include: [teams]`) and
 * `teams/team-NN.yaml` files of `perTeam` notebooks each. Answers relative path → text.
 */
export function splitManifest(count: number, perTeam: number, o: GeneratedManifest = {}): Map<string, string> {
  const out = new Map([['nbtrigger.yaml', `${header(o)}include: [teams]\n`]]);
  for (let from = 0, t = 0; from < count; from += perTeam, t++) {
    out.set(
      `teams/team-${String(t).padStart(2, '0')}.yaml`,
      `notebooks:\n${notebookEntries(Math.min(perTeam, count - from), from, o.image)}`,
    );
  }
  return out;
}

function header(o: GeneratedManifest): string {
  const project = o.project ?? 'my-project';
  return [
    `name: ${o.name ?? 'scale'}`,
    `project: ${project}`,
    `region: ${o.region ?? 'europe-west1'}`,
    'function:',
    `  serviceAccount: nbtrigger-function@${project}.iam.gserviceaccount.com`,
    '',
  ].join('\n');
}
