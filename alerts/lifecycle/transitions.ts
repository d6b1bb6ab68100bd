import type { AlertTable } from '../store/alert-table.js';
import type { AlertWrites } from '../store/alert-writes.js';
import type { Alert } from '../types.js';

/** One transition of one alert: what it reads, what it writes, and what follows its commit. */
export interface Transition<T> {
  /** The alert as it is now (the live one for a rule, or one by id); read again if the write must be redone. */
  readonly select: () => Alert | undefined;
  /** Decides against `alert` and writes through `writes`: may run more than once (shared alerts, a lost race). */
  readonly build: (alert: Alert | undefined, writes: AlertWrites) => T;
  /** Runs once the writes are committed (the audit entry of an action): inside the transaction when embedded. */
  readonly committed?: ((result: T) => void) | undefined;
}

/**
 * Where alert transitions are committed: the embedded alert table, at once and synchronously, or PostgreSQL with
 * shared alerts (alerts/shared), asynchronously, by compare-and-set.
 */
export interface Transitions {
  /** Whether `run` answers later (a promise): callers then queue their transitions to keep them in order. */
  readonly deferred: boolean;
  run<T>(transition: Transition<T>): T | Promise<T>;
}

/** Transitions on the embedded database: one IMMEDIATE transaction each, so the alert, its event and what follows commit together. */
export function embeddedTransitions(table: AlertTable): Transitions {
  return {
    deferred: false,
    run: <T>(t: Transition<T>): T =>
      table.transaction(() => {
        const result = t.build(t.select(), table);
        t.committed?.(result);
        return result;
      }),
  };
}
