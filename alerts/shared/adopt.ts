import type { SqlClient, SqlStatement, SqlValue, StateDb } from '../../state/index.js';
import { ALERT_COLUMNS, AlertTable, toColumn } from '../store/alert-table.js';
import { SweepState } from '../store/sweep-state.js';
import { ALERT_WRITE_LOCK, eventJson } from './alert-commit.js';

const FIELDS = Object.keys(ALERT_COLUMNS) as (keyof typeof ALERT_COLUMNS)[];
const COLUMNS = ['patient_id', 'rule_id', 'subject', 'opened_at', 'first_observed_at', ...FIELDS.map((f) => ALERT_COLUMNS[f])];
/** Events per statement: six parameters each, far below PostgreSQL's 65,535. */
const CHUNK = 1000;
/** The alert just inserted in this transaction; none if the insert was skipped (its key was live already). */
const ADOPTED_ALERT = "(SELECT id FROM alerts WHERE id = currval(pg_get_serial_sequence('alerts', 'id'))) AS c";

/**
 * Copies this data dir's alerts and their history into the shared alerts (first start with VIGIL_DATABASE_URL, or
 * pointed at another shared database), so that moving to shared state loses nothing: each alert gets a new id,
 * its events new numbers (those this data dir's webhook delivered already marked adopted, which the shared webhook
 * does not send again; those it had not, sent from the shared alerts), and one quiet event
 * last with the alert as it is now. An alert still live here whose patient, rule and subject is live in the shared
 * alerts already is not copied: the shared one stands for the condition. Alerts of patients the shared registry
 * does not have (erased) are not copied. Returns how many alerts were copied and skipped.
 *
 * The copy records this data dir's adoption token (alerts migration 6) in the same transaction: a data dir that
 * stopped after the commit and before it became a replica finds it there at its next start and copies nothing
 * again (`adoptedBefore`); two starts at once from one data dir: the second's copy fails on the token and rolls back.
 */
export async function adoptAlerts(db: StateDb, shared: SqlClient, now: number): Promise<{ copied: number; skipped: number; seqs: Map<number, number> }> {
  const table = new AlertTable(db);
  const patients = new Set((await shared.query<{ id: string }>('SELECT id FROM patients')).rows.map((r) => r.id));
  const liveRows = await shared.query<{ patientId: string; ruleId: string; subject: string }>(
    'SELECT patient_id AS "patientId", rule_id AS "ruleId", subject FROM alerts WHERE status <> \'resolved\'',
  );
  const live = new Set(liveRows.rows.map((r) => `${r.patientId}\u0000${r.ruleId}\u0000${r.subject}`));
  const statements: SqlStatement[] = [{ sql: 'SELECT pg_advisory_xact_lock(?::bigint)', params: [ALERT_WRITE_LOCK] }];
  /** Per statement, the local numbers of the events it copies, in order (the quiet last one has none). */
  const localSeqs: (readonly (number | undefined)[])[] = [[]];
  const adoption = { sql: 'INSERT INTO alerts_adoptions (token, adopted_at, copied) VALUES (?, ?::bigint, ?::int)', params: [adoptionToken(db), now] };
  // What this data dir's webhook had not delivered yet is sent from the shared alerts: copied not marked adopted,
  // after a shared position that starts before the copy if there was none (a first position starts at the newest).
  const delivered = new SweepState(db).webhookCursor();
  if (delivered !== undefined) {
    statements.push({ sql: 'INSERT INTO webhook_cursor (id, seq) SELECT 1, COALESCE(MAX(seq), 0) FROM alert_events ON CONFLICT (id) DO NOTHING' });
    localSeqs.push([]);
  }
  const adopted = (seq: number | undefined) => (delivered === undefined || seq === undefined || seq <= delivered ? 1 : 0);
  let copied = 0;
  let skipped = 0;
  const ids = db.prepare<[], { id: number }>('SELECT id FROM alerts ORDER BY id').all();
  for (const { id } of ids) {
    const alert = table.get(id)!;
    const key = `${alert.patientId}\u0000${alert.ruleId}\u0000${alert.subject}`;
    if (!patients.has(alert.patientId) || (alert.status !== 'resolved' && live.has(key))) {
      skipped++;
      continue;
    }
    copied++;
    localSeqs.push([]);
    statements.push({
      sql: `INSERT INTO alerts (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})
            ON CONFLICT (patient_id, rule_id, subject) WHERE status <> 'resolved' DO NOTHING`,
      params: [alert.patientId, alert.ruleId, alert.subject, alert.openedAt, alert.firstObservedAt, ...FIELDS.map((f) => toColumn(alert[f]))],
    });
    const events = [
      ...table.eventsOf(id).map((e) => ({ seq: e.seq as number | undefined, type: e.type, at: e.at, actor: e.actor, json: eventJson(e.alert, e.change), quiet: 0 })),
      { seq: undefined, type: 'alert.updated', at: alert.updatedAt, actor: 'vigil', json: eventJson(alert, undefined), quiet: 1 },
    ];
    for (let i = 0; i < events.length; i += CHUNK) {
      const chunk = events.slice(i, i + CHUNK);
      localSeqs.push(chunk.map((e) => e.seq));
      statements.push({
        sql: `INSERT INTO alert_events (alert_id, type, at, actor, alert, version, quiet, adopted)
              SELECT c.id, v.type, v.at, v.actor, jsonb_set(v.alert::jsonb, '{id}', to_jsonb(c.id))::text, 0, v.quiet = 1, v.adopted = 1
              FROM ${ADOPTED_ALERT} CROSS JOIN (VALUES ${chunk.map((_, j) => `(?::text, ?::bigint, ?::text, ?::text, ?::int, ?::int, ${j})`).join(', ')}) AS v(type, at, actor, alert, quiet, adopted, ord)
              ORDER BY v.ord RETURNING seq`,
        params: chunk.flatMap((e): SqlValue[] => [e.type, e.at, e.actor, e.json, e.quiet, adopted(e.seq)]),
      });
    }
  }
  const results = await shared.transaction([...statements, { ...adoption, params: [...adoption.params, copied] }]);
  // Numbers are drawn in v.ord order within a statement, so the i-th smallest is the i-th event's.
  const seqs = new Map<number, number>();
  localSeqs.forEach((locals, i) => {
    const given = (results[i]?.rows ?? []).map((r) => Number(r.seq)).sort((x, y) => x - y);
    locals.forEach((local, j) => {
      if (local !== undefined && given[j] !== undefined) seqs.set(local, given[j]);
    });
  });
  return { copied, skipped, seqs };
}

/**
 * Parked webhook deliveries name events by number: once the data dir's events have PostgreSQL's numbers, each
 * names its event's new number, or goes if its event was not copied (a replay would send another event). In the
 * transaction that makes the data dir a replica.
 */
export function renumberParkedDeliveries(db: StateDb, seqs: ReadonlyMap<number, number>): void {
  const parked = db.prepare<[], Record<string, SqlValue>>('SELECT * FROM webhook_parked').all();
  db.prepare('DELETE FROM webhook_parked').run();
  const insert = db.prepare('INSERT INTO webhook_parked (seq, status, error, attempts, parked_at, replay) VALUES (?, ?, ?, ?, ?, ?)');
  for (const p of parked) {
    const seq = seqs.get(p.seq as number);
    if (seq !== undefined) insert.run(seq, p.status ?? null, p.error ?? null, p.attempts ?? null, p.parked_at ?? null, p.replay ?? null);
  }
}

/** Whether this data dir's alerts were copied into these shared alerts already. */
export async function adoptedBefore(db: StateDb, shared: SqlClient): Promise<boolean> {
  return (await shared.query('SELECT 1 FROM alerts_adoptions WHERE token = ?', [adoptionToken(db)])).rows.length > 0;
}

function adoptionToken(db: StateDb): string {
  return db.prepare<[], { token: string }>('SELECT token FROM alerts_adoption').get()!.token;
}
