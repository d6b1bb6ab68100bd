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
  /**
   * A transaction that may have written it already: an earlier run on this data dir lost its COMMIT's answer and
   * stopped before it knew. Shared alerts ask PostgreSQL (txid_status) first, and answer it as written, without
   * deciding it or calling `committed`, if that transaction committed.
   */
  readonly writtenIn?: string | undefined;
}

/**
 * What became of one transition committed with others: its result, or why it failed (on its own). A failed one says
 * whether it was `written` all the same: its decision committed (with its writes, if it made any) and only what
 * follows (`committed`) threw. Evaluation tries a failed finding again unless it was written: tried again, it
 * would be written twice (its reading counted twice, a second notification).
 */
export type TransitionOutcome = { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: unknown; readonly written: boolean };

/**
 * Told, inside a transaction and before its COMMIT, which of the transitions handed to `runTogether` it writes and
 * its id: evaluation notes the id with the findings it keeps in the data dir, so that a start that finds one still
 * there (the data dir failed to forget it once written) asks PostgreSQL whether that transaction committed before
 * writing the finding again (`writtenIn`). Must not throw.
 */
export type WritingHook = (written: readonly Transition<unknown>[], txid: string) => void;

/** At most this many queued transitions are committed together (`runTogether`). */
export const TOGETHER_MAX = 100;

/**
 * Where alert transitions are committed: the embedded alert table, at once and synchronously, or PostgreSQL with
 * shared alerts (alerts/shared), asynchronously, by compare-and-set.
 */
export interface Transitions {
  /** Whether `run` answers later (a promise): callers then queue their transitions to keep them in order. */
  readonly deferred: boolean;
  run<T>(transition: Transition<T>): T | Promise<T>;
  /**
   * Deferred transitions queued one behind the other: commits the first of them, and as many of those after it
   * as it can with it (up to TOGETHER_MAX), in order, and answers the outcome of each it took: at least the
   * first's. One that failed on its own is answered as failed. Throws when the database failed (an outage), or
   * when something failed that is no one transition's: then none was committed. Without it, `run` commits the
   * first alone.
   */
  runTogether?(transitions: readonly Transition<unknown>[], writing?: WritingHook): Promise<TransitionOutcome[]>;
  /**
   * The transaction that may have written `t` (queued to `runTogether`, which threw an outage after its COMMIT was
   * sent), while it is not known whether it did: kept with a waiting finding, so that a next start on the data dir
   * asks before writing it again (`writtenIn`).
   */
  uncertainOf?(t: Transition<unknown>): string | undefined;
}

/** `runTogether`, or the first transition alone where a Transitions has none. */
export async function runTogether(transitions: Transitions, queued: readonly Transition<unknown>[], writing?: WritingHook): Promise<TransitionOutcome[]> {
  if (transitions.runTogether) return transitions.runTogether(queued, writing);
  return [{ ok: true, result: await transitions.run(queued[0]!) }];
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
