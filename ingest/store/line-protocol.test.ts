import { describe, expect, it } from 'vitest';
import { reading } from '../../test/support/readings.js';
import { tiebreakNanos, toLine } from './line-protocol.js';

describe('InfluxDB line protocol', () => {
  it('writes one measurement per type with patient and device tags and a nanosecond time', () => {
    const line = toLine(reading({ time: 1_763_798_400_000, fields: { systolic: 121.5, diastolic: 80 } }));
    expect(line).toBe('blood_pressure,device_id=dev-1,patient_id=pat-1 systolic=121.5,diastolic=80 1763798400000000000');
  });

  it('adds glucose tags in sorted order and escapes special characters', () => {
    const line = toLine(reading({ type: 'glucose', fields: { value: 99 }, tags: { source: 'cgm', meal: 'after meal,x=y' } }));
    expect(line).toContain(',meal=after\\ meal\\,x\\=y,source=cgm value=99 ');
  });

  it('escapes every device and patient alike, past the number of escaped names it remembers', () => {
    const wrong: string[] = [];
    for (let i = 0; i < 25_000; i++) {
      const line = toLine(reading({ deviceId: `dev ${i}`, patientId: `pat,${i}`, time: 1_763_798_400_000, fields: { systolic: 120, diastolic: 80 } }));
      if (!line.startsWith(`blood_pressure,device_id=dev\\ ${i},patient_id=pat\\,${i} `)) wrong.push(line);
    }
    expect(wrong).toEqual([]);
  });

  it('writes six digits of tiebreak after the milliseconds, zeros included', () => {
    const plain = toLine(reading({ time: 1_763_798_400_000, msgId: undefined, fields: { systolic: 120, diastolic: 80 } }));
    expect(plain.endsWith(' 1763798400000000000')).toBe(true);
    const tiebreak = tiebreakNanos('m-1');
    const withId = toLine(reading({ time: 1_763_798_400_000, msgId: 'm-1', fields: { systolic: 120, diastolic: 80 } }));
    expect(withId.endsWith(` 1763798400000${String(tiebreak).padStart(6, '0')}`)).toBe(true);
  });

  it('separates readings of the same millisecond by message id, and only by it', () => {
    expect(tiebreakNanos(undefined)).toBe(0);
    expect(tiebreakNanos('a')).toBe(tiebreakNanos('a'));
    expect(tiebreakNanos('a')).not.toBe(tiebreakNanos('b'));
    expect(tiebreakNanos('some-long-message-id')).toBeGreaterThan(0);
    expect(tiebreakNanos('some-long-message-id')).toBeLessThan(1_000_000);
  });

  it('refuses a non-finite number rather than writing a line InfluxDB would reject', () => {
    expect(() => toLine(reading({ fields: { systolic: Number.NaN, diastolic: 80 } }))).toThrow(RangeError);
  });
});
