import pg from 'pg';
import { VigilError } from '../domain/index.js';
import type { Migration } from './database.js';
import type { SqlClient, SqlResult, SqlValue } from './sql.js';

/** PostgreSQL's type id of BIGINT: Vigil keeps times as epoch milliseconds, which need 64 bits. */
const INT8_OID = 20;

/**
 * Epoch milliseconds (and counts) as numbers: node-postgres answers BIGINT as a string by default, as a value may
 * pass 2^53. Vigil's BIGINT columns hold times and counts, far below it. Per pool, not pg's global parsers.
 */
const types = {
  getTypeParser: (oid: number, format?: string) =>
    oid === INT8_OID && format !== 'binary' ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text'),
};

/** Any constant: the key of the transaction-level advisory lock that serialises instances' migrations. */
const MIGRATION_LOCK = 4_711_015;

export interface PostgresState {
  readonly client: SqlClient;
  close(): Promise<void>;
}

/** `?` placeholders as PostgreSQL's numbered ones (the port's statements never hold `?` in a literal). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** The URL without its password, for messages. */
export function redactedUrl(url: string): string {
  return url.replace(/\/\/([^/@:\s]*):[^/@\s]*@/, '//$1:***@');
}

/**
 * Opens the shared PostgreSQL state database (VIGIL_DATABASE_URL; TLS from the URL's sslmode, docs/deployment.md)
 * and applies the migrations not yet applied. Several instances may start at once: each takes the same
 * transaction-level advisory lock first, so one applies the migrations and the others then find them recorded.
 * DDL is transactional in PostgreSQL, so a failed migration leaves nothing half done.
 */
export async function openPostgres(url: string, migrations: readonly Migration[], onIdleError: (err: Error) => void): Promise<PostgresState> {
  const pool = new pg.Pool({ connectionString: url, types, max: 10, connectionTimeoutMillis: 10_000 });
  // A pooled connection that drops while idle is replaced on next use; without a listener it would end the process.
  pool.on('error', onIdleError);
  try {
    await migrate(pool, migrations);
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof VigilError) throw err;
    throw new VigilError('VIGIL_ERR_CONFIG', `VIGIL_DATABASE_URL: cannot open ${redactedUrl(url)}: ${(err as Error).message}`, { cause: err });
  }
  const client: SqlClient = {
    dialect: 'postgres',
    async query<Row>(sql: string, params: readonly SqlValue[] = []): Promise<SqlResult<Row>> {
      const result = await pool.query(numbered(sql), params as SqlValue[]);
      return { rows: result.rows as Row[], changes: result.rowCount ?? 0 };
    },
    transaction: (statements) =>
      inTransaction(pool, async (connection) => {
        for (const s of statements) await connection.query(numbered(s.sql), (s.params ?? []) as SqlValue[]);
      }),
  };
  return { client, close: () => pool.end() };
}

/** `work` on one pooled connection between BEGIN and COMMIT; rolled back if it throws. */
async function inTransaction(pool: pg.Pool, work: (connection: pg.PoolClient) => Promise<void>): Promise<void> {
  const connection = await pool.connect();
  // A connection that cannot even roll back is broken: the pool discards it rather than lend it again.
  let broken: Error | undefined;
  try {
    await connection.query('BEGIN');
    await work(connection);
    await connection.query('COMMIT');
  } catch (err) {
    await connection.query('ROLLBACK').catch((e: Error) => (broken = e));
    throw err;
  } finally {
    connection.release(broken);
  }
}

function migrate(pool: pg.Pool, migrations: readonly Migration[]): Promise<void> {
  return inTransaction(pool, async (connection) => {
    await connection.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await connection.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      component TEXT NOT NULL, version INTEGER NOT NULL, applied_at BIGINT NOT NULL,
      PRIMARY KEY (component, version))`);
    for (const m of migrations) {
      const applied = await connection.query('SELECT 1 FROM schema_migrations WHERE component = $1 AND version = $2', [m.component, m.version]);
      if (applied.rowCount) continue;
      await connection.query(m.postgres ?? m.sql);
      await connection.query('INSERT INTO schema_migrations (component, version, applied_at) VALUES ($1, $2, $3)', [m.component, m.version, Date.now()]);
    }
  });
}
