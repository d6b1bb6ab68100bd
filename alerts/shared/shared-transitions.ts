import { VigilError } from '../../domain/index.js';
import { isOutage, type PostgresState, type SqlClient } from '../../state/index.js';
import { TOGETHER_MAX, type Transition, type TransitionOutcome, type Transitions, type WritingHook } from '../lifecycle/transitions.js';
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

/** A transaction whose COMMIT failed as an outage: PostgreSQL may have committed it (txid_status tells). */
interface Uncertain {
  readonly txid: string;
  readonly decided: readonly Decided[];
  readonly stop: Stop | undefined;
  /** Its first transition: the same one at the front of a later batch is this batch tried again. */
  readonly first: Transition<unknown> | undefined;
  /**
   * Queued by a caller that tries the same transitions again (evaluation's queue); a person's action is answered
   * with the outage for good, and the same transition never comes again.
   */
  readonly retried: boolean;
  committed?: boolean;
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
 *
 * A transaction whose COMMIT failed as an outage may have committed: each is kept (Uncertain) until txid_status
 * tells, and a batch tried again after one that committed is answered as written. Evaluation keeps the id with
 * the batch's waiting findings (`uncertainOf`), so that a next start asks too (`Transition.writtenIn`).
 */
export function sharedTransitions(table: AlertTable, postgres: Pick<PostgresState, 'locked'>, replica: AlertReplica): Transitions {
  // One transaction at a time per instance (evaluation's queue, people's actions, the CLI): one pooled connection
  // waits on the lock, not one per request, so the replica's own catch-up always finds a connection.
  let previous: Promise<unknown> = Promise.resolve();
  /**
   * Every transaction whose COMMIT failed as an outage, until PostgreSQL tells whether it committed: one noted over
   * another (a person's action losing its answer too before the queue tries a batch again) lost the first, whose
   * transitions were then written twice.
   */
  const uncertain: Uncertain[] = [];
  /** Whether each transaction an earlier run noted with its waiting findings (`writtenIn`) committed, once asked. */
  const earlier = new Map<string, boolean>();
  const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
    const turn = previous.then(work);
    previous = turn.catch(() => undefined);
    return turn;
  };
  return {
    deferred: true,
    run: <T>(t: Transition<T>): Promise<T> =>
      inTurn(async () => {
        const [outcome] = await together([t as Transition<unknown>], false);
        if (!outcome!.ok) throw outcome!.error;
        return outcome!.result as T;
      }),
    runTogether: (queued, writing) => inTurn(() => together(queued.slice(0, TOGETHER_MAX), true, undefined, writing)),
    // Not one whose alert changed under the lock: that transaction wrote nothing of it, and noted with it, the
    // finding (given up alone, kept and queued again) would be taken as written once the transaction is known to
    // have committed: a reading never counted, an alert that never opened.
    uncertainOf: (t) => uncertain.find((u) => u.decided.some((d) => d.t === t && !d.changed))?.txid,
  };

  /**
   * Commits `queued`, or as many of its first as can be decided together; answers their outcomes, in order. The
   * batch is written as one statement (batchStatement), or `oneByOne`, a statement per transition: a single one,
   * or a batch whose statement PostgreSQL refused, to find the transition it refused. `retried`: the caller tries
   * the same transitions again after an outage (see Uncertain). `writing` hears, before COMMIT, what is written.
   */
  async function together(all: readonly Transition<unknown>[], retried: boolean, oneByOne?: boolean, writing?: WritingHook): Promise<TransitionOutcome[]> {
    // Transactions whose COMMIT's answer was lost: written, or not, before anything is decided again.
    await askWhatCommitted(all);
    // Committed: the same transitions tried again (evaluation's queue, after a person's action perhaps) are answered
    // as written, not written twice.
    const again = uncertain.findIndex((u) => u.committed && u.first === all[0]);
    if (again >= 0) {
      const [{ decided: before, stop: stopped }] = uncertain.splice(again, 1) as [Uncertain];
      return finish(before, stopped);
    }
    // Written by a transaction an earlier run lost the answer of: answered as written. The batch ends before one.
    const writtenBefore = (t: Transition<unknown>) => t.writtenIn !== undefined && earlier.get(t.writtenIn) === true;
    const end = all.findIndex(writtenBefore);
    if (end === 0) {
      let n = 1;
      while (n < all.length && writtenBefore(all[n]!)) n++;
      return all.slice(0, n).map(() => ({ ok: true, result: undefined }));
    }
    const queued = end > 0 ? all.slice(0, end) : all;
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
        stop = await ((oneByOne ?? queued.length === 1) ? writeOneByOne : writeTogether)(queued, decided, noted);
        // A refused statement aborted the transaction: its own failure, thrown as it is, rolls it back.
        if (stop?.aborted) throw stop.error;
        // Only the transitions whose writes are in this transaction: one taken as written by it that was not (its
        // alert changed, or it waits for the next batch) would be an alert lost at the next start.
        const written = decided.filter((d) => d.unit && !d.changed).map((d) => d.t);
        if (writing && txid !== undefined && written.length > 0) writing(written, txid);
        worked = true;
      });
    } catch (err) {
      // The connection failed at COMMIT: PostgreSQL may have committed. Retrying blindly would write every
      // transition of the batch a second time (each reading counted twice, an event each again).
      if (worked && txid !== undefined && isOutage(err)) uncertain.push({ txid, decided, stop, first: queued[0], retried });
      if (!stop?.aborted || err !== stop.error) throw err;
    }
    if (stop?.aborted) {
      // Nothing of the batch was committed: written again one by one to find the refused transition, or, that
      // found, the ones before it go again without it.
      if (stop.at === undefined) return together(queued, retried, true, writing);
      return stop.at === 0 ? [{ ok: false, error: stop.error, written: false }] : together(queued.slice(0, stop.at), retried, undefined, writing);
    }
    return finish(decided, stop);
  }

  /**
   * Asks PostgreSQL (txid_status) whether the transactions whose COMMIT's answer was lost committed, this run's
   * and those an earlier run noted with `queued` (`writtenIn`). One still committing (its connection not yet gone
   * on the server's side) is asked again after a pause: thrown as an outage.
   */
  async function askWhatCommitted(queued: readonly Transition<unknown>[]): Promise<void> {
    const before = new Set(queued.map((t) => t.writtenIn).filter((txid): txid is string => txid !== undefined && !earlier.has(txid)));
    const txids = [...uncertain.filter((u) => !u.committed).map((u) => u.txid), ...before];
    if (txids.length === 0) return;
    const status = await postgres.locked(ALERT_WRITE_LOCK, async (query) => {
      const found = new Map<string, string | null>();
      // txid_status refuses an id not yet handed out (a database restored from a dump since the id was noted): that
      // refusal, thrown, would drop a finding per try; such a transaction is asked about as one that never committed.
      const ask = 'SELECT CASE WHEN ?::bigint < txid_snapshot_xmax(txid_current_snapshot()) THEN txid_status(?::bigint) END AS status';
      for (const txid of txids) found.set(txid, (await query<{ status: string | null }>(ask, [txid, txid])).rows[0]?.status ?? null);
      return found;
    });
    if ([...status.values()].includes('in progress')) throw new VigilError('VIGIL_ERR_STATE_UNAVAILABLE', 'the state database does not answer; try again in a few seconds');
    // Too old for PostgreSQL to tell (null) counts as not committed: a finding written twice is counted twice; one
    // taken as written that was not is a patient's alert lost.
    for (const txid of before) earlier.set(txid, status.get(txid) === 'committed');
    for (const u of [...uncertain]) {
      if (u.committed || !status.has(u.txid)) continue;
      // Not committed: decided again. Committed, a person's action stays written and is not tried again.
      if (status.get(u.txid) === 'committed' && u.retried) u.committed = true;
      else uncertain.splice(uncertain.indexOf(u), 1);
    }
  }

  /** The outcomes of a committed transaction's transitions, once the replica holds what it wrote. */
  async function finish(decided: readonly Decided[], stop: Stop | undefined): Promise<TransitionOutcome[]> {
    // Committed is committed: a catch-up that fails now (PostgreSQL gone the moment after) is retried by the
    // replica; redoing the transitions would count their readings twice.
    if (decided.some((d) => d.unit && !d.changed)) await replica.catchUp().catch(() => replica.notified());
    const outcomes: TransitionOutcome[] = [];
    for (const d of decided) {
      if (d.changed) {
        outcomes.push({ ok: false, error: d.changed, written: false });
        continue;
      }
      try {
        d.t.committed?.(d.result);
        outcomes.push({ ok: true, result: d.result });
      } catch (error) {
        // Its decision is committed: only what follows it failed. Tried again, it would be written twice.
        outcomes.push({ ok: false, error, written: true });
      }
    }
    if (stop) outcomes.push({ ok: false, error: stop.error, written: false });
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
