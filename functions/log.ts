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

/** Replaces every occurrence of each secret (raw and JSON-escaped) in `text`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length === 0) continue;
    out = out.split(s).join(REDACTED);
    const escaped = JSON.stringify(s).slice(1, -1);
    if (escaped !== s) out = out.split(escaped).join(REDACTED);
  }
  return out;
}

/** Creates a JSON-lines logger. */
export function createLogger(opts: LoggerOptions = {}, base: Record<string, unknown> = {}): Logger {
  const write = opts.write ?? ((line: string) => process.stdout.write(line));
  const secrets = (opts.secrets ?? []).filter((s) => s.length > 0);
  const min = RANK[opts.minSeverity ?? 'INFO'];
  return {
    debugEnabled: min <= RANK.DEBUG,
    log(severity, message, fields) {
      if (RANK[severity] < min) return;
      const line = JSON.stringify({ severity, message, ...base, ...fields }, errorReplacer);
      write(`${redact(line, secrets)}\n`);
    },
    child(fields) {
      return createLogger(opts, { ...base, ...fields });
    },
  };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, code: (value as { code?: unknown }).code };
  return value;
}
