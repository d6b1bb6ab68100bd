/**
 * The patient's local calendar (docs/alerts.md: days are the patient's local days). Trend rules judge local days,
 * and a local day is not 24 h long when the clocks change (23 h or 25 h), nor does it start on a UTC hour in
 * zones like Asia/Kolkata (+05:30) or Australia/Lord_Howe (+10:30, +11 in summer, a 30-minute DST shift).
 * Built on the runtime's IANA data (Intl), so no dependency has to be kept in step with tz releases.
 */

/** A local calendar date, 'YYYY-MM-DD' (sorts as a string in date order). */
export type LocalDate = string;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

// Formatters are costly to build (~50 µs) and cheaper to use (~3 µs): one per zone, built once. The set of
// zones is bounded by the runtime's tz data, so the cache cannot grow without limit.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      });
    } catch {
      throw new RangeError(`unknown time zone "${timeZone}" (expected an IANA name such as Europe/London)`);
    }
    formatters.set(timeZone, f);
  }
  return f;
}

export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

interface LocalParts {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
}

/** The zone's offset from UTC at an instant, in ms, from Intl (~3 µs): whole seconds, as in old tz data. */
function exactOffset(t: number, timeZone: string): number {
  const p: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(t)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  // Some ICU versions write midnight as 24 even with h23.
  const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour! % 24, p.minute!, p.second!);
  return wall - Math.floor(t / 1000) * 1000;
}

// Offsets change a few times a year at most: remember the offset of each UTC hour in which it does not change,
// so that a trend evaluation over weeks of readings costs a map lookup per reading. Cleared whole when full.
const HOUR = 3_600_000;
const offsets = new Map<string, Map<number, number>>();
let offsetCount = 0;
const MAX_OFFSETS = 100_000;

function offsetAt(t: number, timeZone: string): number {
  const slot = Math.floor(t / HOUR);
  const known = offsets.get(timeZone)?.get(slot);
  if (known !== undefined) return known;
  const start = exactOffset(slot * HOUR, timeZone);
  // A change inside this hour (Australia/Lord_Howe's October one is at 15:30 UTC): no shortcut for it.
  if (start !== exactOffset(slot * HOUR + HOUR - 1, timeZone)) return exactOffset(t, timeZone);
  if (offsetCount >= MAX_OFFSETS) {
    offsets.clear();
    offsetCount = 0;
  }
  let zone = offsets.get(timeZone);
  if (!zone) offsets.set(timeZone, (zone = new Map()));
  zone.set(slot, start);
  offsetCount += 1;
  return start;
}

function localParts(t: number, timeZone: string): LocalParts {
  const wall = new Date(t + offsetAt(t, timeZone));
  return { year: wall.getUTCFullYear(), month: wall.getUTCMonth() + 1, day: wall.getUTCDate(), hour: wall.getUTCHours(), minute: wall.getUTCMinutes() };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The local calendar date of an instant (epoch ms) in an IANA time zone. */
export function localDate(t: number, timeZone: string): LocalDate {
  const p = localParts(t, timeZone);
  return `${pad(p.year, 4)}-${pad(p.month)}-${pad(p.day)}`;
}

/** Minutes since local midnight on the wall clock (0-1439): 12:00 is 720 even on a 25-hour day. */
export function localMinuteOfDay(t: number, timeZone: string): number {
  const p = localParts(t, timeZone);
  return p.hour * 60 + p.minute;
}

function parseDate(date: LocalDate): [number, number, number] {
  const m = DATE.exec(date);
  if (!m) throw new RangeError(`not a local date "${date}" (expected YYYY-MM-DD)`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** The date `n` calendar days after `date` (n may be negative). */
export function addDays(date: LocalDate, n: number): LocalDate {
  const [y, m, d] = parseDate(date);
  const shifted = new Date(Date.UTC(y, m - 1, d + n));
  return `${pad(shifted.getUTCFullYear(), 4)}-${pad(shifted.getUTCMonth() + 1)}-${pad(shifted.getUTCDate())}`;
}

// Every trend evaluation asks for the same few dozen midnights of the same zones: remember them. Cleared
// whole when full rather than kept as an LRU (a Map used as an LRU slows down as deletions pile up).
const midnights = new Map<string, number>();
const MAX_MIDNIGHTS = 20_000;

/**
 * Epoch ms of the first instant of a local date: local midnight, or, where the clocks skip midnight (e.g.
 * America/Santiago springs forward at 24:00), the first instant that exists; where midnight happens twice,
 * the first.
 */
export function startOfLocalDay(date: LocalDate, timeZone: string): number {
  const key = `${timeZone}|${date}`;
  const known = midnights.get(key);
  if (known !== undefined) return known;
  const [y, m, d] = parseDate(date);
  const wall = Date.UTC(y, m - 1, d);
  // Two rounds find the offset in force at local midnight, unless a transition sits next to it.
  let t = wall - offsetAt(wall, timeZone);
  t = wall - offsetAt(t, timeZone);
  if (localDate(t, timeZone) !== date || localDate(t - 1, timeZone) === date) t = firstInstantOf(date, wall, timeZone);
  if (midnights.size >= MAX_MIDNIGHTS) midnights.clear();
  midnights.set(key, t);
  return t;
}

/** Binary search for the first instant whose local date is `date`; offsets lie within -12 h and +14 h. */
function firstInstantOf(date: LocalDate, wall: number, timeZone: string): number {
  let before = wall - 15 * HOUR; // local date still before `date` at the largest offset
  let from = wall + 13 * HOUR; // local date already `date` (or later) at the smallest offset
  while (from - before > 1) {
    const mid = before + Math.floor((from - before) / 2);
    if (localDate(mid, timeZone) < date) before = mid;
    else from = mid;
  }
  return from;
}
