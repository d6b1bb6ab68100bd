import { describe as describeConditions, exceedance, tierHolds } from './conditions.js';
import type { Finding } from './finding.js';
import { matchesWhere, type ObservedReading } from './threshold.js';
import type { AverageRule, ChangeRule, DropRule, TimeBelowRule } from '../rules/schema.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function round(v: number, d = 1): number {
  return Math.round(v * 10 ** d) / 10 ** d;
}

/** The mean of each field over the window ending at `at` (e.g. the 7-day home BP average). */
export function evaluateAverage(rule: AverageRule, history: readonly ObservedReading[], at: number): Finding | undefined {
  const window = history.filter((r) => r.time > at - rule.windowDays * DAY && r.time <= at && matchesWhere(rule.where, r.tags));
  if (window.length < rule.minReadings) return undefined;
  const means: Record<string, number> = {};
  for (const c of rule.conditions) {
    const values = window.map((r) => r.fields[c.field]).filter((v): v is number => v !== undefined);
    if (values.length > 0) means[c.field] = round(values.reduce((s, v) => s + v, 0) / values.length);
  }
  const tier = { severity: rule.severity, match: rule.match, conditions: rule.conditions };
  const base = { ruleId: rule.id, subject: '', observedAt: at, values: { ...means, readings: window.length } };
  if (tierHolds(tier, means)) {
    return { ...base, severity: rule.severity, message: `${rule.title}: ${rule.windowDays}-day mean ${describeConditions(tier, means)} (${window.length} readings)`, score: exceedance(tier, means) };
  }
  return { ...base, severity: null, message: `${rule.title}: average back in range`, score: 0 };
}

/** The latest value against the median of the patient's values about `hours` earlier, for each window. */
export function evaluateChange(rule: ChangeRule, history: readonly ObservedReading[], at: number): Finding | undefined {
  const latest = [...history].filter((r) => r.time <= at && r.fields[rule.field] !== undefined).sort((a, b) => b.time - a.time)[0];
  if (!latest) return undefined;
  const value = latest.fields[rule.field]!;
  let evaluated = false;
  let worst: { hours: number; rise: number; limit: number } | undefined;
  for (const w of rule.windows) {
    const around = history
      .filter((r) => Math.abs(r.time - (latest.time - w.hours * HOUR)) <= 12 * HOUR)
      .map((r) => r.fields[rule.field])
      .filter((v): v is number => v !== undefined);
    if (around.length === 0) continue;
    evaluated = true;
    const rise = round(value - median(around), 2);
    if (rise > w.rise && (!worst || rise / w.rise > worst.rise / worst.limit)) worst = { hours: w.hours, rise, limit: w.rise };
  }
  if (!evaluated) return undefined;
  const base = { ruleId: rule.id, subject: '', observedAt: latest.time, values: { [rule.field]: value } };
  if (worst) {
    const span = worst.hours % 24 === 0 ? `${worst.hours / 24} day${worst.hours === 24 ? '' : 's'}` : `${worst.hours} h`;
    return { ...base, values: { ...base.values, rise: worst.rise, hours: worst.hours }, severity: rule.severity, message: `${rule.title}: +${worst.rise} in ${span} (limit ${worst.limit})`, score: worst.rise / worst.limit - 1 };
  }
  return { ...base, severity: null, message: `${rule.title}: no gain over the limits`, score: 0 };
}

/** The share of readings below a line over the window ending at `at` (CGM time below range). */
export function evaluateTimeBelow(rule: TimeBelowRule, history: readonly ObservedReading[], at: number): Finding | undefined {
  const values = history
    .filter((r) => r.time > at - rule.windowHours * HOUR && r.time <= at && matchesWhere(rule.where, r.tags))
    .map((r) => r.fields[rule.field])
    .filter((v): v is number => v !== undefined);
  if (values.length < rule.minReadings) return undefined;
  const share = values.filter((v) => v < rule.below).length / values.length;
  const base = { ruleId: rule.id, subject: '', observedAt: at, values: { share: round(share * 100, 1), readings: values.length } };
  if (share > rule.maxShare) {
    return { ...base, severity: rule.severity, message: `${rule.title}: ${round(share * 100, 1)} % below ${rule.below} over ${rule.windowHours} h`, score: share / Math.max(rule.maxShare, 0.001) - 1 };
  }
  return { ...base, severity: null, message: `${rule.title}: within target`, score: 0 };
}

/** Daily totals (`days`: day start -> total) of the recent days against the baseline days before them. */
export function evaluateDrop(rule: DropRule, dailyTotals: ReadonlyMap<number, number>, at: number): Finding | undefined {
  const today = Math.floor(at / DAY) * DAY;
  const recentStart = today - rule.recentDays * DAY;
  const baselineStart = recentStart - rule.baselineDays * DAY;
  const recent: number[] = [];
  const baseline: number[] = [];
  for (const [day, total] of dailyTotals) {
    if (day >= recentStart && day < today) recent.push(total);
    else if (day >= baselineStart && day < recentStart) baseline.push(total);
  }
  // Whole days only, and enough of them: one day without the tracker on is not a drop.
  if (baseline.length < rule.minBaselineDays || recent.length < Math.ceil(rule.recentDays / 2)) return undefined;
  const recentMean = recent.reduce((s, v) => s + v, 0) / recent.length;
  const baselineMean = baseline.reduce((s, v) => s + v, 0) / baseline.length;
  if (baselineMean <= 0) return undefined;
  const ratio = recentMean / baselineMean;
  const base = { ruleId: rule.id, subject: '', observedAt: at, values: { recentDailyMean: Math.round(recentMean), baselineDailyMean: Math.round(baselineMean) } };
  if (ratio < rule.ratio) {
    return { ...base, severity: rule.severity, message: `${rule.title}: ${rule.recentDays}-day mean is ${Math.round(ratio * 100)} % of the ${rule.baselineDays}-day baseline`, score: rule.ratio - ratio };
  }
  return { ...base, severity: null, message: `${rule.title}: back to baseline`, score: 0 };
}
