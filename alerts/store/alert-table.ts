import type { Statement } from 'better-sqlite3';
import type { StateDb } from '../../state/index.js';
import type { Severity } from '../rules/schema.js';
import type { AlertWrites } from './alert-writes.js';
import type { Alert, AlertChange, AlertEvent, AlertEventType, AlertFilter, AlertStatus, RenotifyReason } from '../types.js';

/** What identifies a live alert: one per patient, rule and subject (the index alerts_live). */
export interface LiveKey {
  readonly patientId: string;
  readonly ruleId: string;
  readonly subject: string;
}

type Row = Record<string, unknown>;

function toAlert(r: Row): Alert {
  return {
    id: r.id as number,
    patientId: r.patient_id as string,
    ruleId: r.rule_id as string,
    subject: r.subject as string,
    status: r.status as AlertStatus,
    severity: r.severity as Severity,
    title: r.title as string,
    message: r.message as string,
    openedAt: r.opened_at as number,
    updatedAt: r.updated_at as number,
    firstObservedAt: r.first_observed_at as number,
    lastObservedAt: r.last_observed_at as number,
    count: r.count as number,
    latestValues: JSON.parse(r.latest_values as string) as Record<string, number>,
    worstValues: JSON.parse(r.worst_values as string) as Record<string, number>,
    worstScore: r.worst_score as number,
    late: r.late === 1,
    clearSince: (r.clear_since as number | null) ?? null,
    backInRangeAt: (r.back_in_range_at as number | null) ?? null,
    notifiedAt: (r.notified_at as number | null) ?? (r.opened_at as number),
    renotifyCount: (r.renotify_count as number | null) ?? 0,
    lastRenotifyReason: (r.renotify_reason as RenotifyReason | null) ?? null,
    escalationLevel: r.escalation_level as number,
    escalatedAt: (r.escalated_at as number | null) ?? null,
    acknowledgedAt: (r.acknowledged_at as number | null) ?? null,
    acknowledgedBy: (r.acknowledged_by as string | null) ?? null,
    acknowledgeNote: (r.acknowledge_note as string | null) ?? null,
    resolvedAt: (r.resolved_at as number | null) ?? null,
    resolvedBy: (r.resolved_by as string | null) ?? null,
    resolveNote: (r.resolve_note as string | null) ?? null,
  };
}

/** The fields an update may change, and their columns. */
export const ALERT_COLUMNS = {
  status: 'status',
  severity: 'severity',
  title: 'title',
  message: 'message',
  updatedAt: 'updated_at',
  lastObservedAt: 'last_observed_at',
  count: 'count',
  latestValues: 'latest_values',
  worstValues: 'worst_values',
  worstScore: 'worst_score',
  late: 'late',
  clearSince: 'clear_since',
  backInRangeAt: 'back_in_range_at',
  notifiedAt: 'notified_at',
  renotifyCount: 'renotify_count',
  lastRenotifyReason: 'renotify_reason',
  escalationLevel: 'escalation_level',
  escalatedAt: 'escalated_at',
  acknowledgedAt: 'acknowledged_at',
  acknowledgedBy: 'acknowledged_by',
  acknowledgeNote: 'acknowledge_note',
  resolvedAt: 'resolved_at',
  resolvedBy: 'resolved_by',
  resolveNote: 'resolve_note',
} as const satisfies Partial<Record<keyof Alert, string>>;

export type AlertChanges = Partial<Pick<Alert, keyof typeof ALERT_COLUMNS>>;

/** A field's value as its column holds it: booleans as 0 or 1, objects as JSON. */
export function toColumn(value: unknown): string | number | null {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value && typeof value === 'object') return JSON.stringify(value);
  return (value ?? null) as string | number | null;
}

const SEVERITY_ORDER = "CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END";

/**
 * Alerts and their transitions (alert_events) in the state database. Statements are prepared once and kept:
 * this runs on every abnormal reading, and better-sqlite3 12 on Node 24 must not see statements collected.
 */
/** The key `AlertTable.readsOf` notes an alert's patient, rule and subject by (ids are noted as `#<id>`). */
export function alertReadKey(patientId: string, ruleId: string, subject: string): string {
  return `${patientId}\u0000${ruleId}\u0000${subject}`;
}

export class AlertTable implements AlertWrites {
  readonly #db: StateDb;
  readonly #s;
  /** UPDATE statements by the set of columns they change (a handful of shapes in practice). */
  readonly #updates = new Map<string, Statement>();
  readonly #lists = new Map<string, Statement>();
  /** While `readsOf` runs: the alerts read, by readKey and by id. */
  #reads: Set<string> | undefined;

  constructor(db: StateDb) {
    this.#db = db;
    this.#s = {
      live: db.prepare("SELECT * FROM alerts WHERE patient_id = ? AND rule_id = ? AND subject = ? AND status != 'resolved'"),
      liveKeys: db.prepare("SELECT patient_id AS patientId, rule_id AS ruleId, subject FROM alerts WHERE status != 'resolved'"),
      liveFrom: db.prepare(
        "SELECT * FROM alerts WHERE status != 'resolved' AND (patient_id, rule_id, subject) > (?, ?, ?) ORDER BY patient_id, rule_id, subject LIMIT ?",
      ),
      get: db.prepare('SELECT * FROM alerts WHERE id = ?'),
      begin: db.prepare('BEGIN IMMEDIATE'),
      beginRead: db.prepare('BEGIN DEFERRED'),
      dataVersion: db.prepare<[], { data_version: number }>('PRAGMA data_version'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
      version: db.prepare<[number], { version: number }>('SELECT version FROM alerts WHERE id = ?'),
      insert: db.prepare(
        `INSERT INTO alerts (patient_id, rule_id, subject, status, severity, title, message, opened_at, updated_at,
          first_observed_at, last_observed_at, count, latest_values, worst_values, worst_score, late, notified_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      addEvent: db.prepare('INSERT INTO alert_events (alert_id, type, at, actor, alert) VALUES (?, ?, ?, ?, ?)'),
      eventsAfter: db.prepare('SELECT * FROM alert_events WHERE seq > ? ORDER BY seq LIMIT ?'),
      eventsOf: db.prepare('SELECT * FROM alert_events WHERE alert_id = ? ORDER BY seq'),
      countTransitions: db.prepare(
        "SELECT count(*) AS n FROM alert_events WHERE seq > ? AND NOT (type = 'alert.updated')",
      ),
      lastSeq: db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM alert_events'),
      countLive: db.prepare("SELECT severity, count(*) AS n FROM alerts WHERE status != 'resolved' GROUP BY severity"),
      covered: db.prepare(
        "SELECT 1 FROM alerts WHERE patient_id = ? AND rule_id = ? AND subject = ? AND status = 'resolved' AND first_observed_at <= ? AND last_observed_at >= ? LIMIT 1",
      ),
    };
  }

  /**
   * Opens a transaction that the transactions after it join, each as a savepoint, until `commitBatch`: a batch
   * of transitions made in one turn of the event loop, committed with one fsync. The caller commits or abandons
   * it before it yields: nothing else may run inside it.
   */
  beginBatch(): void {
    this.#s.begin.run();
  }

  /** Whether the batch's transaction is still open (SQLite may end it midway: a full disk, an I/O error). */
  get inBatch(): boolean {
    return this.#db.inTransaction;
  }

  commitBatch(): void {
    this.#s.commit.run();
  }

  /** Rolls the batch back if it is still open (a failed COMMIT may have ended it already). */
  abandonBatch(): void {
    if (this.#db.inTransaction) this.#s.rollback.run();
  }

  /**
   * Runs `work`, which must only read, in one read transaction (a deferred BEGIN takes no write lock, and another
   * connection may write meanwhile): its reads see one snapshot, and lock the database once. Outside a transaction
   * each statement is a read transaction of its own, which takes and releases the database's file locks: on this
   * machine a point read of a live alert took about 25 µs so, and 8 µs inside one transaction. Inside a
   * transaction already (a batch), `work` joins it.
   */
  reading<T>(work: () => T): T {
    if (this.#db.inTransaction) return work();
    this.#s.beginRead.run();
    try {
      return work();
    } finally {
      // Ended with COMMIT, not ROLLBACK: a write made inside by mistake stays, as it would have outside (a
      // rejection log's buffer written out inside one was rolled back, and its rejected publishes lost). SQLite
      // may have ended the transaction already (an I/O error).
      if (this.#db.inTransaction) this.#s.commit.run();
    }
  }

  /**
   * SQLite's data_version: it changes with every commit another connection (the CLI, another process) makes, and
   * never with this connection's own. Inside a read transaction it is that of the transaction's snapshot.
   */
  dataVersion(): number {
    return this.#s.dataVersion.get()?.data_version ?? 0;
  }

  /** Runs `work` in one IMMEDIATE transaction: an alert change and its event commit together. */
  transaction<T>(work: () => T): T {
    return this.#db.transaction(work).immediate();
  }

  /**
   * Runs `work` and answers, with what it returns, every alert it read through this table (`alertReadKey` of the
   * patient, rule and subject asked for or found, `#<id>` of an id asked for): shared alerts commit transitions
   * together only when none of them read an alert another of them wrote (alerts/shared/shared-transitions.ts).
   */
  readsOf<T>(work: () => T): { readonly value: T; readonly reads: ReadonlySet<string> } {
    const outer = this.#reads;
    const reads = new Set<string>();
    this.#reads = reads;
    try {
      return { value: work(), reads };
    } finally {
      this.#reads = outer;
    }
  }

  live(patientId: string, ruleId: string, subject: string): Alert | undefined {
    this.#reads?.add(alertReadKey(patientId, ruleId, subject));
    const row = this.#s.live.get(patientId, ruleId, subject) as Row | undefined;
    return row ? toAlert(row) : undefined;
  }

  liveKeys(): LiveKey[] {
    return this.#s.liveKeys.all() as LiveKey[];
  }


  /**
   * Live alerts in (patient, rule, subject) order, the first `limit` after `after` (from the start without it):
   * a page of the live-alert index, so that the sweep reads them a slice at a time.
   */
  livePage(after: LiveKey | undefined, limit: number): Alert[] {
    return (this.#s.liveFrom.all(after?.patientId ?? '', after?.ruleId ?? '', after?.subject ?? '', limit) as Row[]).map(toAlert);
  }

  get(id: number): Alert | undefined {
    const row = this.#s.get.get(id) as Row | undefined;
    const alert = row ? toAlert(row) : undefined;
    if (this.#reads) {
      this.#reads.add(`#${id}`);
      if (alert) this.#reads.add(alertReadKey(alert.patientId, alert.ruleId, alert.subject));
    }
    return alert;
  }

  /**
   * The alert's version: how many writes PostgreSQL has made to it, with shared alerts (an update checks
   * the replica's); 0 in the embedded database.
   */
  versionOf(id: number): number | undefined {
    this.#reads?.add(`#${id}`);
    return this.#s.version.get(id)?.version;
  }

  insert(a: Omit<Alert, 'id'>): Alert {
    const result = this.#s.insert.run(
      a.patientId,
      a.ruleId,
      a.subject,
      a.status,
      a.severity,
      a.title,
      a.message,
      a.openedAt,
      a.updatedAt,
      a.firstObservedAt,
      a.lastObservedAt,
      a.count,
      JSON.stringify(a.latestValues),
      JSON.stringify(a.worstValues),
      a.worstScore,
      a.late ? 1 : 0,
      a.notifiedAt,
    );
    return this.get(Number(result.lastInsertRowid))!;
  }

  update(id: number, changes: AlertChanges): Alert {
    const keys = (Object.keys(changes) as (keyof typeof ALERT_COLUMNS)[]).filter((k) => k in ALERT_COLUMNS && changes[k] !== undefined);
    if (keys.length > 0) {
      const shape = keys.join(',');
      let stmt = this.#updates.get(shape);
      if (!stmt) {
        stmt = this.#db.prepare(`UPDATE alerts SET ${keys.map((k) => `${ALERT_COLUMNS[k]} = ?`).join(', ')} WHERE id = ?`);
        this.#updates.set(shape, stmt);
      }
      stmt.run(...keys.map((k) => toColumn(changes[k])), id);
    }
    return this.get(id)!;
  }

  list(filter: AlertFilter = {}): Alert[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.status === 'live') where.push("status != 'resolved'");
    else if (filter.status) (where.push('status = ?'), params.push(filter.status));
    if (filter.severity) (where.push('severity = ?'), params.push(filter.severity));
    if (filter.patientId) (where.push('patient_id = ?'), params.push(filter.patientId));
    if (filter.patientIds) (where.push('patient_id IN (SELECT value FROM json_each(?))'), params.push(JSON.stringify(filter.patientIds)));
    const sql = `SELECT * FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${SEVERITY_ORDER}, updated_at DESC LIMIT ?`;
    let stmt = this.#lists.get(sql);
    if (!stmt) {
      stmt = this.#db.prepare(sql);
      this.#lists.set(sql, stmt);
    }
    return (stmt.all(...params, filter.limit ?? 500) as Row[]).map(toAlert);
  }

  addEvent(type: AlertEventType, alert: Alert, at: number, actor: string | null, change?: AlertChange): void {
    this.#s.addEvent.run(alert.id, type, at, actor, JSON.stringify(change ? { ...alert, change } : alert));
  }

  eventsAfter(seq: number, limit = 1000): AlertEvent[] {
    return (this.#s.eventsAfter.all(seq, limit) as Row[]).map(toEvent);
  }

  eventsOf(alertId: number): AlertEvent[] {
    return (this.#s.eventsOf.all(alertId) as Row[]).map(toEvent);
  }

  /** Notifications (every event but alert.updated) after a sequence number: what a webhook still owes. */
  countTransitionsAfter(seq: number): number {
    return (this.#s.countTransitions.get(seq) as { n: number }).n;
  }

  lastSeq(): number {
    return (this.#s.lastSeq.get() as { seq: number }).seq;
  }

  /** Whether a resolved alert of this patient, rule and subject spanned this measurement time. */
  coveredByResolved(patientId: string, ruleId: string, subject: string, observedAt: number): boolean {
    this.#reads?.add(alertReadKey(patientId, ruleId, subject));
    return this.#s.covered.get(patientId, ruleId, subject, observedAt, observedAt) !== undefined;
  }

  countLive(): { severity: Severity; n: number }[] {
    return this.#s.countLive.all() as { severity: Severity; n: number }[];
  }
}

/** An event row (seq, type, at, actor, alert JSON) as the feed and the webhook see it. */
export function toEvent(r: Row): AlertEvent {
  const { change, ...stored } = JSON.parse(r.alert as string) as Alert & { change?: AlertChange };
  // Events stored before the latching fields existed carry none: fill them so every event has one shape.
  const alert: Alert = {
    ...stored,
    backInRangeAt: stored.backInRangeAt ?? null,
    notifiedAt: stored.notifiedAt ?? stored.openedAt,
    renotifyCount: stored.renotifyCount ?? 0,
    lastRenotifyReason: stored.lastRenotifyReason ?? null,
  };
  return { seq: r.seq as number, type: r.type as AlertEventType, at: r.at as number, actor: (r.actor as string | null) ?? null, change, alert };
}
