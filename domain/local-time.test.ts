import { describe, expect, it } from 'vitest';
import { addDays, isTimeZone, localDate, localMinuteOfDay, startOfLocalDay } from './local-time.js';

const at = (iso: string) => Date.parse(iso);
const HOUR = 3_600_000;

describe('local time', () => {
  it.each([
    // zone, date, local midnight in UTC, length of that local day in hours
    ['UTC', '2026-03-29', '2026-03-29T00:00:00Z', 24],
    ['Europe/London', '2026-03-29', '2026-03-29T00:00:00Z', 23], // 01:00 GMT -> 02:00 BST
    ['Europe/London', '2026-03-30', '2026-03-29T23:00:00Z', 24],
    ['Europe/London', '2026-10-25', '2026-10-24T23:00:00Z', 25], // 02:00 BST -> 01:00 GMT
    ['America/New_York', '2026-03-08', '2026-03-08T05:00:00Z', 23],
    ['America/New_York', '2026-11-01', '2026-11-01T04:00:00Z', 25],
    ['Asia/Kolkata', '2026-06-01', '2026-05-31T18:30:00Z', 24],
    ['Australia/Lord_Howe', '2026-04-05', '2026-04-04T13:00:00Z', 24.5], // +11 -> +10:30
    ['Australia/Lord_Howe', '2026-10-04', '2026-10-03T13:30:00Z', 23.5], // +10:30 -> +11
    ['America/Santiago', '2026-09-06', '2026-09-06T04:00:00Z', 23], // midnight is skipped: the day starts at 01:00
  ] as const)('%s %s starts at %s and lasts %d h', (zone, date, midnight, hours) => {
    expect(new Date(startOfLocalDay(date, zone)).toISOString()).toBe(new Date(midnight).toISOString());
    expect((startOfLocalDay(addDays(date, 1), zone) - startOfLocalDay(date, zone)) / HOUR).toBe(hours);
    expect(localDate(startOfLocalDay(date, zone), zone)).toBe(date);
    expect(localDate(startOfLocalDay(date, zone) - 1, zone)).toBe(addDays(date, -1));
  });

  it.each([
    ['UTC', '2026-10-25T11:59:00Z', '2026-10-25', 719],
    ['Europe/London', '2026-10-24T23:30:00Z', '2026-10-25', 30], // 00:30 BST
    ['Europe/London', '2026-10-25T00:30:00Z', '2026-10-25', 90], // 01:30 BST, the first time
    ['Europe/London', '2026-10-25T01:30:00Z', '2026-10-25', 90], // 01:30 GMT, the second time
    ['Europe/London', '2026-10-25T11:30:00Z', '2026-10-25', 690], // 11:30 GMT: still morning
    ['Europe/London', '2026-10-24T11:30:00Z', '2026-10-24', 750], // 12:30 BST: afternoon
    ['Europe/London', '2026-03-29T01:00:00Z', '2026-03-29', 120], // 02:00 BST, straight after 00:59 GMT
    ['America/New_York', '2026-11-22T02:00:00Z', '2026-11-21', 1260], // 21:00 EST the day before
    ['Asia/Kolkata', '2026-11-21T18:29:00Z', '2026-11-21', 1439],
    ['Asia/Kolkata', '2026-11-21T18:30:00Z', '2026-11-22', 0],
  ] as const)('%s %s is %s, minute %d', (zone, iso, date, minute) => {
    expect(localDate(at(iso), zone)).toBe(date);
    expect(localMinuteOfDay(at(iso), zone)).toBe(minute);
  });

  it('is exact when the offset changes inside an hour (Australia/Lord_Howe at 15:30 UTC, Africa/Monrovia -0:44:30 in 1972)', () => {
    expect(localMinuteOfDay(at('2026-10-03T15:29:00Z'), 'Australia/Lord_Howe')).toBe(119); // 01:59 +10:30
    expect(localMinuteOfDay(at('2026-10-03T15:30:00Z'), 'Australia/Lord_Howe')).toBe(150); // 02:30 +11
    expect(localDate(at('1972-01-07T00:44:29Z'), 'Africa/Monrovia')).toBe('1972-01-06');
    expect(localMinuteOfDay(at('1972-01-07T00:44:29Z'), 'Africa/Monrovia')).toBe(1439);
    expect(localDate(at('1972-01-07T00:44:30Z'), 'Africa/Monrovia')).toBe('1972-01-07');
    expect(localMinuteOfDay(at('1972-01-07T00:44:30Z'), 'Africa/Monrovia')).toBe(44);
    expect(new Date(startOfLocalDay('1972-01-07', 'Africa/Monrovia')).toISOString()).toBe('1972-01-07T00:44:30.000Z');
  });

  it('adds calendar days across months, years and leap days', () => {
    expect(addDays('2026-02-28', 1)).toBe('2026-03-01');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2027-01-01', -1)).toBe('2026-12-31');
    expect(addDays('2026-10-25', -35)).toBe('2026-09-20');
    expect(() => addDays('25/10/2026', 1)).toThrow(/YYYY-MM-DD/);
  });

  it('knows IANA zones and refuses others with a clear message', () => {
    expect(isTimeZone('Europe/London')).toBe(true);
    expect(isTimeZone('Asia/Kolkata')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isTimeZone('')).toBe(false);
    expect(() => localDate(0, 'Mars/Olympus_Mons')).toThrow(/unknown time zone "Mars\/Olympus_Mons"/);
  });
});
