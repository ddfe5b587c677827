/**
 * Structured logs as Cloud Logging JSON lines on stdout: `{"severity", "message", ...fields}`.
 * Every line passes through redaction, so a secret (the Jupyter token) never reaches a log,
 * whatever field or error message carries it.
 *
 * Spec: https://cloud.google.com/logging/docs/structured-logging (special JSON fields).
 * @module
 */

import { redact } from './redact.js';

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

export { REDACTED, redact, redactionForms, redactJson } from './redact.js';

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
  if (value instanceof Error)
    return { name: value.name, message: value.message, code: (value as { code?: unknown }).code };
  return value;
}
