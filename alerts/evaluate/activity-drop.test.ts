import { describe, expect, it } from 'vitest';
import { addDays, startOfLocalDay } from '../../domain/index.js';
import type { AggregatePoint } from '../../ingest/index.js';
import { DEFAULT_RULE_SET } from '../rules/catalogue.js';
import type { DropRule } from '../rules/trend-rules.js';
import { ACTIVITY_BUCKET_MS, evaluateDrop } from './activity-drop.js';
import type { Finding } from './finding.js';

const HOUR = 3_600_000;
const rule = DEFAULT_RULE_SET.find((r) => r.id === 'steps.drop') as DropRule;

const bucket = (time: number, sum: number): AggregatePoint => ({ time, fields: { count: { mean: sum, min: sum, max: sum, sum, count: 1 } } });

/**
 * Daily totals on local days before `today` (index 0 = yesterday), each spread over buckets at `hours` after
 * local midnight; null: the tracker was not worn that day.
 */
function daily(today: string, tz: string, totals: (number | null)[], hours = [9, 12, 15, 18]): AggregatePoint[] {
  return totals.flatMap((total, i) => {
    if (total === null) return [];
    const start = startOfLocalDay(addDays(today, -(i + 1)), tz);
    return hours.map((h) => bucket(start + h * HOUR, total / hours.length));
  });
}
const weeks = (recent: (number | null)[] | number, baseline: number, baselineDays = 28) => [
  ...(Array.isArray(recent) ? recent : Array<number>(7).fill(recent)),
  ...Array<number>(baselineDays).fill(baseline),
];
const verdict = (f: Finding | undefined) => (f === undefined ? 'none' : f.severity ?? (f.band ? 'band' : 'clear'));

const TZ = 'Europe/London';
const TODAY = '2026-11-22';
const NOW = startOfLocalDay(TODAY, TZ) + 14 * HOUR;

describe('activity drop on local days (7-day mean below 50 % of the prior 28 days)', () => {
  it.each<[string, string, AggregatePoint[]]>([
    ['48 % of baseline', 'warning', daily(TODAY, TZ, weeks(2400, 5000))],
    ['52 %: inside the 10-point clear margin', 'band', daily(TODAY, TZ, weeks(2600, 5000))],
    ['60 %: back to baseline', 'clear', daily(TODAY, TZ, weeks(3000, 5000))],
    ['only 10 baseline days', 'none', daily(TODAY, TZ, weeks(1000, 5000, 10))],
    ['only 3 recent days with the tracker on', 'none', daily(TODAY, TZ, weeks([1000, 1000, 1000, null, null, null, null], 5000))],
    ['days without the tracker count neither way', 'warning', daily(TODAY, TZ, weeks([2400, null, 2400, 2400, null, 2400, 2400], 5000))],
    ['today is not over: it does not count', 'warning', [...daily(TODAY, TZ, weeks(2400, 5000)), bucket(startOfLocalDay(TODAY, TZ) + 9 * HOUR, 20_000)]],
  ])('%s -> %s', (_, expected, buckets) => {
    expect(verdict(evaluateDrop(rule, buckets, NOW, TZ))).toBe(expected);
  });

  it('counts a bucket on the local day its start falls in (Asia/Kolkata, +05:30)', () => {
    const today = '2026-11-22';
    const now = startOfLocalDay(today, 'Asia/Kolkata') + 12 * HOUR;
    // All activity at 01:00 IST, the previous day in UTC; today's 01:00 IST bucket must not count as yesterday's.
    const buckets = [...daily(today, 'Asia/Kolkata', weeks(2400, 5000), [1]), bucket(startOfLocalDay(today, 'Asia/Kolkata') + HOUR, 9000)];
    expect(evaluateDrop(rule, buckets, now, 'Asia/Kolkata')).toMatchObject({ severity: 'warning', values: { recentDailyMean: 2400, recentDays: 7, baselineDays: 28 } });
  });

  it('counts the 25-hour day of the October clock change as one day (Europe/London)', () => {
    const today = '2026-10-27';
    const now = startOfLocalDay(today, TZ) + 12 * HOUR;
    // Half of each day's steps at 00:15 local (23:15 UTC the day before, in BST), half 23.5 h after local midnight.
    const buckets = daily(today, TZ, weeks(2400, 5000), [0.25, 23.5]);
    expect(evaluateDrop(rule, buckets, now, TZ)).toMatchObject({ severity: 'warning', values: { recentDailyMean: 2400, recentDays: 7, percent: 48 } });
  });

  it('uses quarter-hour buckets, which never straddle local midnight', () => {
    expect(ACTIVITY_BUCKET_MS).toBe(15 * 60_000);
    for (const tz of ['Asia/Kolkata', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'America/St_Johns']) {
      expect(startOfLocalDay(TODAY, tz) % ACTIVITY_BUCKET_MS, tz).toBe(0);
    }
  });
});
