/**
 * Redaction of secrets (the Jupyter token) from every text nbtrigger writes: logs, records, error
 * messages, executed notebooks, HTML pages. Pure.
 *
 * One rule: redact first, then cut. A secret is replaced in every encoding the outputs use (raw,
 * JSON-escaped, HTML-escaped, URL-encoded, the combinations a page or a log line nests, and its
 * bytes in base64 and hex), and a text cut short (a log line, an error quoting a server's answer)
 * also loses any fragment of a secret left at the cut: a suffix of the kept text that is a prefix
 * of some form of a secret (or, for text cut from the front, a prefix that is a suffix of one),
 * from {@link MIN_FRAGMENT} characters up.
 *
 * Spec: docs/security.md (redaction); https://html.spec.whatwg.org/multipage/parsing.html#escapingString
 * (HTML), https://url.spec.whatwg.org/#application/x-www-form-urlencoded (form encoding).
 * @module
 */

/** The redaction marker. */
export const REDACTED = '[REDACTED]';

/**
 * A fragment of a secret this long or longer, left at a cut, is redacted. Shorter ones are kept:
 * three characters of a token reveal nothing useful, and redacting them would eat ordinary text.
 */
export const MIN_FRAGMENT = 4;

const BASE_HTML = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/**
 * The ways the HTML writers nbtrigger's pages pass through escape text: its own `escapeHtml`
 * (`&quot;` `&#39;`), markupsafe in nbconvert's templates (`&#34;` `&#39;`), Python's
 * `html.escape` (`&quot;` `&#x27;`), mistune's markdown (`&quot;`, `'` kept) and text-node
 * escaping (`&` `<` `>` only).
 */
const HTML_SCHEMES: ReadonlyArray<Record<string, string>> = [
  { ...BASE_HTML, '"': '&quot;', "'": '&#39;' },
  { ...BASE_HTML, '"': '&#34;', "'": '&#39;' },
  { ...BASE_HTML, '"': '&quot;', "'": '&#x27;' },
  { ...BASE_HTML, '"': '&quot;', "'": '&apos;' },
  { ...BASE_HTML, '"': '&quot;' },
  BASE_HTML,
];

function htmlForms(s: string): string[] {
  return HTML_SCHEMES.map((scheme) => s.replace(/[&<>"']/g, (c) => scheme[c] ?? c));
}

/** JSON string content as `JSON.stringify` writes it (control characters and lone surrogates escaped). */
function jsonForm(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

/** JSON string content as Python's `json.dumps` writes it by default (everything outside ASCII as `\uXXXX`). */
function jsonAsciiForm(s: string): string {
  // eslint-disable-next-line no-control-regex
  return jsonForm(s).replace(/[^\u0020-\u007e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Percent-encoding of UTF-8 with a set of characters kept; `plus` writes a space as `+`. */
function percent(s: string, keep: RegExp, plus: boolean): string | undefined {
  if (LONE_SURROGATE.test(s)) return undefined; // not UTF-8 text: no URL carries it
  let out = '';
  for (const ch of s) {
    if (plus && ch === ' ') out += '+';
    else if (keep.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * URL-encoded forms: `encodeURIComponent` (with `%20` or `+` for a space), the WHATWG form encoding
 * (`URLSearchParams`), Python's `quote` and `quote_plus`.
 */
function urlForms(s: string): string[] {
  return [
    percent(s, /[A-Za-z0-9\-_.!~*'()]/, false),
    percent(s, /[A-Za-z0-9\-_.!~*'()]/, true),
    percent(s, /[A-Za-z0-9*\-._]/, true),
    percent(s, /[A-Za-z0-9_.\-~/]/, false),
    percent(s, /[A-Za-z0-9_.\-~]/, true),
  ].filter((f): f is string => f !== undefined);
}

/**
 * The secret's UTF-8 bytes in base64 (standard and URL-safe alphabets) at each of the three byte
 * offsets it can start at inside a longer encoded text (`user:TOKEN` in a Basic header, a token in
 * a base64 payload), keeping only the characters its own bytes decide; and in hex, both cases.
 * RFC 4648 §4, §5, §8: https://www.rfc-editor.org/rfc/rfc4648
 */
function byteForms(s: string): string[] {
  if (LONE_SURROGATE.test(s)) return [];
  const bytes = Buffer.from(s, 'utf8');
  const out = [bytes.toString('hex'), bytes.toString('hex').toUpperCase()];
  for (const offset of [0, 1, 2]) {
    const b64 = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    // Characters that hold a bit of the prefix (start) or of the bytes after the secret (end) vary.
    const first = Math.ceil((offset * 8) / 6);
    const last = Math.floor(((offset + bytes.length) * 8) / 6);
    const form = b64.slice(first, last);
    if (form.length >= MIN_FRAGMENT * 2) out.push(form, form.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return out;
}

/** Every form of one secret, deduplicated. */
function formsOf(s: string): string[] {
  const out = new Set<string>(byteForms(s));
  const base = [s, ...htmlForms(s), ...urlForms(s)];
  for (const b of base) {
    out.add(b);
    out.add(jsonForm(b));
    out.add(jsonAsciiForm(b));
    out.add(jsonForm(jsonForm(b))); // a JSON document logged as a string field
  }
  // JSON shown on an HTML page, and HTML shown as text on one (a text/html output in a srcdoc).
  for (const h of htmlForms(jsonForm(s))) out.add(h);
  for (const h of htmlForms(s)) out.add(htmlForms(h)[0]!);
  return [...out];
}

const formsCache = new Map<string, string[]>();

/**
 * Every form {@link redact} replaces, longest first: a form that contains another (an escaped form
 * holds the raw text's pieces) is replaced before the shorter one could cut it in half.
 */
export function redactionForms(secrets: readonly string[]): string[] {
  const key = JSON.stringify(secrets);
  let forms = formsCache.get(key);
  if (forms === undefined) {
    const all = new Set<string>();
    for (const s of secrets) if (s.length > 0) for (const f of formsOf(s)) all.add(f);
    forms = [...all].sort((a, b) => b.length - a.length);
    if (formsCache.size > 32) formsCache.clear();
    formsCache.set(key, forms);
  }
  return forms;
}

/** Replaces every occurrence of every form of each secret in `text` with {@link REDACTED}. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  // No copy of a large text (an executed notebook) when the secret is not in it: the usual case.
  for (const form of redactionForms(secrets)) if (out.includes(form)) out = out.split(form).join(REDACTED);
  return out;
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

/** `text` with a trailing fragment of a secret (a suffix that begins some form of it) replaced. */
export function redactTrailingFragment(text: string, secrets: readonly string[]): string {
  let best = 0;
  for (const f of redactionForms(secrets)) {
    for (let k = Math.min(f.length - 1, text.length); k >= MIN_FRAGMENT && k > best; k--) {
      if (text.endsWith(f.slice(0, k))) {
        best = k;
        break;
      }
    }
  }
  return best === 0 ? text : `${text.slice(0, text.length - best)}${REDACTED}`;
}

/**
 * Every string in `value` with a trailing fragment of a secret redacted: for content whose long
 * strings were cut without redaction (a kernel frame the channel clipped to the output cap), where
 * a cut may fall inside the token.
 */
export function redactCutStrings<T>(value: T, secrets: readonly string[]): T {
  if (secrets.every((s) => s.length === 0)) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redactTrailingFragment(v, secrets);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}

/** `text` with a leading fragment of a secret (a prefix that ends some form of it) replaced. */
export function redactLeadingFragment(text: string, secrets: readonly string[]): string {
  let best = 0;
  for (const f of redactionForms(secrets)) {
    for (let k = Math.min(f.length - 1, text.length); k >= MIN_FRAGMENT && k > best; k--) {
      if (text.startsWith(f.slice(f.length - k))) {
        best = k;
        break;
      }
    }
  }
  return best === 0 ? text : `${REDACTED}${text.slice(best)}`;
}

/** The longest form of any secret (how far past a cut a secret that the cut splits can reach). */
function longestForm(secrets: readonly string[]): number {
  return redactionForms(secrets)[0]?.length ?? 0;
}

/** Cut index at most `n` that does not split a surrogate pair. */
function safeEnd(s: string, n: number): number {
  const c = s.charCodeAt(n - 1);
  return n > 0 && n < s.length && c >= 0xd800 && c <= 0xdbff ? n - 1 : n;
}

/**
 * `text` redacted, then cut to at most `max` characters (plus `marker` when cut), with a fragment
 * of a secret at the cut redacted too. Only `max` + the longest form's length of a long text is
 * read, so clipping 50 MB for a log line costs what the line does.
 */
export function clipRedacted(text: string, max: number, secrets: readonly string[], marker = '…'): string {
  if (text.length <= max) return redact(text, secrets);
  const r = redact(text.slice(0, safeEnd(text, max + longestForm(secrets))), secrets);
  return `${redactTrailingFragment(r.slice(0, safeEnd(r, max)), secrets)}${marker}`;
}

/** The last `max` characters of `text`, redacted first, with a fragment at the cut redacted (log tails). */
export function tailRedacted(text: string, max: number, secrets: readonly string[], marker = '…'): string {
  if (text.length <= max) return redact(text, secrets);
  const r = redact(text.slice(Math.max(0, text.length - max - longestForm(secrets))), secrets);
  return `${marker}${redactLeadingFragment(r.slice(Math.max(0, r.length - max)), secrets)}`;
}

/**
 * The secrets a request's headers carry: the value of each header whose name says it holds
 * credentials (`Authorization`, `X-Serverless-Authorization`, a token or a cookie), whole and
 * without its scheme (`token T` → `T`).
 */
export function headerSecrets(headers: Readonly<Record<string, string>>): string[] {
  return Object.entries(headers)
    .filter(([k]) => /authorization|token|cookie/i.test(k))
    .flatMap(([, v]) => [v, v.replace(/^\S+\s+/, '')])
    .filter((v) => v.length > 0);
}
