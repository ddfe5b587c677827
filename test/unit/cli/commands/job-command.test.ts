/**
 * `nbtrigger job`'s environment, as Cloud Run sets it (CLOUD_RUN_EXECUTION, CLOUD_RUN_TASK_INDEX,
 * CLOUD_RUN_TASK_ATTEMPT) and NBTRIGGER_REQUEST: each bad value refused naming its variable.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requestBody, taskEnv } from '../../../../cli/commands/job-command.js';
import { JsonNumber } from '../../../../functions/notebook/translators/values.js';
import { NbtError } from '../../../../functions/errors.js';

function field(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof NbtError);
    return String(e.details.field);
  }
  assert.fail('expected an error');
}

describe('taskEnv', () => {
  it('reads the execution, index 0 and the attempt (default 0)', () => {
    assert.deepEqual(taskEnv({ CLOUD_RUN_EXECUTION: 'nb-abcde', CLOUD_RUN_TASK_ATTEMPT: '2' }), {
      execution: 'nb-abcde',
      index: 0,
      attempt: 2,
    });
    assert.deepEqual(
      taskEnv({ CLOUD_RUN_EXECUTION: 'nb-abcde', CLOUD_RUN_TASK_INDEX: '0', CLOUD_RUN_TASK_ATTEMPT: '' }).attempt,
      0,
    );
  });
  it('refuses a missing or odd execution, a task index other than 0, a bad attempt', () => {
    assert.equal(
      field(() => taskEnv({})),
      'CLOUD_RUN_EXECUTION',
    );
    assert.equal(
      field(() => taskEnv({ CLOUD_RUN_EXECUTION: 'a b' })),
      'CLOUD_RUN_EXECUTION',
    );
    assert.equal(
      field(() => taskEnv({ CLOUD_RUN_EXECUTION: 'x', CLOUD_RUN_TASK_INDEX: '1' })),
      'CLOUD_RUN_TASK_INDEX',
    );
    assert.equal(
      field(() => taskEnv({ CLOUD_RUN_EXECUTION: 'x', CLOUD_RUN_TASK_ATTEMPT: '-1' })),
      'CLOUD_RUN_TASK_ATTEMPT',
    );
  });
});

describe('requestBody', () => {
  it('a JSON object, numbers exact', () => {
    const b = requestBody('{"notebook": "a.ipynb", "parameters": {"f": 1.0}}');
    assert.equal(b.notebook, 'a.ipynb');
    assert.ok((b.parameters as Record<string, unknown>).f instanceof JsonNumber, '1.0 stays a float');
  });
  it('refuses unset, not JSON, not an object, naming NBTRIGGER_REQUEST', () => {
    for (const t of [undefined, ' ', '{', '[1]', '1e400'])
      assert.equal(
        field(() => requestBody(t)),
        'NBTRIGGER_REQUEST',
        String(t),
      );
  });
});
