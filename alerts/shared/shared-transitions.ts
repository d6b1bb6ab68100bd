import { VigilError } from '../../domain/index.js';
import type { PostgresState } from '../../state/index.js';
import type { Transition, Transitions } from '../lifecycle/transitions.js';
import type { AlertTable } from '../store/alert-table.js';
import { RecordedAlertWrites } from '../store/alert-writes.js';
import { ALERT_WRITE_LOCK, unitStatement } from './alert-commit.js';
import type { AlertReplica } from './alert-replica.js';

/**
 * Transitions on shared alerts, decided under the alert write lock: in one PostgreSQL transaction that holds it,
 * the replica catches up with every event committed so far (none can commit meanwhile, so the replica is then the
 * shared alerts exactly), the transition is decided against it and recorded, and the record is written as one
 * statement. Two workers taking one patient's readings at once queue on the lock instead of racing: the second
 * decides against what the first wrote (a repeat, not a second alert). The compare-and-set on the alert's version
 * and the partial unique index on live alerts stay as a guard against a bug, not as the way to settle races.
 * When `run` resolves, the replica has applied the instance's own write (it reads its own writes).
 */
export function sharedTransitions(table: AlertTable, postgres: Pick<PostgresState, 'locked'>, replica: AlertReplica): Transitions {
  // One transition at a time per instance (evaluation's queue, people's actions, the CLI): one pooled connection
  // waits on the lock, not one per request, so the replica's own catch-up always finds a connection.
  let previous: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
    const turn = previous.then(work);
    previous = turn.catch(() => undefined);
    return turn;
  };
  return {
    deferred: true,
    run: <T>(t: Transition<T>): Promise<T> => inTurn(() => decideUnderLock(t)),
  };

  async function decideUnderLock<T>(t: Transition<T>): Promise<T> {
    const { result, wrote } = await postgres.locked(ALERT_WRITE_LOCK, async (query) => {
      await replica.catchUpWithin(query);
      const alert = t.select();
      const recorded = new RecordedAlertWrites(alert);
      const result = t.build(alert, recorded);
      if (recorded.writes.length === 0) return { result, wrote: false };
      const version = alert && recorded.writes[0]!.kind === 'update' ? table.versionOf(alert.id) : undefined;
      const unit = unitStatement(recorded.writes, version);
      const { rows } = await query(unit.sql, unit.params);
      // Under the lock the replica was current: a mismatch means the replica is wrong, and nothing is written.
      if (rows.length === 0) throw new VigilError('VIGIL_ERR_CONFLICT', `alert ${alert?.id} changed under the shared alerts' write lock: this instance's replica is out of step (the patient erased meanwhile?)`);
      return { result, wrote: true };
    });
    // Committed is committed: a catch-up that fails now (PostgreSQL gone the moment after) is retried by the
    // replica; redoing the transition would count its reading twice.
    if (wrote) await replica.catchUp().catch(() => replica.notified());
    t.committed?.(result);
    return result;
  }
}
