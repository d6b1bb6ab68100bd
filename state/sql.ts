/** A value a parameterised statement binds: what both SQLite and PostgreSQL accept as is. */
export type SqlValue = string | number | null;

export interface SqlStatement {
  readonly sql: string;
  readonly params?: readonly SqlValue[];
}

export interface SqlResult<Row> {
  readonly rows: Row[];
  /** Rows an INSERT, UPDATE or DELETE changed. */
  readonly changes: number;
}

export type SqlDialect = 'sqlite' | 'postgres';

/**
 * The narrow async port of the stores that may live in PostgreSQL as well as in the embedded SQLite database
 * (docs/architecture.md, "State: one async port, two databases"). Statements use `?` placeholders (never inside a
 * string literal: the PostgreSQL side numbers them `$1, $2, ...`), and quote camelCase column aliases, which
 * PostgreSQL would otherwise fold to lower case.
 */
export interface SqlClient {
  readonly dialect: SqlDialect;
  query<Row>(sql: string, params?: readonly SqlValue[]): Promise<SqlResult<Row>>;
  /**
   * The statements, in order, in one transaction: all or none. A list rather than a callback, so that the
   * SQLite side runs it synchronously and no other caller's statement can land inside the transaction. Answers
   * each statement's result, in order (a compare-and-set tells whether it matched by the rows it returned).
   */
  transaction(statements: readonly SqlStatement[]): Promise<SqlResult<Record<string, SqlValue>>[]>;
}

/**
 * A UNIQUE or PRIMARY KEY constraint refused the row, in either dialect: SQLite's extended codes, PostgreSQL's
 * SQLSTATE 23505 (which covers both).
 */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
