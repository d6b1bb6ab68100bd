import { describe, expect, it } from 'vitest';
import type { SqliteStore } from '../ingest/index.js';
import { reading } from '../test/support/readings.js';
import { useTempSqliteStore } from '../test/support/temp-store.js';
import { homeBpCategory, homeBpLine, homeBpReport, homeBpRuleFor } from './home-bp-report.js';

let store: SqliteStore;
useTempSqliteStore((opened) => void (store = opened));

const bp = (patientId: string, iso: string, systolic: number, diastolic: number) =>
  reading({ patientId, time: Date.parse(iso), fields: { systolic, diastolic, pulse: 70 }, msgId: iso });

describe('home BP report (ESH 2021 protocol), worked by hand', () => {
  it('discards day 1 and averages the morning and evening sessions of the other 6 days', async () => {
    // Europe/Paris (UTC+1 in November). Day 1, 16 Nov: 170/105 and 168/104 in the morning, discarded.
    // 17-22 Nov, each day: morning 07:00 140/90 and 07:05 136/86 (session 138/88), evening 19:00 130/80 and
    // 19:05 126/78 (session 128/79). Mean of the 12 session means: (138 + 128) / 2 = 133 systolic,
    // (88 + 79) / 2 = 83.5 diastolic: below 135/85, at or above 130/80 -> high_normal.
    // Readings at or above 135/85: day 1's two and 2 a day after = 14 of 26 = 53.8 %.
    // The week's mean of all 26 readings: (338 + 6 x 532) / 26 = 3530 / 26 = 135.8; (209 + 6 x 334) / 26 = 85.1.
    const readings = [bp('p-bp', '2026-11-16T06:00:00Z', 170, 105), bp('p-bp', '2026-11-16T06:05:00Z', 168, 104)];
    for (let day = 17; day <= 22; day += 1) {
      readings.push(
        bp('p-bp', `2026-11-${day}T06:00:00Z`, 140, 90),
        bp('p-bp', `2026-11-${day}T06:05:00Z`, 136, 86),
        bp('p-bp', `2026-11-${day}T18:00:00Z`, 130, 80),
        bp('p-bp', `2026-11-${day}T18:05:00Z`, 126, 78),
      );
    }
    await store.write(readings);
    const r = await homeBpReport(store, { id: 'p-bp', timeZone: 'Europe/Paris' }, 7, Date.parse('2026-11-22T19:00:00Z'));
    expect(r.protocol).toEqual({ days: 6, sessions: 12, systolic: 133, diastolic: 83.5, enoughDays: true, discardedDay: '2026-11-16' });
    expect(r.category).toBe('high_normal');
    expect(r.readings).toBe(26);
    expect(r.aboveTarget).toEqual({ count: 14, percent: 53.8, systolic: 135, diastolic: 85 });
    expect(r.weeks).toEqual([{ from: Date.parse('2026-11-15T23:00:00Z'), readings: 26, systolic: 135.8, diastolic: 85.1 }]);
  });

  it('gives no category before 3 days are counted after day 1', async () => {
    await store.write([bp('p-new', '2026-11-21T06:00:00Z', 150, 95), bp('p-new', '2026-11-22T06:00:00Z', 150, 95)]);
    const r = await homeBpReport(store, { id: 'p-new', timeZone: 'UTC' }, 7, Date.parse('2026-11-22T19:00:00Z'));
    expect(r.protocol.days).toBe(1);
    expect(r.protocol.enoughDays).toBe(false);
    expect(r.category).toBe('unknown');
  });

  it('takes its line from the bp.home_average rule and splits the weeks of a longer period', async () => {
    expect(homeBpLine()).toEqual({ systolic: 135, diastolic: 85 });
    expect(homeBpCategory(135, 70, true).category).toBe('hypertension');
    expect(homeBpCategory(120, 85, true).category).toBe('hypertension');
    expect(homeBpCategory(129, 79, true).category).toBe('below');
    const r = await homeBpReport(store, { id: 'p-none', timeZone: 'UTC' }, 28, Date.parse('2026-11-22T19:00:00Z'));
    expect(r.weeks.map((w) => new Date(w.from).toISOString().slice(0, 10))).toEqual(['2026-10-26', '2026-11-02', '2026-11-09', '2026-11-16']);
    expect(r.aboveTarget.percent).toBeNull();
  });

  it("measures against the patient's own line: an override of 130/80 makes the 133/83.5 average home hypertension", async () => {
    // The same six days as the first case (p-bp): session means 138/88 and 128/79, average 133/83.5. Against a
    // care team's 130/80 line (margin 5 -> 125/75) that is at or above the line. Readings at or above 130/80:
    // day 1's two, and each day's 140/90, 136/86 and 130/80 (126/78 is below): 2 + 6 x 3 = 20 of 26 = 76.9 %.
    const rule = homeBpRuleFor([{ ruleId: 'bp.home_average', override: { conditions: [{ field: 'systolic', op: '>=', value: 130 }, { field: 'diastolic', op: '>=', value: 80 }] } }]);
    expect(homeBpLine(rule)).toEqual({ systolic: 130, diastolic: 80 });
    const r = await homeBpReport(store, { id: 'p-bp', timeZone: 'Europe/Paris' }, 7, Date.parse('2026-11-22T19:00:00Z'), rule);
    expect(r.category).toBe('hypertension');
    expect(r.categoryLabel).toContain('130/80');
    expect(r.aboveTarget).toEqual({ count: 20, percent: 76.9, systolic: 130, diastolic: 80 });
  });

  it('keeps the default line when the stored override is one the rule schema refuses, and for other rules', () => {
    expect(homeBpLine(homeBpRuleFor([{ ruleId: 'bp.home_average', override: { conditions: [] } }]))).toEqual({ systolic: 135, diastolic: 85 });
    expect(homeBpLine(homeBpRuleFor([{ ruleId: 'bp.crisis', override: { enabled: true } }]))).toEqual({ systolic: 135, diastolic: 85 });
    // A line the report cannot state as "at or above S/D" (systolic only) keeps the default.
    expect(homeBpLine(homeBpRuleFor([{ ruleId: 'bp.home_average', override: { conditions: [{ field: 'systolic', op: '>=', value: 125 }] } }]))).toEqual({ systolic: 135, diastolic: 85 });
    // A disabled alert keeps its line for the report.
    const both = [{ field: 'systolic', op: '>=', value: 125 }, { field: 'diastolic', op: '>=', value: 75 }];
    expect(homeBpLine(homeBpRuleFor([{ ruleId: 'bp.home_average', override: { enabled: false, conditions: both } }]))).toEqual({ systolic: 125, diastolic: 75 });
  });
});
