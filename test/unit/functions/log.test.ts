/** Structured logging: JSON lines, severity filter, child fields, and redaction of secrets. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NbtError } from '../../../functions/errors.js';
import { createLogger, REDACTED, redact, redactJson, type Severity } from '../../../functions/log.js';

function capture(opts: { secrets?: string[]; minSeverity?: Severity } = {}) {
  const lines: string[] = [];
  const log = createLogger({ ...opts, write: (l) => lines.push(l) });
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('writes one JSON line per record, severity and message first', () => {
    const { log, lines, parsed } = capture();
    log.log('INFO', 'hello', { a: 1, nested: { b: [true, null] } });
    assert.equal(lines.length, 1);
    assert.ok(lines[0]!.endsWith('}\n'));
    assert.equal(lines[0]!.indexOf('\n'), lines[0]!.length - 1, 'exactly one newline, at the end');
    assert.deepEqual(Object.keys(parsed()[0]!), ['severity', 'message', 'a', 'nested']);
    assert.deepEqual(parsed()[0], { severity: 'INFO', message: 'hello', a: 1, nested: { b: [true, null] } });
  });
  it('keeps a multi-line message on one line', () => {
    const { log, lines } = capture();
    log.log('ERROR', 'line1\nline2');
    assert.equal(lines[0]!.split('\n').length, 2);
  });

  const levels: Severity[] = ['DEBUG', 'INFO', 'NOTICE', 'WARNING', 'ERROR'];
  const filter: [Severity | undefined, Severity[], boolean][] = [
    [undefined, ['INFO', 'NOTICE', 'WARNING', 'ERROR'], false],
    ['DEBUG', levels, true],
    ['WARNING', ['WARNING', 'ERROR'], false],
    ['ERROR', ['ERROR'], false],
  ];
  for (const [min, want, debug] of filter) {
    it(`minSeverity ${min ?? '(default)'} writes ${want.join(',')}`, () => {
      const { log, parsed } = capture(min ? { minSeverity: min } : {});
      for (const s of levels) log.log(s, s);
      assert.deepEqual(
        parsed().map((r) => r.severity),
        want,
      );
      assert.equal(log.debugEnabled, debug);
    });
  }

  it('child loggers add fields; call fields win over base fields', () => {
    const { log, parsed } = capture();
    const c = log.child({ runId: 'r1', cell: 0 }).child({ cell: 1 });
    c.log('INFO', 'x', { extra: true });
    c.log('INFO', 'y', { cell: 2 });
    log.log('INFO', 'z');
    assert.deepEqual(parsed(), [
      { severity: 'INFO', message: 'x', runId: 'r1', cell: 1, extra: true },
      { severity: 'INFO', message: 'y', runId: 'r1', cell: 2 },
      { severity: 'INFO', message: 'z' },
    ]);
  });
  it('fields cannot override severity or message', () => {
    const { log, parsed } = capture();
    log.child({ severity: 'DEBUG' }).log('ERROR', 'real', { severity: 'INFO', message: 'fake' });
    assert.deepEqual(parsed(), [{ severity: 'ERROR', message: 'real' }]);
  });
  it('serializes errors with name, message and code', () => {
    const { log, parsed } = capture();
    log.log('ERROR', 'failed', { error: new NbtError('TIMEOUT', 'too slow'), list: [new TypeError('t')] });
    assert.deepEqual(parsed()[0], {
      severity: 'ERROR',
      message: 'failed',
      error: { name: 'NbtError', message: 'too slow', code: 'TIMEOUT' },
      list: [{ name: 'TypeError', message: 't' }],
    });
  });
  it('never throws on a BigInt or a cycle; the other fields survive', () => {
    const { log, parsed } = capture();
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    assert.doesNotThrow(() => log.log('WARNING', 'odd', { big: 10n, cyclic, ok: 'yes' }));
    const r = parsed()[0]!;
    assert.equal(r.severity, 'WARNING');
    assert.equal(r.message, 'odd');
    assert.equal(r.ok, 'yes');
    assert.match(String(r.big), /^\[unserializable: .*BigInt/);
    assert.match(String(r.cyclic), /^\[unserializable: .*circular/i);
  });
});

describe('redaction', () => {
  const token = 'f3a9c0d1e2b3a4c5d6e7f8091a2b3c4d5e6f708192a3b4c5';
  it('redacts the token wherever it appears', () => {
    const { log, lines } = capture({ secrets: [token] });
    const c = log.child({ url: `http://h:8888/api/kernels?token=${token}` });
    c.log('ERROR', `auth failed for ${token}`, {
      headers: { Authorization: `token ${token}` },
      [`key-${token}`]: 1,
      error: new Error(`bad ${token}`),
      list: ['a', token, { deep: [token] }],
      asJson: JSON.stringify({ token }),
    });
    c.log('INFO', token);
    assert.equal(lines.length, 2);
    for (const l of lines) {
      assert.ok(!l.includes(token), l);
      assert.ok(l.includes(REDACTED));
      JSON.parse(l);
    }
    assert.equal((lines[0]!.match(/\[REDACTED\]/g) ?? []).length, 8);
  });

  // Secrets with characters JSON escapes: the escaped form must go too.
  const special = ['to"ken', 'back\\slash', 'new\nline', 'tab\there', 'ctl\u0001x', 'üñí📓', 'a"b\\c\n'];
  for (const s of special) {
    it(`redacts ${JSON.stringify(s)} raw, JSON-escaped and double-escaped`, () => {
      const { log, lines } = capture({ secrets: [s] });
      const once = JSON.stringify({ t: s });
      log.log('INFO', `m ${s}`, { v: s, doc: once, doc2: JSON.stringify({ inner: once }) });
      const l = lines[0]!;
      const esc = JSON.stringify(s).slice(1, -1);
      assert.ok(!l.includes(s), l);
      assert.ok(!l.includes(esc), l);
      assert.ok(!l.includes(JSON.stringify(esc).slice(1, -1)), l);
      const r = JSON.parse(l) as Record<string, string>;
      assert.equal(r.message, `m ${REDACTED}`);
      assert.equal(r.v, REDACTED);
    });
  }

  it('a secret containing another is redacted whole, whatever the order', () => {
    assert.equal(redact('x abcdef y abc z', ['abc', 'abcdef']), `x ${REDACTED} y ${REDACTED} z`);
    assert.equal(redact('x abcdef y abc z', ['abcdef', 'abc']), `x ${REDACTED} y ${REDACTED} z`);
  });
  it('redacts a URI-encoded secret', () => {
    const s = 'tok/en+=x y';
    const { log, lines } = capture({ secrets: [s] });
    log.log('INFO', `GET /api/kernels?token=${encodeURIComponent(s)}`);
    assert.equal(JSON.parse(lines[0]!).message, `GET /api/kernels?token=${REDACTED}`);
  });
  it('ignores empty secrets', () => {
    assert.equal(redact('abc', ['']), 'abc');
    const { log, lines } = capture({ secrets: ['', 'zz'] });
    log.log('INFO', 'abc zz');
    assert.equal(JSON.parse(lines[0]!).message, `abc ${REDACTED}`);
  });
  it('redact leaves text without secrets unchanged', () => {
    assert.equal(redact('nothing here', ['tok']), 'nothing here');
    assert.equal(redact('tok tok', []), 'tok tok');
  });

  it('property: a generated token never reaches the output', () => {
    let seed = 12345;
    const next = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const alphabet = [...'0123456789abcdefABCDEF-_."\\/\n\t=+é📓'];
    for (let i = 0; i < 300; i++) {
      const secret = Array.from(
        { length: 8 + Math.floor(next() * 40) },
        () => alphabet[Math.floor(next() * alphabet.length)],
      ).join('');
      const { log, lines } = capture({ secrets: [secret], minSeverity: 'DEBUG' });
      const where = Math.floor(next() * 4);
      const fields: Record<string, unknown> = { n: i };
      if (where === 0) fields.url = `http://h/?token=${secret}&x=1`;
      if (where === 1) fields.nested = { a: [{ b: `${secret}${secret}` }] };
      if (where === 2) fields.err = new Error(`x${secret}y`);
      if (where === 3) fields.json = JSON.stringify({ headers: { Authorization: `token ${secret}` } });
      log.child({ s: secret }).log('DEBUG', `msg ${secret}`, fields);
      const l = lines[0]!;
      assert.ok(!l.includes(secret), `case ${i}: ${JSON.stringify(secret)} in ${l}`);
      assert.ok(!l.includes(JSON.stringify(secret).slice(1, -1)), `case ${i}: escaped secret in ${l}`);
      JSON.parse(l);
    }
  });
});

describe('redactJson', () => {
  it('replaces secrets inside string values, keeps keys, and a one-letter secret cannot break the JSON', () => {
    const v = { t: 'tot', a: ['xt', 1, true, null], b: { 'key-t': 'plain' }, n: 5 };
    const r = redactJson(v, ['t']);
    assert.deepEqual(r, {
      t: '[REDACTED]o[REDACTED]',
      a: ['x[REDACTED]', 1, true, null],
      b: { 'key-t': 'plain' },
      n: 5,
    });
    assert.deepEqual(v.a, ['xt', 1, true, null], 'the input is not changed');
    assert.equal(redactJson(v, ['']), v);
  });
});
