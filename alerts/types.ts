import type { Severity } from './rules/schema.js';

/** `open`: needs a person (new, or re-notified); `acknowledged`: a person is on it; `resolved`: closed. */
export type AlertStatus = 'open' | 'acknowledged' | 'resolved';

/**
 * The transitions of the alert state machine (docs/alerts.md). `alert.updated` is a change that notifies no one
 * (a repeat, a clear timer starting); every other type is a notification a person or a webhook should see.
 */
export type AlertEventType =
  | 'alert.opened'
  | 'alert.updated'
  | 'alert.renotified'
  | 'alert.back_in_range'
  | 'alert.escalated'
  | 'alert.acknowledged'
  | 'alert.resolved';

/** Why a live alert notified again. */
/** `current`: a reading measured now confirms an alert that so far came only from late data (a backlog). */
export type RenotifyReason = 'event' | 'worse_tier' | 'worse_value' | 'recurred' | 'current' | 'reminder';

/** What an `alert.updated` or `alert.renotified` event changed. */
export type AlertChange = 'repeat' | 'clearing' | 'band' | RenotifyReason;

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
  /** The latest abnormal finding came from readings that arrived late: shown, but it does not page or escalate. */
  readonly late: boolean;
  /** Measurement time of the first reading of the current run of clear readings ("back in range since"). */
  readonly clearSince: number | null;
  /**
   * A critical alert latches: when its values have been back in range for the rule's hold time it does not
   * resolve by itself; this is when that happened, and the alert waits for a person (IEC 60601-1-8 latching).
   */
  readonly backInRangeAt: number | null;
  /** When people were last notified (opened, or re-notified): escalation and reminders count from here. */
  readonly notifiedAt: number;
  readonly renotifyCount: number;
  /** Why it last notified again (null: it has not). */
  readonly lastRenotifyReason: RenotifyReason | null;
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
  /** For alert.updated and alert.renotified: what changed, or why it notified again. */
  readonly change?: AlertChange | undefined;
  readonly alert: Alert;
}

export interface AlertFilter {
  readonly status?: AlertStatus | 'live' | undefined;
  readonly severity?: Severity | undefined;
  readonly patientId?: string | undefined;
  /** Only these patients (a clinician's care teams): filtered in SQL, not after loading every alert. */
  readonly patientIds?: readonly string[] | undefined;
  readonly limit?: number | undefined;
}
