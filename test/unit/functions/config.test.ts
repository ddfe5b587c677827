/** The function's configuration: the bounds read from the environment. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readBounds } from '../../../functions/config.js';

const MiB = 1024 * 1024;

test('bounds from the environment: whole numbers > 0 only, the memory budget in MiB', () => {
  assert.deepEqual(
    readBounds({
      NBTRIGGER_MAX_NOTEBOOK_BYTES: '1048576',
      NBTRIGGER_MAX_CELLS: '100',
      NBTRIGGER_MAX_CELL_SOURCE: '5000',
      NBTRIGGER_MEMORY_BUDGET_MB: '24',
    }),
    { maxNotebookBytes: 1048576, maxCells: 100, maxCellSourceChars: 5000, memoryBudgetBytes: 24 * MiB },
  );
  assert.deepEqual(
    readBounds({ NBTRIGGER_MAX_NOTEBOOK_BYTES: '-1', NBTRIGGER_MAX_CELLS: '1.5', NBTRIGGER_MAX_CELL_SOURCE: 'many' }),
    {},
  );
  assert.deepEqual(readBounds({}), {});
});
