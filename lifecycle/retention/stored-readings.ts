import Database from 'better-sqlite3';
import { join } from 'node:path';
import { READINGS_DB_FILE, type SqliteStore } from '../../ingest/index.js';

/** The embedded reading store as a retention run uses it: its purge, and whose readings it holds. */
export interface RetentionReadings {
  /** Deletes up to `limit` of a patient's readings measured before `before`; answers how many went. */
  purgeBefore(patientId: string, before: number, limit: number): Promise<number>;
  /**
   * Every patient the store holds readings of, whether or not the registry still has them: readings of a
   * patient removed from the registry without an erasure, or brought back by a restore, are kept no longer than
   * anyone's. Asked once per run.
   */
  patientIds(): readonly string[];
}

/**
 * The patient ids in the readings table, each once: a walk from one id to the next along the table's key (which
 * leads with the patient), one seek per patient rather than a scan of every reading (a year of CGM is 105,000
 * rows per patient). Read-only, on a connection of its own: deletes stay with the store's writer thread.
 */
const PATIENT_IDS = `WITH RECURSIVE ids(id) AS (
    SELECT (SELECT min(patient_id) FROM readings)
    UNION ALL
    SELECT (SELECT min(patient_id) FROM readings WHERE patient_id > ids.id) FROM ids WHERE ids.id IS NOT NULL
  ) SELECT id FROM ids WHERE id IS NOT NULL`;

export function storedPatientIds(dataDir: string): string[] {
  const db = new Database(join(dataDir, READINGS_DB_FILE), { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    return db.prepare(PATIENT_IDS).pluck().all() as string[];
  } finally {
    db.close();
  }
}

/** The embedded store of a data dir, for the retention run (InfluxDB applies its own retention policy). */
export function embeddedRetentionReadings(store: Pick<SqliteStore, 'purgeBefore'>, dataDir: string): RetentionReadings {
  return {
    purgeBefore: (patientId, before, limit) => store.purgeBefore(patientId, before, limit),
    patientIds: () => storedPatientIds(dataDir),
  };
}
