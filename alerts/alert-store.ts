import type { StateDb } from '../state/index.js';
import type { Severity } from './rules/schema.js';

/** Who did something: a name for the audit log ("user:alice", "cli:bob") and where from (an IP address). */
export type Actor = string | { readonly name: string; readonly origin?: string | null | undefined };

export function actorName(by: Actor): string {
  return typeof by === 'string' ? by : by.name;
}

export function actorOrigin(by: Actor): string | null {
  return typeof by === 'string' ? null : (by.origin ?? null);
}

export interface AuditEntry {
  readonly id: number;
  readonly at: number;
  readonly actor: string;
  readonly origin: string | null;
  readonly action: string;
  readonly patientId: string | null;
  readonly target: string | null;
  readonly details: unknown;
}

export interface AuditFilter {
  readonly limit?: number | undefined;
  readonly beforeId?: number | undefined;
  readonly actor?: string | undefined;
  readonly patientId?: string | undefined;
  readonly action?: string | undefined;
  readonly since?: number | undefined;
  readonly until?: number | undefined;
}

export type AlertStatus = 'open' | 'acknowledged' | 'resolved';
export type AlertEventType = 'alert.opened' | 'alert.updated' | 'alert.escalated' | 'alert.acknowledged' | 'alert.resolved';

export interface Alert {
  readonly id: number;
  readonly patientId: string;
  readonly ruleId: string;
  readonly subject: string;
  readonly status: AlertStatus;
  readonly severity: Severity;
  readonly title: string;
  readonly message: string;
  readonly openedAt: number;
  readonly updatedAt: number;
  readonly firstObservedAt: number;
  readonly lastObservedAt: number;
  readonly count: number;
  readonly latestValues: Record<string, number>;
  readonly worstValues: Record<string, number>;
  readonly worstScore: number;
  /** Opened or updated by readings that arrived late (a backlog uploaded after the fact). */
  readonly late: boolean;
  readonly clearSince: number | null;
  readonly escalationLevel: number;
  readonly escalatedAt: number | null;
  readonly acknowledgedAt: number | null;
  readonly acknowledgedBy: string | null;
  readonly acknowledgeNote: string | null;
  readonly resolvedAt: number | null;
  readonly resolvedBy: string | null;
  readonly resolveNote: string | null;
}

export interface AlertEvent {
  readonly seq: number;
  readonly type: AlertEventType;
  readonly at: number;
  readonly actor: string | null;
  /** What changed, for alert.updated: a repeat, or a rise in severity. */
  readonly change?: 'repeat' | 'severity' | undefined;
  readonly alert: Alert;
}

export interface AlertFilter {
  readonly status?: AlertStatus | 'live' | undefined;
  readonly severity?: Severity | undefined;
  readonly patientId?: string | undefined;
  readonly limit?: number | undefined;
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

const COLUMNS: Record<string, string> = {
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
  escalationLevel: 'escalation_level',
  escalatedAt: 'escalated_at',
  acknowledgedAt: 'acknowledged_at',
  acknowledgedBy: 'acknowledged_by',
  acknowledgeNote: 'acknowledge_note',
  resolvedAt: 'resolved_at',
  resolvedBy: 'resolved_by',
  resolveNote: 'resolve_note',
};

function toColumn(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value && typeof value === 'object') return JSON.stringify(value);
  return value ?? null;
}

/** Alerts, their transitions, snoozes, rule overrides and the audit log, in the state database. */
export class AlertStore {
  readonly #db: StateDb;

  constructor(db: StateDb) {
    this.#db = db;
  }

  /** Runs `work` in one IMMEDIATE transaction: an alert change and its event commit together. */
  transaction<T>(work: () => T): T {
    return this.#db.transaction(work).immediate();
  }

  live(patientId: string, ruleId: string, subject: string): Alert | undefined {
    const row = this.#db
      .prepare("SELECT * FROM alerts WHERE patient_id = ? AND rule_id = ? AND subject = ? AND status != 'resolved'")
      .get(patientId, ruleId, subject) as Row | undefined;
    return row ? toAlert(row) : undefined;
  }

  liveKeys(): { patientId: string; ruleId: string; subject: string }[] {
    return this.#db
      .prepare("SELECT patient_id AS patientId, rule_id AS ruleId, subject FROM alerts WHERE status != 'resolved'")
      .all() as { patientId: string; ruleId: string; subject: string }[];
  }

  get(id: number): Alert | undefined {
    const row = this.#db.prepare('SELECT * FROM alerts WHERE id = ?').get(id) as Row | undefined;
    return row ? toAlert(row) : undefined;
  }

  insert(a: Omit<Alert, 'id'>): Alert {
    const result = this.#db
      .prepare(
        `INSERT INTO alerts (patient_id, rule_id, subject, status, severity, title, message, opened_at, updated_at,
          first_observed_at, last_observed_at, count, latest_values, worst_values, worst_score, late)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(a.patientId, a.ruleId, a.subject, a.status, a.severity, a.title, a.message, a.openedAt, a.updatedAt, a.firstObservedAt, a.lastObservedAt, a.count, JSON.stringify(a.latestValues), JSON.stringify(a.worstValues), a.worstScore, a.late ? 1 : 0);
    return this.get(Number(result.lastInsertRowid))!;
  }

  update(id: number, changes: Partial<Omit<Alert, 'id' | 'patientId' | 'ruleId' | 'subject' | 'openedAt'>>): Alert {
    const entries = Object.entries(changes).filter(([k]) => k in COLUMNS);
    if (entries.length > 0) {
      const sql = `UPDATE alerts SET ${entries.map(([k]) => `${COLUMNS[k]} = ?`).join(', ')} WHERE id = ?`;
      this.#db.prepare(sql).run(...entries.map(([, v]) => toColumn(v)), id);
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
    const sql = `SELECT * FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, updated_at DESC LIMIT ?`;
    return (this.#db.prepare(sql).all(...params, filter.limit ?? 500) as Row[]).map(toAlert);
  }

  /** Escalation candidates: open (unacknowledged) alerts of a severity, opened before a time. */
  unacknowledged(severity: Severity): Alert[] {
    return (this.#db.prepare("SELECT * FROM alerts WHERE status = 'open' AND severity = ?").all(severity) as Row[]).map(toAlert);
  }

  addEvent(type: AlertEventType, alert: Alert, at: number, actor: string | null, change?: 'repeat' | 'severity'): void {
    this.#db
      .prepare('INSERT INTO alert_events (alert_id, type, at, actor, alert) VALUES (?, ?, ?, ?, ?)')
      .run(alert.id, type, at, actor, JSON.stringify(change ? { ...alert, change } : alert));
  }

  eventsAfter(seq: number, limit = 1000): AlertEvent[] {
    return (this.#db.prepare('SELECT * FROM alert_events WHERE seq > ? ORDER BY seq LIMIT ?').all(seq, limit) as Row[]).map((r) => {
      const { change, ...alert } = JSON.parse(r.alert as string) as Alert & { change?: 'repeat' | 'severity' };
      return { seq: r.seq as number, type: r.type as AlertEventType, at: r.at as number, actor: (r.actor as string | null) ?? null, change, alert };
    });
  }

  eventsOf(alertId: number): AlertEvent[] {
    return this.eventsAfter(0, 100_000).filter((e) => e.alert.id === alertId);
  }

  /** Transitions (events other than plain repeats) after a sequence number: what a webhook still owes. */
  countTransitionsAfter(seq: number): number {
    return (
      this.#db
        .prepare("SELECT count(*) AS n FROM alert_events WHERE seq > ? AND NOT (type = 'alert.updated' AND alert ->> '$.change' = 'repeat')")
        .get(seq) as { n: number }
    ).n;
  }

  lastSeq(): number {
    return (this.#db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM alert_events').get() as { seq: number }).seq;
  }

  snoozedUntil(patientId: string, ruleId: string): number | undefined {
    const row = this.#db.prepare('SELECT until FROM alert_snoozes WHERE patient_id = ? AND rule_id = ?').get(patientId, ruleId) as { until: number } | undefined;
    return row?.until;
  }

  snooze(patientId: string, ruleId: string, until: number, actor: string, note: string | undefined, at: number): void {
    this.#db
      .prepare('INSERT OR REPLACE INTO alert_snoozes (patient_id, rule_id, until, actor, note, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(patientId, ruleId, until, actor, note ?? null, at);
  }

  unsnooze(patientId: string, ruleId: string): boolean {
    return this.#db.prepare('DELETE FROM alert_snoozes WHERE patient_id = ? AND rule_id = ?').run(patientId, ruleId).changes > 0;
  }

  snoozes(patientId: string): { ruleId: string; until: number; actor: string; note: string | null }[] {
    return this.#db
      .prepare('SELECT rule_id AS ruleId, until, actor, note FROM alert_snoozes WHERE patient_id = ? ORDER BY rule_id')
      .all(patientId) as { ruleId: string; until: number; actor: string; note: string | null }[];
  }

  overrides(patientId: string): Map<string, Record<string, unknown>> {
    const rows = this.#db.prepare('SELECT rule_id, override FROM rule_overrides WHERE patient_id = ?').all(patientId) as { rule_id: string; override: string }[];
    return new Map(rows.map((r) => [r.rule_id, JSON.parse(r.override) as Record<string, unknown>]));
  }

  setOverride(patientId: string, ruleId: string, override: Record<string, unknown>, actor: string, at: number): void {
    this.#db
      .prepare('INSERT OR REPLACE INTO rule_overrides (patient_id, rule_id, override, actor, updated_at) VALUES (?, ?, ?, ?, ?)')
      .run(patientId, ruleId, JSON.stringify(override), actor, at);
  }

  clearOverride(patientId: string, ruleId: string): boolean {
    return this.#db.prepare('DELETE FROM rule_overrides WHERE patient_id = ? AND rule_id = ?').run(patientId, ruleId).changes > 0;
  }

  audit(by: Actor, action: string, patientId: string | null, target: string | null, details: unknown, at: number): void {
    this.#db
      .prepare('INSERT INTO audit_log (at, actor, action, patient_id, target, details, origin) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(at, actorName(by), action, patientId, target, details === undefined ? null : JSON.stringify(details), actorOrigin(by));
  }

  /** Newest first; `beforeId` pages back through older entries. Filters are exact matches (NULL = any). */
  auditLog(filter: AuditFilter = {}): AuditEntry[] {
    const rows = this.#db
      .prepare(
        `SELECT * FROM audit_log
         WHERE (@before IS NULL OR id < @before) AND (@actor IS NULL OR actor = @actor) AND (@patient IS NULL OR patient_id = @patient)
           AND (@since IS NULL OR at >= @since) AND (@until IS NULL OR at < @until) AND (@action IS NULL OR action = @action)
         ORDER BY id DESC LIMIT @limit`,
      )
      .all({
        before: filter.beforeId ?? null,
        actor: filter.actor ?? null,
        patient: filter.patientId ?? null,
        since: filter.since ?? null,
        until: filter.until ?? null,
        action: filter.action ?? null,
        limit: filter.limit ?? 200,
      }) as Row[];
    return rows.map((r) => ({
      id: r.id as number,
      at: r.at as number,
      actor: r.actor as string,
      origin: (r.origin as string | null) ?? null,
      action: r.action as string,
      patientId: (r.patient_id as string | null) ?? null,
      target: (r.target as string | null) ?? null,
      details: r.details ? JSON.parse(r.details as string) : null,
    }));
  }

  lastReadings(): Map<string, number> {
    const rows = this.#db.prepare('SELECT patient_id, series, time FROM last_readings').all() as { patient_id: string; series: string; time: number }[];
    return new Map(rows.map((r) => [`${r.patient_id}\u0000${r.series}`, r.time]));
  }

  saveLastReadings(entries: Iterable<[string, number]>): void {
    const stmt = this.#db.prepare(
      'INSERT INTO last_readings (patient_id, series, time) VALUES (?, ?, ?) ON CONFLICT (patient_id, series) DO UPDATE SET time = MAX(time, excluded.time)',
    );
    this.transaction(() => {
      for (const [key, time] of entries) {
        const [patientId, series] = key.split('\u0000') as [string, string];
        stmt.run(patientId, series, time);
      }
    });
  }

  webhookCursor(): number | undefined {
    return (this.#db.prepare('SELECT seq FROM webhook_cursor WHERE id = 1').get() as { seq: number } | undefined)?.seq;
  }

  setWebhookCursor(seq: number): void {
    this.#db.prepare('INSERT INTO webhook_cursor (id, seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq').run(seq);
  }

  countLive(): { severity: Severity; n: number }[] {
    return this.#db.prepare("SELECT severity, count(*) AS n FROM alerts WHERE status != 'resolved' GROUP BY severity").all() as { severity: Severity; n: number }[];
  }
}
