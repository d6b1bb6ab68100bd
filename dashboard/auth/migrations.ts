import type { Migration } from '../../state/index.js';

export const DASHBOARD_MIGRATIONS: readonly Migration[] = [
  {
    component: 'dashboard',
    version: 1,
    sql: `
      CREATE TABLE users (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'clinician')),
        care_teams TEXT NOT NULL DEFAULT '[]',
        password_hash TEXT NOT NULL,
        password_changed_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        disabled_at INTEGER,
        failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until INTEGER,
        last_login_at INTEGER
      );

      -- Only a hash of the session id is stored: a copy of the database does not let anyone in.
      CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        csrf_token TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        origin TEXT
      );
      CREATE INDEX sessions_user ON sessions(user_id);

      -- The latest reading of each type per patient, for the worklist (flushed from memory about once a second).
      CREATE TABLE latest_readings (
        patient_id TEXT NOT NULL,
        type TEXT NOT NULL,
        time INTEGER NOT NULL,
        reading TEXT NOT NULL,
        PRIMARY KEY (patient_id, type)
      );
    `,
  },
];
