#!/usr/bin/env node
// Writes the runNotebook function's environment as a gcloud --env-vars-file (YAML; every value a
// JSON string). Used by cloudbuild.yaml after `nbtrigger deploy --write-allowed-servers FILE`:
//
//   node infra/function-env.mjs --allowed-servers-file FILE --bucket BUCKET --max-attempts N \
//     [--allowed-jobs projects/P/locations/R/jobs/DEPLOYMENT-*] [--allowed-sources 'gs://B/P/ …'] > env.yaml
//
// - ALLOWED_SERVERS: exactly the hosts the deployment's services have (the file deploy wrote, plus the
//   manifest's own extra entries), checked with the function's own parser. A wildcard that matches
//   anyone's Cloud Run service (`*`, `*.run.app`, `*.a.run.app`) is refused: whoever can publish to the
//   topic could point the function, and its Jupyter token, at a service of their own.
// - NBTRIGGER_STORE=firestore: records and leases shared by every instance (setup.sh made the database).
// - NBTRIGGER_OUTPUT=gs://BUCKET/runs/: executed notebooks in the bucket (a message's `output` wins).
// - ALLOWED_OUTPUTS=gs://BUCKET server:: the outputs a message (a schedule's included) may choose: the
//   deployment's bucket, and the notebook's own server (docs/security.md).
// - NBTRIGGER_MAX_ATTEMPTS: the trigger subscription's max delivery attempts, so the last attempt records
//   the failure and acknowledges; only a crash or a kill on the last attempt reaches the dead-letter topic.
// - ALLOWED_JOBS (with --allowed-jobs): the Cloud Run jobs a message may start, the deployment's own
//   (their ids begin with `DEPLOYMENT-`: deploy/manifest-job.ts). A pattern with no prefix (`jobs/*`)
//   is refused: it would let whoever can publish start any job of the project.
// - ALLOWED_SOURCES (with --allowed-sources): the gs:// folders the manifest's `source:` notebooks are
//   uploaded to (infra/manifest-facts.mjs SOURCE_PREFIXES), checked with the function's own parser;
//   empty: a message may read no notebook from Cloud Storage or the web (default deny).
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function fail(message) {
  process.stderr.write(`function-env: ${message}\n`);
  process.exit(2);
}
const args = new Map();
const argv = process.argv.slice(2);
const FLAGS = ['--allowed-servers-file', '--bucket', '--max-attempts', '--allowed-jobs', '--allowed-sources'];
for (let i = 0; i < argv.length; i += 2) {
  if (!FLAGS.includes(argv[i]) || argv[i + 1] === undefined) {
    fail(
      'usage: node infra/function-env.mjs --allowed-servers-file FILE --bucket BUCKET --max-attempts N ' +
        '[--allowed-jobs PATTERN] [--allowed-sources LIST]',
    );
  }
  args.set(argv[i], argv[i + 1]);
}
const file = args.get('--allowed-servers-file');
const bucket = args.get('--bucket');
const attempts = args.get('--max-attempts');
if (!file || !bucket || !attempts) fail('--allowed-servers-file, --bucket and --max-attempts are all required');

const compiled = fileURLToPath(new URL('../dist/functions/security/allowlist.js', import.meta.url));
if (!existsSync(compiled)) fail('nbtrigger is not built: run `npm run build` first');
const { parseAllowlist } = await import(compiled);

const servers = readFileSync(file, 'utf8').trim();
let patterns;
try {
  patterns = parseAllowlist(servers);
} catch (e) {
  fail(`${file}: ${e.message}`);
}
const open = patterns.filter((p) => p.host === '*' || /^\*\.(?:a\.)?run\.app$/.test(p.host));
if (open.length > 0) fail(`${file}: "${open[0].text}" would let any Cloud Run service receive the Jupyter token`);
if (!/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(bucket) || bucket.includes('..')) {
  fail(`"${bucket}" is not a bucket name`);
}
if (!/^\d+$/.test(attempts) || Number(attempts) < 5 || Number(attempts) > 100) {
  fail(`--max-attempts ${attempts}: Pub/Sub takes 5 to 100 delivery attempts`);
}

const jobs = args.get('--allowed-jobs');
const JOBS_PATTERN = new RegExp(
  '^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/locations/[a-z]+-[a-z]+[0-9]+/jobs/[a-z][a-z0-9-]*-\\*$',
);
if (jobs !== undefined && !JOBS_PATTERN.test(jobs)) {
  fail(`--allowed-jobs ${jobs}: expected projects/PROJECT/locations/REGION/jobs/DEPLOYMENT-* (the deployment's jobs)`);
}

const sourcesText = args.get('--allowed-sources');
let sources;
if (sourcesText !== undefined) {
  const sourcesModule = new URL('../dist/functions/security/sources.js', import.meta.url);
  const { parseSourceAllowlist } = await import(fileURLToPath(sourcesModule));
  try {
    sources = parseSourceAllowlist(sourcesText).map((p) => p.text).join(' ');
  } catch (e) {
    fail(`--allowed-sources: ${e.message}`);
  }
}

const env = {
  NODE_ENV: 'production',
  ALLOWED_SERVERS: patterns.map((p) => p.text).join(','),
  NBTRIGGER_STORE: 'firestore',
  NBTRIGGER_OUTPUT: `gs://${bucket}/runs/`,
  ALLOWED_OUTPUTS: `gs://${bucket} server:`,
  NBTRIGGER_MAX_ATTEMPTS: attempts,
  ...(jobs === undefined ? {} : { ALLOWED_JOBS: jobs }),
  ...(sources === undefined ? {} : { ALLOWED_SOURCES: sources }),
};
process.stdout.write(Object.entries(env).map(([k, v]) => `${k}: ${JSON.stringify(v)}\n`).join(''));
