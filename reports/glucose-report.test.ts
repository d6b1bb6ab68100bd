import { describe, expect, it } from 'vitest';
import type { SqliteStore } from '../ingest/index.js';
import { reading } from '../test/support/readings.js';
import { useTempSqliteStore } from '../test/support/temp-store.js';
import { ambulatoryGlucoseProfile } from './agp.js';
import { glucoseReport } from './glucose-report.js';
import { cgmWear, sensorIntervalMinutes } from './wear.js';

const MIN = 60_000;
const DAY = 86_400_000;
const NOW = Date.parse('2026-11-22T12:00:00Z');

let store: SqliteStore;
useTempSqliteStore((opened) => void (store = opened));

const glucose = (patientId: string, time: number, value: number, source: 'cgm' | 'meter' = 'cgm') =>
  reading({ patientId, type: 'glucose', time, fields: { value }, tags: { source }, msgId: `${source}-${time}` });

describe('glucose report (Battelino 2019, Bergenstal 2018), worked by hand', () => {
  it('computes time in ranges, mean, SD, GMI and CV of a 20-reading CGM trace against the consensus targets', async () => {
    // 50 (< 54), 60 (54-69), 14 x 100 (70-180), 3 x 200 (181-250), 300 (> 250), 5 minutes apart:
    //   TBR < 54 = 1/20 = 5 %, TBR < 70 = 2/20 = 10 %, TIR = 14/20 = 70 %, TAR > 180 = 4/20 = 20 %, > 250 = 5 %.
    //   mean = (50 + 60 + 1400 + 600 + 300) / 20 = 2410 / 20 = 120.5 mg/dL
    //   squared deviations: 70.5^2 + 60.5^2 + 14 x 20.5^2 + 3 x 79.5^2 + 179.5^2
    //     = 4970.25 + 3660.25 + 5883.5 + 18960.75 + 32220.25 = 65695; SD = sqrt(65695 / 19) = 58.80
    //   CV = 58.80 / 120.5 = 48.8 %;  GMI = 3.31 + 0.02392 x 120.5 = 6.19 %
    // A meter reading of 400 in the same hour stays out of the CGM report.
    const values = [50, 60, ...Array<number>(14).fill(100), 200, 200, 200, 300];
    const start = NOW - 2 * 3_600_000;
    await store.write([...values.map((v, i) => glucose('p-trace', start + i * 5 * MIN, v)), glucose('p-trace', start + 2 * MIN, 400, 'meter')]);
    const r = await glucoseReport(store, { id: 'p-trace', timeZone: 'UTC' }, 14, NOW);
    expect(r.source).toBe('cgm');
    expect(r.readings).toBe(20);
    expect(r.ranges.map((x) => [x.id, x.count, x.percent])).toEqual([
      ['very_low', 1, 5],
      ['low', 1, 5],
      ['in_range', 14, 70],
      ['high', 3, 15],
      ['very_high', 1, 5],
    ]);
    expect(r.meanMgdl).toBe(120.5);
    expect(r.sdMgdl).toBe(58.8);
    expect(r.gmiPercent).toBe(6.2);
    const target = (id: string) => r.targets.find((t) => t.id === id)!;
    // "> 70 %": exactly 70 does not meet it.
    expect([target('tir').value, target('tir').met]).toEqual([70, false]);
    expect([target('tbr_70').value, target('tbr_70').met]).toEqual([10, false]);
    expect([target('tbr_54').value, target('tbr_54').met]).toEqual([5, false]);
    expect([target('tar_180').value, target('tar_180').met]).toEqual([20, true]);
    expect([target('tar_250').value, target('tar_250').met]).toEqual([5, false]);
    expect([target('cv').value, target('cv').met]).toEqual([48.8, false]);
    // 20 readings of the 4032 a 5-minute sensor sends in 14 days.
    expect(r.wear).toEqual({ percent: 0.5, intervalMinutes: 5, expected: 4032 });
    expect(target('wear').met).toBe(false);
  });

  it('gives a meter-only patient the same ranges over the readings, without wear, GMI or profile', async () => {
    // 50, 100, 150, 300: one of four below 54 (25 %), two in range (50 %), one above 250 (25 %); mean 150.
    await store.write([50, 100, 150, 300].map((v, i) => glucose('p-meter', NOW - (i + 1) * DAY, v, 'meter')));
    const r = await glucoseReport(store, { id: 'p-meter', timeZone: 'Europe/Paris' }, 14, NOW);
    expect(r.source).toBe('meter');
    expect(r.ranges.map((x) => x.percent)).toEqual([25, 0, 50, 0, 25]);
    expect(r.meanMgdl).toBe(150);
    expect(r.gmiPercent).toBeNull();
    expect(r.wear).toBeNull();
    expect(r.agp).toBeNull();
    expect(r.targets.map((t) => t.id)).not.toContain('wear');
  });

  it('reports no readings as none, with no figures and no verdicts', async () => {
    const r = await glucoseReport(store, { id: 'p-none', timeZone: 'UTC' }, 14, NOW);
    expect(r.source).toBe('none');
    expect(r.ranges.every((x) => x.percent === null)).toBe(true);
    expect(r.targets.every((t) => t.met === null)).toBe(true);
  });

  it('counts wear over a day with a 6-hour gap: 216 of 288 five-minute readings = 75 %', async () => {
    const from = NOW + 1 - DAY;
    const readings = [];
    for (let k = 72; k < 288; k += 1) readings.push(glucose('p-wear', from + k * 5 * MIN, 120));
    await store.write(readings);
    const r = await glucoseReport(store, { id: 'p-wear', timeZone: 'UTC' }, 1, NOW);
    expect(r.wear).toEqual({ percent: 75, intervalMinutes: 5, expected: 288 });
    expect(r.targets.find((t) => t.id === 'wear')!.met).toBe(true);
  });
});

describe('CGM wear', () => {
  it('takes the sensor interval from the median gap, so a gap does not lengthen it', () => {
    expect(sensorIntervalMinutes([0, MIN, 2 * MIN, 3 * MIN, 300 * MIN])).toBe(1);
    expect(sensorIntervalMinutes([0, 15 * MIN, 30 * MIN])).toBe(15);
    expect(sensorIntervalMinutes([0])).toBe(5);
    // A 1-minute sensor over a day expects 1440; 720 readings are half.
    expect(cgmWear(720, DAY, 1)).toEqual({ percent: 50, expected: 1440 });
  });
});

describe('ambulatory glucose profile', () => {
  it('lays readings over the local day across a clock change (Europe/London, 25 Oct 2026)', () => {
    // 07:30 local each day: 06:30Z on the 24th (BST, UTC+1), 07:30Z on the 25th and 26th (GMT, after the
    // clocks went back at 02:00 BST). All three fall in the 07:00 band; in UTC the first would be at 06:30.
    const points = [
      { time: Date.parse('2026-10-24T06:30:00Z'), value: 100 },
      { time: Date.parse('2026-10-25T07:30:00Z'), value: 200 },
      { time: Date.parse('2026-10-26T07:30:00Z'), value: 300 },
    ];
    const bins = ambulatoryGlucoseProfile(points, 'Europe/London');
    expect(bins).toHaveLength(24);
    // Percentiles of 100, 200, 300 by linear interpolation (rank = p x (n - 1)):
    //   p5: rank 0.1 -> 100 + 0.1 x 100 = 110; p25: rank 0.5 -> 150; p50: 200; p75: 250; p95: rank 1.9 -> 290.
    expect(bins[7]).toEqual({ minute: 420, count: 3, p5: 110, p25: 150, p50: 200, p75: 250, p95: 290 });
    expect(bins[6]).toEqual({ minute: 360, count: 0, p5: null, p25: null, p50: null, p75: null, p95: null });
  });

  it('uses the zone at half-hour offsets (Asia/Kolkata, UTC+05:30)', () => {
    // 02:45Z is 08:15 local: the 08:00 band.
    const bins = ambulatoryGlucoseProfile([{ time: Date.parse('2026-11-20T02:45:00Z'), value: 140 }], 'Asia/Kolkata');
    expect(bins[8]!.count).toBe(1);
    expect(bins[8]!.p50).toBe(140);
  });
});
