import type { SqlClient } from './sql.js';

export interface DatabaseHealth {
  readonly ok: boolean;
  readonly error?: string | undefined;
}

/**
 * Whether the shared database answers, asked in the background every `everyMs` (and once at once), for /readyz,
 * which must answer without waiting on a database that may hang. The message is the driver's, which never holds
 * the URL's password.
 */
export function watchDatabase(client: SqlClient, everyMs: number): { health(): DatabaseHealth; close(): void } {
  let current: DatabaseHealth = { ok: true };
  let asking = false;
  const ask = () => {
    if (asking) return;
    asking = true;
    client
      .query('SELECT 1')
      .then(
        () => (current = { ok: true }),
        (err: Error) => (current = { ok: false, error: `the shared database does not answer: ${err.message}` }),
      )
      .finally(() => (asking = false));
  };
  ask();
  const timer = setInterval(ask, everyMs);
  timer.unref();
  return { health: () => current, close: () => clearInterval(timer) };
}
