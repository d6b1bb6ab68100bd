import { describe, expect, it } from 'vitest';
import { isRepresentableTime, MAX_DATE_MS } from './representable-time.js';

describe('isRepresentableTime', () => {
  it('holds exactly the times a Date can turn into an ISO string', () => {
    for (const ms of [0, Date.now(), MAX_DATE_MS, -MAX_DATE_MS]) {
      expect(isRepresentableTime(ms)).toBe(true);
      expect(() => new Date(ms).toISOString()).not.toThrow();
    }
    for (const ms of [MAX_DATE_MS + 1, -MAX_DATE_MS - 1, 9e15, 1e20, Infinity, -Infinity, NaN]) {
      expect(isRepresentableTime(ms)).toBe(false);
      expect(() => new Date(ms).toISOString()).toThrow(RangeError);
    }
  });
});
