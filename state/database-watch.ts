import { VigilError } from '../domain/index.js';
import type { SqlClient } from './sql.js';

export interface DatabaseHealth {
  readonly ok: boolean;
  readonly error?: string | undefined;
}

export interface DatabaseWatchEvents {
  /** Every statement that failed because the database is out of reach (VIGIL_ERR_STATE_UNAVAILABLE). */
  onUnavailable?(err: VigilError): void;
  /** The database stopped answering, or answers again: once per change, for one log line rather than one per request. */
  onChange?(health: DatabaseHealth, cause?: unknown): void;
}

/** A failure that means the shared database is out of reach (state/postgres.ts codes it), not a faulty statement. */
export function isOutage(err: unknown): err is VigilError {
  return err instanceof VigilError && err.code === 'VIGIL_ERR_STATE_UNAVAILABLE';
}

/**
 * Whether the shared database answers, for /readyz, which must answer without waiting on a database that may hang.
 * Two sources: the statements of the watched `client` (so a request that met an outage shows at once, and the
 * first that succeeds after it shows the recovery), and a `SELECT 1` every `everyMs` (and once at once) for the
 * quiet hours. The reported message never holds the URL's password or the server's address.
 */
export function watchDatabase(
  client: SqlClient,
  everyMs: number,
  events: DatabaseWatchEvents = {},
): { readonly client: SqlClient; health(): DatabaseHealth; close(): void } {
  let current: DatabaseHealth = { ok: true };
  const set = (next: DatabaseHealth, cause?: unknown) => {
    const changed = next.ok !== current.ok;
    current = next;
    if (changed) events.onChange?.(next, cause);
  };
  const observe = async <T>(work: Promise<T>): Promise<T> => {
    try {
      const result = await work;
      if (!current.ok) set({ ok: true });
      return result;
    } catch (err) {
      if (isOutage(err)) {
        events.onUnavailable?.(err);
        set({ ok: false, error: 'the shared state database does not answer' }, err.cause);
      }
      throw err;
    }
  };
  const watched: SqlClient = {
    dialect: client.dialect,
    query: (sql, params) => observe(client.query(sql, params)),
    transaction: (statements) => observe(client.transaction(statements)),
  };
  let asking = false;
  const ask = () => {
    if (asking) return;
    asking = true;
    observe(client.query('SELECT 1'))
      .catch((err: unknown) => {
        // Not an outage (a database that refuses the statement, say): not ready either, with the reason.
        if (!isOutage(err)) set({ ok: false, error: `the shared state database refused a check: ${(err as Error).message}` }, err);
      })
      .finally(() => (asking = false));
  };
  ask();
  const timer = setInterval(ask, everyMs);
  timer.unref();
  return { client: watched, health: () => current, close: () => clearInterval(timer) };
}
