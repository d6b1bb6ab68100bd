import type { Migration } from '../state/index.js';

export const LIFECYCLE_MIGRATIONS: readonly Migration[] = [
  {
    component: 'lifecycle',
    version: 1,
    sql: `
      -- How far back each kind of record has been purged. The audit log stays append-only: a row may leave only
      -- once it is older than the horizon the retention sweep recorded (and audited) for it.
      CREATE TABLE retention_horizon (
        kind TEXT PRIMARY KEY,
        before INTEGER NOT NULL,
        set_at INTEGER NOT NULL
      );
      DROP TRIGGER audit_log_no_delete;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        WHEN OLD.at >= COALESCE((SELECT before FROM retention_horizon WHERE kind = 'audit'), -9007199254740991)
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only (rows leave only past the audited retention horizon)'); END;
      CREATE INDEX audit_log_at ON audit_log(at);
      CREATE INDEX alerts_resolved ON alerts(resolved_at) WHERE status = 'resolved';
      CREATE INDEX dead_letters_replayed ON dead_letters(replayed_at) WHERE replayed_at IS NOT NULL;

      -- The key of the pseudonym an erasure leaves in the audit log (HMAC of the patient id): whoever holds this
      -- database can check whether a given id was erased, nobody can read the id back from the log.
      CREATE TABLE erasure_key (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        key BLOB NOT NULL
      );
      INSERT INTO erasure_key (id, key) VALUES (1, randomblob(32));

      -- A running server keeps a patient's latest reading times in memory and writes them back later: after an
      -- erasure those writes are dropped, and an alert for a patient that no longer exists is refused.
      CREATE TRIGGER last_readings_patient_exists BEFORE INSERT ON last_readings
        WHEN NOT EXISTS (SELECT 1 FROM patients WHERE id = NEW.patient_id) BEGIN SELECT RAISE(IGNORE); END;
      CREATE TRIGGER latest_readings_patient_exists BEFORE INSERT ON latest_readings
        WHEN NOT EXISTS (SELECT 1 FROM patients WHERE id = NEW.patient_id) BEGIN SELECT RAISE(IGNORE); END;
      CREATE TRIGGER alerts_patient_exists BEFORE INSERT ON alerts
        WHEN NOT EXISTS (SELECT 1 FROM patients WHERE id = NEW.patient_id) BEGIN SELECT RAISE(ABORT, 'no such patient (erased?)'); END;
    `,
  },
];
