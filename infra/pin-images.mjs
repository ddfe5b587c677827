#!/usr/bin/env node
// Writes a copy of a deployment manifest in which every Cloud Run service built from
// notebook-image/ (`build:`) runs the image this build pushed (IMAGE:TAG), so `nbtrigger deploy`
// rolls out a new revision on every build (a fixed `:latest` would look unchanged to deploy).
// Services with `image:` are left alone. Used by cloudbuild.yaml:
//   node infra/pin-images.mjs infra/nbtrigger.yaml REGION-docker.pkg.dev/P/nbtrigger/notebook:SHA > out.yaml
// Spec: issue 4 ("Image and build").
import { readFileSync } from 'node:fs';
import { isMap, isScalar, parseDocument } from 'yaml';

const [file, image] = process.argv.slice(2);
if (!file || !image || !/^[a-z0-9][^\s:@]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$/.test(image)) {
  process.stderr.write('usage: node infra/pin-images.mjs MANIFEST IMAGE:TAG  (an image with an explicit tag or digest)\n');
  process.exit(2);
}
const doc = parseDocument(readFileSync(file, 'utf8'));
if (doc.errors.length > 0) {
  process.stderr.write(`${file}: ${doc.errors[0].message}\n`);
  process.exit(2);
}
const notebooks = doc.get('notebooks');
let pinned = 0;
for (const nb of notebooks?.items ?? []) {
  const service = isMap(nb) ? nb.get('service') : undefined;
  if (isMap(service) && service.has('image')) continue;
  const build = isMap(service) ? service.get('build') : undefined;
  const context = build === undefined ? 'notebook-image' : typeof build === 'string' ? build : isScalar(build) ? String(build.value) : isMap(build) ? String(build.get('context') ?? 'notebook-image') : '';
  if (context.replace(/\/+$/, '') !== 'notebook-image') {
    process.stderr.write(`${file}: notebook "${nb.get('name')}" builds from "${context}"; this build only makes notebook-image/\n`);
    process.exit(2);
  }
  if (!isMap(service)) nb.set('service', doc.createNode({}));
  nb.setIn(['service', 'build'], doc.createNode({ context: 'notebook-image', image }));
  pinned++;
}
process.stderr.write(`pin-images: ${pinned} service(s) of ${file} run ${image}\n`);
process.stdout.write(doc.toString());
