import type { StateDb } from './database.js';
import type { SqlClient, SqlResult, SqlStatement, SqlValue } from './sql.js';

/**
 * The embedded state database behind the async SQL port. Statements run synchronously, as they always have
 * (better-sqlite3); the promise only gives callers the shape PostgreSQL needs. The database stays its opener's
 * to close.
 */
export function sqliteClient(db: StateDb): SqlClient {
  const run = <Row>(sql: string, params: readonly SqlValue[] = []): SqlResult<Row> => {
    const statement = db.prepare(sql);
    // RETURNING makes a write a reader: it answers rows, like a SELECT.
    if (statement.reader) return { rows: statement.all(...params) as Row[], changes: 0 };
    return { rows: [], changes: statement.run(...params).changes };
  };
  const atomically = db.transaction((statements: readonly SqlStatement[]) => statements.map((s) => run<Record<string, SqlValue>>(s.sql, s.params)));
  return {
    dialect: 'sqlite',
    query: async (sql, params) => run(sql, params),
    // IMMEDIATE: take the write lock at once, as the CLI may write from another process at the same moment.
    transaction: async (statements) => atomically.immediate(statements),
  };
}
