import { bookkeeping, RetryLater, SerialQueue, type SqlClient, type StateDb } from '../../state/index.js';
import { ALERT_COLUMNS, toColumn } from '../store/alert-table.js';
import type { Alert, AlertEventType } from '../types.js';

/** One event as the replica read it from PostgreSQL. */
interface EventRow {
  seq: number;
  alertId: number;
  type: AlertEventType;
  at: number;
  actor: string | null;
  alert: string;
  version: number;
  quiet: boolean;
}

/** What an applied event tells the rest of the instance: the alert after it. */
export interface AppliedEvent {
  readonly type: AlertEventType;
  readonly alert: Alert;
  readonly quiet: boolean;
}

export interface AlertReplicaHooks {
  /** Events applied here, in order (this instance's own and others'): the feed emits them, evaluation notes what is live. */
  readonly applied: (events: readonly AppliedEvent[]) => void;
  /** Reading the events failed; they are read again, with backoff, until they are. */
  readonly onError: (err: Error) => void;
}

/** Events read per query while catching up (a replica starting from nothing replays the whole history). */
const BATCH = 500;
const FIELDS = Object.keys(ALERT_COLUMNS) as (keyof typeof ALERT_COLUMNS)[];
const LOCAL_COLUMNS = ['id', 'patient_id', 'rule_id', 'subject', 'opened_at', 'first_observed_at', ...FIELDS.map((f) => ALERT_COLUMNS[f]), 'version'];

/**
 * This instance's copy of the shared alerts, in its own state database, so that the dashboard's queries, the
 * feed's replay and evaluation's look-up of a live alert stay local and synchronous. PostgreSQL numbers every
 * event (alert_events.seq) and every event carries the whole alert after it, so the replica is the events applied
 * in order: it reads those after the last it applied (marker table alerts_replica), writes each alert row and
 * event here, and moves the marker, in one transaction. Events are durable in PostgreSQL, so a notification lost
 * while the listening connection was down costs nothing: the next catch-up reads them.
 *
 * Replica commits are bookkeeping commits (not fsync'd): what a crash loses is read again.
 */
export class AlertReplica {
  readonly #db: StateDb;
  readonly #shared: SqlClient;
  #hooks: AlertReplicaHooks | undefined;
  readonly #queue = new SerialQueue();
  #wanted = false;
  readonly #retry = new RetryLater(() => this.notified());
  readonly #stmts;

  constructor(db: StateDb, shared: SqlClient) {
    this.#db = db;
    this.#shared = shared;
    this.#stmts = {
      marker: db.prepare<[], { source_id: string; seq: number }>('SELECT source_id, seq FROM alerts_replica'),
      moveMarker: db.prepare('UPDATE alerts_replica SET seq = ?'),
      upsert: db.prepare(
        `INSERT INTO alerts (${LOCAL_COLUMNS.join(', ')}) VALUES (${LOCAL_COLUMNS.map(() => '?').join(', ')})
         ON CONFLICT (id) DO UPDATE SET ${LOCAL_COLUMNS.slice(1).map((c) => `${c} = excluded.${c}`).join(', ')}`,
      ),
      addEvent: db.prepare('INSERT INTO alert_events (seq, alert_id, type, at, actor, alert) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (seq) DO NOTHING'),
    };
  }

  /** Who hears of applied events (the feed and evaluation, built after the replica caught up at start). */
  attach(hooks: AlertReplicaHooks): void {
    this.#hooks = hooks;
  }

  /** The sequence number of the last event applied here. */
  get seq(): number {
    return this.#stmts.marker.get()?.seq ?? 0;
  }

  /** A notification (an event committed somewhere): read with any others that arrive meanwhile. */
  notified(): void {
    if (this.#wanted || this.#retry.closed) return;
    this.#wanted = true;
    void this.catchUp().catch((err: Error) => this.#hooks?.onError(err));
  }

  /** Applies every event committed so far, after any catch-up under way (an instance's own write waits for this). */
  catchUp(): Promise<void> {
    return this.#queue.run(async () => {
      this.#wanted = false;
      try {
        await this.#tail();
        this.#retry.succeeded();
      } catch (err) {
        this.#retry.failed();
        throw err;
      }
    });
  }

  /** Stops retrying, and resolves once the catch-up under way is done: before the pool closes. */
  close(): Promise<void> {
    this.#retry.close();
    return this.#queue.idle();
  }

  /**
   * Applies every event committed so far, read through `query`: a transaction that holds the alert write lock,
   * after which nothing can commit an event until it ends, so the replica is then exactly the shared alerts.
   */
  catchUpWithin(query: SqlClient['query']): Promise<void> {
    return this.#queue.run(() => this.#tail(query));
  }


  async #tail(query: SqlClient['query'] = (sql, params) => this.#shared.query(sql, params)): Promise<void> {
    for (;;) {
      const { rows } = await query<EventRow>(
        'SELECT seq, alert_id AS "alertId", type, at, actor, alert, version, quiet FROM alert_events WHERE seq > ? ORDER BY seq LIMIT ?',
        [this.seq, BATCH],
      );
      if (rows.length === 0) return;
      const applied = bookkeeping(this.#db, () => rows.map((row) => this.#apply(row)));
      this.#hooks?.applied(applied);
      if (rows.length < BATCH) return;
    }
  }

  #apply(row: EventRow): AppliedEvent {
    const { change: _change, ...alert } = JSON.parse(row.alert) as Alert & { change?: unknown };
    const keys = [alert.id, alert.patientId, alert.ruleId, alert.subject, alert.openedAt, alert.firstObservedAt];
    this.#stmts.upsert.run(...keys, ...FIELDS.map((f) => toColumn(alert[f])), row.version);
    // A quiet write changes the row; the feed and the webhook have nothing to say of it.
    if (!row.quiet) this.#stmts.addEvent.run(row.seq, row.alertId, row.type, row.at, row.actor, row.alert);
    this.#stmts.moveMarker.run(row.seq);
    return { type: row.type, alert, quiet: row.quiet };
  }
}
