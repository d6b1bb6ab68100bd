import { describe, expect, it } from 'vitest';
import { ClockSkew } from './clock-skew.js';

const MIN = 60_000;
const T0 = Date.parse('2026-11-28T12:00:00Z');

describe('ClockSkew', () => {
  it('suspects the server clock only when several devices, at least half of those heard from, are ahead', () => {
    const skew = new ClockSkew({ thresholdMs: 2 * MIN, minDevices: 3 });
    expect(skew.estimate(T0)).toEqual({ ok: true, devicesSeen: 0, devicesAhead: 0, skewSeconds: 0 });
    // One device with a fast clock is that device's problem.
    skew.observe('fast-1', 10 * MIN, T0);
    for (let i = 0; i < 6; i++) skew.observe(`ok-${i}`, -2_000, T0);
    expect(skew.estimate(T0)).toMatchObject({ ok: true, devicesSeen: 7, devicesAhead: 1 });
    // Three ahead out of nine: a minority, still not the server.
    skew.observe('fast-2', 10 * MIN, T0);
    skew.observe('fast-3', 10 * MIN, T0);
    expect(skew.estimate(T0)).toMatchObject({ ok: true, devicesAhead: 3 });
    // Most devices ahead by about ten minutes: the server clock is about ten minutes slow.
    for (let i = 0; i < 6; i++) skew.observe(`ok-${i}`, 9.5 * MIN, T0 + 1000);
    expect(skew.estimate(T0 + 1000)).toEqual({ ok: false, devicesSeen: 9, devicesAhead: 9, skewSeconds: 570 });
  });

  it('takes the largest lead in a window, so a backlog of old readings does not hide the skew, and forgets silent devices', () => {
    const skew = new ClockSkew({ thresholdMs: 2 * MIN, minDevices: 2, windowMs: 10 * MIN });
    for (const id of ['a', 'b']) {
      skew.observe(id, 10 * MIN, T0);
      skew.observe(id, -3 * 3_600_000, T0 + MIN); // a backlog from three hours ago
    }
    expect(skew.estimate(T0 + MIN)).toMatchObject({ ok: false, skewSeconds: 600 });
    // The next window still remembers the previous one's lead; after two windows of normal readings it is gone.
    for (const id of ['a', 'b']) skew.observe(id, -1000, T0 + 11 * MIN);
    expect(skew.estimate(T0 + 11 * MIN).ok).toBe(false);
    for (const id of ['a', 'b']) skew.observe(id, -1000, T0 + 22 * MIN);
    expect(skew.estimate(T0 + 22 * MIN)).toMatchObject({ ok: true, devicesAhead: 0 });
    expect(skew.estimate(T0 + 50 * MIN)).toMatchObject({ devicesSeen: 0 });
  });

  it('samples a publish by its last reading, or its last reading refused as in the future', () => {
    const skew = new ClockSkew({ thresholdMs: 2 * MIN, minDevices: 1 });
    skew.observePublish('a', T0, [], [{ ref: '0', code: 'VIGIL_ERR_FUTURE_TIME', message: '', aheadMs: 10 * MIN }]);
    expect(skew.estimate(T0)).toMatchObject({ ok: false, devicesAhead: 1, skewSeconds: 600 });
    skew.observePublish('b', T0, [], [{ ref: '*', code: 'VIGIL_ERR_NOT_JSON', message: '' }]);
    expect(skew.estimate(T0).devicesSeen).toBe(1);
  });
});
