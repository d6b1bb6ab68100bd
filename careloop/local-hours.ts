import { localMinuteOfDay } from '../domain/index.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** The first instant at or after `t` when the patient's wall clock shows a full hour (hh:00). */
function nextLocalHour(t: number, timeZone: string): number {
  const minute = Math.ceil(t / MINUTE) * MINUTE;
  // Offsets are whole minutes: a full hour is a whole minute whose local minute-of-hour is 0.
  return minute + ((60 - (localMinuteOfDay(minute, timeZone) % 60)) % 60) * MINUTE;
}

/**
 * The local clock hours starting in [from, to): 06:00-07:00 in Kolkata starts at 00:30 UTC, not 00:00. One step
 * of an hour, then realigned to the wall clock, so a 30-minute daylight-saving shift (Lord Howe) keeps slots on
 * the local hour too.
 */
export function localHourStarts(from: number, to: number, timeZone: string): number[] {
  const starts: number[] = [];
  for (let t = nextLocalHour(from, timeZone); t < to; t = nextLocalHour(t + HOUR, timeZone)) starts.push(t);
  return starts;
}
