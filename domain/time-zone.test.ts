import { describe, expect, it } from 'vitest';
import { canonicalTimeZone, checkTimeZone, timeZoneSchema } from './time-zone.js';

describe('patient time zones', () => {
  it.each([
    ['Europe/London', 'Europe/London'],
    ['europe/london', 'Europe/London'],
    ['UTC', 'UTC'],
    ['America/New_York', 'America/New_York'],
  ])('accepts %s as %s', (input, canonical) => {
    expect(canonicalTimeZone(input)).toBe(canonical);
    expect(checkTimeZone(input)).toBe(canonical);
  });

  it.each(['Mars/Olympus', '', '+01:00', '-05:00', 'x'.repeat(65), 'Europe/London; DROP'])('refuses %j', (input) => {
    expect(canonicalTimeZone(input)).toBeUndefined();
  });

  it('names the bad value in a coded error', () => {
    expect(() => checkTimeZone('Mars/Olympus')).toThrow(expect.objectContaining({ code: 'VIGIL_ERR_CONFIG', message: expect.stringContaining('"Mars/Olympus"') }));
    const parsed = timeZoneSchema.safeParse('Mars/Olympus');
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toContain('Mars/Olympus');
    expect(timeZoneSchema.parse('europe/paris')).toBe('Europe/Paris');
  });
});
