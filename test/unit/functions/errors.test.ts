/** The error base: codes, kinds, retryability, exit codes, shape checks. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ErrorCodes,
  exitCodeFor,
  isNbtError,
  NbtError,
  toNbtError,
  type ErrorCode,
} from '../../../functions/errors.js';

describe('ErrorCodes', () => {
  // [code, kind, retryable, exit code] — the contract the CLI and the function rely on.
  const table: [ErrorCode, string, boolean, 1 | 2 | 3][] = [
    ['USAGE', 'input', false, 2],
    ['BAD_MESSAGE', 'input', false, 2],
    ['CONFIG', 'input', false, 2],
    ['BAD_NOTEBOOK', 'input', false, 2],
    ['NOTEBOOK_NOT_FOUND', 'input', false, 2],
    ['AUTH_REFUSED', 'input', false, 2],
    ['NO_SUCH_KERNEL', 'input', false, 2],
    ['REQUEST_REJECTED', 'input', false, 2],
    ['SERVER_NOT_ALLOWED', 'input', false, 2],
    ['CELL_ERROR', 'notebook', false, 1],
    ['TIMEOUT', 'timeout', false, 1],
    ['SERVER_UNREACHABLE', 'infrastructure', true, 3],
    ['SERVER_ERROR', 'infrastructure', true, 3],
    ['KERNEL_DIED', 'infrastructure', true, 3],
    ['PROTOCOL_ERROR', 'infrastructure', true, 3],
    ['CANCELLED', 'infrastructure', false, 3],
    ['INTERNAL', 'infrastructure', false, 3],
    ['JOB_UNAVAILABLE', 'infrastructure', true, 3],
    ['JOB_REFUSED', 'input', false, 2],
    ['STORE_UNAVAILABLE', 'infrastructure', true, 3],
    ['IN_PROGRESS', 'infrastructure', true, 3],
    ['SOURCE_NOT_ALLOWED', 'input', false, 2],
  ];
  it('the table covers every code', () =>
    assert.deepEqual(table.map((r) => r[0]).sort(), Object.keys(ErrorCodes).sort()));
  for (const [code, kind, retryable, exit] of table) {
    it(`${code}: kind ${kind}, retryable ${retryable}, exit ${exit}`, () => {
      const e = new NbtError(code, 'm');
      assert.equal(e.code, code);
      assert.equal(e.kind, kind);
      assert.equal(e.retryable, retryable);
      assert.equal(exitCodeFor(e.kind), exit);
      assert.ok(isNbtError(e));
    });
  }
});

describe('NbtError', () => {
  it('carries message, name, details and cause', () => {
    const cause = new Error('inner');
    const e = new NbtError('CELL_ERROR', 'cell 2 raised', { details: { cellIndex: 2, ename: 'ValueError' }, cause });
    assert.equal(e.message, 'cell 2 raised');
    assert.equal(e.name, 'NbtError');
    assert.deepEqual(e.details, { cellIndex: 2, ename: 'ValueError' });
    assert.equal(e.cause, cause);
    assert.ok(e instanceof Error);
    assert.ok(e.stack?.includes('cell 2 raised'));
  });
  it('defaults details to {} and has no cause property when none is given', () => {
    const e = new NbtError('USAGE', 'x');
    assert.deepEqual(e.details, {});
    assert.equal(Object.hasOwn(e, 'cause'), false);
  });
  it('lets an instance override retryable both ways', () => {
    assert.equal(new NbtError('KERNEL_DIED', 'x', { retryable: false }).retryable, false);
    assert.equal(new NbtError('USAGE', 'x', { retryable: true }).retryable, true);
  });
});

describe('isNbtError', () => {
  const lookalike = Object.assign(new Error('dup module'), { code: 'SERVER_ERROR', retryable: true });
  const cases: [string, unknown, boolean][] = [
    ['an NbtError', new NbtError('INTERNAL', 'x'), true],
    ['an Error of the same shape (duplicated module)', lookalike, true],
    ['a plain Error', new Error('x'), false],
    ['a Node error code', Object.assign(new Error('x'), { code: 'ECONNREFUSED', retryable: true }), false],
    ['a known code without retryable', Object.assign(new Error('x'), { code: 'USAGE' }), false],
    ['a prototype name as code', Object.assign(new Error('x'), { code: 'toString', retryable: false }), false],
    ['a plain object', { code: 'USAGE', retryable: false, message: 'x' }, false],
    ['a string', 'USAGE', false],
    ['null', null, false],
  ];
  for (const [name, value, want] of cases) it(`${name} → ${want}`, () => assert.equal(isNbtError(value), want));
});

describe('toNbtError', () => {
  it('returns an NbtError unchanged', () => {
    const e = new NbtError('TIMEOUT', 't');
    assert.equal(toNbtError(e), e);
  });
  const cases: [string, unknown, string][] = [
    ['an Error', new TypeError('bad thing'), 'bad thing'],
    ['a string', 'boom', 'boom'],
    ['undefined', undefined, 'undefined'],
    ['a number', 42, '42'],
  ];
  for (const [name, thrown, message] of cases) {
    it(`wraps ${name} as INTERNAL, keeping the cause`, () => {
      const e = toNbtError(thrown);
      assert.equal(e.code, 'INTERNAL');
      assert.equal(e.message, message);
      assert.equal(e.retryable, false);
      assert.equal(e.cause, thrown);
      assert.equal(exitCodeFor(e.kind), 3);
    });
  }
});
