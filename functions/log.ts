/**
 * Structured logs as Cloud Logging JSON lines on stdout: `{"severity", "message", ...fields}`.
 * Every line passes through redaction, so a secret (the Jupyter token) never reaches a log,
 * whatever field or error message carries it.
 *
 * Spec: https://cloud.google.com/logging/docs/structured-logging (special JSON fields).
 * @module
 */

export type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR';

const RANK: Record<Severity, number> = { DEBUG: 0, INFO: 1, NOTICE: 2, WARNING: 3, ERROR: 4 };

export interface Logger {
  log(severity: Severity, message: string, fields?: Record<string, unknown>): void;
  /** True when DEBUG lines are written (so callers can skip building them). */
  readonly debugEnabled: boolean;
  /** A logger that adds `fields` to every line. */
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  write?: (line: string) => void;
  /** Strings that must never appear in output (tokens). Empty strings are ignored. */
  secrets?: string[];
  minSeverity?: Severity;
}

/** The redaction marker. */
export const REDACTED = '[REDACTED]';

/**
 * Replaces every occurrence of each secret in `text`: raw, JSON-escaped, JSON-escaped twice
 * (a JSON document logged as a string field) and URI-encoded. Longer secrets go first, so a secret that
 * contains another is never left half-redacted.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  // No copy of a large text (an executed notebook) when the secret is not in it: the usual case.
  for (const form of redactionForms(secrets)) if (out.includes(form)) out = out.split(form).join(REDACTED);
  return out;
}

/** Every form {@link redact} replaces, in the order it replaces them. */
export function redactionForms(secrets: readonly string[]): string[] {
  const all: string[] = [];
  const sorted = secrets.filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  for (const s of sorted) {
    const forms = [s];
    for (let level = 0; level < 2; level++) {
      const next = JSON.stringify(forms[forms.length - 1]).slice(1, -1);
      if (next === forms[forms.length - 1]) break;
      forms.push(next);
    }
    // Most-escaped first: a raw match inside an escape sequence would cut it in half.
    forms.reverse();
    const uri = encodeURIComponent(s);
    if (uri !== s) forms.push(uri); // a token written into a URL query
    all.push(...forms);
  }
  return all;
}

/**
 * A copy of a JSON value with every secret replaced inside its string values, for records and
 * outputs: a notebook may print whatever it can read. Walks the value instead of rewriting its
 * serialisation, and leaves keys (the record's own schema) alone, so no secret, however short,
 * can break the JSON or its shape.
 */
export function redactJson<T>(value: T, secrets: readonly string[]): T {
  const list = secrets.filter((s) => s.length > 0);
  if (list.length === 0) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redact(v, list);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

/** Creates a JSON-lines logger. Logging never throws (unserializable fields are replaced). */
export function createLogger(opts: LoggerOptions = {}, base: Record<string, unknown> = {}): Logger {
  const write = opts.write ?? ((line: string) => process.stdout.write(line));
  const secrets = (opts.secrets ?? []).filter((s) => s.length > 0);
  const min = RANK[opts.minSeverity ?? 'INFO'];
  return {
    debugEnabled: min <= RANK.DEBUG,
    log(severity, message, fields) {
      if (RANK[severity] < min) return;
      // Fields may not override the two special keys; they stay first in the line.
      const entry: Record<string, unknown> = { severity, message, ...base, ...fields };
      entry.severity = severity;
      entry.message = message;
      write(`${redact(serialize(entry), secrets)}\n`);
    },
    child(fields) {
      return createLogger(opts, { ...base, ...fields });
    },
  };
}

function serialize(entry: Record<string, unknown>): string {
  try {
    return JSON.stringify(entry, errorReplacer);
  } catch {
    // A BigInt or a cycle in some field: keep the line, say what was lost.
    const safe: Record<string, unknown> = { severity: entry.severity, message: entry.message };
    for (const [k, v] of Object.entries(entry)) {
      if (k === 'severity' || k === 'message') continue;
      try {
        JSON.stringify(v, errorReplacer);
        safe[k] = v;
      } catch (e) {
        safe[k] = `[unserializable: ${(e as Error).message}]`;
      }
    }
    return JSON.stringify(safe, errorReplacer);
  }
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, code: (value as { code?: unknown }).code };
  return value;
}
