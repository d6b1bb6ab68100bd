import type { SqlStatement, SqlValue } from '../../state/index.js';
import { ALERT_COLUMNS, toColumn } from '../store/alert-table.js';
import type { RecordedWrite } from '../store/alert-writes.js';
import type { Alert } from '../types.js';

/**
 * The key of the transaction-level advisory lock every shared alert write takes first: events then commit in the
 * order of their numbers, so a replica reading "the events after the last I applied" never skips one that
 * commits later with a smaller number, and a transition is decided while no other instance can write. Alert
 * writes are few (abnormal readings, people's actions, the sweep) and short.
 */
const ALERT_WRITE_LOCK = 4_711_016;

/** The columns an alert is created with beyond those a write may change. */
const KEY_COLUMNS = { patientId: 'patient_id', ruleId: 'rule_id', subject: 'subject', openedAt: 'opened_at', firstObservedAt: 'first_observed_at' } as const;

const FIELDS = Object.keys(ALERT_COLUMNS) as (keyof typeof ALERT_COLUMNS)[];

/** An event's stored JSON: the alert after the transition, with what changed. */
export function eventJson(alert: Alert, change: unknown): string {
  return JSON.stringify(change ? { ...alert, change } : alert);
}

/**
 * The events a unit of writes announces, in order; a unit that announces nothing (the sweep finding a persisting
 * condition again) still writes one quiet event, so that every replica applies the change.
 */
function eventRows(writes: readonly RecordedWrite[]): { rows: string; params: SqlValue[] } {
  const announced = writes.filter((w) => w.event);
  const last = writes.at(-1)!;
  const events = announced.length > 0
    ? announced.map((w) => ({ type: w.event!.type, at: w.event!.at, actor: w.event!.actor, alert: eventJson(w.alert, w.event!.change), quiet: 0 }))
    : [{ type: 'alert.updated', at: last.alert.updatedAt, actor: 'vigil', alert: eventJson(last.alert, undefined), quiet: 1 }];
  return {
    rows: events.map((_, i) => `(?::text, ?::bigint, ?::text, ?::text, ?::int, ${i})`).join(', '),
    params: events.flatMap((e) => [e.type, e.at, e.actor, e.alert, e.quiet]),
  };
}

/**
 * One unit of writes to one alert, as one statement: the alert's final state (inserted, or updated only if its
 * version is still the one the decision was made against) and its events, numbered by PostgreSQL. Answers the
 * events' numbers: none when the version check found the alert changed (a replica out of step).
 */
export function unitStatement(writes: readonly RecordedWrite[], expectedVersion: number | undefined): SqlStatement {
  const final = writes.at(-1)!.alert;
  const events = eventRows(writes);
  const values = FIELDS.map((f) => toColumn(final[f]));
  const insertEvents = (from: string, id: string) => `
    INSERT INTO alert_events (alert_id, type, at, actor, alert, version, quiet)
    SELECT ${id}, v.type, v.at, v.actor, ${id === 'a.id' ? "jsonb_set(v.alert::jsonb, '{id}', to_jsonb(a.id))::text" : 'v.alert'}, ${from}.version, v.quiet = 1
    FROM ${from} CROSS JOIN (VALUES ${events.rows}) AS v(type, at, actor, alert, quiet, ord)
    ORDER BY v.ord RETURNING seq`;
  if (writes[0]!.kind === 'insert') {
    const columns = [...Object.values(KEY_COLUMNS), ...FIELDS.map((f) => ALERT_COLUMNS[f])];
    const keys = (Object.keys(KEY_COLUMNS) as (keyof typeof KEY_COLUMNS)[]).map((k) => final[k]);
    return {
      sql: `WITH a AS (INSERT INTO alerts (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) RETURNING id, version)${insertEvents('a', 'a.id')}`,
      params: [...keys, ...values, ...events.params],
    };
  }
  return {
    sql: `WITH u AS (UPDATE alerts SET ${FIELDS.map((f) => `${ALERT_COLUMNS[f]} = ?`).join(', ')}, version = version + 1
      WHERE id = ? AND version = ? RETURNING id, version)${insertEvents('u', 'u.id')}`,
    params: [...values, final.id, expectedVersion ?? 0, ...events.params],
  };
}

export { ALERT_WRITE_LOCK };
