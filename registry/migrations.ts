import type { Migration } from '../state/index.js';

export const REGISTRY_MIGRATIONS: readonly Migration[] = [
  {
    component: 'registry',
    version: 1,
    sql: `
      CREATE TABLE patients (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        patient_id TEXT REFERENCES patients(id),
        secret_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER,
        online INTEGER NOT NULL DEFAULT 0,
        battery REAL,
        firmware TEXT,
        last_seen_at INTEGER,
        status_at INTEGER
      );
      CREATE INDEX devices_patient ON devices(patient_id);
    `,
    // PostgreSQL starts at today's schema (versions 2-8 are SQLite's history). Every change to a row notifies
    // channel vigil_registry with "p:<patient id>" or "d:<device id>", inside the writing transaction, so each
    // instance's replica hears of it after the commit, whoever wrote it (docs/architecture.md, "The registry,
    // shared"). registry_identity tells a replica which shared registry it mirrors.
    postgres: `
      CREATE TABLE patients (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        care_team TEXT,
        time_zone TEXT NOT NULL DEFAULT 'UTC'
      );
      CREATE INDEX patients_care_team ON patients(care_team);
      CREATE TABLE patient_programmes (
        patient_id TEXT NOT NULL REFERENCES patients(id),
        programme TEXT NOT NULL,
        enrolled_at BIGINT NOT NULL,
        -- the order of enrolment (SQLite's rowid)
        seq BIGINT GENERATED ALWAYS AS IDENTITY,
        PRIMARY KEY (patient_id, programme)
      );
      CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        patient_id TEXT REFERENCES patients(id),
        secret_hash TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT,
        online INTEGER NOT NULL DEFAULT 0,
        battery DOUBLE PRECISION,
        firmware TEXT,
        last_seen_at BIGINT,
        status_at BIGINT,
        assigned_at BIGINT,
        warm_up_until BIGINT,
        ns_verifier TEXT,
        kind TEXT NOT NULL DEFAULT 'device' CHECK (kind IN ('device', 'hub'))
      );
      CREATE INDEX devices_patient ON devices(patient_id);
      CREATE UNIQUE INDEX devices_ns_verifier ON devices(ns_verifier);
      CREATE TABLE registry_identity (id TEXT PRIMARY KEY);
      INSERT INTO registry_identity (id) VALUES (gen_random_uuid()::text);

      -- TG_ARGV: the key's prefix and the column holding the id.
      CREATE FUNCTION vigil_registry_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('vigil_registry', TG_ARGV[0] || ':' ||
          ((CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END) ->> TG_ARGV[1]));
        RETURN NULL;
      END $$;
      CREATE TRIGGER patients_changed AFTER INSERT OR UPDATE OR DELETE ON patients
        FOR EACH ROW EXECUTE FUNCTION vigil_registry_changed('p', 'id');
      CREATE TRIGGER patient_programmes_changed AFTER INSERT OR UPDATE OR DELETE ON patient_programmes
        FOR EACH ROW EXECUTE FUNCTION vigil_registry_changed('p', 'patient_id');
      CREATE TRIGGER devices_changed AFTER INSERT OR UPDATE OR DELETE ON devices
        FOR EACH ROW EXECUTE FUNCTION vigil_registry_changed('d', 'id');
    `,
  },
  {
    component: 'registry',
    version: 2,
    sql: `
      ALTER TABLE patients ADD COLUMN programmes TEXT NOT NULL DEFAULT '[]';
    `,
  },
  {
    component: 'registry',
    version: 3,
    sql: `
      ALTER TABLE patients ADD COLUMN care_team TEXT;
      CREATE INDEX patients_care_team ON patients(care_team);
    `,
  },
  {
    component: 'registry',
    version: 4,
    // Rules that speak of the patient's day need the patient's wall clock. Existing patients get UTC, the
    // default before zones existed; an operator sets the real zone (vigil patients set-time-zone).
    sql: `
      ALTER TABLE patients ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
    `,
  },
  {
    component: 'registry',
    version: 5,
    // Enrolment is a row per (patient, programme) with the time it began, so that a programme's rules can
    // wait for enough history since enrolment. This table replaces the JSON list: one source of truth.
    // Existing enrolments date from the patient's creation, the best time known.
    sql: `
      CREATE TABLE patient_programmes (
        patient_id TEXT NOT NULL REFERENCES patients(id),
        programme TEXT NOT NULL,
        enrolled_at INTEGER NOT NULL,
        PRIMARY KEY (patient_id, programme)
      );
      INSERT OR IGNORE INTO patient_programmes (patient_id, programme, enrolled_at)
        SELECT p.id, j.value, p.created_at FROM patients p, json_each(p.programmes) j WHERE j.type = 'text' ORDER BY p.rowid, j.key;
      ALTER TABLE patients DROP COLUMN programmes;
    `,
  },
  {
    component: 'registry',
    version: 6,
    // When a device began to serve its current patient (data rules must not count the time before), and the
    // sensor warm-up the device declared on its status (a CGM sends nothing for an hour or two after insertion).
    // Existing assigned devices were assigned when they were provisioned.
    sql: `
      ALTER TABLE devices ADD COLUMN assigned_at INTEGER;
      UPDATE devices SET assigned_at = created_at WHERE patient_id IS NOT NULL;
      ALTER TABLE devices ADD COLUMN warm_up_until INTEGER;
    `,
  },
  {
    component: 'registry',
    version: 7,
    // The verifier of the Nightscout API secret (registry/secrets.ts nightscoutVerifier). It cannot be derived from
    // the stored hash of the secret: devices provisioned before this version get it when their secret is rotated.
    // Indexed: apps that cannot put the device in the URL (Loop) are told apart by their secret alone.
    sql: `
      ALTER TABLE devices ADD COLUMN ns_verifier TEXT;
      CREATE UNIQUE INDEX devices_ns_verifier ON devices(ns_verifier);
    `,
  },
  {
    component: 'registry',
    version: 8,
    // A hub (the patient's phone app or home hub, docs/hub-protocol.md) is a device that may also read its inbox
    // and publish replies; every device provisioned before hubs existed is an ordinary device.
    sql: `
      ALTER TABLE devices ADD COLUMN kind TEXT NOT NULL DEFAULT 'device' CHECK (kind IN ('device', 'hub'));
    `,
  },
  {
    component: 'registry',
    version: 9,
    // With a shared registry (PostgreSQL) this database holds a replica of it: which shared registry, so that a
    // data dir pointed at another database is adopted again rather than taken for its copy. SQLite only.
    sql: `
      CREATE TABLE registry_replica (
        registry_id TEXT NOT NULL,
        synced_at INTEGER NOT NULL
      );
    `,
  },
];
