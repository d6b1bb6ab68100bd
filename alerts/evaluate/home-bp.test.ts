import { describe, expect, it } from 'vitest';
import { addDays, startOfLocalDay } from '../../domain/index.js';
import { PROGRAMME_RULE_SETS } from '../rules/catalogue.js';
import type { HomeBpRule } from '../rules/trend-rules.js';
import type { Finding } from './finding.js';
import { evaluateHomeBp } from './home-bp.js';
import type { ObservedReading } from './threshold.js';

const HOUR = 3_600_000;
const TZ = 'Europe/London';
const TODAY = '2026-11-22';
const rule = PROGRAMME_RULE_SETS.hypertension.find((r) => r.id === 'bp.home_average') as HomeBpRule;

/** Hours after local midnight of a date (the wall-clock hour on days without a clock change). */
const at = (date: string, hours: number, tz = TZ) => startOfLocalDay(date, tz) + hours * HOUR;
const bp = (time: number, systolic: number, diastolic: number): ObservedReading => ({ time, fields: { systolic, diastolic }, tags: {} });

/** Duplicate readings morning (07:00, 07:02) and evening (19:00, 19:02) on the `n` days ending today. */
function days(n: number, systolic: number, diastolic: number, endDate = TODAY): ObservedReading[] {
  return Array.from({ length: n }, (_, i) => addDays(endDate, i - n + 1)).flatMap((date) =>
    [7, 7 + 2 / 60, 19, 19 + 2 / 60].map((h) => bp(at(date, h), systolic, diastolic)),
  );
}

const verdict = (f: Finding | undefined) => (f === undefined ? 'none' : f.severity ?? (f.band ? 'band' : 'clear'));
const EVENING = at(TODAY, 20);

describe('home BP protocol (AHA 2019, ESH 2021)', () => {
  it.each<[string, string, ObservedReading[]]>([
    ['twelve readings within twelve minutes on day 1', 'none', Array.from({ length: 12 }, (_, i) => bp(at(TODAY, 7 + i / 60), 160, 100))],
    ['day 1 and only two more days', 'none', days(3, 150, 95)],
    ['day 1 and three more days at 135/80', 'warning', days(4, 135, 80)],
    ['a week at 134/84: inside the 5 mmHg clear margin', 'band', days(8, 134, 84)],
    ['a week at 130/75: systolic not yet below 130', 'band', days(8, 130, 75)],
    ['a week at 129/79', 'clear', days(8, 129, 79)],
    ['a week at 120/85: diastolic alone', 'warning', days(8, 120, 85)],
    // Day 1 at 180/110 would lift the mean to 135; discarded, three days at 120/75 are clear.
    ['day 1 is discarded', 'clear', [...days(1, 180, 110, addDays(TODAY, -3)), ...days(3, 120, 75)]],
    ['readings before the window do not count', 'clear', [...days(7, 160, 100, addDays(TODAY, -8)), ...days(4, 120, 75)]],
    // The window's first day is not day 1 when the patient measured the day before: its 200/120 counts.
    ['the day before the window has a reading', 'band', [bp(at(addDays(TODAY, -7), 7), 120, 75), ...days(1, 200, 120, addDays(TODAY, -6)), ...days(6, 120, 70)]],
    ['without it, the window starts with day 1', 'clear', [...days(1, 200, 120, addDays(TODAY, -6)), ...days(6, 120, 70)]],
    // A session's duplicates are averaged first: sessions 140 and 128 average 134 (the readings 137).
    ['sessions, not readings, are averaged', 'band', [...days(1, 120, 70, addDays(TODAY, -4)), ...[-3, -2, -1].flatMap((d) => [7, 7.05, 7.1].map((h) => bp(at(addDays(TODAY, d), h), 140, 75)).concat(bp(at(addDays(TODAY, d), 19), 128, 75)))]],
    ['readings after the evaluation time do not count', 'clear', [...days(8, 120, 70), bp(at(TODAY, 21), 220, 130)]],
  ])('%s -> %s', (_, expected, history) => {
    expect(verdict(evaluateHomeBp(rule, history, EVENING, TZ))).toBe(expected);
  });

  it('reports the mean, days and sessions, at the time of the last reading', () => {
    const f = evaluateHomeBp(rule, days(8, 136, 82), EVENING, TZ);
    expect(f).toMatchObject({ severity: 'warning', observedAt: at(TODAY, 19 + 2 / 60), values: { systolic: 136, diastolic: 82, days: 7, sessions: 14 } });
    expect(f?.message).toMatch(/systolic 136 >= 135 mmHg \(7 days, 14 sessions\)/);
  });

  it('splits sessions at local noon and days at local midnight across the October clock change (Europe/London)', () => {
    const history = [
      bp(Date.parse('2026-10-20T07:00:00+01:00'), 120, 75), // day 1, before the window
      bp(Date.parse('2026-10-24T06:00:00Z'), 110, 75), // 07:00 BST: morning
      bp(Date.parse('2026-10-24T11:30:00Z'), 150, 75), // 12:30 BST: evening (11:30 in UTC)
      bp(Date.parse('2026-10-24T23:30:00Z'), 140, 75), // 00:30 BST on the 25th: its morning
      bp(Date.parse('2026-10-25T11:30:00Z'), 130, 75), // 11:30 GMT: still morning, 12.5 h after midnight
      bp(Date.parse('2026-10-26T08:00:00Z'), 125, 75),
    ];
    // Sessions 110, 150, (140 + 130) / 2 and 125 on 3 days: 130, inside the clear margin.
    expect(evaluateHomeBp(rule, history, Date.parse('2026-10-27T20:00:00Z'), TZ)).toMatchObject({
      severity: null,
      band: true,
      values: { systolic: 130, diastolic: 75, days: 3, sessions: 4 },
    });
  });

  it('opens at most one alert while the mean hovers at 135 (warning, then band, never clear)', () => {
    // Two sessions a day for two weeks, one reading each, evaluated after every reading.
    const readings: ObservedReading[] = [];
    const seen: number[] = [];
    let open = false;
    let opened = 0;
    const verdicts = new Set<string>();
    for (let d = 13; d >= 0; d--) {
      for (const h of [7, 19]) {
        const n = readings.length;
        readings.push(bp(at(addDays(TODAY, -d), h), 135 + (n % 3 === 0 ? 2.4 : -1.2) + (n % 5 === 0 ? -0.6 : 0), 80));
        const f = evaluateHomeBp(rule, readings, readings.at(-1)!.time, TZ);
        if (!f) continue;
        seen.push(f.values.systolic!);
        verdicts.add(verdict(f));
        if (f.severity !== null && !open) opened += 1;
        if (f.severity !== null) open = true;
        else if (!f.band) open = false;
      }
    }
    expect(Math.min(...seen)).toBeGreaterThanOrEqual(134.6);
    expect(Math.max(...seen)).toBeLessThanOrEqual(135.4);
    expect(verdicts).toEqual(new Set(['warning', 'band']));
    expect(opened).toBe(1);
  });
});
