/**
 * The bounds of a JavaScript Date (ECMA-262 §21.4.1.22, TimeClip): ±8.64e15 ms, ±100,000,000 days around 1970,
 * the years -271821 to 275760. A time outside them makes `new Date(ms).toISOString()` throw a RangeError, so a
 * number a device sends as a time is checked against them before it is turned into one.
 */
export const MAX_DATE_MS = 8.64e15;

/** Whether `ms` (epoch milliseconds) is a time a Date can hold: finite and within ±MAX_DATE_MS. */
export function isRepresentableTime(ms: number): boolean {
  return Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS;
}
