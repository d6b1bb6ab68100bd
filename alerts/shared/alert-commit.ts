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
function eventsOf(writes: readonly RecordedWrite[]): { type: string; at: number; actor: string | null; alert: string; quiet: 0 | 1 }[] {
  const announced = writes.filter((w) => w.event);
  const last = writes.at(-1)!;
  return announced.length > 0
    ? announced.map((w) => ({ type: w.event!.type, at: w.event!.at, actor: w.event!.actor, alert: eventJson(w.alert, w.event!.change), quiet: 0 }))
    : [{ type: 'alert.updated', at: last.alert.updatedAt, actor: 'vigil', alert: eventJson(last.alert, undefined), quiet: 1 }];
}

function eventRows(writes: readonly RecordedWrite[]): { rows: string; params: SqlValue[] } {
  const events = eventsOf(writes);
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

/** One transition's writes to one alert, and the version its update was decided against. */
export interface Unit {
  readonly writes: readonly RecordedWrite[];
  readonly expectedVersion: number | undefined;
}

/**
 * Units of writes to different alerts, none decided on what another wrote (shared-transitions.ts), as one
 * statement: one round trip instead of one per unit. The new alerts are inserted, the others updated only if
 * their version is still the one decided against, and the events of every unit written are inserted after them,
 * numbered in the order of the units and, within one, of its events. A unit whose alert changed writes nothing;
 * answers those units (`unit`: the index in `units`). Values travel as JSON (one parameter per kind of row),
 * typed by the tables' own row type.
 */
export function batchStatement(units: readonly Unit[]): SqlStatement {
  const inserts: Record<string, SqlValue>[] = [];
  const updates: Record<string, SqlValue>[] = [];
  const targets: { unit: number; id: number | null; patient_id: string; rule_id: string; subject: string }[] = [];
  const events: (ReturnType<typeof eventsOf>[number] & { unit: number; ord: number; inserted: boolean })[] = [];
  for (const [unit, u] of units.entries()) {
    const final = u.writes.at(-1)!.alert;
    const inserted = u.writes[0]!.kind === 'insert';
    const row = Object.fromEntries(FIELDS.map((f) => [ALERT_COLUMNS[f], toColumn(final[f])]));
    if (inserted) inserts.push({ ...Object.fromEntries(Object.entries(KEY_COLUMNS).map(([k, c]) => [c, final[k as keyof typeof KEY_COLUMNS]])), ...row });
    else updates.push({ id: final.id, version: u.expectedVersion ?? 0, ...row });
    targets.push({ unit, id: inserted ? null : final.id, patient_id: final.patientId, rule_id: final.ruleId, subject: final.subject });
    for (const [ord, e] of eventsOf(u.writes).entries()) events.push({ ...e, unit, ord, inserted });
  }
  const columns = [...Object.values(KEY_COLUMNS), ...FIELDS.map((f) => ALERT_COLUMNS[f])];
  return {
    sql: `WITH ins AS (
        INSERT INTO alerts (${columns.join(', ')}) SELECT ${columns.join(', ')} FROM jsonb_populate_recordset(NULL::alerts, ?::jsonb)
        RETURNING id, version, patient_id, rule_id, subject),
      upd AS (
        UPDATE alerts a SET ${FIELDS.map((f) => `${ALERT_COLUMNS[f]} = x.${ALERT_COLUMNS[f]}`).join(', ')}, version = a.version + 1
        FROM jsonb_populate_recordset(NULL::alerts, ?::jsonb) x WHERE a.id = x.id AND a.version = x.version
        RETURNING a.id, a.version),
      t AS (
        SELECT u.unit, COALESCE(i.id, p.id) AS id, COALESCE(i.version, p.version) AS version
        FROM jsonb_to_recordset(?::jsonb) AS u(unit int, id bigint, patient_id text, rule_id text, subject text)
        LEFT JOIN ins i ON u.id IS NULL AND i.patient_id = u.patient_id AND i.rule_id = u.rule_id AND i.subject = u.subject
        LEFT JOIN upd p ON p.id = u.id),
      e AS (
        INSERT INTO alert_events (alert_id, type, at, actor, alert, version, quiet)
        SELECT t.id, v.type, v.at, v.actor, CASE WHEN v.inserted THEN jsonb_set(v.alert::jsonb, '{id}', to_jsonb(t.id))::text ELSE v.alert END, t.version, v.quiet = 1
        FROM jsonb_to_recordset(?::jsonb) AS v(unit int, ord int, type text, at bigint, actor text, alert text, quiet int, inserted boolean)
        JOIN t ON t.unit = v.unit AND t.id IS NOT NULL
        ORDER BY v.unit, v.ord RETURNING seq)
      SELECT unit FROM t WHERE id IS NULL`,
    params: [JSON.stringify(inserts), JSON.stringify(updates), JSON.stringify(targets), JSON.stringify(events)],
  };
}

export { ALERT_WRITE_LOCK };
