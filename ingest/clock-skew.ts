import type { Reading } from '../domain/index.js';
import type { Rejection } from './parse-payload.js';

export interface ClockSkewOptions {
  /** A device is "ahead" when its readings are further ahead of the server clock than this (VIGIL_CLOCK_SKEW_MINUTES). */
  readonly thresholdMs: number;
  /** Distinct devices that must be ahead, and at least half of those heard from, before the server clock is suspect. */
  readonly minDevices: number;
  /** Each device's lead is the largest seen in the current or the previous window of this length. */
  readonly windowMs?: number;
}

export interface ClockSkewEstimate {
  /** False when several devices, at least half of those heard from, are consistently ahead: the server clock is likely slow. */
  readonly ok: boolean;
  readonly devicesSeen: number;
  readonly devicesAhead: number;
  /** Median lead of the devices ahead (seconds), or of all devices heard from when too few are ahead; 0 when none. */
  readonly skewSeconds: number;
}

interface DeviceLead {
  windowStart: number;
  lastAt: number;
  /** Largest lead (reading time minus server time) in the current window, and in the previous one. */
  current: number;
  previous: number;
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
}

/**
 * Notices a server clock that is behind its devices' clocks. A device's newest reading is measured a little
 * before it is published, so (reading time - server time) is at most that device's clock offset: the largest
 * such lead over a few minutes estimates it. One device ahead is that device's clock; most devices ahead by
 * the same minutes is the server's (the case where correctly timed readings are refused as FUTURE_TIME).
 * O(1) per publish and no allocation after a device's first publish; the estimate is computed when asked
 * (/readyz, a metrics scrape), over at most one entry per device.
 */
export class ClockSkew {
  readonly #o: Required<ClockSkewOptions>;
  readonly #devices = new Map<string, DeviceLead>();

  constructor(options: ClockSkewOptions) {
    this.#o = { windowMs: 10 * 60_000, ...options };
  }

  /** One sample per publish: its last accepted reading, or its last reading refused as in the future. */
  observePublish(deviceId: string, receivedAt: number, readings: readonly Reading[], rejections: readonly Rejection[]): void {
    const last = readings[readings.length - 1];
    const refusedAhead = rejections[rejections.length - 1]?.aheadMs;
    let lead = last ? last.time - receivedAt : -Infinity;
    if (refusedAhead !== undefined && refusedAhead > lead) lead = refusedAhead;
    if (lead !== -Infinity) this.observe(deviceId, lead, receivedAt);
  }

  observe(deviceId: string, leadMs: number, at: number): void {
    const d = this.#devices.get(deviceId);
    if (!d) {
      this.#devices.set(deviceId, { windowStart: at, lastAt: at, current: leadMs, previous: -Infinity });
      return;
    }
    if (at - d.windowStart >= this.#o.windowMs) {
      d.previous = at - d.windowStart < 2 * this.#o.windowMs ? d.current : -Infinity;
      d.current = leadMs;
      d.windowStart = at;
    } else if (leadMs > d.current) {
      d.current = leadMs;
    }
    d.lastAt = at;
  }

  estimate(now: number): ClockSkewEstimate {
    const leads: number[] = [];
    const ahead: number[] = [];
    for (const [id, d] of this.#devices) {
      if (now - d.lastAt > 2 * this.#o.windowMs) {
        this.#devices.delete(id);
        continue;
      }
      const lead = Math.max(d.current, d.previous);
      leads.push(lead);
      if (lead > this.#o.thresholdMs) ahead.push(lead);
    }
    const suspect = ahead.length >= this.#o.minDevices && ahead.length * 2 >= leads.length;
    return {
      ok: !suspect,
      devicesSeen: leads.length,
      devicesAhead: ahead.length,
      skewSeconds: Math.round(median(suspect ? ahead : leads) / 1000),
    };
  }
}
