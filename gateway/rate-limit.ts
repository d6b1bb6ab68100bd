/**
 * A token bucket per device: `ratePerSecond` messages on average, `burst` at once. `take` answers how long the
 * message must wait for its token; the gateway delays the PUBACK by that much (MQTT's own back-pressure) and
 * refuses the message when the wait would be longer than it is willing to hold a device.
 *
 * A bucket belongs to the device, not to a connection: it outlives disconnects, or a device would get a fresh
 * burst by reconnecting (six rounds of connect, send 100, disconnect got 600 messages through in 0.35 s). It is
 * forgotten only once it has refilled, when it is the same as the full bucket a device without one is given:
 * memory is one bucket per device heard from in the last `burst / ratePerSecond` seconds, and forgetting changes
 * no answer.
 */
export class DeviceRateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  /** Milliseconds an empty bucket takes to be full again. */
  readonly #refillMs: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  #sweptAt: number;

  constructor(ratePerSecond: number, burst: number, now = Date.now()) {
    this.#rate = ratePerSecond;
    this.#burst = burst;
    this.#refillMs = (burst / ratePerSecond) * 1000;
    this.#sweptAt = now;
  }

  /** Devices with a bucket that is not full (the rest are not stored). */
  get size(): number {
    return this.#buckets.size;
  }

  /** Milliseconds to wait before this message may proceed; `undefined` (and no token taken) past maxWaitMs. */
  take(deviceId: string, maxWaitMs: number, now = Date.now()): number | undefined {
    if (now - this.#sweptAt >= this.#refillMs) this.#forgetRefilled(now);
    const bucket = this.#buckets.get(deviceId) ?? { tokens: this.#burst, at: now };
    bucket.tokens = this.#refilled(bucket, now);
    bucket.at = now;
    const wait = this.#untilToken(bucket.tokens);
    if (wait > maxWaitMs) {
      this.#buckets.set(deviceId, bucket);
      return undefined;
    }
    bucket.tokens -= 1;
    this.#buckets.set(deviceId, bucket);
    return wait;
  }

  /**
   * Milliseconds until the device's bucket holds a token (0 when it holds one now), taking none: what a refused
   * device is told to wait, so that it does not come back before its token and be refused again.
   */
  nextTokenIn(deviceId: string, now = Date.now()): number {
    const bucket = this.#buckets.get(deviceId);
    return bucket ? this.#untilToken(this.#refilled(bucket, now)) : 0;
  }

  #untilToken(tokens: number): number {
    return tokens >= 1 ? 0 : ((1 - tokens) / this.#rate) * 1000;
  }

  #refilled(bucket: { tokens: number; at: number }, now: number): number {
    return Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate);
  }

  /** At most once per refill time, so the cost is one pass over the buckets per `burst / rate` seconds. */
  #forgetRefilled(now: number): void {
    this.#sweptAt = now;
    for (const [deviceId, bucket] of this.#buckets) {
      if (this.#refilled(bucket, now) >= this.#burst) this.#buckets.delete(deviceId);
    }
  }
}
