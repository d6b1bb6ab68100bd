import { z } from 'zod';
import { VigilError } from './errors.js';

/**
 * A patient's IANA time zone ("Europe/London"): rules that speak of the patient's day (fasting glucose in the
 * morning, a daily step count, a night-time low) need the patient's wall clock, not the server's.
 *
 * Returns the runtime's own spelling of the zone ("europe/london" -> "Europe/London"), or undefined when the
 * runtime's Intl does not know it. Fixed offsets ("+01:00", which newer runtimes accept) are refused on every
 * runtime: an offset ignores daylight saving time, so half the year it would put the patient's morning an hour off.
 */
export function canonicalTimeZone(value: string): string | undefined {
  if (value.length === 0 || value.length > 64 || /^[+\u2212-]/.test(value)) return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: value }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

export const TIME_ZONE_HINT = 'an IANA time zone such as Europe/London, America/New_York or UTC';

/** The zone in its canonical spelling; throws VIGIL_ERR_CONFIG naming the bad value (the API answers 400). */
export function checkTimeZone(value: string): string {
  const zone = canonicalTimeZone(value);
  if (zone === undefined) throw new VigilError('VIGIL_ERR_CONFIG', `time zone "${value.slice(0, 64)}" is not ${TIME_ZONE_HINT}`);
  return zone;
}

/** The same check for request bodies and configuration: canonicalises, or fails with the value named. */
export const timeZoneSchema = z.string().transform((value, ctx) => {
  const zone = canonicalTimeZone(value);
  if (zone === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${value.slice(0, 64)}" is not ${TIME_ZONE_HINT}` });
    return z.NEVER;
  }
  return zone;
});
