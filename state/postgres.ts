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

/**
 * How long a request may wait on the database (docs/deployment.md, "PostgreSQL"): a statement the server has not
 * finished in 10 s is cancelled there (statement_timeout), and one whose answer has not arrived 15 s after it was
 * sent (a server or network that hangs, so the server cannot even cancel) is given up here. Identity statements
 * take milliseconds; these bound what a clinician waits before the 503 (VIGIL_ERR_STATE_UNAVAILABLE).
 */
export const POSTGRES_TIMEOUTS = { connectMs: 10_000, statementMs: 10_000, answerMs: 15_000 } as const;

export interface PostgresTimeouts {
  readonly connectMs: number;
  readonly statementMs: number;
  readonly answerMs: number;
}

export interface PostgresState {
  readonly client: SqlClient;
  /**
   * Queries that must see one moment of the database (a replica's full sync reads three tables that refer to each
   * other): one REPEATABLE READ, READ ONLY transaction, whose snapshot every query in `work` reads.
   */
  snapshot<T>(work: (query: SqlClient['query']) => Promise<T>): Promise<T>;
  /**
   * `work` in one read-write transaction that first takes the transaction-level advisory lock `key`: what needs
   * to read, decide and write while no other instance writes the same things (shared alerts). PostgreSQL only: on
   * SQLite a callback transaction could let another caller's statements in between its awaits.
   */
  locked<T>(key: number, work: (query: SqlClient['query']) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** `?` placeholders as PostgreSQL's numbered ones (the port's statements never hold `?` in a literal). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/**
 * The URL without its passwords, for messages: the user info's (which may hold an unencoded `@`: node-postgres,
 * as WHATWG URLs, splits at the last one), and the `password` and `sslpassword` query parameters node-postgres
 * also reads. A URL that does not parse loses everything from the user info's colon to its last `@`.
 */
export function redactedUrl(url: string): string {
  if (!URL.canParse(url)) return url.replace(/\/\/([^/:@\s]*):\S*@/, '//$1:***@').replace(/(password=)[^&\s]*/gi, '$1***');
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  for (const key of ['password', 'sslpassword']) if (parsed.searchParams.has(key)) parsed.searchParams.set(key, '***');
  return parsed.toString();
}

/**
 * Opens the shared PostgreSQL state database (VIGIL_DATABASE_URL; TLS from the URL's sslmode, docs/deployment.md)
 * and applies the migrations not yet applied. Several instances may start at once: each takes the same
 * transaction-level advisory lock first, so one applies the migrations and the others then find them recorded.
 * DDL is transactional in PostgreSQL, so a failed migration leaves nothing half done.
 */
export async function openPostgres(
  url: string,
  migrations: readonly Migration[],
  onIdleError: (err: Error) => void,
  timeouts: PostgresTimeouts = POSTGRES_TIMEOUTS,
): Promise<PostgresState> {
  const pool = new pg.Pool({
    connectionString: url,
    types,
    max: 10,
    connectionTimeoutMillis: timeouts.connectMs,
    statement_timeout: timeouts.statementMs,
    query_timeout: timeouts.answerMs,
  });
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
    query: <Row>(sql: string, params?: readonly SqlValue[]) => queryOn(pool)<Row>(sql, params).catch(coded),
    transaction: (statements) =>
      inTransaction(pool, async (connection) => {
        const results: SqlResult<Record<string, SqlValue>>[] = [];
        for (const s of statements) results.push(await queryOn(connection)<Record<string, SqlValue>>(s.sql, s.params));
        return results;
      }).catch(coded),
  };
  const snapshot = <T>(work: (query: SqlClient['query']) => Promise<T>): Promise<T> =>
    codedTransaction(pool, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', work);
  const locked = <T>(key: number, work: (query: SqlClient['query']) => Promise<T>): Promise<T> =>
    codedTransaction(pool, 'BEGIN', async (query) => {
      await query('SELECT pg_advisory_xact_lock(?::bigint)', [key]);
      return work(query);
    });
  return { client, snapshot, locked, close: () => pool.end() };
}

/** The port's query on the pool, or on one of its connections (a snapshot): `?` placeholders numbered, rows changed. */
function queryOn(on: pg.Pool | pg.PoolClient): SqlClient['query'] {
  return async <Row>(sql: string, params: readonly SqlValue[] = []): Promise<SqlResult<Row>> => {
    const result = await on.query(numbered(sql), params as SqlValue[]);
    return { rows: result.rows as Row[], changes: result.rowCount ?? 0 };
  };
}

/**
 * SQLSTATE classes that say the database cannot serve now rather than that the statement is wrong: connection
 * exceptions (08), insufficient resources such as too many connections (53), operator intervention: a shutdown,
 * or a statement cancelled by statement_timeout (57). PostgreSQL 15, Appendix A "PostgreSQL Error Codes".
 */
const UNAVAILABLE_CLASSES = new Set(['08', '53', '57']);

/** Whether a failure means the database is out of reach (a retry later may succeed), not a faulty statement. */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof pg.DatabaseError) return UNAVAILABLE_CLASSES.has(err.code?.slice(0, 2) ?? '');
  // Not an answer of the server: connection refused or reset, no connection within the pool's timeout, no answer
  // within query_timeout, a connection ended under the query. A TypeError or RangeError is a bug, not an outage.
  return err instanceof Error && !(err instanceof TypeError) && !(err instanceof RangeError);
}

/**
 * An outage as VIGIL_ERR_STATE_UNAVAILABLE (503 with Retry-After for HTTP callers, fail closed): its message says
 * nothing of the server (the driver's, which names the host, stays in `cause` for the log). Anything else as is.
 */
function coded(err: unknown): never {
  if (isUnavailable(err)) throw new VigilError('VIGIL_ERR_STATE_UNAVAILABLE', 'the state database does not answer; try again in a few seconds', { cause: err });
  throw err;
}

/**
 * `work` in one transaction (inTransaction), with the database's failures coded where they happen: its queries',
 * and the connection, BEGIN and COMMIT around it (an outage as VIGIL_ERR_STATE_UNAVAILABLE). What `work` throws of
 * its own passes as it is: a refusal, the local replica's SQLite failing while it catches up, a bug. Coded as an
 * outage, such a fault was waited out for ever (shared alerts' queue retries an outage until it ends).
 */
function codedTransaction<T>(pool: pg.Pool, begin: string, work: (query: SqlClient['query']) => Promise<T>): Promise<T> {
  let own: { err: unknown } | undefined;
  return inTransaction(
    pool,
    async (connection) => {
      const query = <Row>(sql: string, params?: readonly SqlValue[]) => queryOn(connection)<Row>(sql, params).catch(coded);
      try {
        return await work(query);
      } catch (err) {
        own = { err };
        throw err;
      }
    },
    begin,
  ).catch((err: unknown) => {
    if (own && own.err === err) throw err;
    return coded(err);
  });
}

/** `work` on one pooled connection between `begin` and COMMIT; rolled back if it throws. */
async function inTransaction<T>(pool: pg.Pool, work: (connection: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const connection = await pool.connect();
  // A connection that cannot even roll back is broken: the pool discards it rather than lend it again.
  let broken: Error | undefined;
  // Lent out, a connection has no pool listener: one the server ends between two of its queries (a shutdown,
  // FATAL 57P01) emits 'error', which without a listener would end the process. The next query fails instead.
  const ended = (err: Error) => (broken = err);
  connection.on('error', ended);
  try {
    await connection.query(begin);
    const result = await work(connection);
    await connection.query('COMMIT');
    return result;
  } catch (err) {
    await connection.query('ROLLBACK').catch((e: Error) => (broken = e));
    throw err;
  } finally {
    connection.off('error', ended);
    connection.release(broken);
  }
}

function migrate(pool: pg.Pool, migrations: readonly Migration[]): Promise<void> {
  return inTransaction(pool, async (connection) => {
    // A migration may rewrite a large table, and another instance may hold the lock while it does: neither the
    // server's statement_timeout nor the client's query_timeout (which 0 does not lift: the longest timer instead).
    const unbounded = (text: string, values: unknown[] = []) => connection.query({ text, values, query_timeout: 2_147_483_647 } as pg.QueryConfig);
    await unbounded('SET LOCAL statement_timeout = 0');
    await unbounded('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await connection.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      component TEXT NOT NULL, version INTEGER NOT NULL, applied_at BIGINT NOT NULL,
      PRIMARY KEY (component, version))`);
    for (const m of migrations) {
      const applied = await connection.query('SELECT 1 FROM schema_migrations WHERE component = $1 AND version = $2', [m.component, m.version]);
      if (applied.rowCount) continue;
      await unbounded(m.postgres ?? m.sql);
      await connection.query('INSERT INTO schema_migrations (component, version, applied_at) VALUES ($1, $2, $3)', [m.component, m.version, Date.now()]);
    }
  });
}
