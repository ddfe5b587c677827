/**
 * Cron expressions and time zones, checked locally with the same meaning Cloud Scheduler
 * gives them: 5-field unix-cron (minute hour day-of-month month day-of-week; lists, ranges,
 * steps, `*`, month and weekday names; day-of-month and day-of-week OR-ed when both are
 * restricted) in an IANA time zone. Pure: no I/O.
 *
 * Spec: docs/deploy.md (cron expressions and time zones are checked locally … `plan` shows each
 * schedule's next three fire times in its zone");
 * https://cloud.google.com/scheduler/docs/configuring/cron-job-schedules.
 * @module
 */
import { Cron } from 'croner';

const FIELD_NAMES = ['minute', 'hour', 'day-of-month', 'month', 'day-of-week'] as const;
const NUMERIC = /^[0-9*,/-]+$/;
const NAMED = /^(?:[0-9*,/-]|[A-Za-z]{3})+$/;

/**
 * Checks a 5-field unix-cron expression. Answers undefined when valid, else why not (one line,
 * naming the field). Extensions Cloud Scheduler does not take (`L`, `W`, `#`, `?`, seconds, `@daily`) are refused.
 */
export function cronProblem(expr: string): string | undefined {
  // A manifest of thousands of schedules repeats a few dozen expressions: the answer is kept per text.
  if (cronAnswers.has(expr)) return cronAnswers.get(expr);
  const answer = checkCron(expr);
  if (cronAnswers.size >= ZONE_CACHE_MAX) cronAnswers.clear();
  cronAnswers.set(expr, answer);
  return answer;
}

const cronAnswers = new Map<string, string | undefined>();

function checkCron(expr: string): string | undefined {
  const fields = expr.trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 5) {
    const got = `${fields.length} field${fields.length === 1 ? '' : 's'} in "${expr}"`;
    return `expected a 5-field unix-cron expression (minute hour day-of-month month day-of-week), got ${got}`;
  }
  for (let i = 0; i < 5; i++) {
    const f = fields[i]!;
    const ok = i >= 3 ? NAMED.test(f) : NUMERIC.test(f);
    if (!ok)
      return (
        `${FIELD_NAMES[i]} field "${f}" has characters unix-cron does not allow ` +
        '(digits, * , - / and, for month and day-of-week, 3-letter names)'
      );
  }
  try {
    new Cron(fields.join(' '), { paused: true, mode: '5-part', legacyMode: true });
  } catch (e) {
    return `invalid unix-cron expression "${expr}": ${(e as Error).message.replace(/^CronPattern:\s*/, '')}`;
  }
  return undefined;
}

/**
 * Checks an IANA time zone name (e.g. `Europe/Paris`, `UTC`). Answers undefined when valid,
 * else why not. Names that only differ in case from a known zone are refused with the right spelling.
 */
export function timeZoneProblem(tz: string): string | undefined {
  // A manifest repeats a handful of zones over thousands of schedules, and building a formatter
  // loads the zone's data each time: the answer is kept per name (the tz database is fixed for the process).
  if (zoneAnswers.has(tz)) return zoneAnswers.get(tz);
  const answer = checkZone(tz);
  if (zoneAnswers.size >= ZONE_CACHE_MAX) zoneAnswers.clear();
  zoneAnswers.set(tz, answer);
  return answer;
}

/** Bounds the per-zone caches (a manifest names a few dozen zones; the tz database about 600). */
const ZONE_CACHE_MAX = 1000;
const zoneAnswers = new Map<string, string | undefined>();

function checkZone(tz: string): string | undefined {
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    return `"${tz}" is not an IANA time zone name (for example "Europe/Paris", "America/New_York", "UTC")`;
  }
  if (resolved !== tz && resolved.toLowerCase() === tz.toLowerCase())
    return `time zone "${tz}" must be written "${resolved}"`;
  if (/^[+-]|^GMT[+-]|^UTC[+-]/i.test(tz))
    return `"${tz}" is an offset, not an IANA time zone name (use for example "Etc/GMT-2" or a city zone)`;
  return undefined;
}

/** One formatter per (kind, zone): `plan` formats three fire times for each of thousands of schedules. */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(kind: 'show' | 'offset', timeZone: string): Intl.DateTimeFormat {
  const key = `${kind} ${timeZone}`;
  let f = formatters.get(key);
  if (f) return f;
  f =
    kind === 'show'
      ? new Intl.DateTimeFormat('en-CA', {
          timeZone,
          year: 'numeric',
          month: '2-digit',
          day: '2-digit',
          hour: '2-digit',
          minute: '2-digit',
          hourCycle: 'h23',
          timeZoneName: 'short',
        })
      : new Intl.DateTimeFormat('en-US', {
          timeZone,
          year: 'numeric',
          month: 'numeric',
          day: 'numeric',
          hour: 'numeric',
          minute: 'numeric',
          second: 'numeric',
          hourCycle: 'h23',
        });
  if (formatters.size >= ZONE_CACHE_MAX) formatters.clear();
  formatters.set(key, f);
  return f;
}

/** The next `count` fire times of a valid expression in `timeZone`, strictly after `from`. */
export function nextFireTimes(expr: string, timeZone: string, count: number, from: Date = new Date()): Date[] {
  const cron = new Cron(expr.trim().split(/\s+/).join(' '), {
    paused: true,
    mode: '5-part',
    legacyMode: true,
    timezone: timeZone,
  });
  return cron.nextRuns(count, from);
}

/** `2024-04-01 09:00 CEST (+02:00)`: a time as a person in `timeZone` reads it. */
export function formatInZone(date: Date, timeZone: string): string {
  const parts = formatter('show', timeZone).formatToParts(date);
  const get = (t: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === t)?.value ?? '';
  const offsetMin = zoneOffsetMinutes(date, timeZone);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  const day = `${get('year')}-${get('month')}-${get('day')}`;
  return `${day} ${get('hour')}:${get('minute')} ${get('timeZoneName')} (${offset})`;
}

/** Offset of `timeZone` from UTC at `date`, in minutes (east positive). */
export function zoneOffsetMinutes(date: Date, timeZone: string): number {
  const parts = formatter('offset', timeZone).formatToParts(date);
  const n = (t: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === t)?.value ?? 0);
  const asUtc = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second'));
  return Math.round((asUtc - Math.floor(date.getTime() / 1000) * 1000) / 60_000);
}
