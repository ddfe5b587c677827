/**
 * Google ID tokens for calling a private Cloud Run service: the function's service account
 * (which deploy grants `roles/run.invoker` on each service) fetches an ID token whose audience
 * is the service URL and sends it as `X-Serverless-Authorization: Bearer <id token>`. Cloud Run
 * checks and strips that header and passes `Authorization: token <T>` through to Jupyter
 * untouched, so both credentials travel on every request (REST and the kernel WebSocket).
 *
 * Tokens are cached per audience until five minutes before they expire; concurrent callers
 * share one fetch. google-auth-library is imported only when a token is first needed, so a run
 * against a local or plain-http server never loads it. A token is never logged.
 *
 * Spec: docs/deploy.md (Security by default); https://cloud.google.com/run/docs/authenticating/service-to-service
 * (X-Serverless-Authorization); https://cloud.google.com/docs/authentication/get-id-token.
 * @module
 */
import { NbtError } from '../errors.js';
import type { ServerAddress } from '../request/address.js';

/** The header Cloud Run reads the ID token from when `Authorization` belongs to the app. */
export const SERVERLESS_AUTHORIZATION = 'x-serverless-authorization';

/** Environment the provider reads. */
export interface IdTokenEnv {
  /**
   * `auto` (default): an ID token for https servers on `*.run.app`; `off`: never;
   * `always`: for every https server (custom domains mapped to Cloud Run).
   */
  NBTRIGGER_ID_TOKEN?: string;
  /** Fixed audience (e.g. the service's run.app URL when it is reached through a custom domain). */
  NBTRIGGER_ID_TOKEN_AUDIENCE?: string;
  [key: string]: string | undefined;
}

/** Fetches a fresh ID token (a JWT) for an audience. */
export type IdTokenFetcher = (audience: string) => Promise<string>;

export interface IdTokenOptions {
  env?: IdTokenEnv;
  /** Injected fetcher (tests); default: google-auth-library's Application Default Credentials. */
  fetch?: IdTokenFetcher;
  now?: () => number;
  /** Refresh this long before expiry (default 5 minutes). */
  marginMs?: number;
  /** Also for plain-http servers (tests against a local server only; never in production). */
  allowHttp?: boolean;
}

/** Gives the headers to add to every request to a server (empty when none is needed). */
export interface IdTokenProvider {
  headersFor(server: ServerAddress): Promise<Record<string, string>>;
}

/** Assumed lifetime of a token whose `exp` cannot be read (Google ID tokens last one hour). */
const DEFAULT_LIFETIME_MS = 55 * 60_000;

/**
 * The audience to fetch an ID token for, or undefined when the server needs none. Pure.
 * Cloud Run accepts the service URL (`https://HOST`) as the audience.
 */
export function audienceFor(server: ServerAddress, env: IdTokenEnv = {}, allowHttp = false): string | undefined {
  const mode = (env.NBTRIGGER_ID_TOKEN ?? 'auto').toLowerCase();
  if (mode === 'off') return undefined;
  if (mode !== 'auto' && mode !== 'always')
    throw new NbtError('CONFIG', `NBTRIGGER_ID_TOKEN must be auto, always or off, got "${env.NBTRIGGER_ID_TOKEN}"`, {
      details: { field: 'NBTRIGGER_ID_TOKEN' },
    });
  if (!server.secure && !allowHttp) return undefined; // never send a credential in clear text
  const host = server.host.toLowerCase();
  if (mode === 'auto' && !host.endsWith('.run.app')) return undefined;
  if (env.NBTRIGGER_ID_TOKEN_AUDIENCE) return env.NBTRIGGER_ID_TOKEN_AUDIENCE;
  const defaultPort = server.secure ? 443 : 80;
  return `${server.secure ? 'https' : 'http'}://${host}${server.port === defaultPort ? '' : `:${server.port}`}`;
}

/** Expiry (ms since epoch) from a JWT's `exp` claim, without verifying it; undefined when unreadable. Pure. */
export function jwtExpiry(token: string): number | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** Creates a provider with a per-audience cache. */
export function createIdTokenProvider(opts: IdTokenOptions = {}): IdTokenProvider {
  const env = opts.env ?? (process.env as IdTokenEnv);
  const fetch = opts.fetch ?? adcFetcher();
  const now = opts.now ?? Date.now;
  const margin = opts.marginMs ?? 5 * 60_000;
  const cache = new Map<string, { token: string; expires: number }>();
  const inflight = new Map<string, Promise<string>>();

  const tokenFor = (audience: string): Promise<string> => {
    const hit = cache.get(audience);
    if (hit && now() < hit.expires - margin) return Promise.resolve(hit.token);
    let p = inflight.get(audience);
    if (!p) {
      p = (async () => {
        let token: string;
        try {
          token = await fetch(audience);
        } catch (e) {
          throw fetchError(audience, e);
        }
        if (typeof token !== 'string' || token === '')
          throw new NbtError('CONFIG', `no ID token was returned for audience ${audience}`);
        cache.set(audience, { token, expires: jwtExpiry(token) ?? now() + DEFAULT_LIFETIME_MS });
        return token;
      })().finally(() => inflight.delete(audience));
      inflight.set(audience, p);
    }
    return p;
  };

  return {
    async headersFor(server): Promise<Record<string, string>> {
      const audience = audienceFor(server, env, opts.allowHttp === true);
      if (audience === undefined) return {};
      return { [SERVERLESS_AUTHORIZATION]: `Bearer ${await tokenFor(audience)}` };
    },
  };
}

/** google-auth-library's ID token client (Application Default Credentials), loaded lazily. */
function adcFetcher(): IdTokenFetcher {
  let auth:
    | Promise<{
        getIdTokenClient(aud: string): Promise<{ idTokenProvider: { fetchIdToken(aud: string): Promise<string> } }>;
      }>
    | undefined;
  return async (audience) => {
    auth ??= import('google-auth-library').then((m) => new m.GoogleAuth());
    const client = await (await auth).getIdTokenClient(audience);
    return client.idTokenProvider.fetchIdToken(audience);
  };
}

/** What the auth library says when no credentials are configured (as opposed to a transient failure). */
const NO_CREDENTIALS = new RegExp(
  [
    'default credentials',
    'could not load',
    'cannot fetch id token',
    'not supported',
    'no (?:id token|credentials)',
    'does not exist',
    'ENOENT',
  ].join('|'),
  'i',
);

/** No credentials is a configuration error; anything else (metadata server hiccup) is retried. */
function fetchError(audience: string, e: unknown): NbtError {
  const msg = e instanceof Error ? e.message.split('\n')[0]! : String(e);
  const config = NO_CREDENTIALS.test(msg);
  return new NbtError(
    config ? 'CONFIG' : 'SERVER_UNREACHABLE',
    `could not get a Google ID token for ${audience}: ${msg}`,
    { cause: e, details: { field: 'id-token', audience } },
  );
}
