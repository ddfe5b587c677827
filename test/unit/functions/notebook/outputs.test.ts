/** Output folding: streams, clear_output, display ids across cells, results, errors, the size cap. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OutputStore, TRUNCATION_NOTE, type Output } from '../../../../functions/notebook/outputs.js';
import { RawJsonText } from '../../../../functions/notebook/raw-text.js';

type Msg = [cell: number, type: string, content: Record<string, unknown>];

const out = (s: string, text: string) => ['stream', s === 'e' ? 'stderr' : 'stdout', text] as const;
const stdout = (cell: number, text: string): Msg => [cell, 'stream', { name: 'stdout', text }];
const stderr = (cell: number, text: string): Msg => [cell, 'stream', { name: 'stderr', text }];
const display = (cell: number, text: string, id?: string, metadata: Record<string, unknown> = {}): Msg => [
  cell,
  'display_data',
  { data: { 'text/plain': text }, metadata, ...(id ? { transient: { display_id: id } } : {}) },
];
const update = (cell: number, text: string, id: string | undefined, metadata: Record<string, unknown> = {}): Msg => [
  cell,
  'update_display_data',
  { data: { 'text/plain': text }, metadata, ...(id ? { transient: { display_id: id } } : {}) },
];
const result = (cell: number, text: string, n: unknown = 1, id?: string): Msg => [
  cell,
  'execute_result',
  { data: { 'text/plain': text }, metadata: {}, execution_count: n, ...(id ? { transient: { display_id: id } } : {}) },
];
const clear = (cell: number, wait?: boolean): Msg => [cell, 'clear_output', wait === undefined ? {} : { wait }];
const error = (cell: number, ename: string, evalue: string, traceback: unknown): Msg => [
  cell,
  'error',
  { ename, evalue, traceback },
];

function feed(msgs: Msg[], maxChars = 1_000_000): OutputStore {
  const s = new OutputStore(maxChars);
  for (const [cell, type, content] of msgs) s.apply(cell, type, content);
  return s;
}

/** A compact view of outputs: [kind, name-or-type, text] rows. */
function view(outputs: Output[]): unknown[] {
  return outputs.map((o) => {
    switch (o.output_type) {
      case 'stream':
        return ['stream', o.name, o.text];
      case 'display_data':
        return ['display', (o.data as Record<string, unknown>)['text/plain']];
      case 'execute_result':
        return ['result', (o.data as Record<string, unknown>)['text/plain'], o.execution_count];
      case 'error':
        return ['error', o.ename, o.evalue, o.traceback];
      default:
        return ['?', o.output_type];
    }
  });
}

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

describe('size cap', () => {
  it('cuts a stream at exactly the cap and notes it', () => {
    const s = feed([stdout(0, 'x'.repeat(25)), stdout(0, 'more'), stderr(0, 'err'), display(0, 'D')], 10);
    assert.deepEqual(view(s.outputs(0)), [out('o', `${'x'.repeat(10)}${TRUNCATION_NOTE}`)]);
    assert.equal(s.truncated(0), true);
    assert.deepEqual(s.truncatedCells, [0]);
  });
  it('keeps a stream that fits exactly', () => {
    const s = feed([stdout(0, 'x'.repeat(6)), stdout(0, 'y'.repeat(4))], 10);
    assert.deepEqual(view(s.outputs(0)), [out('o', 'xxxxxxyyyy')]);
    assert.equal(s.truncated(0), false);
    assert.deepEqual(s.truncatedCells, []);
  });
  it('counts the cap per cell', () => {
    const s = feed([stdout(0, 'x'.repeat(8)), stdout(1, 'y'.repeat(8)), stdout(0, 'zzz')], 10);
    assert.deepEqual(view(s.outputs(1)), [out('o', 'y'.repeat(8))]);
    assert.deepEqual(s.truncatedCells, [0]);
    assert.equal(s.truncated(1), false);
  });
  it('drops a display over the cap with a note on stderr, once', () => {
    const s = feed([stdout(0, 'a'), display(0, 'D'.repeat(100)), display(0, 'E'.repeat(100)), stdout(0, 'b')], 50);
    assert.deepEqual(view(s.outputs(0)), [out('o', 'a'), out('e', TRUNCATION_NOTE)]);
    assert.deepEqual(s.truncatedCells, [0]);
  });
  it('does not split a surrogate pair', () => {
    const s = feed([stdout(0, 'ab📓📓')], 3);
    const text = (s.outputs(0)[0] as { text: string }).text;
    assert.equal(text, `ab${TRUNCATION_NOTE}`);
    assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])/.test(text), 'no lone high surrogate');
  });
  it('clear_output lifts the cap so a progress loop keeps its final state', () => {
    const msgs: Msg[] = [];
    for (let i = 0; i < 50; i++) msgs.push(clear(0, true), stdout(0, `${i}% ${'#'.repeat(i)}`));
    const s = feed(msgs, 30);
    assert.deepEqual(view(s.outputs(0)), [out('o', `49% ${'#'.repeat(26)}${TRUNCATION_NOTE}`)]);
    assert.deepEqual(s.truncatedCells, [0], 'listed once');
    const t = feed([stdout(0, 'x'.repeat(40)), clear(0), stdout(0, 'ok')], 30);
    assert.deepEqual(view(t.outputs(0)), [out('o', 'ok')]);
    assert.equal(t.truncated(0), false);
    assert.deepEqual(t.truncatedCells, [0]);
  });
  it('keeps the error output past the cap, bounded: clipped evalue and the last frames', () => {
    const s = feed(
      [
        stdout(0, 'x'.repeat(50)),
        error(0, 'ValueError', 'v'.repeat(5), ['f'.repeat(20), 'g'.repeat(10), 'h'.repeat(10)]),
      ],
      40,
    );
    assert.deepEqual(view(s.outputs(0)), [
      out('o', `${'x'.repeat(40)}${TRUNCATION_NOTE}`),
      ['error', 'ValueError', 'vvvvv', ['g'.repeat(10), 'h'.repeat(10)]],
    ]);
    const huge = feed([error(0, 'E'.repeat(100), 'v'.repeat(100), ['t'])], 10);
    assert.deepEqual(view(huge.outputs(0)), [out('e', TRUNCATION_NOTE), ['error', 'E'.repeat(10), 'v'.repeat(10), []]]);
    const two = feed([stdout(0, 'x'.repeat(50)), error(0, 'A', '', []), error(0, 'B', '', [])], 10);
    assert.deepEqual(view(two.outputs(0)).slice(1), [['error', 'A', '', []]], 'only one error kept past the cap');
  });
  it('an error that fits is kept whole', () => {
    const s = feed([error(0, 'E', 'v', ['a', 'b'])], 100);
    assert.deepEqual(view(s.outputs(0)), [['error', 'E', 'v', ['a', 'b']]]);
    assert.deepEqual(s.truncatedCells, []);
  });
  it('a result over the cap is not kept whole as lastResult', () => {
    const s = feed([result(0, 'r'.repeat(1000))], 20);
    assert.deepEqual(view(s.outputs(0)), [out('e', TRUNCATION_NOTE)]);
    const plain = String(s.lastResult?.['text/plain']);
    assert.ok(plain.startsWith('r'.repeat(20)) && plain.length < 200, plain);
    assert.deepEqual(Object.keys(s.lastResult ?? {}), ['text/plain']);
    const png = feed(
      [[0, 'execute_result', { data: { 'image/png': 'A'.repeat(100) }, metadata: {}, execution_count: 1 }]],
      20,
    );
    assert.deepEqual(Object.keys(png.lastResult ?? {}), ['text/plain']);
  });
  it('an update cannot grow an output past the cap', () => {
    const s = feed([display(0, 'small', 'd'), update(1, 'B'.repeat(500), 'd')], 100);
    assert.deepEqual(view(s.outputs(0)), [['display', 'small'], out('e', TRUNCATION_NOTE)]);
    assert.deepEqual(s.truncatedCells, [0]);
    const ok = feed([display(0, 'small', 'd'), update(1, 'B'.repeat(50), 'd')], 100);
    assert.deepEqual(view(ok.outputs(0)), [['display', 'B'.repeat(50)]]);
  });
  it('forgets display ids of cleared outputs (no leak in a display/clear loop)', () => {
    const s = new OutputStore(1000);
    for (let i = 0; i < 500; i++) {
      s.apply(0, 'clear_output', { wait: true });
      s.apply(0, 'display_data', {
        data: { 'text/plain': String(i) },
        metadata: {},
        transient: { display_id: `p${i % 3}` },
      });
    }
    const displays = (s as unknown as { displays: Map<string, unknown[]> }).displays;
    assert.equal(
      [...displays.values()].reduce((n, l) => n + l.length, 0),
      1,
    );
    assert.deepEqual(view(s.outputs(0)), [['display', '499']]);
  });

  it('property: kept text per cell stays bounded for random message streams', () => {
    let seed = 99;
    const next = (): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    const int = (n: number): number => Math.floor(next() * n);
    const textLen = (v: unknown, key = ''): number => {
      if (key === 'output_type' || key === 'name') return 0;
      if (typeof v === 'string') return v.length;
      if (Array.isArray(v)) return v.reduce((n: number, x) => n + textLen(x), 0);
      if (typeof v === 'object' && v !== null) return Object.entries(v).reduce((n, [k, x]) => n + textLen(x, k), 0);
      return 0;
    };
    for (let round = 0; round < 40; round++) {
      const max = 20 + int(200);
      const s = new OutputStore(max);
      for (let i = 0; i < 400; i++) {
        const cell = int(3);
        const t = 'z'.repeat(int(max));
        const [, type, content] = [
          stdout(cell, t),
          stderr(cell, t),
          display(cell, t, int(2) ? `d${int(4)}` : undefined),
          update(cell, t, `d${int(4)}`),
          result(cell, t),
          error(cell, t, t, [t, t]),
          clear(cell, int(2) === 0),
        ][int(7)]!;
        s.apply(cell, type, content);
        for (let c = 0; c < 3; c++) {
          const size = textLen(s.outputs(c));
          assert.ok(
            size <= 3 * max + TRUNCATION_NOTE.length,
            `round ${round} msg ${i} cell ${c}: ${size} > cap ${max}`,
          );
        }
      }
      assert.equal(new Set(s.truncatedCells).size, s.truncatedCells.length, 'each cell listed once');
    }
  });
});

describe('the cap never leaves a fragment of a secret', () => {
  const token = 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4';
  const text = (o: Output | undefined): string => {
    const t = (o as { text?: unknown })?.text;
    return Array.isArray(t) ? t.map(String).join('') : String(t);
  };
  for (const [name, piece] of [
    ['text', 'x'.repeat(70) + token],
    ['text kept as bytes', RawJsonText.of(Buffer.from('x'.repeat(70) + token))!],
  ] as const) {
    it(`a ${name} cut at the cap inside the token keeps no piece of it`, () => {
      const s = new OutputStore(100, [token]);
      s.apply(0, 'stream', { name: 'stdout', text: piece });
      const got = text(s.outputs(0)[0]);
      assert.equal(got, `${'x'.repeat(70)}[REDACTED]${TRUNCATION_NOTE}`);
      assert.ok(!got.includes(token.slice(0, 4)));
    });
  }
  it('an error value and a result cut at the cap', () => {
    const s = new OutputStore(100, [token]);
    s.apply(0, 'error', { ename: 'E', evalue: `${'y'.repeat(80)}${token}`, traceback: [] });
    s.apply(1, 'execute_result', {
      data: { 'text/plain': `${'z'.repeat(90)}${token}` },
      metadata: {},
      execution_count: 1,
    });
    const e = s.outputs(0).find((o) => o.output_type === 'error') as { evalue: string };
    assert.equal(e.evalue, `${'y'.repeat(80)}[REDACTED]`);
    assert.ok(!JSON.stringify(s.lastResult).includes(token.slice(0, 4)), JSON.stringify(s.lastResult));
  });
  it('without secrets the cut is exact', () => {
    const s = new OutputStore(100);
    s.apply(0, 'stream', { name: 'stdout', text: 'x'.repeat(70) + token });
    assert.equal(text(s.outputs(0)[0]), `${'x'.repeat(70)}${token.slice(0, 30)}${TRUNCATION_NOTE}`);
  });
});
