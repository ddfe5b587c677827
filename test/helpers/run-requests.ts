/**
 * Run requests for the grammar and encoder tests: builders, the BAD_MESSAGE assertion, and a
 * seeded generator of valid requests covering both message forms.
 */
import assert from 'node:assert/strict';
import { NbtError } from '../../functions/errors.js';
import type { JsonValue, RunRequest } from '../../functions/request/grammar.js';
import { seeded } from './seeded.js';

/** Asserts `fn` throws a BAD_MESSAGE NbtError whose field and message match. */
export function assertBad(fn: () => unknown, field: string | undefined, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof NbtError, `expected NbtError, got ${String(e)}`);
    assert.equal(e.code, 'BAD_MESSAGE');
    assert.equal(e.retryable, false);
    if (field !== undefined) assert.equal(e.details.field, field);
    assert.match(e.message, message);
    return true;
  });
}

export const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');
export const srv = (host: string, port: number, secure = false) => ({ host, port, secure });
export const req = (server: RunRequest['server'], notebook: string, extra: Partial<RunRequest> = {}): RunRequest => ({
  server,
  notebook,
  verbose: false,
  timeouts: {},
  ...extra,
});

/** A generator of valid requests (canonical hosts, both forms), deterministic for a seed. */
export function generator(seed: number): () => RunRequest {
  const r = seeded(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)]!;
  const chance = (p: number): boolean => r() < p;
  const str = (alphabet: string, lo: number, hi: number): string => {
    const chars = [...alphabet];
    return Array.from({ length: int(lo, hi) }, () => pick(chars)).join('');
  };
  const label = (): string => {
    const inner = str('abcdefghijklmnopqrstuvwxyz0123456789-', 0, 10);
    return inner === '' ? str('abcxyz09', 1, 1) : `${str('abcz9', 1, 1)}${inner}${str('az09', 1, 1)}`;
  };
  // Hosts in canonical form (what parseServer gives back): a name's last label is not a number
  // (a URL parser would read the name as IPv4), IPv6 compressed as a URL parser writes it.
  const host = (): string =>
    pick([
      () => [...Array.from({ length: int(0, 3) }, label), `x${label()}`].join('.'),
      () => Array.from({ length: 4 }, () => String(int(0, 255))).join('.'),
      () => pick(['::1', '::', 'fe80::1', '2001:db8::a:b', '2001:db8::1:0:0:1', '::ffff:a00:1']),
    ])();
  const segment = (): string => {
    const s = str('abcXYZ019_-.,+=@~()é日本📓 ', 1, 12);
    return s === '.' || s === '..' ? `${s}x` : s;
  };
  const notebook = (): string => {
    const segs = Array.from({ length: int(0, 3) }, segment);
    const p = [...segs, `${chance(0.2) ? '' : segment()}.ipynb`].join('/');
    return p.trim() === p ? p : `n${p.trim()}x.ipynb`;
  };
  const json = (depth: number): JsonValue => {
    const kind = int(0, depth > 2 ? 3 : 5);
    switch (kind) {
      case 0:
        return str('ab "\\\n\t\u0001é📓', 0, 8);
      case 1:
        return chance(0.5) ? int(-1e6, 1e6) : Math.round(r() * 1e6) / 1e3 + 0.5;
      case 2:
        return chance(0.5);
      case 3:
        return null;
      case 4:
        return Array.from({ length: int(0, 3) }, () => json(depth + 1));
      default:
        return Object.fromEntries(Array.from({ length: int(0, 3) }, () => [str('abk _$"', 1, 5), json(depth + 1)]));
    }
  };
  return (): RunRequest => {
    const secure = chance(0.5);
    const port = pick([80, 443, 8888, 1, 65535, int(1, 65535)]);
    const out: RunRequest = {
      server: { host: host(), port, secure },
      notebook: notebook(),
      verbose: chance(0.5),
      timeouts: {},
    };
    if (chance(0.5)) return out; // classic-sized
    if (chance(0.3)) out.kernelName = str('python3 -_.ir', 1, 10).replace(/^\s+|\s+$/g, 'k') || 'k';
    if (chance(0.3)) out.sequential = chance(0.5);
    for (const k of ['startSeconds', 'cellSeconds', 'runSeconds'] as const) {
      if (chance(0.3)) out.timeouts[k] = pick([1, 0.25, 604800, int(1, 100000), Math.round(r() * 1e5) / 100 + 0.01]);
    }
    if (chance(0.3)) out.parameters = json(5) as Record<string, JsonValue>;
    if (
      out.parameters !== undefined &&
      (typeof out.parameters !== 'object' || out.parameters === null || Array.isArray(out.parameters))
    ) {
      out.parameters = { value: out.parameters };
    }
    if (chance(0.2)) out.output = pick(['gs://b/o.ipynb', 'out/x.ipynb', 'file:///tmp/é.ipynb']);
    if (chance(0.2)) out.runKey = str('abc-123:/é', 1, 20);
    return out;
  };
}
