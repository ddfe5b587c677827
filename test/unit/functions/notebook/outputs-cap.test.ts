/**
 * The output size cap: streams cut at exactly the cap, displays and results dropped with a note,
 * errors kept bounded, the cap counted per cell and lifted by clear_output, and a cut that never
 * leaves a fragment of a secret.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OutputStore, TRUNCATION_NOTE, type Output } from '../../../../functions/notebook/outputs.js';
import { RawJsonText } from '../../../../functions/notebook/raw-text.js';
import { clear, display, error, feed, type Msg, out, result, stderr, stdout, update, view } from './output-messages.js';

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
