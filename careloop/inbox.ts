import { randomBytes } from 'node:crypto';
import type { InboxKind, InboxMessage } from '../domain/index.js';
import type { StateDb } from '../state/index.js';

export type DoseAnswer = 'taken' | 'skipped' | 'snoozed' | 'missed';

export interface InboxEntry {
  readonly id: string;
  readonly patientId: string;
  readonly hubId: string;
  readonly kind: InboxKind;
  /** The measurement type or the medication id of a reminder; '' for a message. */
  readonly subject: string;
  readonly dueAt: number | null;
  readonly windowEndsAt: number | null;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly payload: string;
  readonly sentAt: number | null;
  /** The hub's MQTT acknowledgement (embedded broker only). */
  readonly ackedAt: number | null;
  readonly deliveredAt: number | null;
  readonly readAt: number | null;
  readonly answer: DoseAnswer | null;
  readonly answeredAt: number | null;
}

interface InboxRow {
  id: string;
  patient_id: string;
  hub_id: string;
  kind: InboxKind;
  subject: string;
  due_at: number | null;
  window_ends_at: number | null;
  created_at: number;
  expires_at: number;
  payload: string;
  sent_at: number | null;
  acked_at: number | null;
  delivered_at: number | null;
  read_at: number | null;
  answer: DoseAnswer | null;
  answered_at: number | null;
}

const toEntry = (r: InboxRow): InboxEntry => ({
  id: r.id,
  patientId: r.patient_id,
  hubId: r.hub_id,
  kind: r.kind,
  subject: r.subject,
  dueAt: r.due_at,
  windowEndsAt: r.window_ends_at,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  payload: r.payload,
  sentAt: r.sent_at,
  ackedAt: r.acked_at,
  deliveredAt: r.delivered_at,
  readAt: r.read_at,
  answer: r.answer,
  answeredAt: r.answered_at,
});

/**
 * The entry's hub still serves the patient it was written for. A hub handed to another patient (returned,
 * cleaned, given out again) keeps its id and credentials: what was written for the patient before must not
 * reach the next one, and is neither sent nor resent to it.
 */
const STILL_THEIR_HUB = "patient_id = (SELECT d.patient_id FROM devices d WHERE d.id = care_inbox.hub_id AND d.kind = 'hub' AND d.revoked_at IS NULL)";

export const newInboxId = (prefix: 'r' | 'd' | 'msg' | 'c') => `${prefix}-${randomBytes(8).toString('hex')}`;

/**
 * Everything put in a hub's inbox, with what became of it: sent to the broker, delivered and read on the hub
 * (receipts), and for a dose its answer. A reminder's slot (patient, kind, subject, due time) is unique: a
 * scheduler tick that runs twice, or a restart, does not remind twice.
 */
export class Inbox {
  readonly #stmts;

  constructor(db: StateDb) {
    this.#stmts = {
      insert: db.prepare(
        `INSERT OR IGNORE INTO care_inbox (id, patient_id, hub_id, kind, subject, due_at, window_ends_at, created_at, expires_at, payload)
         VALUES (@id, @patientId, @hubId, @kind, @subject, @dueAt, @windowEndsAt, @createdAt, @expiresAt, @payload)`,
      ),
      get: db.prepare<[string], InboxRow>('SELECT * FROM care_inbox WHERE id = ?'),
      slot: db.prepare<[string, string, string, number], { id: string }>('SELECT id FROM care_inbox WHERE patient_id = ? AND kind = ? AND subject = ? AND due_at = ?'),
      sent: db.prepare('UPDATE care_inbox SET sent_at = ? WHERE id = ? AND sent_at IS NULL'),
      unsent: db.prepare<[number], InboxRow>(`SELECT * FROM care_inbox WHERE sent_at IS NULL AND expires_at > ? AND ${STILL_THEIR_HUB} ORDER BY created_at LIMIT 500`),
      delivered: db.prepare('UPDATE care_inbox SET delivered_at = COALESCE(delivered_at, ?) WHERE id = ?'),
      acked: db.prepare('UPDATE care_inbox SET acked_at = COALESCE(acked_at, ?) WHERE id = ? AND hub_id = ?'),
      // Sent, not acknowledged, no receipt or answer from the hub either, and still worth delivering.
      unacked: db.prepare<[string, number], InboxRow>(
        `SELECT * FROM care_inbox WHERE hub_id = ? AND sent_at IS NOT NULL AND acked_at IS NULL AND expires_at > ?
           AND delivered_at IS NULL AND read_at IS NULL AND answer IS NULL AND ${STILL_THEIR_HUB} ORDER BY created_at LIMIT 500`,
      ),
      read: db.prepare('UPDATE care_inbox SET delivered_at = COALESCE(delivered_at, ?), read_at = COALESCE(read_at, ?) WHERE id = ?'),
      answer: db.prepare('UPDATE care_inbox SET answer = ?, answered_at = ?, delivered_at = COALESCE(delivered_at, ?) WHERE id = ?'),
      missed: db.prepare<[number], { patient_id: string }>(
        "UPDATE care_inbox SET answer = 'missed', answered_at = window_ends_at WHERE kind = 'medication_reminder' AND (answer IS NULL OR answer = 'snoozed') AND window_ends_at <= ? RETURNING patient_id",
      ),
      // A dose whose window closed since the last tick is missed already, though not yet marked.
      missedOfClass: db.prepare<[string, string, number, number, number], { n: number }>(
        `SELECT COUNT(*) AS n FROM care_inbox i JOIN care_medications m ON m.id = i.subject
         WHERE i.patient_id = ? AND i.kind = 'medication_reminder' AND m.class = ? AND i.due_at >= ? AND i.due_at < ?
           AND (i.answer = 'missed' OR ((i.answer IS NULL OR i.answer = 'snoozed') AND i.window_ends_at <= ?))`,
      ),
      doses: db.prepare<[string, number, number], InboxRow>(
        "SELECT * FROM care_inbox WHERE patient_id = ? AND kind = 'medication_reminder' AND due_at >= ? AND due_at < ? ORDER BY due_at",
      ),
      recent: db.prepare<[string, number], InboxRow>('SELECT * FROM care_inbox WHERE patient_id = ? ORDER BY created_at DESC LIMIT ?'),
    };
  }

  /** Adds an entry; false when its reminder slot already has one. */
  add(entry: { id: string; patientId: string; hubId: string; message: InboxMessage; subject: string; dueAt: number | null; windowEndsAt: number | null; createdAt: number; expiresAt: number }): boolean {
    const { message, ...row } = entry;
    return this.#stmts.insert.run({ ...row, kind: message.kind, payload: JSON.stringify(message) }).changes > 0;
  }

  get(id: string): InboxEntry | undefined {
    const row = this.#stmts.get.get(id);
    return row ? toEntry(row) : undefined;
  }

  hasSlot(patientId: string, kind: InboxKind, subject: string, dueAt: number): boolean {
    return this.#stmts.slot.get(patientId, kind, subject, dueAt) !== undefined;
  }

  markSent(id: string, at: number): void {
    this.#stmts.sent.run(at, id);
  }

  /** Entries not yet handed to the broker (it was unreachable), not expired, whose hub still serves their patient. */
  unsent(now: number): InboxEntry[] {
    return this.#stmts.unsent.all(now).map(toEntry);
  }

  /** The hub's MQTT client acknowledged the message (a PUBACK): it need not be sent again. */
  acked(id: string, hubId: string, at: number): void {
    this.#stmts.acked.run(at, id, hubId);
  }

  /** What a hub back on a new session lacks: sent, unexpired, neither acknowledged nor answered, for its patient now. */
  unacked(hubId: string, now: number): InboxEntry[] {
    return this.#stmts.unacked.all(hubId, now).map(toEntry);
  }

  delivered(id: string, at: number): void {
    this.#stmts.delivered.run(at, id);
  }

  read(id: string, at: number): void {
    this.#stmts.read.run(at, at, id);
  }

  answer(id: string, answer: DoseAnswer, at: number): void {
    this.#stmts.answer.run(answer, at, at, id);
  }

  /** Doses with no answer (or only a snooze) by the end of their window count as missed; returns each one's patient. */
  markMissed(now: number): string[] {
    return this.#stmts.missed.all(now).map((r) => r.patient_id);
  }

  /** Missed doses of medications of a class due in [from, to), as of `to`. */
  missedOfClass(patientId: string, medicationClass: string, from: number, to: number): number {
    return this.#stmts.missedOfClass.get(patientId, medicationClass, from, to, to)?.n ?? 0;
  }

  doses(patientId: string, from: number, to: number): InboxEntry[] {
    return this.#stmts.doses.all(patientId, from, to).map(toEntry);
  }

  recent(patientId: string, limit: number): InboxEntry[] {
    return this.#stmts.recent.all(patientId, limit).map(toEntry);
  }
}
