import type Database from 'better-sqlite3';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { VigilError } from '../domain/index.js';
import { join } from 'node:path';
import { openSqlite } from './sqlite.js';

export type StateDb = Database.Database;

/**
 * A component's schema change: applied once, in order, recorded in schema_migrations, in SQLite and (for the
 * components that can live there, state/postgres.ts) in PostgreSQL. `sql` serves both dialects unless `postgres`
 * gives PostgreSQL its own text (identity columns, BIGINT times, an expression index instead of COLLATE NOCASE).
 */
export interface Migration {
  readonly component: string;
  readonly version: number;
  readonly sql: string;
  readonly postgres?: string;
}

export const STATE_DB_FILE = 'vigil.db';

/**
 * Opens Vigil's embedded state database (patients, devices, rejections, dead letters, and later alerts) in the
 * data dir. WAL lets the CLI provision while the server runs; busy_timeout makes the two writers wait for each
 * other instead of failing.
 */
export function openStateDb(dataDir: string, migrations: readonly Migration[]): StateDb {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // access(2) reports a read-only file system even to root, whom permissions do not stop.
    accessSync(dataDir, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EROFS' ? 'it is on a read-only file system' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new VigilError('VIGIL_ERR_CONFIG', `VIGIL_DATA_DIR: cannot write to ${dataDir} (${why}); Vigil keeps its state and its outbox of acknowledged readings there`);
  }
  const db = openSqlite(join(dataDir, STATE_DB_FILE));
  // FULL: a provisioning or alert change that returned is on disk.
  db.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;');
  migrate(db, migrations);
  return db;
}

function migrate(db: StateDb, migrations: readonly Migration[]): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    component TEXT NOT NULL, version INTEGER NOT NULL, applied_at INTEGER NOT NULL,
    PRIMARY KEY (component, version))`);
  const applied = db.prepare('SELECT 1 FROM schema_migrations WHERE component = ? AND version = ?');
  const record = db.prepare('INSERT INTO schema_migrations (component, version, applied_at) VALUES (?, ?, ?)');
  const apply = db.transaction((m: Migration) => {
    if (applied.get(m.component, m.version)) return;
    db.exec(m.sql);
    record.run(m.component, m.version, Date.now());
  });
  // IMMEDIATE: the server and a CLI command may open the database at the same moment.
  for (const m of migrations) apply.immediate(m);
}
