import Database from 'better-sqlite3';

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

export function openSqlite(path: string): Database.Database {
  const db = new Database(path);
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
