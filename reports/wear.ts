import { DEFAULT_CGM_INTERVAL_MINUTES } from './glucose-definitions.js';

const MINUTE = 60_000;

/**
 * The sensor's reporting interval, from its readings: the median gap between consecutive readings, in whole
 * minutes (1 for Libre 3, 5 for Dexcom G6/G7, 15 for a Libre 1 history), so gaps where the sensor was off do
 * not lengthen it. The 5-minute default until there are two readings.
 */
export function sensorIntervalMinutes(times: readonly number[]): number {
  const gaps: number[] = [];
  for (let i = 1; i < times.length; i += 1) {
    const gap = times[i]! - times[i - 1]!;
    if (gap > 0) gaps.push(gap);
  }
  if (gaps.length === 0) return DEFAULT_CGM_INTERVAL_MINUTES;
  gaps.sort((a, b) => a - b);
  const median = gaps[Math.floor((gaps.length - 1) / 2)]!;
  return Math.min(15, Math.max(1, Math.round(median / MINUTE)));
}

/** CGM wear: the readings the period has as a share of those the sensor would have sent (at most 100 %). */
export function cgmWear(readings: number, periodMs: number, intervalMinutes: number): { percent: number; expected: number } {
  const expected = Math.floor(periodMs / (intervalMinutes * MINUTE));
  if (expected === 0) return { percent: 0, expected };
  return { percent: Math.min(100, (readings / expected) * 100), expected };
}
