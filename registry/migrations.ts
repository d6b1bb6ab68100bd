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
];
