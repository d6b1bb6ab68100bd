import { VigilError } from '../../domain/index.js';
import { isOutage, type PostgresState, type SqlClient } from '../../state/index.js';
import { TOGETHER_MAX, type Transition, type TransitionOutcome, type Transitions } from '../lifecycle/transitions.js';
import { alertReadKey, type AlertTable } from '../store/alert-table.js';
import { RecordedAlertWrites, UNSAVED_ALERT_ID } from '../store/alert-writes.js';
import { ALERT_WRITE_LOCK, unitStatement } from './alert-commit.js';
import type { AlertReplica } from './alert-replica.js';

/** A transition decided in a batch: what it answers, and whether it wrote. */
interface Decided {
  readonly t: Transition<unknown>;
  readonly result: unknown;
  readonly wrote: boolean;
}

/** A transition whose write PostgreSQL refused, or whose decision threw: it fails alone, the others go on. */
interface Failed {
  readonly at: number;
  readonly error: unknown;
  /** Whether the refusal aborted the transaction (a failed statement): the ones before it are committed again. */
  readonly aborted: boolean;
}

/**
 * Transitions on shared alerts, decided under the alert write lock: in one PostgreSQL transaction that holds it,
 * the replica catches up with every event committed so far (none can commit meanwhile, so the replica is then the
 * shared alerts exactly), the transition is decided against it and recorded, and the record is written as one
 * statement. Two workers taking one patient's readings at once queue on the lock instead of racing: the second
 * decides against what the first wrote (a repeat, not a second alert). The compare-and-set on the alert's version
 * and the partial unique index on live alerts stay as a guard against a bug, not as the way to settle races.
 * When `run` resolves, the replica has applied the instance's own write (it reads its own writes).
 *
 * Queued transitions (evaluation's) are committed together (`runTogether`): up to TOGETHER_MAX in one such
 * transaction, one lock, one catch-up and one commit for all of them, each still decided against the replica and
 * written as its own statement, in order. The replica does not see a batch's writes until it commits, so a
 * transition that reads an alert an earlier one in the batch wrote (the same patient, rule and subject, or the
 * same alert; AlertTable.readsOf) is not decided in it: the batch ends before it and it is decided first in the
 * next, against the replica with the batch applied. One whose write PostgreSQL refuses fails alone: the batch is
 * rolled back, the ones before it are committed again without it, and it is tried first in the next batch, where
 * it fails, or not, on its own. 500 patients' crises at once, with every device's readings flowing, took 6-15 s
 * to reach PostgreSQL one transaction each, and 1.5-3.5 s in batches (docs/benchmarks.md, "An alert storm").
 */
export function sharedTransitions(table: AlertTable, postgres: Pick<PostgresState, 'locked'>, replica: AlertReplica): Transitions {
  // One transaction at a time per instance (evaluation's queue, people's actions, the CLI): one pooled connection
  // waits on the lock, not one per request, so the replica's own catch-up always finds a connection.
  let previous: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
    const turn = previous.then(work);
    previous = turn.catch(() => undefined);
    return turn;
  };
  return {
    deferred: true,
    run: <T>(t: Transition<T>): Promise<T> =>
      inTurn(async () => {
        const [outcome] = await together([t as Transition<unknown>]);
        if (!outcome!.ok) throw outcome!.error;
        return outcome!.result as T;
      }),
    runTogether: (queued) => inTurn(() => together(queued.slice(0, TOGETHER_MAX))),
  };

  /** Commits `queued`, or as many of its first as can be decided together; answers their outcomes, in order. */
  async function together(queued: readonly Transition<unknown>[]): Promise<TransitionOutcome[]> {
    const decided: Decided[] = [];
    let failed: Failed | undefined;
    try {
      await postgres.locked(ALERT_WRITE_LOCK, async (query) => {
        await replica.catchUpWithin(query);
        failed = await decideInOrder(queued, decided, query);
        // A refused statement aborted the transaction: its own failure, thrown as it is, rolls it back.
        if (failed?.aborted) throw failed.error;
      });
    } catch (err) {
      if (!failed?.aborted || err !== failed.error) throw err;
    }
    if (failed?.aborted) {
      // Nothing of the batch was committed: the ones before the refused one go again, without it.
      return failed.at === 0 ? [{ ok: false, error: failed.error }] : together(queued.slice(0, failed.at));
    }
    // Committed is committed: a catch-up that fails now (PostgreSQL gone the moment after) is retried by the
    // replica; redoing the transitions would count their readings twice.
    if (decided.some((d) => d.wrote)) await replica.catchUp().catch(() => replica.notified());
    const outcomes: TransitionOutcome[] = [];
    for (const d of decided) {
      try {
        d.t.committed?.(d.result);
        outcomes.push({ ok: true, result: d.result });
      } catch (error) {
        outcomes.push({ ok: false, error });
      }
    }
    if (failed) outcomes.push({ ok: false, error: failed.error });
    return outcomes;
  }

  /**
   * Decides and writes `queued` in order inside the locked transaction, into `decided`, until one reads what an
   * earlier one wrote (it waits for the next batch) or fails; answers the failure.
   */
  async function decideInOrder(queued: readonly Transition<unknown>[], decided: Decided[], query: SqlClient['query']): Promise<Failed | undefined> {
    const written = new Set<string>();
    for (const [at, t] of queued.entries()) {
      let decision: ReturnType<typeof decide>;
      try {
        decision = decide(t);
      } catch (error) {
        // A decision that throws (a bug) is its own: after others, it is decided again first in the next batch.
        return at === 0 ? { at, error, aborted: false } : undefined;
      }
      if ([...decision.reads, ...decision.writes].some((k) => written.has(k))) return undefined;
      if (decision.unit) {
        let rows: unknown[];
        try {
          ({ rows } = await query(decision.unit.sql, decision.unit.params));
        } catch (error) {
          if (isOutage(error)) throw error;
          return { at, error, aborted: true };
        }
        // Under the lock the replica was current: a mismatch means the replica is wrong, and nothing is written.
        if (rows.length === 0) {
          const error = new VigilError('VIGIL_ERR_CONFLICT', `alert ${decision.alertId} changed under the shared alerts' write lock: this instance's replica is out of step (the patient erased meanwhile?)`);
          return { at, error, aborted: false };
        }
      }
      for (const k of decision.writes) written.add(k);
      decided.push({ t, result: decision.result, wrote: decision.unit !== undefined });
    }
    return undefined;
  }

  /** One transition decided against the replica: its statement (none if it writes nothing), what it read and wrote. */
  function decide(t: Transition<unknown>) {
    const { value, reads } = table.readsOf(() => {
      const alert = t.select();
      const recorded = new RecordedAlertWrites(alert);
      const result = t.build(alert, recorded);
      const version = alert && recorded.writes[0]?.kind === 'update' ? table.versionOf(alert.id) : undefined;
      return { alert, recorded, result, version };
    });
    const { alert, recorded, result, version } = value;
    const writes: string[] = [];
    for (const w of recorded.writes) {
      writes.push(alertReadKey(w.alert.patientId, w.alert.ruleId, w.alert.subject));
      if (w.alert.id !== UNSAVED_ALERT_ID) writes.push(`#${w.alert.id}`);
    }
    const unit = recorded.writes.length > 0 ? unitStatement(recorded.writes, version) : undefined;
    return { result, unit, reads, writes, alertId: alert?.id };
  }
}
