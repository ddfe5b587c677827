/**
 * Output folding: streams, clear_output, display ids across cells, results, errors, and the last
 * result of a run. The size cap is in outputs-cap.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clear, display, error, feed, type Msg, out, result, stderr, stdout, update, view } from './output-messages.js';

describe('OutputStore folding', () => {
  const cases: [string, Msg[], Record<number, unknown[]>][] = [
    ['consecutive stdout merged', [stdout(0, 'a'), stdout(0, 'b\n'), stdout(0, 'c')], { 0: [out('o', 'ab\nc')] }],
    [
      'stdout/stderr interleaved kept apart',
      [stdout(0, 'a'), stderr(0, 'b'), stdout(0, 'c'), stderr(0, 'd'), stderr(0, 'e')],
      { 0: [out('o', 'a'), out('e', 'b'), out('o', 'c'), out('e', 'de')] },
    ],
    [
      'a display breaks a stream run',
      [stdout(0, 'a'), display(0, 'D'), stdout(0, 'b')],
      { 0: [out('o', 'a'), ['display', 'D'], out('o', 'b')] },
    ],
    [
      'cells are separate',
      [stdout(0, 'a'), stdout(1, 'b'), stdout(0, 'c')],
      { 0: [out('o', 'ac')], 1: [out('o', 'b')], 2: [] },
    ],
    [
      'unknown stream name is stdout',
      [
        [0, 'stream', { name: 'weird', text: 'x' }],
        [0, 'stream', { text: 'y' }],
      ],
      { 0: [out('o', 'xy')] },
    ],
    [
      'clear_output clears at once',
      [stdout(0, 'a'), display(0, 'D'), clear(0), stdout(0, 'b')],
      { 0: [out('o', 'b')] },
    ],
    ['clear_output only touches its cell', [stdout(0, 'a'), stdout(1, 'b'), clear(1)], { 0: [out('o', 'a')], 1: [] }],
    ['clear_output wait=True waits for the next output', [stdout(0, 'a'), clear(0, true)], { 0: [out('o', 'a')] }],
    [
      'wait=True then stream replaces',
      [stdout(0, '10%'), clear(0, true), stdout(0, '20%'), clear(0, true), stdout(0, '30%')],
      { 0: [out('o', '30%')] },
    ],
    ['wait=True then display replaces', [display(0, 'A'), clear(0, true), display(0, 'B')], { 0: [['display', 'B']] }],
    [
      'wait=True then result replaces',
      [stdout(0, 'x'), clear(0, true), result(0, 'R', 3)],
      { 0: [['result', 'R', 3]] },
    ],
    [
      'wait=True then error replaces',
      [stdout(0, 'x'), clear(0, true), error(0, 'E', 'v', ['t'])],
      { 0: [['error', 'E', 'v', ['t']]] },
    ],
    ['wait=True then clear now', [stdout(0, 'x'), clear(0, true), clear(0)], { 0: [] }],
    ['wait=False is an immediate clear', [stdout(0, 'x'), clear(0, false)], { 0: [] }],
    [
      'wait=True does not carry to another cell',
      [stdout(0, 'x'), clear(0, true), stdout(1, 'y')],
      { 0: [out('o', 'x')], 1: [out('o', 'y')] },
    ],
    [
      'update_display_data is not an output and does not flush a pending clear',
      [display(0, 'A', 'd'), clear(0, true), update(0, 'B', 'd')],
      { 0: [['display', 'B']] },
    ],
    [
      'update by display_id across cells',
      [display(0, 'A', 'd'), display(0, 'X', 'other'), stdout(1, 's'), update(2, 'B', 'd')],
      {
        0: [
          ['display', 'B'],
          ['display', 'X'],
        ],
        1: [out('o', 's')],
        2: [],
      },
    ],
    [
      'update rewrites every output with the id',
      [display(0, 'A', 'd'), display(1, 'A', 'd'), update(3, 'C', 'd')],
      { 0: [['display', 'C']], 1: [['display', 'C']] },
    ],
    [
      'a new display with a known id refreshes the earlier ones (nbclient)',
      [display(0, 'A', 'd'), display(1, 'B', 'd')],
      { 0: [['display', 'B']], 1: [['display', 'B']] },
    ],
    ['update with an unknown id is ignored', [display(0, 'A', 'd'), update(0, 'B', 'nope')], { 0: [['display', 'A']] }],
    [
      'update without transient is ignored',
      [display(0, 'A', 'd'), update(0, 'B', undefined)],
      { 0: [['display', 'A']] },
    ],
    ['display without id is never updated', [display(0, 'A'), update(0, 'B', 'd')], { 0: [['display', 'A']] }],
    [
      'an update after clear does not resurrect',
      [display(0, 'A', 'd'), clear(0), stdout(0, 's'), update(0, 'B', 'd')],
      { 0: [out('o', 's')] },
    ],
    [
      'update reaches an execute_result with the id',
      [result(0, 'A', 1, 'r'), update(1, 'B', 'r')],
      { 0: [['result', 'B', 1]] },
    ],
    ['execute_result with a non-number count', [result(0, 'A', '1')], { 0: [['result', 'A', null]] }],
    [
      'error with odd fields',
      [
        [0, 'error', { ename: 'E', traceback: 'not a list' }],
        [1, 'error', { evalue: 5, traceback: [1, 'x'] }],
      ],
      { 0: [['error', 'E', '', []]], 1: [['error', '', '5', ['1', 'x']]] },
    ],
    // Sequences the nbclient parity test (test/integration/parity) also checks against a real kernel.
    [
      'wait=True, then a display with a known id: other cells refreshed, this cell replaced (nbclient)',
      [display(0, 'A', 'd'), display(1, 'X', 'd'), clear(1, true), display(1, 'B', 'd')],
      { 0: [['display', 'B']], 1: [['display', 'B']] },
    ],
    [
      'a clear in one cell keeps the id alive in another (nbclient)',
      [display(0, 'A', 'd'), display(1, 'A', 'd'), clear(1), update(2, 'C', 'd')],
      { 0: [['display', 'C']], 1: [], 2: [] },
    ],
    [
      'a later display with the id after a clear is updated again (nbclient)',
      [display(0, 'A', 'd'), clear(0), display(0, 'B', 'd'), update(1, 'C', 'd')],
      { 0: [['display', 'C']] },
    ],
    [
      'other message types ignored',
      [
        [0, 'status', { execution_state: 'busy' }],
        [0, 'execute_input', { code: 'x' }],
        [0, 'comm_open', {}],
      ],
      { 0: [] },
    ],
  ];
  for (const [name, msgs, want] of cases) {
    it(name, () => {
      const s = feed(msgs);
      for (const [cell, rows] of Object.entries(want))
        assert.deepEqual(view(s.outputs(Number(cell))), rows, `cell ${cell}`);
      assert.deepEqual(s.truncatedCells, []);
    });
  }

  it('builds nbformat outputs with data and metadata', () => {
    const s = feed([
      [
        0,
        'display_data',
        { data: { 'image/png': 'iVBORw0KGgo=', 'text/plain': '<Figure>' }, metadata: { 'image/png': { width: 640 } } },
      ],
      [0, 'execute_result', { data: { 'text/plain': '15' }, metadata: [], execution_count: 4 }],
      [0, 'display_data', { data: 'bad', metadata: null }],
    ]);
    assert.deepEqual(s.outputs(0), [
      {
        output_type: 'display_data',
        data: { 'image/png': 'iVBORw0KGgo=', 'text/plain': '<Figure>' },
        metadata: { 'image/png': { width: 640 } },
      },
      { output_type: 'execute_result', data: { 'text/plain': '15' }, metadata: {}, execution_count: 4 },
      { output_type: 'display_data', data: {}, metadata: {} },
    ]);
  });
  it('update replaces metadata too', () => {
    const s = feed([display(0, 'A', 'd', { a: 1 }), update(1, 'B', 'd', { b: 2 })]);
    assert.deepEqual(s.outputs(0), [{ output_type: 'display_data', data: { 'text/plain': 'B' }, metadata: { b: 2 } }]);
  });
});

describe('lastResult', () => {
  const cases: [string, Msg[], unknown][] = [
    ['none without execute_result', [stdout(0, 'x'), display(0, 'D')], undefined],
    [
      'the last execute_result of the run',
      [result(0, '1'), result(2, '15'), stdout(3, 'after')],
      { 'text/plain': '15' },
    ],
    ['display_data is not a result', [result(0, '1'), display(1, 'D')], { 'text/plain': '1' }],
    ['kept after clear_output', [result(0, '7'), clear(0)], { 'text/plain': '7' }],
    ['follows an update of that result', [result(0, 'A', 1, 'r'), update(1, 'B', 'r')], { 'text/plain': 'B' }],
    [
      'an update of an older result leaves it',
      [result(0, 'A', 1, 'r'), result(1, 'Z', 2), update(2, 'B', 'r')],
      { 'text/plain': 'Z' },
    ],
  ];
  for (const [name, msgs, want] of cases) it(name, () => assert.deepEqual(feed(msgs).lastResult, want));
});
