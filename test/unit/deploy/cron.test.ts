/**
 * Cron and time zones as Cloud Scheduler reads them; next fire times in the schedule's zone,
 * across a daylight-saving change.
 * Spec: docs/deploy.md; https://cloud.google.com/scheduler/docs/configuring/cron-job-schedules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cronProblem, formatInZone, nextFireTimes, timeZoneProblem } from '../../../deploy/cron.js';
import { renderSchedules } from '../../../deploy/render.js';
import { manifest } from './fixtures.js';

const valid = [
  '* * * * *',
  '0 9 * * 1-5',
  '*/15 8-18 * * MON-FRI',
  '30 18 28-31 * *',
  '0 0 1 JAN,JUL *',
  '0 12 * * 0,7',
  '5,35 */2 1-15/2 * *',
];
for (const expr of valid) test(`cron ok: ${expr}`, () => assert.equal(cronProblem(expr), undefined));

const invalid: Array<[string, RegExp]> = [
  ['0 0 9 * * *', /got 6 fields/],
  ['@daily', /got 1 field\b/],
  ['0 9 * *', /got 4 fields/],
  ['60 * * * *', /minute/i],
  ['0 24 * * *', /hour/i],
  ['0 9 L * *', /day-of-month field "L"/],
  ['0 9 ? * MON', /day-of-month field "\?"/],
  ['0 9 * * MON#2', /day-of-week field "MON#2"/],
  ['0 9 * 13 *', /month/i],
  ['every 5 minutes', /got 3 fields/],
];
for (const [expr, why] of invalid)
  test(`cron refused: ${expr}`, () => assert.match(cronProblem(expr) ?? '(accepted)', why));

test('time zones', () => {
  for (const tz of ['UTC', 'Europe/Paris', 'America/New_York', 'Asia/Kolkata', 'Etc/GMT-2'])
    assert.equal(timeZoneProblem(tz), undefined, tz);
  assert.match(timeZoneProblem('Mars/Olympus') ?? '', /not an IANA time zone/);
  assert.match(timeZoneProblem('america/new_york') ?? '', /must be written "America\/New_York"/);
  assert.match(timeZoneProblem('+02:00') ?? '', /offset|not an IANA/);
});

test('next fire times follow the zone across the spring DST change (Europe/Paris 2024-03-31)', () => {
  const from = new Date('2024-03-29T12:00:00Z');
  const times = nextFireTimes('0 9 * * *', 'Europe/Paris', 3, from).map((d) => d.toISOString());
  // 09:00 CET is 08:00Z; from March 31st 09:00 CEST is 07:00Z.
  assert.deepEqual(times, ['2024-03-30T08:00:00.000Z', '2024-03-31T07:00:00.000Z', '2024-04-01T07:00:00.000Z']);
  assert.equal(formatInZone(new Date('2024-03-31T07:00:00Z'), 'Europe/Paris'), '2024-03-31 09:00 GMT+2 (+02:00)');
});

test('day-of-month and day-of-week restricted together fire on either (unix-cron OR)', () => {
  const times = nextFireTimes('0 0 13 * 5', 'UTC', 3, new Date('2024-09-01T00:00:00Z')).map((d) =>
    d.toISOString().slice(0, 10),
  );
  assert.deepEqual(times, ['2024-09-06', '2024-09-13', '2024-09-20']);
});

test("plan text shows each schedule's next three fire times in its zone", () => {
  const text = renderSchedules(manifest(), new Date('2024-01-15T10:20:00Z'));
  assert.match(
    text,
    /schedule nightly \(notebooks\/sales\.ipynb on reports-sales\): "0 2 \* \* \*" in Europe\/Paris, concurrency skip/,
  );
  assert.match(text, /next: 2024-01-16 02:00 GMT\+1 \(\+01:00\) {2}= 2024-01-16T01:00:00\.000Z/);
  assert.equal(text.match(/next: /g)?.length, 6);
  assert.match(text, /next: 2024-01-15 11:15 UTC \(\+00:00\)/);
});
