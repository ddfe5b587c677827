/**
 * The one naming rule for the notebook image Cloud Build builds from `notebook-image/` and pushes
 * to Artifact Registry: `REGION-docker.pkg.dev/PROJECT/nbtrigger/notebook:TAG`. `cloudbuild.yaml`
 * pushes exactly this name (repository `nbtrigger`, image `notebook`); `deploy --built-image`
 * takes it. Pure: no I/O.
 *
 * Spec: docs/deploy.md (Images); https://cloud.google.com/artifact-registry/docs/docker/names.
 * @module
 */
import type { Manifest } from './manifest.js';

/** Artifact Registry Docker repository the notebook image lives in. */
const IMAGE_REPOSITORY = 'nbtrigger';
/** Image name of `notebook-image/`. */
const IMAGE_NAME = 'notebook';

/** `REGION-docker.pkg.dev/PROJECT/nbtrigger/notebook` (no tag). */
function builtImageRepository(region: string, project: string): string {
  return `${region}-docker.pkg.dev/${project}/${IMAGE_REPOSITORY}/${IMAGE_NAME}`;
}

/** The image a build tagged `tag` pushes. */
export function builtImage(region: string, project: string, tag: string): string {
  return `${builtImageRepository(region, project)}:${tag}`;
}

/** An image reference with an explicit tag or digest (a bare name would mean `:latest`, which never changes name). */
const PINNED_IMAGE =
  /^[a-z0-9][^\s:@]*(?::[0-9]+)?[^\s:@]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$/;

/** Why `ref` cannot be used as `--built-image`, or undefined. */
export function builtImageProblem(ref: string): string | undefined {
  if (PINNED_IMAGE.test(ref)) return undefined;
  const example = builtImage('REGION', 'PROJECT', 'TAG');
  return `--built-image must be an image with an explicit tag or digest, such as ${example}; got "${ref}"`;
}

/**
 * The manifest with every service's image known where it can be: a `build:` service runs
 * `built` (`--built-image`) when given, else the image its manifest entry names, else the image
 * its service runs now (`running`: service id → image, this deployment's services only). A
 * service still without one is refused later by `desiredState`, naming it.
 */
export function withImages(m: Manifest, built: string | undefined, running: ReadonlyMap<string, string>): Manifest {
  const notebooks = m.notebooks.map((nb) => {
    const s = nb.service;
    const image = s.build ? (built ?? s.image ?? running.get(s.name)) : s.image;
    return image === undefined ? nb : { ...nb, service: { ...s, image } };
  });
  return { ...m, notebooks };
}
