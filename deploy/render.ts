/**
 * Renders a plan for a person: one line per action (`+` create, `~` update, `-` delete, `=`
 * unchanged, `!` conflict) with what changes, and each schedule's next three fire times in its
 * own time zone. Pure: no I/O; the clock is a parameter.
 *
 * Spec: docs/deploy.md.
 * @module
 */
import { formatInZone, nextFireTimes } from './cron.js';
import type { Manifest } from './manifest.js';
import type { Action } from './plan.js';

const SIGN: Record<Action['op'], string> = { create: '+', update: '~', delete: '-', noop: '=', conflict: '!' };

/** Counts of actions by operation. */
export function summarize(actions: Action[]): Record<Action['op'], number> {
  const out = { create: 0, update: 0, delete: 0, noop: 0, conflict: 0 };
  for (const a of actions) out[a.op]++;
  return out;
}

/** The plan as text lines. */
export function renderPlan(actions: Action[]): string {
  const lines: string[] = [];
  for (const a of actions) {
    const tag = a.op === 'noop' ? ' (unchanged)' : a.op === 'conflict' ? ' (CONFLICT)' : '';
    lines.push(`${SIGN[a.op]} ${a.resource.padEnd(7)} ${a.name}${tag}`);
    for (const c of a.changes) lines.push(`      ${c}`);
    for (const n of a.notes ?? []) lines.push(`      note: ${n}`);
  }
  const s = summarize(actions);
  const conflicts = s.conflict ? `, ${s.conflict} conflict(s)` : '';
  lines.push(
    `plan: ${s.create} to create, ${s.update} to update, ${s.delete} to delete, ${s.noop} unchanged${conflicts}`,
  );
  return `${lines.join('\n')}\n`;
}

/** Each schedule with its cron, zone and next `count` fire times (after `now`) in that zone. */
export function renderSchedules(m: Manifest, now: Date = new Date(), count = 3): string {
  const lines: string[] = [];
  for (const nb of m.notebooks) {
    for (const sc of nb.schedules) {
      const where = `${nb.file} on ${nb.service.name}`;
      lines.push(`schedule ${sc.name} (${where}): "${sc.cron}" in ${sc.timeZone}, concurrency ${sc.concurrency}`);
      for (const t of nextFireTimes(sc.cron, sc.timeZone, count, now))
        lines.push(`  next: ${formatInZone(t, sc.timeZone)}  = ${t.toISOString()}`);
    }
  }
  if (lines.length === 0) lines.push('no schedules');
  return `${lines.join('\n')}\n`;
}
