import { addDays, localDate, startOfLocalDay } from '../../domain/index.js';
import type { AdherenceBpRule } from '../rules/adherence-rule.js';
import type { Finding } from './finding.js';
import { mean, readingsByLocalDay, round } from './history.js';
import type { ObservedReading } from './threshold.js';

/** Where the history starts: the window before the recent one (two windows of local days, today included). */
export function adherenceBpHistoryFrom(rule: AdherenceBpRule, at: number, timeZone: string): number {
  return startOfLocalDay(addDays(localDate(at, timeZone), -(2 * rule.windowDays - 1)), timeZone);
}

/** Where the missed doses are counted from: the recent window's first local day. */
export function adherenceWindowFrom(rule: AdherenceBpRule, at: number, timeZone: string): number {
  return startOfLocalDay(addDays(localDate(at, timeZone), -(rule.windowDays - 1)), timeZone);
}

/**
 * Missed doses of the rule's class in the recent window (`missed`), and the rise of the home average: the mean
 * of daily means of `field` over the recent `windowDays` local days against the `windowDays` before. Fewer
 * missed doses than the line clears the alert whatever the BP does; with too few days of BP in either window
 * there is no finding (nothing is known of a rise).
 */
export function evaluateAdherenceBp(rule: AdherenceBpRule, missed: number, history: readonly ObservedReading[], at: number, timeZone: string): Finding | undefined {
  const base = { ruleId: rule.id, subject: '', observedAt: at };
  if (missed < rule.missedDoses) {
    return { ...base, severity: null, values: { missed }, message: `${rule.title}: ${missed} missed ${rule.medicationClass} doses in ${rule.windowDays} days`, score: 0 };
  }
  const recentFrom = localDate(adherenceWindowFrom(rule, at, timeZone), timeZone);
  const recent: number[] = [];
  const prior: number[] = [];
  for (const [date, readings] of readingsByLocalDay(history, at, timeZone, rule.where)) {
    const values = readings.map((r) => r.fields[rule.field]).filter((v): v is number => v !== undefined);
    if (values.length > 0) (date >= recentFrom ? recent : prior).push(mean(values));
  }
  if (recent.length < rule.minDays || prior.length < rule.minDays) return undefined;
  const rise = round(mean(recent) - mean(prior));
  const values = { missed, recent: round(mean(recent)), prior: round(mean(prior)), rise };
  const summary = `${missed} missed ${rule.medicationClass} doses in ${rule.windowDays} days; home ${rule.field} mean ${values.recent} mmHg, ${rise >= 0 ? '+' : ''}${rise} on the ${rule.windowDays} days before`;
  if (rise >= rule.riseMmHg) return { ...base, severity: rule.severity, values, message: `${rule.title}: ${summary}`, score: rise - rule.riseMmHg };
  if (rise >= rule.riseMmHg - rule.clearMarginMmHg) return { ...base, severity: null, band: true, values, message: `${rule.title}: ${summary}, within ${rule.clearMarginMmHg} mmHg of the line`, score: 0 };
  return { ...base, severity: null, values, message: `${rule.title}: ${summary}`, score: 0 };
}
