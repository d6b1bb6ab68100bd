import type { WireReadingInput } from '../domain/index.js';
import type { DeviceModel } from './models/index.js';

/** Hours of the day (UTC) at which each model measures, for backfilled history. */
export const CADENCE: Readonly<Record<DeviceModel, readonly number[]>> = {
  bp_cuff: [8, 20],
  glucose_meter: [7, 12.5, 18.5],
  // A CGM samples every 5 minutes.
  cgm: Array.from({ length: 288 }, (_, i) => i / 12),
  scale: [7],
  pulse_oximeter: [9, 21],
  thermometer: [9],
  activity_tracker: Array.from({ length: 24 }, (_, i) => i),
  // Falls are events: a detector has no history of measurements to backfill.
  fall_detector: [],
};

/** How a patient's history changes towards today, so that trend rules have something to find. */
export interface HistoryTrend {
  /** Body weight rises by this much per day, ending at today's value. */
  readonly weightGainPerDay?: number;
  /** Steps in the last 7 days are this fraction of before (a sustained drop in activity). */
  readonly recentActivityFactor?: number;
}

/** Times of measurement for `days` of history ending now, oldest first. */
export function historyTimes(model: DeviceModel, days: number, now = Date.now()): Date[] {
  const day = 86_400_000;
  const today = Math.floor(now / day) * day;
  const times: Date[] = [];
  for (let d = days; d >= 0; d--) {
    for (const hour of CADENCE[model]) {
      const t = today - d * day + hour * 3_600_000;
      if (t < now - 60_000) times.push(new Date(t));
    }
  }
  return times;
}

export function applyTrend(reading: WireReadingInput, trend: HistoryTrend | undefined, daysAgo: number): WireReadingInput {
  if (!trend) return reading;
  if (reading.type === 'weight' && trend.weightGainPerDay) {
    return { ...reading, value: Math.round((reading.value - trend.weightGainPerDay * daysAgo) * 10) / 10 };
  }
  if (reading.type === 'steps' && trend.recentActivityFactor !== undefined && daysAgo < 7) {
    return { ...reading, count: Math.round(reading.count * trend.recentActivityFactor) };
  }
  return reading;
}
