import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { watchDatabase, type SqlClient } from '../state/index.js';

/**
 * The shared state database (PostgreSQL, VIGIL_DATABASE_URL) watched for /readyz, /metrics and the log
 * (docs/operations.md, "PostgreSQL outage"): `vigil_state_database_up` (1 or 0), every statement that met an
 * outage in `vigil_state_database_errors_total`, and one log line when it stops answering and one when it is back,
 * not one per request. The driver's error goes to the log as `err` (it names the host, never the password).
 * Use the returned `client`: statements through it are what the monitor sees.
 */
export function monitorStateDatabase(sql: SqlClient, metrics: Registry, log: Logger) {
  const errors = new Counter({
    name: 'vigil_state_database_errors_total',
    help: 'Statements on the shared state database (PostgreSQL) that failed because it did not answer (answered 503 VIGIL_ERR_STATE_UNAVAILABLE)',
    registers: [metrics],
  });
  const watch = watchDatabase(sql, 10_000, {
    onUnavailable: () => errors.inc(),
    onChange: (health, cause) => {
      if (health.ok) log.info({}, 'the shared state database answers again; logins and credential checks work');
      else log.error({ err: cause }, 'the shared state database does not answer: logins and credential checks answer 503 until it is back');
    },
  });
  new Gauge({
    name: 'vigil_state_database_up',
    help: 'Whether the shared state database (PostgreSQL) answered its last statement or check (1) or not (0)',
    registers: [metrics],
    collect() {
      this.set(watch.health().ok ? 1 : 0);
    },
  });
  return watch;
}
