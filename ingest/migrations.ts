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
  {
    // One row per rejected publish (issue 13, item 6): counts per code, the first rejections as examples, and
    // the rejected items themselves (bounded) so that they can be replayed (item 9).
    component: 'ingest',
    version: 2,
    sql: `
      ALTER TABLE rejections ADD COLUMN rejected INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE rejections ADD COLUMN codes TEXT;
      ALTER TABLE rejections ADD COLUMN examples TEXT;
      ALTER TABLE rejections ADD COLUMN payload BLOB;
      ALTER TABLE rejections ADD COLUMN payload_bytes INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE rejections ADD COLUMN payload_note TEXT;
      ALTER TABLE rejections ADD COLUMN replay_requested_at INTEGER;
      ALTER TABLE rejections ADD COLUMN replayed_at INTEGER;
      ALTER TABLE rejections ADD COLUMN replay_result TEXT;
      CREATE INDEX rejections_replay_pending ON rejections(id) WHERE replay_requested_at IS NOT NULL AND replayed_at IS NULL;
      CREATE INDEX rejections_with_payload ON rejections(id) WHERE payload IS NOT NULL;
    `,
  },
  {
    // A hub's refused reply is kept in the same log as a refused reading (listed, exported, erased with the
    // patient, pruned by retention); it is never replayed into the readings intake.
    component: 'ingest',
    version: 3,
    sql: `
      ALTER TABLE rejections ADD COLUMN topic TEXT NOT NULL DEFAULT 'readings' CHECK (topic IN ('readings', 'replies'));
    `,
  },
];
