import { localMinuteOfDay, type AgpBin } from '../domain/index.js';
import { percentile, round } from './percentile.js';

/** One glucose value at a time. */
export interface GlucosePoint {
  readonly time: number;
  readonly value: number;
}

/** An hour: 24 bands across the day, each with about 12 readings a day of a 5-minute CGM. */
export const AGP_BIN_MINUTES = 60;

/**
 * The ambulatory glucose profile (Battelino 2019; the AGP report of the International Diabetes Center): the
 * readings of all days of the period laid over one day by the patient's local time of day, and the 5th, 25th,
 * 50th, 75th and 95th percentiles of each band. Local, not UTC: breakfast stays at 07:00 across a clock change.
 */
export function ambulatoryGlucoseProfile(points: readonly GlucosePoint[], timeZone: string, binMinutes = AGP_BIN_MINUTES): AgpBin[] {
  const binCount = Math.ceil(1440 / binMinutes);
  const bins: number[][] = Array.from({ length: binCount }, () => []);
  for (const p of points) bins[Math.floor(localMinuteOfDay(p.time, timeZone) / binMinutes)]!.push(p.value);
  return bins.map((values, i) => {
    values.sort((a, b) => a - b);
    const at = (p: number) => {
      const v = percentile(values, p);
      return v === undefined ? null : round(v);
    };
    return { minute: i * binMinutes, count: values.length, p5: at(5), p25: at(25), p50: at(50), p75: at(75), p95: at(95) };
  });
}
