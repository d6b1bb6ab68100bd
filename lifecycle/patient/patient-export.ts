import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { READING_TYPES, toCsv, VigilError } from '../../domain/index.js';
import type { ReadingStore } from '../../ingest/index.js';
import type { Actor, AuditEntry, AuditLog, AuditTrail, StateDb } from '../../state/index.js';
import { withOutboxReadings } from './outbox-pending.js';

export interface PatientExportSource {
  readonly db: StateDb;
  readonly audit: AuditLog;
  /** The shared audit log (VIGIL_DATABASE_URL), for audit.csv; absent, this state database's. */
  readonly auditTrail?: AuditTrail | undefined;
  readonly readings: Pick<ReadingStore, 'queryRaw' | 'kind'>;
  /** The data dir, whose outbox holds readings acknowledged but not yet stored: they are exported too. */
  readonly dataDir: string;
  readonly patientId: string;
  readonly by: Actor;
  readonly vigilVersion?: string | undefined;
  readonly now?: () => number;
}

export interface PatientExportOptions extends PatientExportSource {
  /** A new or empty directory. */
  readonly out: string;
}

/** The export in memory: the manifest and each CSV file's text (the dashboard's download). */
export interface PatientExport {
  readonly manifest: PatientExportManifest;
  readonly files: readonly { readonly path: string; readonly text: string }[];
}

export interface PatientExportManifest {
  readonly patientId: string;
  readonly exportedAt: string;
  readonly vigilVersion: string | undefined;
  readonly readingStore: ReadingStore['kind'];
  readonly files: { readonly path: string; readonly rows: number; readonly sha256: string; readonly content: string }[];
}

type Row = Record<string, unknown>;
const iso = (ms: unknown) => (typeof ms === 'number' ? new Date(ms).toISOString() : ms);

/** The state database's rows about one patient, one CSV each: [file, what it holds, columns, rows]. */
function stateFiles(db: StateDb, id: string): [string, string, readonly string[], Row[]][] {
  const all = (sql: string) => db.prepare(sql).all(id) as Row[];
  const times = (rows: Row[], ...columns: string[]) => rows.map((r) => ({ ...r, ...Object.fromEntries(columns.map((c) => [c, iso(r[c])])) }));
  const alerts = times(all('SELECT * FROM alerts WHERE patient_id = ? ORDER BY id'), 'opened_at', 'updated_at', 'first_observed_at', 'last_observed_at', 'acknowledged_at', 'resolved_at', 'escalated_at', 'clear_since', 'back_in_range_at', 'notified_at');
  return [
    ['patient.csv', 'the registry entry', ['id', 'name', 'care_team', 'time_zone', 'created_at'], times(all('SELECT id, name, care_team, time_zone, created_at FROM patients WHERE id = ?'), 'created_at')],
    ['programmes.csv', 'care programmes and when the patient was enrolled', ['programme', 'enrolled_at'], times(all('SELECT programme, enrolled_at FROM patient_programmes WHERE patient_id = ? ORDER BY enrolled_at'), 'enrolled_at')],
    // Never the secret's hash: it is a credential of the device, not data about the patient.
    ['devices.csv', 'devices assigned to the patient', ['id', 'assigned_at', 'created_at', 'revoked_at', 'firmware', 'battery', 'last_seen_at'], times(all('SELECT id, assigned_at, created_at, revoked_at, firmware, battery, last_seen_at FROM devices WHERE patient_id = ? ORDER BY id'), 'assigned_at', 'created_at', 'revoked_at', 'last_seen_at')],
    ['alerts.csv', 'alerts with their acknowledgement and resolution notes', (db.prepare("SELECT name FROM pragma_table_info('alerts')").all() as { name: string }[]).map((c) => c.name), alerts],
    ['alert-events.csv', 'every transition of those alerts, in order', ['seq', 'alert_id', 'type', 'at', 'actor', 'alert'], times(all('SELECT e.seq, e.alert_id, e.type, e.at, e.actor, e.alert FROM alert_events e JOIN alerts a ON a.id = e.alert_id WHERE a.patient_id = ? ORDER BY e.seq'), 'at')],
    ['rule-overrides.csv', "changes to the patient's alert rules, with the reason", ['rule_id', 'override', 'note', 'preset', 'actor', 'updated_at', 'expires_at'], times(all('SELECT rule_id, override, note, preset, actor, updated_at, expires_at FROM rule_overrides WHERE patient_id = ?'), 'updated_at', 'expires_at')],
    ['snoozes.csv', 'silenced rules', ['rule_id', 'until', 'tier', 'actor', 'note', 'created_at'], times(all('SELECT rule_id, until, tier, actor, note, created_at FROM alert_snoozes WHERE patient_id = ?'), 'until', 'created_at')],
    ['rejections.csv', "readings (and hub replies) from the patient's devices that were refused, and why", ['topic', 'device_id', 'ref', 'code', 'message', 'reading_type', 'received_at'], times(all('SELECT topic, device_id, ref, code, message, reading_type, received_at FROM rejections WHERE patient_id = ? ORDER BY id'), 'received_at')],
    ['dead-letters.csv', 'readings the reading store refused', ['reading_type', 'reading', 'status', 'error', 'created_at', 'replayed_at'], times(all('SELECT reading_type, reading, status, error, created_at, replayed_at FROM dead_letters WHERE patient_id = ? ORDER BY id'), 'created_at', 'replayed_at')],
    ['care-plan.csv', 'the monitoring plan: measurements and their local times', ['template', 'measurements', 'created_at', 'updated_at', 'updated_by'], times(all('SELECT template, measurements, created_at, updated_at, updated_by FROM care_plans WHERE patient_id = ?'), 'created_at', 'updated_at')],
    ['medications.csv', 'medication schedules', ['id', 'name', 'dose', 'times', 'window_minutes', 'class', 'started_at', 'stopped_at'], times(all('SELECT id, name, dose, times, window_minutes, class, started_at, stopped_at FROM care_medications WHERE patient_id = ? ORDER BY started_at'), 'started_at', 'stopped_at')],
    ['education.csv', 'education items attached to the plan or to an alert rule', ['id', 'attach_to', 'title', 'body', 'link', 'created_at', 'created_by'], times(all('SELECT id, attach_to, title, body, link, created_at, created_by FROM care_education WHERE patient_id = ? ORDER BY created_at'), 'created_at')],
    ['hub-inbox.csv', "reminders and messages sent to the patient's hub, with receipts and dose answers", ['id', 'hub_id', 'kind', 'subject', 'due_at', 'created_at', 'expires_at', 'sent_at', 'acked_at', 'delivered_at', 'read_at', 'answer', 'answered_at'], times(all('SELECT id, hub_id, kind, subject, due_at, created_at, expires_at, sent_at, acked_at, delivered_at, read_at, answer, answered_at FROM care_inbox WHERE patient_id = ? ORDER BY created_at'), 'due_at', 'created_at', 'expires_at', 'sent_at', 'acked_at', 'delivered_at', 'read_at', 'answered_at')],
    ['messages.csv', 'messages between the care team and the patient', ['id', 'direction', 'text', 'at', 'author', 'reply_to', 'alert_id', 'measure'], times(all('SELECT id, direction, text, at, author, reply_to, alert_id, measure FROM care_messages WHERE patient_id = ? ORDER BY at'), 'at')],
    ['checkin-plan.csv', 'the symptom check-ins of the plan: questionnaires, local times and days', ['checkins', 'created_at', 'updated_at', 'updated_by'], times(all('SELECT checkins, created_at, updated_at, updated_by FROM care_checkin_plans WHERE patient_id = ?'), 'created_at', 'updated_at')],
    ['checkin-answers.csv', "the patient's answers to check-ins, each coded (docs/checkins.md)", ['inbox_id', 'questionnaire', 'question', 'answer', 'score', 'code_system', 'code', 'at', 'recorded_at'], times(all('SELECT inbox_id, questionnaire, question, answer, score, code_system, code, at, recorded_at FROM care_checkin_answers WHERE patient_id = ? ORDER BY at, question'), 'at', 'recorded_at')],
  ];
}

const AUDIT_PAGE = 5_000;

/**
 * Who viewed or changed the patient's data, when and from where, oldest first: with VIGIL_DATABASE_URL the shared
 * audit log (every instance's entries, `auditTrail`), else this state database's.
 */
async function auditFile(o: PatientExportSource): Promise<[string, string, readonly string[], Row[]]> {
  const columns = ['at', 'actor', 'origin', 'action', 'target', 'details'] as const;
  let rows: Row[];
  if (o.auditTrail) {
    const entries: AuditEntry[] = [];
    for (let before: number | undefined; ; ) {
      const page = await o.auditTrail.list({ patientId: o.patientId, limit: AUDIT_PAGE, beforeId: before });
      entries.push(...page);
      if (page.length < AUDIT_PAGE) break;
      before = page.at(-1)!.id;
    }
    // As the local rows read: details as the JSON text they are stored as.
    rows = entries.reverse().map((e) => ({ at: e.at, actor: e.actor, origin: e.origin, action: e.action, target: e.target, details: e.details === null ? null : JSON.stringify(e.details) }));
  } else {
    rows = o.db.prepare(`SELECT ${columns.join(', ')} FROM audit_log WHERE patient_id = ? ORDER BY id`).all(o.patientId) as Row[];
  }
  return ['audit.csv', "who viewed or changed the patient's data, when and from where", columns, rows.map((r) => ({ ...r, at: iso(r.at) }))];
}

/**
 * Everything Vigil holds about one patient (GDPR articles 15 and 20; HIPAA 164.524 right of access) as CSV
 * texts with a manifest naming each file, its rows and its SHA-256. Readings come from the reading store and
 * the outbox (acknowledged, not yet stored), one file per type with a column per field, each reading once.
 * Audited as `patient.export`, with where it went as the target.
 */
export async function collectPatientExport(o: PatientExportSource, target: string): Promise<PatientExport> {
  const now = (o.now ?? Date.now)();
  if (!o.db.prepare('SELECT 1 FROM patients WHERE id = ?').get(o.patientId)) throw new VigilError('VIGIL_ERR_NOT_FOUND', `no patient ${o.patientId}`);
  const tables: [string, string, readonly string[], Row[]][] = [...stateFiles(o.db, o.patientId), await auditFile(o)];
  const readings = await withOutboxReadings(o.readings, o.dataDir, o.patientId);
  for (const type of READING_TYPES) {
    // Up to a year ahead: a device clock may run ahead within the accepted skew.
    const points = await readings.queryRaw({ patientId: o.patientId, type, from: 0, to: now + 366 * 86_400_000 });
    if (points.length === 0) continue;
    const fieldNames = [...new Set(points.flatMap((p) => Object.keys(p.fields)))].sort();
    const tagNames = [...new Set(points.flatMap((p) => Object.keys(p.tags)))].sort();
    const rows = points.map((p) => ({ time: iso(p.time), device_id: p.deviceId, ...p.fields, ...p.tags }));
    tables.push([`readings-${type}.csv`, `${type} readings`, ['time', 'device_id', ...fieldNames, ...tagNames], rows]);
  }
  const files = tables.map(([path, content, columns, rows]) => ({ path, content, rows: rows.length, text: toCsv(columns, rows) }));
  const manifest: PatientExportManifest = {
    patientId: o.patientId,
    exportedAt: new Date(now).toISOString(),
    vigilVersion: o.vigilVersion,
    readingStore: o.readings.kind,
    files: files.map(({ path, content, rows, text }) => ({ path, rows, sha256: createHash('sha256').update(text).digest('hex'), content })),
  };
  o.audit.record(o.by, 'patient.export', o.patientId, target, { files: files.length, rows: files.reduce((n, f) => n + f.rows, 0) }, now);
  return { manifest, files: files.map(({ path, text }) => ({ path, text })) };
}

/**
 * `vigil patients export`: the export as files in a new or empty directory (0700, also one made beforehand;
 * files 0600), manifest.json last. An export that cannot be written whole (a full disk) removes what it wrote:
 * a partial copy of a patient's health data is no export, and would be left lying about.
 */
export async function exportPatient(o: PatientExportOptions): Promise<PatientExportManifest> {
  await mkdir(o.out, { recursive: true, mode: 0o700 });
  if ((await readdir(o.out)).length > 0) throw new VigilError('VIGIL_ERR_CONFLICT', `${o.out} is not empty: export into a new or empty directory`);
  await chmod(o.out, 0o700);
  const { manifest, files } = await collectPatientExport(o, o.out);
  try {
    for (const file of files) await writeFile(join(o.out, file.path), file.text, { mode: 0o600 });
    await writeFile(join(o.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  } catch (err) {
    for (const name of await readdir(o.out)) await rm(join(o.out, name), { force: true });
    throw err;
  }
  return manifest;
}
