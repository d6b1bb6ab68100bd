import { VigilError } from '../../domain/index.js';
import { isOutage, type PostgresState, type SqlClient } from '../../state/index.js';
import { TOGETHER_MAX, type Transition, type TransitionOutcome, type Transitions } from '../lifecycle/transitions.js';
import { alertReadKey, type AlertTable } from '../store/alert-table.js';
import { RecordedAlertWrites, UNSAVED_ALERT_ID } from '../store/alert-writes.js';
import { ALERT_WRITE_LOCK, batchStatement, unitStatement, type Unit } from './alert-commit.js';
import type { AlertReplica } from './alert-replica.js';

/** A transition decided in a batch: what it answers, what it writes, and why that failed if it did. */
interface Decided {
  readonly t: Transition<unknown>;
  readonly result: unknown;
  readonly unit: Unit | undefined;
  readonly alertId: number | undefined;
  /** Its alert had changed (the version check): nothing of it was written. */
  changed?: VigilError;
}

/**
 * Why a batch stopped: a transition whose decision threw, or whose write PostgreSQL refused (`at`; without it, the
 * batch's one statement was refused, and which unit's write is not known).
 */
interface Stop {
  readonly at: number | undefined;
  readonly error: unknown;
  /** A refused statement aborted the transaction: nothing of the batch is committed. */
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
 * transaction, one lock, one catch-up and one commit for all of them, each still decided against the replica, in
 * order, and all written in one statement (batchStatement: each alert's version checked, the events numbered in
 * order). The replica does not see a batch's writes until it commits, so a transition that reads an alert an
 * earlier one in the batch wrote (the same patient, rule and subject, or the same alert; AlertTable.readsOf) is
 * not decided in it: the batch ends before it and it is decided first in the next, against the replica with the
 * batch applied. The units of a batch are then independent: one whose alert changed fails alone and the others
 * are written. One whose write PostgreSQL refuses fails alone too: the batch is rolled back and written again a
 * statement per transition, which finds it; the ones before it are committed without it, and it is tried first in
 * the next batch, where it fails, or not, on its own. 500 patients' crises at once, with every device's readings
 * flowing, took 6-15 s to reach PostgreSQL one transaction each (docs/benchmarks.md, "An alert storm").
 */
export function sharedTransitions(table: AlertTable, postgres: Pick<PostgresState, 'locked'>, replica: AlertReplica): Transitions {
  // One transaction at a time per instance (evaluation's queue, people's actions, the CLI): one pooled connection
  // waits on the lock, not one per request, so the replica's own catch-up always finds a connection.
  let previous: Promise<unknown> = Promise.resolve();
  /** The last transaction, if its COMMIT failed as an outage: PostgreSQL may have committed it (txid_status). */
  let uncertain: { txid: string; decided: Decided[]; stop: Stop | undefined; first: Transition<unknown> | undefined; committed?: boolean } | undefined;
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

  /**
   * Commits `queued`, or as many of its first as can be decided together; answers their outcomes, in order. The
   * batch is written as one statement (batchStatement), or `oneByOne`, a statement per transition: a single one,
   * or a batch whose statement PostgreSQL refused, to find the transition it refused.
   */
  async function together(queued: readonly Transition<unknown>[], oneByOne = queued.length === 1): Promise<TransitionOutcome[]> {
    // A transaction whose COMMIT's answer was lost: written, or not, before anything is decided again.
    if (uncertain && !uncertain.committed) {
      const { txid } = uncertain;
      const status = await postgres.locked(ALERT_WRITE_LOCK, async (query) => {
        const { rows } = await query<{ status: string | null }>('SELECT txid_status(?::bigint) AS status', [txid]);
        return rows[0]?.status ?? null;
      });
      // Still committing (its connection not yet gone on the server's side): asked again after a pause.
      if (status === 'in progress') throw new VigilError('VIGIL_ERR_STATE_UNAVAILABLE', 'the state database does not answer; try again in a few seconds');
      if (status === 'committed') uncertain.committed = true;
      else uncertain = undefined;
    }
    // Committed: the same transitions tried again (evaluation's queue, after a person's action perhaps) are answered
    // as written, not written twice. A person's action answered with the outage stays written, and is not retried.
    if (uncertain?.committed && uncertain.first === queued[0]) {
      const { decided: before, stop: stopped } = uncertain;
      uncertain = undefined;
      return finish(before, stopped);
    }
    const decided: Decided[] = [];
    let stop: Stop | undefined;
    let txid: string | undefined;
    let worked = false;
    try {
      await postgres.locked(ALERT_WRITE_LOCK, async (query) => {
        await replica.catchUpWithin(query);
        const noted: SqlClient['query'] = async (sql, params) => {
          if (txid === undefined) txid = (await query<{ txid: string }>('SELECT txid_current()::text AS txid')).rows[0]!.txid;
          return query(sql, params);
        };
        stop = await (oneByOne ? writeOneByOne : writeTogether)(queued, decided, noted);
        // A refused statement aborted the transaction: its own failure, thrown as it is, rolls it back.
        if (stop?.aborted) throw stop.error;
        worked = true;
      });
    } catch (err) {
      // The connection failed at COMMIT: PostgreSQL may have committed. Retrying blindly would write every
      // transition of the batch a second time (each reading counted twice, an event each again).
      if (worked && txid !== undefined && isOutage(err)) uncertain = { txid, decided, stop, first: queued[0] };
      if (!stop?.aborted || err !== stop.error) throw err;
    }
    if (stop?.aborted) {
      // Nothing of the batch was committed: written again one by one to find the refused transition, or, that
      // found, the ones before it go again without it.
      if (stop.at === undefined) return together(queued, true);
      return stop.at === 0 ? [{ ok: false, error: stop.error }] : together(queued.slice(0, stop.at));
    }
    return finish(decided, stop);
  }

  /** The outcomes of a committed transaction's transitions, once the replica holds what it wrote. */
  async function finish(decided: readonly Decided[], stop: Stop | undefined): Promise<TransitionOutcome[]> {
    // Committed is committed: a catch-up that fails now (PostgreSQL gone the moment after) is retried by the
    // replica; redoing the transitions would count their readings twice.
    if (decided.some((d) => d.unit && !d.changed)) await replica.catchUp().catch(() => replica.notified());
    const outcomes: TransitionOutcome[] = [];
    for (const d of decided) {
      if (d.changed) {
        outcomes.push({ ok: false, error: d.changed });
        continue;
      }
      try {
        d.t.committed?.(d.result);
        outcomes.push({ ok: true, result: d.result });
      } catch (error) {
        outcomes.push({ ok: false, error });
      }
    }
    if (stop) outcomes.push({ ok: false, error: stop.error });
    return outcomes;
  }

  /**
   * Decides `queued` in order into `decided`, until one reads what an earlier one wrote (it waits for the next
   * batch), then writes them all in one statement inside the locked transaction. The units are independent of
   * each other, so one whose alert changed fails alone and the others are written.
   */
  async function writeTogether(queued: readonly Transition<unknown>[], decided: Decided[], query: SqlClient['query']): Promise<Stop | undefined> {
    const stop = decideInOrder(queued, decided);
    const writing = decided.filter((d) => d.unit);
    if (stop || writing.length === 0) return stop;
    const batch = batchStatement(writing.map((d) => d.unit!));
    let changed: { unit: number }[];
    try {
      ({ rows: changed } = await query<{ unit: number }>(batch.sql, batch.params));
    } catch (error) {
      if (isOutage(error)) throw error;
      return { at: undefined, error, aborted: true };
    }
    for (const { unit } of changed) writing[unit]!.changed = changedUnder(writing[unit]!.alertId);
    return undefined;
  }

  /** As writeTogether, a statement per transition; the first refused stops the batch. */
  async function writeOneByOne(queued: readonly Transition<unknown>[], decided: Decided[], query: SqlClient['query']): Promise<Stop | undefined> {
    const stop = decideInOrder(queued, decided);
    for (const [at, d] of decided.entries()) {
      if (!d.unit) continue;
      const unit = unitStatement(d.unit.writes, d.unit.expectedVersion);
      let rows: unknown[];
      try {
        ({ rows } = await query(unit.sql, unit.params));
      } catch (error) {
        if (isOutage(error)) throw error;
        decided.splice(at);
        return { at, error, aborted: true };
      }
      // Under the lock the replica was current: a mismatch means the replica is wrong, and nothing is written.
      if (rows.length === 0) d.changed = changedUnder(d.alertId);
    }
    return stop;
  }

  /**
   * Decides `queued` in order against the replica, into `decided`, until one reads (or writes) an alert an earlier
   * one wrote: the replica does not hold the earlier one's write yet, so it is decided first in the next batch.
   * A decision that throws (a bug) is its own: first, it stops the batch as failed; after others, it waits too.
   */
  function decideInOrder(queued: readonly Transition<unknown>[], decided: Decided[]): Stop | undefined {
    const written = new Set<string>();
    for (const [at, t] of queued.entries()) {
      let decision: ReturnType<typeof decide>;
      try {
        decision = decide(t);
      } catch (error) {
        return at === 0 ? { at, error, aborted: false } : undefined;
      }
      if ([...decision.reads, ...decision.writes].some((k) => written.has(k))) return undefined;
      for (const k of decision.writes) written.add(k);
      decided.push({ t, result: decision.result, unit: decision.unit, alertId: decision.alertId });
    }
    return undefined;
  }

  /** One transition decided against the replica: what it writes (nothing, or a unit), what it read and wrote. */
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
    const unit: Unit | undefined = recorded.writes.length > 0 ? { writes: recorded.writes, expectedVersion: version } : undefined;
    return { result, unit, reads, writes, alertId: alert?.id };
  }
}

function changedUnder(alertId: number | undefined): VigilError {
  return new VigilError('VIGIL_ERR_CONFLICT', `alert ${alertId} changed under the shared alerts' write lock: this instance's replica is out of step (the patient erased meanwhile?)`);
}
