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
];
