#!/usr/bin/env node
// What infra/setup.sh needs from a deployment manifest and from infra/firestore.indexes.json, as
// plain `KEY=value` lines (one value a line; lists space-separated). The manifest is read with
// nbtrigger's own parser (dist/deploy/manifest.js: `npm ci && npm run build` first), so setup and
// `nbtrigger deploy` agree on every default. Every value is checked against a strict pattern before
// it is printed, so setup.sh can read the lines without quoting or eval.
//
//   node infra/manifest-facts.mjs infra/nbtrigger.yaml
//
// Keys: PROJECT REGION DEPLOYMENT TOPIC TOKEN_SECRET FUNCTION FUNCTION_SA SERVICE_SAS (the accounts
// the Cloud Run services run as, from `service.serviceAccount`), DEFAULT_RUNTIME_SA (1 when a service
// has none: it then runs as the project's default compute account), OUTPUT_BUCKETS (buckets of the
// schedules' gs:// outputs), SOURCE_BUCKETS (buckets of the notebooks' `source:`), one INDEX line per
// composite index of the run history, and the field overrides (TTL, NO_INDEX) of
// infra/firestore.indexes.json.
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node infra/manifest-facts.mjs MANIFEST\n');
  process.exit(2);
}
const compiled = here('../dist/deploy/manifest.js');
if (!existsSync(compiled)) {
  process.stderr.write('manifest-facts: nbtrigger is not built: run `npm ci && npm run build` first\n');
  process.exit(2);
}
const { parseManifest } = await import(compiled);
let m;
try {
  m = parseManifest(readFileSync(file, 'utf8'), file);
} catch (e) {
  process.stderr.write(`${e.message}\n`);
  process.exit(2);
}

const SAFE = {
  PROJECT: /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/,
  REGION: /^[a-z]+-[a-z]+[0-9]+$/,
  DEPLOYMENT: /^[a-z][a-z0-9-]{0,29}$/,
  TOPIC: /^[A-Za-z][A-Za-z0-9._~+%-]{2,254}$/,
  TOKEN_SECRET: /^[A-Za-z0-9_-]{1,255}$/,
  FUNCTION: /^[A-Za-z][A-Za-z0-9_-]{0,62}$/,
  ACCOUNT: /^[a-z0-9][a-z0-9-]*@[a-z0-9.-]+\.gserviceaccount\.com$/,
  BUCKET: /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/,
  // A gs:// folder in shell-safe characters (a prefix with others is refused here, naming it).
  SOURCE_PREFIXES: /^gs:\/\/[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]\/[A-Za-z0-9._\/-]*$/,
  FIELD: /^[A-Za-z_][A-Za-z0-9_]*$/,
  // A field override (TTL, NO_INDEX): `COLLECTION FIELD`.
  COLLECTION_FIELD: /^[A-Za-z_][A-Za-z0-9_]* [A-Za-z_][A-Za-z0-9_]*$/,
};
const out = [];
function put(key, value, pattern = SAFE[key]) {
  for (const v of Array.isArray(value) ? value : [value]) {
    if (!pattern.test(v)) throw new Error(`manifest-facts: ${key} value "${v}" is not of the expected form`);
  }
  out.push(`${key}=${Array.isArray(value) ? value.join(' ') : value}`);
}

const services = m.notebooks.map((n) => n.service);
// The accounts job-mode notebooks run as (a Cloud Run job task writes records, leases and outputs
// itself, as the function does); DEFAULT_JOB_RUNTIME_SA=1 when one runs as the default account.
const jobServices = m.notebooks.filter((n) => n.execution === 'job').map((n) => n.service);
const jobAccounts = [...new Set(jobServices.map((s) => s.serviceAccount).filter(Boolean))].sort();
const accounts = [...new Set(services.map((s) => s.serviceAccount).filter(Boolean))].sort();
const buckets = [...new Set(m.notebooks.flatMap((n) => n.schedules.map((s) => s.output))
  .filter((o) => typeof o === 'string' && o.startsWith('gs://'))
  .map((o) => o.slice('gs://'.length).split('/')[0]))].sort();
const sourceBuckets = [...new Set(m.notebooks.flatMap((n) => (n.source ? [n.source.bucket] : [])))].sort();
// The folders the notebooks of `source:` are uploaded to: what the function may read (ALLOWED_SOURCES).
const sourcePrefixes = [
  ...new Set(m.notebooks.flatMap((n) => (n.source ? [`gs://${n.source.bucket}/${n.source.prefix}`] : []))),
].sort();

try {
  put('PROJECT', m.project);
  put('REGION', m.region);
  put('DEPLOYMENT', m.name);
  put('TOPIC', m.topic);
  put('TOKEN_SECRET', m.tokenSecret);
  put('FUNCTION', m.function.name);
  put('FUNCTION_SA', m.function.serviceAccount, SAFE.ACCOUNT);
  put('SERVICE_SAS', accounts, SAFE.ACCOUNT);
  put('DEFAULT_RUNTIME_SA', services.some((s) => !s.serviceAccount) ? '1' : '0', /^[01]$/);
  put('JOB_SAS', jobAccounts, SAFE.ACCOUNT);
  put('DEFAULT_JOB_RUNTIME_SA', jobServices.some((s) => !s.serviceAccount) ? '1' : '0', /^[01]$/);
  put('OUTPUT_BUCKETS', buckets, SAFE.BUCKET);
  put('SOURCE_BUCKETS', sourceBuckets, SAFE.BUCKET);
  put('SOURCE_PREFIXES', sourcePrefixes);
  // The composite indexes, as `INDEX=COLLECTION FIELD:ORDER FIELD:ORDER …` (orders lowercase, as gcloud takes them).
  const spec = JSON.parse(readFileSync(here('firestore.indexes.json'), 'utf8'));
  for (const ix of spec.indexes) {
    if (ix.queryScope !== 'COLLECTION') {
      throw new Error(`manifest-facts: index on ${ix.collectionGroup} has scope ${ix.queryScope}`);
    }
    const fields = ix.fields.map((f) => {
      const order = String(f.order).toLowerCase();
      if (!SAFE.FIELD.test(f.fieldPath) || !/^(ascending|descending)$/.test(order)) {
        throw new Error(`manifest-facts: bad index field ${JSON.stringify(f)}`);
      }
      return `${f.fieldPath}:${order}`;
    });
    put('INDEX', `${ix.collectionGroup} ${fields.join(' ')}`, /^[A-Za-z_][A-Za-z0-9_]* [A-Za-z0-9_: ]+$/);
  }
  // Field overrides: `TTL=COLLECTION FIELD` (a TTL policy) and `NO_INDEX=COLLECTION FIELD` (single-field
  // indexes off: large strings, and a TTL field whose timestamps only grow).
  for (const o of spec.fieldOverrides ?? []) {
    const pair = `${o.collectionGroup} ${o.fieldPath}`;
    if (o.ttl === true) put('TTL', pair, SAFE.COLLECTION_FIELD);
    if (Array.isArray(o.indexes) && o.indexes.length === 0) put('NO_INDEX', pair, SAFE.COLLECTION_FIELD);
  }
} catch (e) {
  process.stderr.write(`${e.message}\n`);
  process.exit(2);
}
process.stdout.write(`${out.join('\n')}\n`);
