/**
 * CPU and memory as Cloud Run takes them in a container's resource limits (`1`, `0.5`, `500m`; `512Mi`,
 * `2Gi`, `1G`, `500M`, `1048576Ki`) turned into numbers, so the Cloud Run rules (deploy/rules.ts) can
 * compare them. Pure: no I/O.
 *
 * Spec: https://cloud.google.com/run/docs/configuring/services/cpu,
 * https://cloud.google.com/run/docs/configuring/services/memory-limits.
 * @module
 */

/** CPU text (`1`, `0.5`, `500m`) → CPUs, or undefined. */
export function parseCpu(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(text.trim());
  if (!m) return undefined;
  return m[2] === 'm' ? Number(m[1]) / 1000 : Number(m[1]);
}

/** Memory text (`512Mi`, `2Gi`, `1G`, `500M`, `1048576Ki`) → MiB, or undefined. */
export function parseMemoryMiB(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|M|G)$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const factor: Record<string, number> = {
    Ki: 1 / 1024,
    Mi: 1,
    Gi: 1024,
    k: 1000 / 1048576,
    M: 1e6 / 1048576,
    G: 1e9 / 1048576,
  };
  return n * factor[m[2]!]!;
}
