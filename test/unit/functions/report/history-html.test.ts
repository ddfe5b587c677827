import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { axisLabel, niceMax, notebookChart } from '../../../../functions/report/history-chart.js';
import { defaultLink, renderHistoryHtml } from '../../../../functions/report/history-html.js';
import { toRow } from '../../../../functions/report/history.js';
import { run, sampleRuns } from './fixtures.js';

const count = (s: string, re: RegExp): number => (s.match(re) ?? []).length;

describe('history page', () => {
  const runs = sampleRuns();
  const html = renderHistoryHtml(runs, { generatedAt: new Date('2026-01-22T00:00:00Z'), filterText: 'status=<all>' });

  it('has one table row and one chart dot per run, one chart per notebook', () => {
    assert.equal(count(html, /<tr class="run /g), runs.length);
    assert.equal(count(html, /<circle class="run /g), runs.length);
    assert.equal(count(html, /<svg /g), 3);
    assert.equal(count(html, /<circle class="run failed"/g), 3);
    assert.equal(count(html, /<circle class="run timed_out"/g), 1);
    assert.match(html, /<polyline class="trend" points="[\d., ]+"\/>/);
  });

  it('is self-contained: no script, no external resource', () => {
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotMatch(html, /<[^>]*\s(src|srcset|xlink:href)=/i);
    assert.doesNotMatch(html, /<link\b|@import|url\(/i);
    assert.doesNotMatch(html, /href="javascript:/i);
    assert.match(html, /<td class="out">javascript:alert\(3\)<\/td>/);
    assert.match(html, /^<!DOCTYPE html>/);
  });

  it('escapes every text taken from records', () => {
    assert.match(html, /x\/&lt;script&gt;alert\(1\)&lt;\/script&gt;\.ipynb/);
    assert.match(html, /&lt;img src=x onerror=alert\(2\)&gt; &amp; &quot;q&quot;/);
    assert.match(html, /status=&lt;all&gt;/);
    assert.doesNotMatch(html, /<img/);
  });

  it('links outputs it can link, and only those', () => {
    assert.match(html, /<a href="file:\/\/\/srv\/runs\/daily\/daily-0\.ipynb">\/srv\/runs\/daily\/daily-0\.ipynb<\/a>/);
    assert.match(
      html,
      new RegExp(
        /<a href="https:\/\/storage\.cloud\.google\.com\/nbt-out\/etl\/load-0\.ipynb">/.source +
          /gs:\/\/nbt-out\/etl\/load-0\.ipynb<\/a>/.source,
      ),
    );
    assert.match(html, /\(<a href="file:\/\/\/srv\/runs\/daily\/daily-7\.html">html<\/a>\)/);
    assert.equal(defaultLink('server:/x.ipynb'), undefined);
    assert.equal(defaultLink('rel/x.ipynb'), undefined);
    assert.equal(defaultLink('/a b/#x.ipynb'), 'file:///a%20b/%23x.ipynb');
    const custom = renderHistoryHtml([run({ startedAt: '2026-01-01T00:00:00Z', outputs: { notebook: 'x' } })], {
      linkFor: () => 'javascript:alert(1)',
    });
    assert.doesNotMatch(custom, /href=/);
  });

  it('lists the table newest first and says when nothing matches', () => {
    const ids = [...html.matchAll(/data-run-id="([^"]*)"/g)].map((m) => m[1]);
    assert.equal(ids[0], 'daily-7');
    assert.equal(ids.at(-1), 'daily-0');
    const empty = renderHistoryHtml([]);
    assert.match(empty, /No runs match/);
    assert.doesNotMatch(empty, /<svg/);
  });

  it('scales the chart: the longest run touches the top grid, a single run sits mid-axis', () => {
    assert.deepEqual([0, 1, 999, 1000, 1001, 4200, 61_000].map(niceMax), [1000, 1, 1000, 1000, 2000, 5000, 100_000]);
    assert.deepEqual([0, 500, 2000, 12_500, 500_000, 7_560_000].map(axisLabel), [
      '0',
      '500 ms',
      '2 s',
      '12.5 s',
      '8.3 min',
      '2.1 h',
    ]);
    const one = notebookChart(
      'nb',
      [toRow(run({ startedAt: '2026-01-01T00:00:00Z', durationMs: 1000 }))],
      Date.parse('2026-01-01T00:00:00Z'),
      Date.parse('2026-01-01T00:00:00Z'),
    );
    assert.match(one, /<circle class="run succeeded" cx="404\.0" cy="14\.0"/);
  });
});
