import { VigilError } from '../../domain/index.js';
import type { SqlClient } from '../../state/index.js';
import type { Transition, Transitions } from '../lifecycle/transitions.js';
import type { AlertTable } from '../store/alert-table.js';
import { RecordedAlertWrites } from '../store/alert-writes.js';
import { commitWrites } from './alert-commit.js';
import type { AlertReplica } from './alert-replica.js';

/** Decisions redone after losing a race before giving up: each loss means another instance wrote meanwhile. */
const ATTEMPTS = 8;

/**
 * Transitions on shared alerts: decided against the replica, recorded, committed to PostgreSQL by compare-and-set;
 * when another instance got there first (it opened the alert, or changed it since the replica read it), the
 * replica catches up and the transition is decided again against what the other instance wrote. The replica
 * has applied the instance's own write when `run` resolves, so it reads its own writes.
 */
export function sharedTransitions(table: AlertTable, client: SqlClient, replica: AlertReplica): Transitions {
  return {
    deferred: true,
    run: async <T>(t: Transition<T>): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        const alert = t.select();
        const recorded = new RecordedAlertWrites(alert);
        const result = t.build(alert, recorded);
        if (recorded.writes.length === 0) {
          t.committed?.(result);
          return result;
        }
        const version = alert && recorded.writes[0]!.kind === 'update' ? table.versionOf(alert.id) : undefined;
        const outcome = await commitWrites(client, recorded.writes, version);
        if (outcome === 'committed') {
          // Committed is committed: a catch-up that fails now (PostgreSQL gone the moment after) is retried by the
          // replica; redoing the transition would count its reading twice.
          await replica.catchUp().catch(() => replica.notified());
          t.committed?.(result);
          return result;
        }
        await replica.catchUp();
        if (attempt === ATTEMPTS) throw new VigilError('VIGIL_ERR_CONFLICT', `the alert changed on other instances ${ATTEMPTS} times while this change was decided; try again`);
      }
    },
  };
}
