import type { Finding } from '../evaluate/finding.js';
import { severityRank, type Rule, type Severity } from '../rules/schema.js';
import type { Alert, RenotifyReason } from '../types.js';

/**
 * What one finding does to the live alert of its patient, rule and subject: the alert state machine of
 * docs/alerts.md as one pure function, so that every transition can be tested on a fake clock.
 */
export type Decision =
  /** Nothing to change. */
  | { readonly kind: 'none' }
  /** No live alert: open one (it notifies, unless the finding is late). */
  | { readonly kind: 'open' }
  /** Record the finding on the live alert; nobody is notified. */
  | { readonly kind: 'repeat'; readonly severity: Severity }
  /** Record the finding and notify again: the alert needs a person again (status back to open). */
  | { readonly kind: 'renotify'; readonly reason: RenotifyReason; readonly severity: Severity }
  /** A reading inside the hysteresis band: the clear timer starts again. */
  | { readonly kind: 'band' }
  /** The first clear reading: the clear timer starts ("back in range since"). */
  | { readonly kind: 'clearing'; readonly since: number }
  /** A critical alert back in range for its hold time: it latches, waiting for a person. */
  | { readonly kind: 'back_in_range'; readonly since: number }
  /** Back in range for the hold time, and nothing latches: the alert resolves by itself. */
  | { readonly kind: 'resolve'; readonly since: number };

export interface DecisionContext {
  readonly rule: Rule;
  /** The finding came from readings that arrived late (a backlog): recorded, shown, never paged as news. */
  readonly late: boolean;
  /** The highest severity an active snooze silences, if a snooze is active. */
  readonly snoozedUpTo?: Severity | undefined;
  /**
   * A resolved alert of the same patient, rule and subject already covered this measurement time: a reading
   * evaluated again (recovered from the outbox after a restart) must not open a second alert for it.
   */
  readonly alreadyResolved?: boolean | undefined;
}

const MINUTE = 60_000;

/** Back in range for this long (measurement time) before an alert may resolve or latch. */
export function holdMs(rule: Rule): number {
  return ('resolveAfterMinutes' in rule ? (rule.resolveAfterMinutes as number) : 0) * MINUTE;
}

/** Discrete events (a fall) within this time of the previous one are the same event (a burst). */
function burstMs(rule: Rule): number {
  return rule.kind === 'event' ? rule.burstMinutes * MINUTE : 0;
}

/** How much further past its line a reading must be (score: distance relative to the line) to notify again. */
function renotifyStep(rule: Rule): number {
  return rule.kind === 'threshold' ? (rule.renotifyStep ?? Number.POSITIVE_INFINITY) : Number.POSITIVE_INFINITY;
}

/** Critical alerts latch (IEC 60601-1-8 high priority): only a person closes them, unless one already saw them. */
export function latches(alert: Alert): boolean {
  return alert.severity === 'critical' && alert.status !== 'acknowledged';
}

/** A snooze never silences a critical finding (a guideline critical limit) nor a tier above the one snoozed. */
export function silenced(severity: Severity, snoozedUpTo: Severity | undefined): boolean {
  return snoozedUpTo !== undefined && severity !== 'critical' && severityRank(severity) <= severityRank(snoozedUpTo);
}

export function decide(live: Alert | undefined, finding: Finding, ctx: DecisionContext): Decision {
  return finding.severity === null ? decideClear(live, finding, ctx) : decideAbnormal(live, finding, finding.severity, ctx);
}

function decideAbnormal(live: Alert | undefined, finding: Finding, severity: Severity, ctx: DecisionContext): Decision {
  const quiet = silenced(severity, ctx.snoozedUpTo);
  if (!live) return quiet || ctx.alreadyResolved ? { kind: 'none' } : { kind: 'open' };
  // A worse tier always reaches a person, however late or out of order it arrives: an alert acknowledged as a
  // warning must not become a critical that nobody has seen (and that would then resolve by itself).
  if (!quiet && severityRank(severity) > severityRank(live.severity)) return { kind: 'renotify', reason: 'worse_tier', severity };
  // A late reading, or one older than what the alert already knows, adds to its record and pages no one.
  const news = !ctx.late && !quiet && finding.observedAt >= live.lastObservedAt;
  if (!news) return { kind: 'repeat', severity };
  if (live.backInRangeAt !== null) return { kind: 'renotify', reason: 'recurred', severity };
  // A discrete event past the burst window is a new event (a second fall), whatever came before it.
  const newEvent = ctx.rule.kind === 'event' && finding.observedAt - live.lastObservedAt > burstMs(ctx.rule);
  if (newEvent) return { kind: 'renotify', reason: 'event', severity };
  // Opened from a backlog, it paged no one; a reading measured now says it is happening now.
  if (live.late) return { kind: 'renotify', reason: 'current', severity };
  if (ctx.rule.kind === 'event') return { kind: 'repeat', severity };
  if (severity === live.severity && finding.score >= live.worstScore + renotifyStep(ctx.rule)) {
    return { kind: 'renotify', reason: 'worse_value', severity };
  }
  return { kind: 'repeat', severity };
}

function decideClear(live: Alert | undefined, finding: Finding, ctx: DecisionContext): Decision {
  if (!live) return { kind: 'none' };
  // Judged on measurement time: a late reading from before the last abnormal one says nothing about now.
  if (finding.observedAt < live.lastObservedAt) return { kind: 'none' };
  if (finding.band) return live.clearSince !== null || live.backInRangeAt !== null ? { kind: 'band' } : { kind: 'none' };
  const since = live.clearSince ?? finding.observedAt;
  if (finding.observedAt - since < holdMs(ctx.rule)) return live.clearSince === null ? { kind: 'clearing', since } : { kind: 'none' };
  if (latches(live)) return live.backInRangeAt === null ? { kind: 'back_in_range', since } : { kind: 'none' };
  return { kind: 'resolve', since };
}
