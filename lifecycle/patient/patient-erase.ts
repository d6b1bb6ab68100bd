import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { VigilError } from '../../domain/index.js';
import { blankShippedRecords, eraseQuarantinedRecords, OUTBOX_DIR, type ReadingStore } from '../../ingest/index.js';
import type { Actor, AuditLog, StateDb } from '../../state/index.js';
import { outboxHoldsPatient } from './outbox-pending.js';
import { PATIENT_TABLES } from './patient-tables.js';
import { erasurePseudonym } from './pseudonym.js';

export interface PatientEraseOptions {
  readonly db: StateDb;
  readonly audit: AuditLog;
  readonly readings: Pick<ReadingStore, 'erasePatient'>;
  readonly dataDir: string;
  readonly patientId: string;
  readonly by: Actor;
  /** How long to wait for the patient's readings still in the outbox to be stored before erasing the store. */
  readonly outboxWaitMs?: number;
  /**
   * A running server sees the unassignment within its device cache's refresh (200 ms) and flushes the
   * dashboard's latest readings every second: wait this long before looking at the outbox and erasing again.
   */
  readonly settleMs?: number;
  readonly now?: () => number;
  /**
   * The shared registry (VIGIL_DATABASE_URL), erased first so that every instance's replica of it erases the
   * patient too (Registry.erasePatientShared); absent on an embedded registry.
   */
  readonly shared?: { erasePatientShared(patientId: string): Promise<void> };
}

export interface ErasureResult {
  /** What the audit log keeps instead of the id. */
  readonly pseudonym: string;
  /** Rows deleted per table (devices: unassigned, not deleted). */
  readonly removed: Record<string, number>;
  /** Readings deleted from the store; null when the store cannot count (InfluxDB). */
  readonly readings: number | null;
  /**
   * The patient's records overwritten or removed in the outbox: shipped readings in its segments (kept there until
   * a segment rolls over), and damaged records it set aside in `outbox/quarantine/`.
   */
  readonly outboxRecords: number;
  /**
   * The copies handed out before, as this audit log recorded them (`patient.export`: a directory or file the
   * CLI wrote, or a dashboard or API download): outside Vigil, so not erased; the operator deletes them or asks
   * whoever holds them to.
   */
  readonly earlierExports: readonly EarlierExport[];
  /** Directories of data moved aside by `vigil restore --replace` in the data dir: they still hold the patient. */
  readonly replacedData: readonly string[];
}

/** What a restore with --replace moved aside in the data dir (lifecycle/backup/restore-backup.ts). */
const REPLACED_PREFIX = 'replaced-';

/** Data moved aside by earlier restores: whole copies of the data dir's databases, which an erasure does not open. */
async function replacedData(dataDir: string): Promise<string[]> {
  const names = await readdir(dataDir).catch(() => [] as string[]);
  return names.filter((n) => n.startsWith(REPLACED_PREFIX)).sort().map((n) => join(dataDir, n));
}

export interface EarlierExport {
  readonly at: number;
  readonly actor: string;
  readonly target: string | null;
}

/**
 * Deletes the patient's rows from the state database (devices are unassigned: they are hardware); one transaction.
 * With `secure_delete` on for it: SQLite otherwise leaves a deleted row's bytes in the page it freed, legible in
 * the file (and in any copy of it) long after the erasure. Only for the erasure: it costs every delete a write.
 */
function eraseState(db: StateDb, id: string): Record<string, number> {
  const removed: Record<string, number> = {};
  const secureDelete = db.pragma('secure_delete', { simple: true }) as number;
  db.pragma('secure_delete = ON');
  try {
    deleteRows(db, id, removed);
  } finally {
    db.pragma(`secure_delete = ${secureDelete}`);
  }
  return removed;
}

function deleteRows(db: StateDb, id: string, removed: Record<string, number>): void {
  db.transaction(() => {
    const alertIds = 'SELECT id FROM alerts WHERE patient_id = ?';
    removed.webhook_parked = db.prepare(`DELETE FROM webhook_parked WHERE seq IN (SELECT seq FROM alert_events WHERE alert_id IN (${alertIds}))`).run(id).changes;
    removed.alert_events = db.prepare(`DELETE FROM alert_events WHERE alert_id IN (${alertIds})`).run(id).changes;
    // Unassigned first: the device's next readings are refused (VIGIL_ERR_DEVICE_UNASSIGNED) instead of stored.
    removed.devices = db.prepare('UPDATE devices SET patient_id = NULL, assigned_at = NULL WHERE patient_id = ?').run(id).changes;
    for (const [table, column] of Object.entries(PATIENT_TABLES)) {
      if (table === 'devices' || table === 'patients') continue;
      removed[table] = db.prepare(`DELETE FROM ${table} WHERE ${column} = ?`).run(id).changes;
    }
    removed.patients = db.prepare('DELETE FROM patients WHERE id = ?').run(id).changes;
  }).immediate();
}

/**
 * The write-ahead log still holds the patient's rows as they were written before the erasure, until SQLite
 * starts it over. A TRUNCATE checkpoint copies the log into the database (where the erased rows are zeroed) and
 * empties it. Best effort, and without waiting: while another connection reads (a backup's snapshot may read
 * for minutes) the log cannot be emptied yet and is started over later; waiting here would hold a running
 * server's event loop, since the dashboard's erasure runs on its connection.
 */
function discardOldLog(db: StateDb): void {
  const busyTimeout = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma('busy_timeout = 0');
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.pragma(`busy_timeout = ${busyTimeout}`);
  }
}

/**
 * Whether an erasure of this patient was recorded here before: then a missing registry entry is not a typo but
 * an erasure to finish (run again after the reading store failed). The audit log holds only the pseudonym.
 */
export function erasureStarted(db: StateDb, patientId: string): boolean {
  const target = `erased:${erasurePseudonym(db, patientId)}`;
  return db.prepare("SELECT 1 FROM audit_log WHERE action = 'patient.erase' AND target = ? LIMIT 1").get(target) !== undefined;
}

/**
 * `vigil patients erase` (GDPR article 17): the registry entry, programmes, alerts with their events and notes,
 * rule changes, rejections, dead letters and every stored reading go; the devices are unassigned. The audit
 * log is kept (HIPAA), and records the erasure under an HMAC of the id, never the id itself.
 *
 * Order: an audit entry saying the erasure started; the state database, so that the patient's devices stop
 * being accepted at once; then the
 * readings still in the outbox are given time to reach the store; then the store is erased, so that no reading
 * lands there after it; then the shipped copies still in the outbox's segments are overwritten. Running it again
 * for the same id is safe (and needed if the store was unreachable).
 */
export async function erasePatient(o: PatientEraseOptions): Promise<ErasureResult> {
  const now = o.now ?? Date.now;
  const pseudonym = erasurePseudonym(o.db, o.patientId);
  const earlierExports = o.db
    .prepare<[string], EarlierExport>("SELECT at, actor, target FROM audit_log WHERE action = 'patient.export' AND patient_id = ? ORDER BY id")
    .all(o.patientId);
  // Before anything is deleted: an erasure killed midway is then on record (deletions are never unaudited),
  // and erasureStarted() lets it be run again to its end without --force.
  o.audit.record(o.by, 'patient.erase', null, `erased:${pseudonym}`, { started: true });
  await o.shared?.erasePatientShared(o.patientId);
  const removed = eraseState(o.db, o.patientId);
  await sleep(o.settleMs ?? 1_500);
  const deadline = now() + (o.outboxWaitMs ?? 30_000);
  while ((await outboxHoldsPatient(o.dataDir, o.patientId)) && now() < deadline) await sleep(250);
  const stillQueued = await outboxHoldsPatient(o.dataDir, o.patientId);
  let readings: number | null;
  try {
    readings = (await o.readings.erasePatient(o.patientId)) ?? null;
    // Whatever a running server wrote for the patient while the first pass ran (an alert on a reading in flight).
    for (const [table, n] of Object.entries(eraseState(o.db, o.patientId))) removed[table] = (removed[table] ?? 0) + n;
  } catch (err) {
    o.audit.record(o.by, 'patient.erase', null, `erased:${pseudonym}`, { removed, readings: 'not erased: the reading store failed; run the erasure again' });
    throw err;
  }
  // The shipped readings still in the outbox's segments, legible until a segment rolls over (64 MB) and the
  // checkpoint passes it. Only those behind the checkpoint: one still waiting is the next run's to overwrite.
  let outboxRecords = 0;
  let outboxFailure: unknown;
  try {
    outboxRecords = await blankShippedRecords(join(o.dataDir, OUTBOX_DIR), o.patientId);
    // And the patient's damaged records the outbox set aside for an operator, whole files of their own.
    outboxRecords += await eraseQuarantinedRecords(join(o.dataDir, OUTBOX_DIR), o.patientId);
  } catch (err) {
    outboxFailure = err;
  }
  o.audit.record(o.by, 'patient.erase', null, `erased:${pseudonym}`, {
    removed,
    readings,
    outboxRecords: outboxFailure === undefined ? outboxRecords : `not overwritten (${String((outboxFailure as Error).message ?? outboxFailure)}): run the erasure again`,
    readingsStillQueued: stillQueued,
  });
  discardOldLog(o.db);
  if (outboxFailure !== undefined) throw outboxFailure;
  if (stillQueued) {
    throw new VigilError('VIGIL_ERR_CONFLICT', 'readings of this patient still wait in the outbox (is the reading store down?): run the erasure again once it has drained');
  }
  return { pseudonym, removed, readings, outboxRecords, earlierExports, replacedData: await replacedData(o.dataDir) };
}

/**
 * A patient erased from the shared registry by another instance (or its CLI), as this instance's replica learns
 * of it: this state database's rows about them go at once, in one transaction, and the audit log records it as
 * the erasure does. The reading store is the erasing instance's task (a shared InfluxDB), or `erasePatient`'s
 * when the caller has this instance's own store at hand.
 */
export function eraseReplicatedPatient(db: StateDb, audit: AuditLog, patientId: string): void {
  const pseudonym = erasurePseudonym(db, patientId);
  const removed = eraseState(db, patientId);
  audit.record(REPLICA_ACTOR, 'patient.erase', null, `erased:${pseudonym}`, { removed, replicated: true });
}

/** Who erased, in the audit log, when the erasure came from the shared registry. */
export const REPLICA_ACTOR = 'system:shared-registry';
