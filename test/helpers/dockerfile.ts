/**
 * A small Dockerfile parser for intent checks (no Docker engine runs here): instructions with
 * their line, continuation lines (`\` or the `# escape=` character) joined, comments and parser
 * directives dropped, JSON (exec) form of CMD/ENTRYPOINT/RUN/COPY/ADD/SHELL/VOLUME parsed, and
 * `--flag=value` options of FROM/COPY/ADD/RUN split off. Pure.
 *
 * Spec: https://docs.docker.com/reference/dockerfile/ (format, parser directives, shell and exec form);
 * docs/deploy.md (lint the Dockerfile's intent in tests).
 * @module
 */

export interface Instruction {
  /** Upper-cased keyword (`FROM`, `RUN`, …). */
  keyword: string;
  /** The arguments as written, continuations joined with a space. */
  raw: string;
  /** 1-based line of the keyword. */
  line: number;
  /** `--name=value` options before the arguments (`--chown`, `--platform`, `--mount`, …). */
  flags: Record<string, string>;
  /** Exec form (a JSON array) when the arguments are one; undefined for shell form. */
  json?: string[];
  /** Arguments without the flags, whitespace-split (shell form) or the JSON array items. */
  args: string[];
}

const JSON_FORM = new Set(['CMD', 'ENTRYPOINT', 'RUN', 'COPY', 'ADD', 'SHELL', 'VOLUME']);
const FLAGGED = new Set(['FROM', 'COPY', 'ADD', 'RUN', 'HEALTHCHECK']);

/** Parses Dockerfile text. Throws on an unterminated continuation or a malformed JSON form. */
export function parseDockerfile(text: string): Instruction[] {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  let escapeChar = '\\';
  // Parser directives: `# key=value` lines at the very top, before any other line.
  for (const l of lines) {
    const m = /^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$/.exec(l);
    if (!m) break;
    if (m[1]!.toLowerCase() === 'escape') escapeChar = m[2]!;
  }
  const out: Instruction[] = [];
  let buf: string | undefined;
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const trimmed = line.trim();
    // Comment lines are removed before continuation handling, even inside a continued instruction.
    if (trimmed.startsWith('#')) continue;
    if (buf === undefined) {
      if (trimmed === '') continue;
      buf = '';
      start = i + 1;
    } else if (trimmed === '') continue; // empty lines inside a continuation are skipped
    const continued = line.trimEnd().endsWith(escapeChar);
    buf += (buf === '' ? '' : ' ') + (continued ? line.trimEnd().slice(0, -escapeChar.length) : line).trim();
    if (!continued) {
      out.push(instruction(buf, start));
      buf = undefined;
    }
  }
  if (buf !== undefined) throw new Error(`line ${start}: the instruction continues past the end of the file`);
  return out;
}

function instruction(text: string, line: number): Instruction {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(text)!;
  const keyword = m[1]!.toUpperCase();
  let rest = m[2]!.trim();
  const flags: Record<string, string> = {};
  if (FLAGGED.has(keyword)) {
    for (let f = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest); f; f = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(rest)) {
      flags[f[1]!] = f[2] ?? 'true';
      rest = rest.slice(f[0].length);
    }
  }
  const ins: Instruction = { keyword, raw: m[2]!.trim(), line, flags, args: [] };
  if (JSON_FORM.has(keyword) && rest.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(rest);
    } catch (e) {
      throw new Error(
        `line ${line}: ${keyword} looks like exec form but is not a JSON array of strings: ${(e as Error).message}`,
      );
    }
    if (!Array.isArray(parsed) || parsed.some((s) => typeof s !== 'string'))
      throw new Error(`line ${line}: ${keyword} exec form must be an array of strings`);
    ins.json = parsed as string[];
    ins.args = ins.json;
  } else {
    ins.args = rest.split(/\s+/).filter(Boolean);
  }
  return ins;
}

/** The instructions of the final build stage (after the last FROM). */
export function finalStage(ins: Instruction[]): Instruction[] {
  let last = -1;
  ins.forEach((x, i) => {
    if (x.keyword === 'FROM') last = i;
  });
  return last < 0 ? ins : ins.slice(last);
}
