import type { Finding } from '../evaluate/finding.js';
import { severityRank, type Rule } from '../rules/schema.js';
import type { AlertWrites } from '../store/alert-writes.js';
import type { Alert } from '../types.js';
import type { Decision } from './decide.js';

/** "28 Nov 2026, 17:22 UTC": a time in a message people read (webhooks, the CLI), not an ISO timestamp. */
const MEASURED = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });

function lateNote(late: boolean, finding: Finding): string {
  return late ? ` (data arrived late: measured ${MEASURED.format(finding.observedAt)} UTC)` : '';
}

/**
 * The sweep finds a persisting condition (a gap in the data, a device offline) every run, every 30 s by default:
 * the alert is rewritten only when what a person reads of it changes (the gap's tenth of an hour, its message),
 * not every run, so that a sweep that finds nothing new writes nothing. (With 4,000 live missing-data alerts a
 * whole sweep held the broker's thread about 300 ms; this and skipping the alerts with no timer due brought it to
 * about 220 ms.) The alert's `count` then counts the changes the sweep saw, not its runs.
 */
function sweepFindsNothingNew(alert: Alert, finding: Finding): boolean {
  if (alert.message !== finding.message || alert.late || alert.clearSince !== null || alert.backInRangeAt !== null) return false;
  const before = Object.keys(alert.latestValues);
  const now = Object.keys(finding.values);
  return before.length === now.length && now.every((k) => alert.latestValues[k] === finding.values[k]);
}

/**
 * Whether the sweep's decision leaves its live alert as it is (applyDecision would write nothing): the sweep
 * asks this of its snapshot of the live alerts first, and takes no savepoint, and no write lock, for them.
 */
export function sweepLeavesAsItIs(live: Alert, finding: Finding, decision: Decision): boolean {
  if (decision.kind === 'none') return true;
  return decision.kind === 'repeat' && severityRank(decision.severity) <= severityRank(live.severity) && sweepFindsNothingNew(live, finding);
}

/**
 * Writes a decision with its event: to the alert table inside the caller's transaction, or recorded for
 * PostgreSQL (shared alerts). Returns whether an
 * event was written (the feed then has something to emit).
 */
export function applyDecision(
  table: AlertWrites,
  args: { patientId: string; rule: Rule; live: Alert | undefined; finding: Finding; decision: Decision; late: boolean; now: number; fromSweep?: boolean },
): boolean {
  const { patientId, rule, live, finding, decision, late, now } = args;
  switch (decision.kind) {
    case 'none':
      return false;
    case 'open': {
      const alert = table.insert({
        patientId,
        ruleId: rule.id,
        subject: finding.subject,
        status: 'open',
        severity: finding.severity!,
        title: rule.title,
        message: finding.message + lateNote(late, finding),
        openedAt: now,
        updatedAt: now,
        firstObservedAt: finding.observedAt,
        lastObservedAt: finding.observedAt,
        count: 1,
        latestValues: { ...finding.values },
        worstValues: { ...finding.values },
        worstScore: finding.score,
        late,
        clearSince: null,
        backInRangeAt: null,
        notifiedAt: now,
        renotifyCount: 0,
        lastRenotifyReason: null,
        escalationLevel: 0,
        escalatedAt: null,
        acknowledgedAt: null,
        acknowledgedBy: null,
        acknowledgeNote: null,
        resolvedAt: null,
        resolvedBy: null,
        resolveNote: null,
      });
      table.addEvent('alert.opened', alert, now, 'vigil');
      return true;
    }
    case 'repeat':
    case 'renotify': {
      const a = live!;
      const rises = severityRank(decision.severity) > severityRank(a.severity);
      const worse = rises || (decision.severity === a.severity && finding.score > a.worstScore);
      const newer = finding.observedAt >= a.lastObservedAt;
      const renotify = decision.kind === 'renotify';
      // A growing gap scores a little worse every run; its worst values are brought up to date with its values.
      if (args.fromSweep && sweepLeavesAsItIs(a, finding, decision)) return false;
      const updated = table.update(a.id, {
        count: a.count + 1,
        updatedAt: now,
        lastObservedAt: Math.max(a.lastObservedAt, finding.observedAt),
        // Once a reading measured now has spoken, the alert stays current: a later late reading does not make it late.
        ...(newer ? { latestValues: { ...finding.values }, message: finding.message + lateNote(late, finding), clearSince: null, backInRangeAt: null, late: a.late && late } : {}),
        ...(worse ? { worstValues: { ...finding.values }, worstScore: finding.score } : {}),
        // A late reading in a worse tier raises the severity on record; it does not page as if it were news.
        ...(rises ? { severity: decision.severity } : {}),
        ...(renotify ? { status: 'open' as const, notifiedAt: now, renotifyCount: a.renotifyCount + 1, lastRenotifyReason: decision.reason, escalationLevel: 0, escalatedAt: null } : {}),
      });
      if (renotify) table.addEvent('alert.renotified', updated, now, 'vigil', decision.reason);
      // The sweep finds a persisting condition every run: the row keeps the latest values, the feed stays quiet.
      else if (args.fromSweep) return false;
      else table.addEvent('alert.updated', updated, now, 'vigil', 'repeat');
      return true;
    }
    case 'band': {
      const updated = table.update(live!.id, { clearSince: null, backInRangeAt: null, updatedAt: now });
      table.addEvent('alert.updated', updated, now, 'vigil', 'band');
      return true;
    }
    case 'clearing': {
      const updated = table.update(live!.id, { clearSince: decision.since, updatedAt: now });
      table.addEvent('alert.updated', updated, now, 'vigil', 'clearing');
      return true;
    }
    case 'back_in_range': {
      const updated = table.update(live!.id, { clearSince: decision.since, backInRangeAt: finding.observedAt, updatedAt: now });
      table.addEvent('alert.back_in_range', updated, now, 'vigil');
      return true;
    }
    case 'resolve': {
      const resolved = table.update(live!.id, { status: 'resolved', resolvedAt: now, resolvedBy: 'vigil', resolveNote: finding.message, updatedAt: now, clearSince: decision.since });
      table.addEvent('alert.resolved', resolved, now, 'vigil');
      return true;
    }
    default: {
      const unreachable: never = decision;
      return unreachable;
    }
  }
}

