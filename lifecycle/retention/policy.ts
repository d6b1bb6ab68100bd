/**
 * How long each kind of record is kept, in days; 0 keeps it for ever. Defaults and their reasons are in
 * docs/operations.md ("Backups and retention").
 */
export interface RetentionPolicy {
  /** The audit log: HIPAA asks six years for such documentation (45 CFR 164.316(b)(2)(i)). */
  readonly auditDays: number;
  /** Dead letters that were replayed into the store (pending ones are never purged: stored nowhere else). */
  readonly deadLetterDays: number;
  /** Resolved alerts with their events and notes, counted from their resolution. */
  readonly resolvedAlertDays: number;
  /** Readings in the embedded store, by time of measurement. */
  readonly readingDays: number;
  /** Rejected readings (VIGIL_REJECTION_RETENTION_DAYS, purged by ingest's own rejection log). */
  readonly rejectionDays: number;
  /**
   * The care loop's record with the patient's hub: inbox entries (reminders, doses and their answers, messages
   * with their receipts) past their expiry, and the message thread both ways, by when they were created.
   */
  readonly careDays: number;
}

export const RETENTION_KINDS = ['audit', 'deadLetters', 'resolvedAlerts', 'readings', 'rejections', 'care'] as const;
export type RetentionKind = (typeof RETENTION_KINDS)[number];

export const DAY_MS = 86_400_000;

/** The time before which records of a kind go, or undefined when the kind is kept for ever. */
export function cutoff(days: number, now: number): number | undefined {
  return days > 0 ? now - days * DAY_MS : undefined;
}
