import Database from 'better-sqlite3';
import { VigilError } from '../domain/index.js';

/**
 * Every SQLite database Vigil opens, kept reachable for the life of the process, each with its prepared
 * statements cached by SQL text.
 *
 * Why: with better-sqlite3 12 on Node 24.19+, a Statement finalised by the garbage collector aborts the
 * process (`RemoveEnvironmentCleanupHook: Assertion failed: (env) != nullptr`, WiseLibs/better-sqlite3#1515,
 * closed without a fix; 13.x needs Node 22). Statements that are never collected never reach that code path,
 * so `prepare` returns one cached Statement per SQL text, and `PRAGMA` goes through `exec` (which creates no
 * Statement object) instead of `db.pragma()`. SQL text is never built from values, so the cache is bounded
 * by the number of distinct queries in the code.
 */
const retained: Database.Database[] = [];

/** SQLite's answers for a file that is not a database, is damaged, or cannot be opened as one. */
const UNUSABLE = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT', 'SQLITE_CANTOPEN']);

export function openSqlite(path: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(path);
    // Opening reads nothing; the schema read does, and says at once whether the file is a sound database.
    db.exec('SELECT count(*) FROM sqlite_master');
  } catch (err) {
    const code = (err as { code?: string }).code;
    db?.close();
    if (!code || !UNUSABLE.has(code)) throw err;
    throw new VigilError(
      'VIGIL_ERR_DATA_CORRUPT',
      `${path} cannot be used (${(err as Error).message}): restore it from a backup or move it aside (docs/operations.md)`,
      { cause: err },
    );
  }
  // Health data: bytes a page no longer uses (a deleted row, a cell moved when a page split) are zeroed whenever
  // the page is written anyway. Without it an erased patient's rows stayed legible in pages still in use, which
  // turning secure_delete fully on for the erasure alone could not reach. FAST costs no extra I/O.
  db.pragma('secure_delete = FAST');
  const cache = new Map<string, Database.Statement>();
  const prepare = db.prepare.bind(db);
  db.prepare = ((source: string) => {
    let statement = cache.get(source);
    if (!statement) {
      statement = prepare(source);
      cache.set(source, statement);
    }
    return statement;
  }) as typeof db.prepare;
  retained.push(db);
  return db;
}
