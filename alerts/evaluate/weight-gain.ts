import { addDays, localDate, localMinuteOfDay, startOfLocalDay, type LocalDate } from '../../domain/index.js';
import type { WeightGainRule } from '../rules/trend-rules.js';
import type { Finding } from './finding.js';
import { median, readingsByLocalDay, round } from './history.js';
import type { ObservedReading } from './threshold.js';

/**
 * HFSA/AHA: weigh each morning, after voiding and before breakfast. A weight from 03:00 to 11:59 local time is
 * a morning weight (from 03:00 so that a weight taken after midnight, before bed, is not one).
 */
export const MORNING_FROM = 3 * 60;
export const MORNING_TO = 12 * 60;

function longestWindow(rule: WeightGainRule): { days: number; riseKg: number } {
  return rule.windows.reduce((a, b) => (b.days > a.days ? b : a));
}

/** Where the history for a weight evaluation starts: the baseline days, then the longest window, then today. */
export function weightGainHistoryFrom(rule: WeightGainRule, at: number, timeZone: string): number {
  return startOfLocalDay(addDays(localDate(at, timeZone), -(longestWindow(rule).days + rule.baselineDays)), timeZone);
}

/** The first morning weight of each local day, in kg; days without one are absent. */
export function morningWeights(history: readonly ObservedReading[], at: number, timeZone: string): Map<LocalDate, ObservedReading> {
  const out = new Map<LocalDate, ObservedReading>();
  for (const [date, readings] of readingsByLocalDay(history, at, timeZone)) {
    const first = readings.find((r) => {
      const minute = localMinuteOfDay(r.time, timeZone);
      return minute >= MORNING_FROM && minute < MORNING_TO && r.fields.value !== undefined;
    });
    if (first) out.set(date, first);
  }
  return out;
}

interface Gain {
  readonly days: number | undefined;
  readonly rise: number;
  readonly limit: number;
}

/**
 * Today's morning weight against the lowest morning weight of the previous days of each window (and against the
 * dry weight when the care team set one). While no window holds, the weight must also come back within
 * `clearMarginKg` of the baseline before the alert may resolve: a gain that levels off is still fluid on board.
 */
export function evaluateWeightGain(rule: WeightGainRule, history: readonly ObservedReading[], at: number, timeZone: string): Finding | undefined {
  const today = localDate(at, timeZone);
  const mornings = morningWeights(history, at, timeZone);
  const todays = mornings.get(today);
  if (!todays) return undefined;
  const weight = todays.fields.value!;
  const lowest = (fromDaysBack: number, toDaysBack: number) => {
    const values = weightsBetween(mornings, today, fromDaysBack, toDaysBack);
    return values.length > 0 ? Math.min(...values) : undefined;
  };
  const longest = longestWindow(rule);
  const gains: Gain[] = [];
  for (const w of rule.windows) {
    const low = lowest(1, w.days);
    if (low !== undefined) gains.push({ days: w.days, rise: round(weight - low, 2), limit: w.riseKg });
  }
  if (rule.dryWeightKg !== undefined) gains.push({ days: undefined, rise: round(weight - rule.dryWeightKg, 2), limit: longest.riseKg });
  if (gains.length === 0) return undefined;

  const baseline = weightBaseline(rule, mornings, today).kg!;
  const worst = gains.filter((g) => g.rise > g.limit).sort((a, b) => b.rise / b.limit - a.rise / a.limit)[0];
  const base = { ruleId: rule.id, subject: '', observedAt: todays.time, values: { weight, baseline } };
  if (worst) {
    const over = worst.days === undefined ? 'the dry weight' : `${worst.days} day${worst.days === 1 ? '' : 's'}`;
    return {
      ...base,
      values: { ...base.values, rise: worst.rise, limit: worst.limit, ...(worst.days === undefined ? {} : { days: worst.days }) },
      severity: rule.severity,
      message: `${rule.title}: +${worst.rise} kg over ${over} (limit ${worst.limit} kg)`,
      score: worst.rise / worst.limit - 1,
    };
  }
  const aboveBaseline = round(weight - baseline, 2);
  if (aboveBaseline > rule.clearMarginKg) {
    return { ...base, severity: null, band: true, message: `${rule.title}: no new gain, still +${aboveBaseline} kg over the baseline ${baseline} kg`, score: 0 };
  }
  return { ...base, severity: null, message: `${rule.title}: back within ${rule.clearMarginKg} kg of the baseline ${baseline} kg`, score: 0 };
}

export type WeightBaselineSource = 'dry_weight' | 'median' | 'lowest_in_window' | 'none';

/**
 * The weight a gain is judged against on `today`: the care team's dry weight; else the median morning weight of
 * the `baselineDays` before the longest window; else (a new patient) the lowest morning weight of that window.
 */
export function weightBaseline(rule: WeightGainRule, mornings: ReadonlyMap<LocalDate, ObservedReading>, today: LocalDate): { kg: number | null; source: WeightBaselineSource } {
  if (rule.dryWeightKg !== undefined) return { kg: rule.dryWeightKg, source: 'dry_weight' };
  const longest = longestWindow(rule);
  const before = weightsBetween(mornings, today, longest.days + 1, longest.days + rule.baselineDays);
  if (before.length > 0) return { kg: round(median(before), 2), source: 'median' };
  const window = weightsBetween(mornings, today, 1, longest.days);
  return window.length > 0 ? { kg: round(Math.min(...window), 2), source: 'lowest_in_window' } : { kg: null, source: 'none' };
}

/** The morning weights from `fromDaysBack` to `toDaysBack` local days before today. */
function weightsBetween(mornings: ReadonlyMap<LocalDate, ObservedReading>, today: LocalDate, fromDaysBack: number, toDaysBack: number): number[] {
  const out: number[] = [];
  for (let d = fromDaysBack; d <= toDaysBack; d++) {
    const w = mornings.get(addDays(today, -d))?.fields.value;
    if (w !== undefined) out.push(w);
  }
  return out;
}
