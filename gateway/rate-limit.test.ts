import { describe, expect, it } from 'vitest';
import { DeviceRateLimiter } from './rate-limit.js';

describe('device rate limiter', () => {
  it('keeps a device to its burst until tokens come back, and then at its rate', () => {
    const limiter = new DeviceRateLimiter(2, 3, 0);
    expect([0, 0, 0].map(() => limiter.take('cuff-1', 0, 0))).toEqual([0, 0, 0]);
    expect(limiter.take('cuff-1', 0, 0)).toBeUndefined();
    expect(limiter.take('cuff-1', 500, 0)).toBe(500);
    // The token of 0..500 ms went to the message that waited; the one of 500..1000 ms is there at 1000 ms.
    expect(limiter.take('cuff-1', 0, 1000)).toBe(0);
    expect(limiter.take('cuff-1', 0, 1000)).toBeUndefined();
  });

  it('tells when the next token is due, taking none: seconds away at a rate under one a second', () => {
    const limiter = new DeviceRateLimiter(0.2, 1, 0); // one token every 5 s
    expect(limiter.nextTokenIn('cuff-1', 0)).toBe(0);
    expect(limiter.take('cuff-1', 0, 0)).toBe(0);
    expect(limiter.take('cuff-1', 0, 0)).toBeUndefined();
    expect(limiter.nextTokenIn('cuff-1', 0)).toBe(5000);
    expect(limiter.nextTokenIn('cuff-1', 1500)).toBeCloseTo(3500, 6);
    // Asking took nothing: the token is there when it said, and not a millisecond before.
    expect(limiter.take('cuff-1', 0, 4999)).toBeUndefined();
    expect(limiter.take('cuff-1', 0, 5000)).toBe(0);
  });

  it('forgets a bucket only once it has refilled, so memory is bounded by the devices recently heard from', () => {
    const limiter = new DeviceRateLimiter(10, 5, 0); // full again 500 ms after it was emptied
    for (let d = 0; d < 1000; d++) limiter.take(`dev-${d}`, 0, 0);
    expect(limiter.size).toBe(1000);
    // One device empties its bucket at 400 ms; the sweep at 500 ms forgets the 999 that have refilled.
    for (let i = 0; i < 5; i++) limiter.take('dev-0', 0, 400);
    limiter.take('other', 0, 500);
    expect(limiter.size).toBe(2);
    // dev-0 is still held to what it used: 1 token back in 100 ms, not a fresh burst.
    expect(limiter.take('dev-0', 0, 500)).toBe(0);
    expect(limiter.take('dev-0', 0, 500)).toBeUndefined();
  });
});
