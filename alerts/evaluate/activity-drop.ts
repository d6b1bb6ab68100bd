import { addDays, localDate, startOfLocalDay } from '../../domain/index.js';
import type { AggregatePoint } from '../../ingest/index.js';
import type { DropRule } from '../rules/trend-rules.js';
import type { Finding } from './finding.js';
import { mean } from './history.js';

/**
 * Daily totals come from 15-minute buckets, each counted on the local day its start falls in: every zone in use
 * today is offset from UTC by a whole number of quarter hours (Asia/Kolkata +05:30, Asia/Kathmandu +05:45), so
 * a bucket never straddles local midnight. Day-long buckets would, everywhere but UTC.
 */
export const ACTIVITY_BUCKET_MS = 15 * 60_000;

export function dropHistoryFrom(rule: DropRule, at: number, timeZone: string): number {
  return startOfLocalDay(addDays(localDate(at, timeZone), -(rule.recentDays + rule.baselineDays)), timeZone);
}

/**
 * The daily mean of the last `recentDays` whole local days (today excluded: it is not over) against the daily
 * mean of the `baselineDays` before them. Days without any bucket are days the tracker was not worn: they count
 * neither way. Back to baseline only at `ratio + clearMargin`.
 */
export function evaluateDrop(rule: DropRule, buckets: readonly AggregatePoint[], at: number, timeZone: string): Finding | undefined {
  const today = localDate(at, timeZone);
  const dayCount = rule.baselineDays + rule.recentDays;
  const first = addDays(today, -dayCount);
  // starts[i] is the start of day i (0 = the first baseline day); starts[dayCount] is the start of today.
  const starts = Array.from({ length: dayCount + 1 }, (_, i) => startOfLocalDay(addDays(first, i), timeZone));
  const totals: (number | undefined)[] = new Array(dayCount).fill(undefined);
  for (const b of buckets) {
    const sum = b.fields[rule.field]?.sum;
    if (sum === undefined || b.time < starts[0]! || b.time >= starts[dayCount]!) continue;
    const day = dayIndex(starts, b.time);
    totals[day] = (totals[day] ?? 0) + sum;
  }
  const baseline = totals.slice(0, rule.baselineDays).filter((v): v is number => v !== undefined);
  const recent = totals.slice(rule.baselineDays).filter((v): v is number => v !== undefined);
  // Enough whole days on both sides: a few days without the tracker on are not a drop.
  if (baseline.length < rule.minBaselineDays || recent.length < Math.ceil(rule.recentDays / 2)) return undefined;
  const recentMean = mean(recent);
  const baselineMean = mean(baseline);
  if (baselineMean <= 0) return undefined;
  const ratio = recentMean / baselineMean;
  const percent = Math.round(ratio * 100);
  const base = {
    ruleId: rule.id,
    subject: '',
    observedAt: at,
    values: { recentDailyMean: Math.round(recentMean), baselineDailyMean: Math.round(baselineMean), percent, recentDays: recent.length, baselineDays: baseline.length },
  };
  const what = `${rule.recentDays}-day mean is ${percent} % of the ${rule.baselineDays}-day baseline`;
  if (ratio < rule.ratio) return { ...base, severity: rule.severity, message: `${rule.title}: ${what}`, score: rule.ratio - ratio };
  if (ratio < rule.ratio + rule.clearMargin) {
    return { ...base, severity: null, band: true, message: `${rule.title}: ${what}, not yet back to ${Math.round((rule.ratio + rule.clearMargin) * 100)} %`, score: 0 };
  }
  return { ...base, severity: null, message: `${rule.title}: ${what}, back to baseline`, score: 0 };
}

/** The last day whose start is at or before `t` (binary search: a few hundred buckets a day, 35 days). */
function dayIndex(starts: readonly number[], t: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (starts[mid]! <= t) lo = mid;
    else hi = mid;
  }
  return lo;
}
