import { describe, expect, it } from 'vitest';
import { addDays, startOfLocalDay } from '../../domain/index.js';
import { PROGRAMME_RULE_SETS } from '../rules/catalogue.js';
import type { AdherenceBpRule } from '../rules/adherence-rule.js';
import type { Finding } from './finding.js';
import { evaluateAdherenceBp } from './adherence-bp.js';
import type { ObservedReading } from './threshold.js';

const HOUR = 3_600_000;
const TZ = 'Asia/Kolkata';
const TODAY = '2026-11-22';
const rule = PROGRAMME_RULE_SETS.hypertension.find((r) => r.id === 'adherence.antihypertensive_bp') as AdherenceBpRule;
const at = (date: string, hours: number) => startOfLocalDay(date, TZ) + hours * HOUR;
const NOW = at(TODAY, 21);

/** Morning and evening readings on the 7 days ending `endDate`, at this systolic. */
function week(systolic: number, endDate: string): ObservedReading[] {
  return Array.from({ length: 7 }, (_, i) => addDays(endDate, i - 6)).flatMap((date) => [7, 19].map((h) => ({ time: at(date, h), fields: { systolic, diastolic: 85 }, tags: {} })));
}
const verdict = (f: Finding | undefined) => (f === undefined ? 'none' : f.severity ?? (f.band ? 'band' : 'clear'));
const priorWeek = week(132, addDays(TODAY, -7));

describe('missed antihypertensive doses with a rising home BP (adherence.antihypertensive_bp)', () => {
  it.each<[string, number, ObservedReading[], string]>([
    ['3 missed doses and the weekly mean 8 mmHg higher', 3, [...priorWeek, ...week(140, TODAY)], 'warning'],
    ['3 missed doses and a flat BP', 3, [...priorWeek, ...week(133, TODAY)], 'clear'],
    ['2 missed doses and the weekly mean 8 mmHg higher', 2, [...priorWeek, ...week(140, TODAY)], 'clear'],
    ['3 missed doses, a rise of 4 mmHg: inside the 2 mmHg clear margin', 3, [...priorWeek, ...week(136, TODAY)], 'band'],
    ['3 missed doses and no week before to compare with', 3, week(150, TODAY), 'none'],
  ])('%s: %s', (_, missed, history, expected) => {
    expect(verdict(evaluateAdherenceBp(rule, missed, history, NOW, TZ))).toBe(expected);
  });

  it('says what it counted, on the local days of a half-hour-offset zone', () => {
    // 00:15 in Kolkata is 18:45 UTC the day before: on UTC days this 160 would count in the prior week.
    const firstRecentDay = addDays(TODAY, -6);
    const early = { time: at(firstRecentDay, 0.25), fields: { systolic: 160, diastolic: 85 }, tags: {} };
    const finding = evaluateAdherenceBp(rule, 4, [...priorWeek, early, ...week(140, TODAY)], NOW, TZ);
    // The first recent day's mean is (160 + 140 + 140) / 3: the recent mean is 141.0 (6 days at 140 and one at 146.7), the prior one stays 132.
    expect(finding).toMatchObject({ severity: 'warning', values: { missed: 4, recent: 141, prior: 132, rise: 9 } });
    expect(finding?.message).toContain('4 missed antihypertensive doses in 7 days');
  });
});
