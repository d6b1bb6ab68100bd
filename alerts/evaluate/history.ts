import { localDate, type LocalDate } from '../../domain/index.js';
import { matchesWhere, type ObservedReading } from './threshold.js';

/** What every trend evaluator does with a patient's history: group it into local days, and plain statistics. */

export function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function round(v: number, decimals = 1): number {
  return Math.round(v * 10 ** decimals) / 10 ** decimals;
}

/**
 * The readings measured up to `at` that match `where`, by the patient's local date, each day in time order.
 * Readings after `at` are left out: a rule judges the moment of measurement, also for a late backlog.
 */
export function readingsByLocalDay(
  history: readonly ObservedReading[],
  at: number,
  timeZone: string,
  where: Readonly<Record<string, string>> = {},
): Map<LocalDate, ObservedReading[]> {
  const days = new Map<LocalDate, ObservedReading[]>();
  const sorted = history.filter((r) => r.time <= at && matchesWhere(where, r.tags)).sort((a, b) => a.time - b.time);
  for (const r of sorted) {
    const date = localDate(r.time, timeZone);
    const day = days.get(date);
    if (day) day.push(r);
    else days.set(date, [r]);
  }
  return days;
}
