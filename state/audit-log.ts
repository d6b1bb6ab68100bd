import type { AuditEntry as AuditEntryShape } from '../domain/index.js';
import type { StateDb } from './database.js';

/** Who did something: a name for the audit log ("user:alice", "cli:bob") and where from (an address, "cli"). */
export type Actor = string | { readonly name: string; readonly origin?: string | null | undefined };

export function actorName(by: Actor): string {
  return typeof by === 'string' ? by : by.name;
}

export function actorOrigin(by: Actor): string | null {
  return typeof by === 'string' ? null : (by.origin ?? null);
}

/** One line of the audit log (its wire shape, domain/api/audit.ts). */
export type AuditEntry = Readonly<AuditEntryShape>;

export interface AuditFilter {
  readonly limit?: number | undefined;
  readonly beforeId?: number | undefined;
  readonly actor?: string | undefined;
  readonly patientId?: string | undefined;
  readonly action?: string | undefined;
  readonly since?: number | undefined;
  readonly until?: number | undefined;
}

/** A row of audit_log, in SQLite or PostgreSQL. */
export interface AuditRow {
  id: number;
  at: number;
  actor: string;
  origin: string | null;
  action: string;
  patient_id: string | null;
  target: string | null;
  details: string | null;
}

/**
 * The append-only record of who viewed or changed what (HIPAA 164.312(b) audit controls). Alerts, the
 * dashboard and the CLI all write through this one module; the table refuses updates and deletes (triggers).
 * The server decides the actor and origin, never a client header.
 */
export class AuditLog {
  readonly #insert;
  readonly #select;
  #recorded: () => void = () => undefined;

  constructor(db: StateDb, readonly now: () => number = Date.now) {
    this.#insert = db.prepare('INSERT INTO audit_log (at, actor, action, patient_id, target, details, origin) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.#select = db.prepare<Record<string, unknown>, AuditRow>(
      `SELECT * FROM audit_log
       WHERE (@before IS NULL OR id < @before) AND (@actor IS NULL OR actor = @actor) AND (@patient IS NULL OR patient_id = @patient)
         AND (@since IS NULL OR at >= @since) AND (@until IS NULL OR at < @until) AND (@action IS NULL OR action = @action)
       ORDER BY id DESC LIMIT @limit`,
    );
  }

  /** Appends one entry. Called inside the caller's transaction when the action changes data, so both commit together. */
  record(by: Actor, action: string, patientId: string | null, target: string | null, details?: unknown, at: number = this.now()): void {
    this.#insert.run(at, actorName(by), action, patientId, target, details === undefined ? null : JSON.stringify(details), actorOrigin(by));
    this.#recorded();
  }

  /** Called after each entry is appended (the shared audit log's shipper sets a timer; it must not throw). */
  onRecorded(listener: () => void): void {
    this.#recorded = listener;
  }

  /** Newest first; `beforeId` pages back through older entries. Filters are exact matches (absent = any). */
  list(filter: AuditFilter = {}): AuditEntry[] {
    const rows = this.#select.all({
      before: filter.beforeId ?? null,
      actor: filter.actor ?? null,
      patient: filter.patientId ?? null,
      since: filter.since ?? null,
      until: filter.until ?? null,
      action: filter.action ?? null,
      limit: filter.limit ?? 200,
    });
    return rows.map(auditEntryOf);
  }
}

export function auditEntryOf(r: AuditRow): AuditEntry {
  return {
    id: r.id,
    at: r.at,
    actor: r.actor,
    origin: r.origin ?? null,
    action: r.action,
    patientId: r.patient_id ?? null,
    target: r.target ?? null,
    details: r.details ? (JSON.parse(r.details) as unknown) : null,
  };
}
