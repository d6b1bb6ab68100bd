import { describe, expect, it } from 'vitest';
import { findRule } from '../alerts/index.js';
import { evaluatePlannedMissing } from '../alerts/evaluate/sweep-rules.js';
import type { MissingRule } from '../alerts/rules/schema.js';
import { localInstant, missedSince, plannedMeasurementSchema, slotsBetween } from './plan.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const bp = plannedMeasurementSchema.parse({ type: 'blood_pressure', times: ['08:00', '20:00'] });

describe('plan slots in the patient\'s time zone', () => {
  it('puts 08:00 at the local wall clock, on the day the clocks change too', () => {
    expect(new Date(localInstant('2026-03-28', '08:00', 'Europe/London')).toISOString()).toBe('2026-03-28T08:00:00.000Z');
    // British Summer Time starts on 29 March 2026: 08:00 is 07:00 UTC.
    expect(new Date(localInstant('2026-03-29', '08:00', 'Europe/London')).toISOString()).toBe('2026-03-29T07:00:00.000Z');
    expect(new Date(localInstant('2026-11-28', '08:00', 'Asia/Kolkata')).toISOString()).toBe('2026-11-28T02:30:00.000Z');
  });

  it('lists the slots of a day with their windows, and counts closed slots missed since the last reading', () => {
    const day = Date.parse('2026-11-28T00:00:00Z');
    const slots = slotsBetween(bp, 'UTC', day, day + 24 * HOUR);
    expect(slots.map((s) => new Date(s.dueAt).toISOString())).toEqual(['2026-11-28T08:00:00.000Z', '2026-11-28T20:00:00.000Z']);
    expect(slots[0]).toMatchObject({ from: slots[0]!.dueAt - HOUR, to: slots[0]!.dueAt + HOUR });
    // Last reading the evening before; at 21:30 both of today's windows have closed.
    expect(missedSince(bp, 'UTC', day - 3 * HOUR, day + 21.5 * HOUR)).toBe(2);
    // A slot whose window is still open is not missed yet.
    expect(missedSince(bp, 'UTC', day - 3 * HOUR, day + 20.5 * HOUR)).toBe(1);
    const cgm = plannedMeasurementSchema.parse({ type: 'glucose', continuous: true });
    expect(missedSince(cgm, 'UTC', day, day + 3 * HOUR + 1)).toBe(2);
  });

  it("puts a CGM's hourly slots on the patient's local clock hours, in a half-hour-offset zone too", () => {
    const cgm = plannedMeasurementSchema.parse({ type: 'glucose', continuous: true });
    const day = Date.parse('2026-11-28T00:00:00Z');
    // 00:00 UTC is 05:30 in Kolkata: the local hours start at 06:00, 07:00 and 08:00 (00:30, 01:30, 02:30 UTC).
    expect(slotsBetween(cgm, 'Asia/Kolkata', day, day + 3 * HOUR).map((s) => new Date(s.dueAt).toISOString())).toEqual([
      '2026-11-28T00:30:00.000Z',
      '2026-11-28T01:30:00.000Z',
      '2026-11-28T02:30:00.000Z',
    ]);
    // A reading at 01:10 UTC (06:40 local) meets the 06:00 local hour; the 07:00 hour closes at 02:30 UTC, missed.
    expect(missedSince(cgm, 'Asia/Kolkata', day + 70 * MINUTE, day + 3 * HOUR)).toBe(1);
    // On a whole-hour zone the slots stay on the hour; on the day Europe/London leaves summer time as well.
    expect(slotsBetween(cgm, 'Europe/London', Date.parse('2026-10-25T00:10:00Z'), Date.parse('2026-10-25T03:00:00Z')).map((s) => new Date(s.dueAt).toISOString())).toEqual([
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T02:00:00.000Z',
    ]);
  });

  it('refuses a measurement with both times and continuous, or with a bad time', () => {
    expect(plannedMeasurementSchema.safeParse({ type: 'glucose', continuous: true, times: ['08:00'] }).success).toBe(false);
    expect(plannedMeasurementSchema.safeParse({ type: 'weight', times: ['7:30'] }).success).toBe(false);
    expect(plannedMeasurementSchema.safeParse({ type: 'weight', times: [] }).success).toBe(false);
  });
});

describe('the missing-data rule judged by the plan', () => {
  const rule = findRule('missing.blood_pressure') as MissingRule;
  const day = Date.parse('2026-11-28T00:00:00Z');
  const planned = { alertAfterMissed: 2, missedSince: (since: number, now: number) => missedSince(bp, 'UTC', since, now) };

  it('alerts after two planned measurements missed in a row, well before the fixed 48 h gap', () => {
    const finding = evaluatePlannedMissing(rule, planned, day - 3 * HOUR, 0, day + 21.5 * HOUR);
    expect(finding).toMatchObject({ severity: 'warning', values: { missed: 2 } });
    expect(finding?.message).toContain('2 planned measurements missed in a row');
    expect(evaluatePlannedMissing(rule, planned, day - 3 * HOUR, 0, day + 20.5 * HOUR)).toMatchObject({ severity: null });
  });

  it('does not count slots before the count starts (enrolment), and stays quiet for a measurement not in the plan', () => {
    expect(evaluatePlannedMissing(rule, planned, undefined, day + 12 * HOUR, day + 21.5 * HOUR)).toMatchObject({ severity: null, values: { missed: 1 } });
    expect(evaluatePlannedMissing(rule, 'not_planned', undefined, 0, day)).toMatchObject({ severity: null });
  });
});
