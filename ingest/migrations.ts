import type { Migration } from '../state/index.js';

export const INGEST_MIGRATIONS: readonly Migration[] = [
  {
    component: 'ingest',
    version: 1,
    sql: `
      CREATE TABLE rejections (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        device_id TEXT NOT NULL,
        patient_id TEXT,
        ref TEXT NOT NULL,
        code TEXT NOT NULL,
        message TEXT NOT NULL,
        reading_type TEXT,
        received_at INTEGER NOT NULL
      );
      CREATE INDEX rejections_by_device ON rejections(device_id, received_at);
      CREATE INDEX rejections_by_time ON rejections(received_at);
      CREATE TABLE dead_letters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        reading_key TEXT NOT NULL,
        device_id TEXT NOT NULL,
        patient_id TEXT NOT NULL,
        reading_type TEXT NOT NULL,
        reading TEXT NOT NULL,
        status INTEGER NOT NULL,
        error TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        replay_requested_at INTEGER,
        replayed_at INTEGER
      );
      CREATE INDEX dead_letters_pending ON dead_letters(replay_requested_at, replayed_at);
    `,
  },
];
