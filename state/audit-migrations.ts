import type { Migration } from './database.js';

/**
 * The audit log shared by every instance (VIGIL_DATABASE_URL; docs/architecture.md, "The audit log, shared").
 * The local table itself is the alerts component's (audit_log, alerts migrations 1-2); here, in SQLite, what the
 * shipper keeps to copy it: which instance this state database is, and how far its entries have been shipped.
 * In PostgreSQL, the shared table: each instance's entries under its id, with their local id, so that shipping
 * a batch again (a crash between the insert and the cursor's save) adds nothing. `local_id` may be NULL: an entry
 * written straight into PostgreSQL by a transaction there has no local row.
 */
export const AUDIT_MIGRATIONS: readonly Migration[] = [
  {
    component: 'audit',
    version: 1,
    // The instance id: a random UUID (version 4) made once per state database, so two data dirs never share one.
    sql: `
      CREATE TABLE audit_shipping (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        instance TEXT NOT NULL,
        shipped_id INTEGER NOT NULL
      );
      INSERT INTO audit_shipping (id, instance, shipped_id) VALUES (1,
        lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' ||
        substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))), 0);
    `,
    postgres: `
      CREATE TABLE audit_log (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at BIGINT NOT NULL,
        actor TEXT NOT NULL,
        origin TEXT,
        action TEXT NOT NULL,
        patient_id TEXT,
        target TEXT,
        details TEXT,
        instance TEXT NOT NULL,
        local_id BIGINT,
        UNIQUE (instance, local_id)
      );
      CREATE INDEX audit_log_patient ON audit_log(patient_id, id);
      CREATE INDEX audit_log_actor ON audit_log(actor, id);
      -- Append-only, as SQLite's: no UPDATE, DELETE or TRUNCATE (HIPAA 164.312(b)).
      CREATE FUNCTION vigil_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit log is append-only';
      END $$;
      CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION vigil_audit_append_only();
      CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION vigil_audit_append_only();
    `,
  },
];
