import type { TimeBelowRule } from '../rules/trend-rules.js';
import type { Finding } from './finding.js';
import { unitOf } from './conditions.js';
import { round } from './history.js';
import { matchesWhere, type ObservedReading } from './threshold.js';

const HOUR = 3_600_000;
// The lines are decimal fractions computed in binary (0.04 - 0.01 is 0.030000000000000002): allow for that.
const EPSILON = 1e-6;

export function timeBelowHistoryFrom(rule: TimeBelowRule, at: number): number {
  return at - rule.windowHours * HOUR;
}

/**
 * The share of readings below a line over the rolling window ending at `at` (CGM time below range: a rolling
 * 24 h, not local days). Resolves only at `maxShare - clearMargin` or less, so a share hovering at the target
 * keeps one alert open.
 */
export function evaluateTimeBelow(rule: TimeBelowRule, history: readonly ObservedReading[], at: number): Finding | undefined {
  const values = history
    .filter((r) => r.time > at - rule.windowHours * HOUR && r.time <= at && matchesWhere(rule.where, r.tags))
    .map((r) => r.fields[rule.field])
    .filter((v): v is number => v !== undefined);
  if (values.length < rule.minReadings) return undefined;
  const share = values.filter((v) => v < rule.below).length / values.length;
  const percent = round(share * 100, 1);
  const base = { ruleId: rule.id, subject: '', observedAt: at, values: { share: percent, readings: values.length } };
  const what = `${percent} % of readings below ${rule.below}${unitOf(rule.readingType, rule.field)} over ${rule.windowHours} h`;
  if (share > rule.maxShare + EPSILON) {
    return { ...base, severity: rule.severity, message: `${rule.title}: ${what}`, score: share / Math.max(rule.maxShare, 0.001) - 1 };
  }
  if (share > rule.maxShare - rule.clearMargin + EPSILON) {
    return { ...base, severity: null, band: true, message: `${rule.title}: ${what}, not yet ${round(rule.clearMargin * 100, 1)} points under the target`, score: 0 };
  }
  return { ...base, severity: null, message: `${rule.title}: ${what}, within target`, score: 0 };
}
