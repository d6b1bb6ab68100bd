import { addDays, localDate, localMinuteOfDay, startOfLocalDay } from '../../domain/index.js';
import type { HomeBpRule } from '../rules/trend-rules.js';
import { describe, exceedance, tierHolds, unitOf } from './conditions.js';
import type { Finding } from './finding.js';
import { mean, readingsByLocalDay, round } from './history.js';
import type { ObservedReading } from './threshold.js';

/** AHA 2019 (Muntner et al.), ESH 2021: a morning session before noon, an evening session from noon, local time. */
const NOON = 12 * 60;

/**
 * Where the history for a home BP evaluation starts: the window, and as many local days again before it. Day 1
 * of monitoring is the first day with a reading in that history: a patient who skipped the day before the
 * window has not started monitoring again, while a week without readings starts a new monitoring period.
 */
export function homeBpHistoryFrom(rule: HomeBpRule, at: number, timeZone: string): number {
  return startOfLocalDay(addDays(localDate(at, timeZone), -(2 * rule.windowDays - 1)), timeZone);
}

/**
 * The home BP protocol: the readings of each session (the duplicates) are averaged, the first day of
 * monitoring is discarded, and the mean of the session means over the last `windowDays` local days (today
 * included) is compared with the line, once at least `minDays` days have a session.
 */
export function evaluateHomeBp(rule: HomeBpRule, history: readonly ObservedReading[], at: number, timeZone: string): Finding | undefined {
  const today = localDate(at, timeZone);
  const firstDay = addDays(today, -(rule.windowDays - 1));
  const days = readingsByLocalDay(history, at, timeZone, rule.where);
  const dayOne = days.keys().next().value;
  const fields = [...new Set(rule.conditions.map((c) => c.field))];
  const sessions: Record<string, number>[] = [];
  let dayCount = 0;
  let observedAt = 0;
  for (const [date, readings] of days) {
    // AHA 2019: the first day's readings run high (the patient is new to the cuff and the routine).
    if (date < firstDay || date === dayOne) continue;
    dayCount += 1;
    observedAt = readings.at(-1)!.time;
    const morning: ObservedReading[] = [];
    const evening: ObservedReading[] = [];
    for (const r of readings) (localMinuteOfDay(r.time, timeZone) < NOON ? morning : evening).push(r);
    for (const session of [morning, evening]) if (session.length > 0) sessions.push(sessionMean(session, fields));
  }
  // AHA 2019, ESH 2021: at least 3 days of readings (ideally 7) before the average means anything.
  if (dayCount < rule.minDays) return undefined;
  const means: Record<string, number> = {};
  for (const f of fields) {
    const values = sessions.map((s) => s[f]).filter((v): v is number => v !== undefined);
    if (values.length > 0) means[f] = round(mean(values));
  }
  const tier = { severity: rule.severity, match: rule.match, conditions: rule.conditions };
  const summary = `${dayCount} days, ${sessions.length} sessions`;
  const base = { ruleId: rule.id, subject: '', observedAt, values: { ...means, days: dayCount, sessions: sessions.length } };
  if (tierHolds(tier, means)) {
    return { ...base, severity: rule.severity, message: `${rule.title}: ${describe(tier, means, rule.readingType)} (${summary})`, score: exceedance(tier, means) };
  }
  if (tierHolds(tier, means, rule.clearMargin)) {
    return { ...base, severity: null, band: true, message: `${rule.title}: ${list(means)}, within ${rule.clearMargin} mmHg of the line (${summary})`, score: 0 };
  }
  return { ...base, severity: null, message: `${rule.title}: ${list(means)}, back in range (${summary})`, score: 0 };
}

function sessionMean(readings: readonly ObservedReading[], fields: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of fields) {
    const values = readings.map((r) => r.fields[f]).filter((v): v is number => v !== undefined);
    if (values.length > 0) out[f] = mean(values);
  }
  return out;
}

function list(means: Readonly<Record<string, number>>): string {
  return Object.entries(means)
    .map(([f, v]) => `${f} ${v}`)
    .join(', ');
}
