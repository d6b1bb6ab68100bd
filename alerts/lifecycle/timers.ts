import type { Rule, Severity } from '../rules/schema.js';
import type { Alert } from '../types.js';

export interface TimerPolicy {
  /** An unacknowledged critical alert escalates after this long, and again after each further period. */
  readonly escalateAfterMs: number;
  readonly maxEscalationLevel: number;
  /** An acknowledged condition that persists notifies again after this long (0: never), by severity. */
  readonly realertMs: Readonly<Record<Severity, number>>;
}

/**
 * The escalation level an open critical alert has reached by `now`, or undefined if it does not escalate now.
 * Late alerts (a backlog) do not escalate: they did not happen now.
 */
export function dueEscalation(alert: Alert, now: number, policy: TimerPolicy): number | undefined {
  if (alert.status !== 'open' || alert.severity !== 'critical' || alert.late) return undefined;
  if (alert.escalationLevel >= policy.maxEscalationLevel) return undefined;
  const due = alert.notifiedAt + (alert.escalationLevel + 1) * policy.escalateAfterMs;
  return now >= due ? alert.escalationLevel + 1 : undefined;
}

/**
 * Whether an acknowledged alert whose condition persists (not back in range) should notify again: the
 * re-alert interval counts from the acknowledgement or the last notification, whichever is later.
 */
export function dueReminder(alert: Alert, now: number, policy: TimerPolicy, ruleKind?: Rule['kind']): boolean {
  const interval = policy.realertMs[alert.severity];
  if (alert.status !== 'acknowledged' || interval <= 0 || alert.late) return false;
  // A discrete event (a fall) does not persist: the next one notifies on its own; reminding of this one is noise.
  if (ruleKind === 'event') return false;
  if (alert.clearSince !== null || alert.backInRangeAt !== null) return false;
  return now - Math.max(alert.acknowledgedAt ?? 0, alert.notifiedAt) >= interval;
}
