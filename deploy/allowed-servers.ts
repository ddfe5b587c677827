/**
 * What `deploy --write-allowed-servers` writes for the function's ALLOWED_SERVERS. Pure.
 *
 * Spec: docs/deploy.md (--write-allowed-servers).
 * @module
 */
import type { Manifest } from './manifest.js';

/**
 * The servers the deployment's function may call: each of its services as `host:port` (from the
 * service's URL), then the manifest's `function.allowedServers`. Nothing else.
 */
export function allowedServers(m: Manifest, urls: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const nb of m.notebooks) {
    const url = urls.get(nb.service.name);
    if (url === undefined) continue;
    const u = new URL(url);
    out.push(`${u.hostname.toLowerCase()}:${u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : u.port}`);
  }
  out.push(...m.function.allowedServers);
  return [...new Set(out)];
}
