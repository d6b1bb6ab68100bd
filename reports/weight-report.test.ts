import { describe, expect, it } from 'vitest';
import { addDays, startOfLocalDay } from '../domain/index.js';
import type { SqliteStore } from '../ingest/index.js';
import { reading } from '../test/support/readings.js';
import { useTempSqliteStore } from '../test/support/temp-store.js';
import { weightReport, weightRuleFor } from './weight-report.js';

const HOUR = 3_600_000;
const TZ = 'America/New_York';
const at = (date: string, hours: number) => startOfLocalDay(date, TZ) + hours * HOUR;
const NOW = at('2026-11-22', 20);

let store: SqliteStore;
useTempSqliteStore(async (opened) => {
  store = opened;
  const kg = (time: number, value: number) => reading({ patientId: 'p-hf', type: 'weight', time, fields: { value }, msgId: `w-${time}` });
  const readings = [];
  // 1-15 Nov: 80.0 kg every morning at 07:00 (the baseline weeks).
  for (let date = '2026-11-01'; date <= '2026-11-15'; date = addDays(date, 1)) readings.push(kg(at(date, 7), 80));
  readings.push(
    kg(at('2026-11-16', 7), 80.2),
    kg(at('2026-11-17', 7), 80.4),
    kg(at('2026-11-17', 19), 82), // an evening weight: not a morning weight
    // 18 Nov: none
    kg(at('2026-11-19', 7), 81.5),
    kg(at('2026-11-20', 7), 82.5),
    kg(at('2026-11-21', 2), 79), // 02:00, before the morning starts at 03:00
    kg(at('2026-11-21', 7), 82.6),
    kg(at('2026-11-22', 7), 81),
  );
  await store.write(readings);
});

describe('heart-failure weight report (HFSA/AHA, ESC 2021), worked by hand', () => {
  it("marks the mornings past the weight-gain rule's windows against the median baseline", async () => {
    // Windows: > 0.9 kg over the lowest of the previous 1 day, > 2 kg of 3 days, > 2.3 kg of 7 days.
    // Baseline: the median morning weight of the 14 days before the last 7 (8-21 days back): 80.0 every day.
    // 19 Nov 81.5: 18th has none; 3 days (16-18): 81.5 - 80.2 = 1.3; 7 days (12-18): 81.5 - 80 = 1.5: no alert.
    // 20 Nov 82.5: 1 day: 82.5 - 81.5 = 1.0 > 0.9 (1.0 / 0.9 = 1.11); 3 days: 82.5 - 80.4 = 2.1 > 2 (1.05);
    //   7 days: 82.5 - 80 = 2.5 > 2.3 (1.09): the worst is the 1-day window, from 19 Nov.
    // 21 Nov 82.6 (the 79 at 02:00 is not a morning weight): 1 day +0.1, 3 days (18-20) 82.6 - 81.5 = 1.1,
    //   7 days (14-20) 82.6 - 80 = 2.6 > 2.3: the 7-day window, from 14 Nov.
    // 22 Nov 81.0: 7 days (15-21): +1.0: no alert; 1.0 above the baseline 80.
    const r = await weightReport(store, { id: 'p-hf', timeZone: TZ }, 7, NOW);
    expect(r.daily.map((d) => [d.date, d.kg])).toEqual([
      ['2026-11-16', 80.2],
      ['2026-11-17', 80.4],
      ['2026-11-18', null],
      ['2026-11-19', 81.5],
      ['2026-11-20', 82.5],
      ['2026-11-21', 82.6],
      ['2026-11-22', 81],
    ]);
    expect(r.daily.map((d) => d.alert)).toEqual([
      null,
      null,
      null,
      null,
      { windowDays: 1, windowFrom: '2026-11-19', riseKg: 1, limitKg: 0.9 },
      { windowDays: 7, windowFrom: '2026-11-14', riseKg: 2.6, limitKg: 2.3 },
      null,
    ]);
    expect(r.daily.map((d) => d.aboveBaselineKg)).toEqual([0.2, 0.4, null, 1.5, 2.5, 2.6, 1]);
    expect(r.baseline).toMatchObject({ kg: 80, source: 'median' });
    expect(r.dryWeightKg).toBeNull();
    expect([r.weighedDays, r.alertDays]).toEqual([6, 2]);
    expect(r.latest).toEqual({ date: '2026-11-22', kg: 81, aboveBaselineKg: 1 });
    expect(r.morning).toEqual({ fromMinute: 180, toMinute: 720 });
    expect(r.from).toBe(at('2026-11-16', 0));
  });

  it("judges against the care team's dry weight (the patient's weight.gain override): more than 2.3 kg above 78", async () => {
    // 16 Nov 80.2 - 78 = 2.2: not past 2.3. 17 Nov 80.4: +2.4 (2.4 / 2.3 = 1.04, the worst). 19 Nov: +3.5.
    // 20 Nov: +4.5 (1.96) beats the 1-day +1.0 (1.11). 21 Nov: +4.6. 22 Nov: +3.0.
    const rule = weightRuleFor([{ ruleId: 'weight.gain', override: { dryWeightKg: 78 } }]);
    const r = await weightReport(store, { id: 'p-hf', timeZone: TZ }, 7, NOW, rule);
    expect(r.dryWeightKg).toBe(78);
    expect(r.baseline).toMatchObject({ kg: 78, source: 'dry_weight' });
    expect(r.daily.map((d) => d.alert?.riseKg ?? null)).toEqual([null, 2.4, null, 3.5, 4.5, 4.6, 3]);
    expect(r.daily[1]!.alert).toEqual({ windowDays: null, windowFrom: '2026-11-17', riseKg: 2.4, limitKg: 2.3 });
    expect(r.alertDays).toBe(5);
  });

  it('reports a patient without weights as such, and ignores an override the rule refuses', async () => {
    const rule = weightRuleFor([{ ruleId: 'weight.gain', override: { dryWeightKg: 0 } }]);
    expect(rule.dryWeightKg).toBeUndefined();
    const r = await weightReport(store, { id: 'p-none', timeZone: TZ }, 7, NOW, rule);
    expect(r.daily).toHaveLength(7);
    expect(r.daily.every((d) => d.kg === null && d.alert === null)).toBe(true);
    expect(r.baseline.source).toBe('none');
    expect([r.weighedDays, r.alertDays, r.latest]).toEqual([0, 0, null]);
  });
});
