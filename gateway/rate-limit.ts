/**
 * A token bucket per device: `ratePerSecond` messages on average, `burst` at once. `take` answers how long the
 * message must wait for its token; the gateway delays the PUBACK by that much (MQTT's own back-pressure) and
 * refuses the message when the wait would be longer than it is willing to hold a device.
 */
export class DeviceRateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(ratePerSecond: number, burst: number) {
    this.#rate = ratePerSecond;
    this.#burst = burst;
  }

  /** Milliseconds to wait before this message may proceed; `undefined` (and no token taken) past maxWaitMs. */
  take(deviceId: string, maxWaitMs: number, now = Date.now()): number | undefined {
    const bucket = this.#buckets.get(deviceId) ?? { tokens: this.#burst, at: now };
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate);
    bucket.at = now;
    const wait = bucket.tokens >= 1 ? 0 : ((1 - bucket.tokens) / this.#rate) * 1000;
    if (wait > maxWaitMs) {
      this.#buckets.set(deviceId, bucket);
      return undefined;
    }
    bucket.tokens -= 1;
    this.#buckets.set(deviceId, bucket);
    return wait;
  }

  forget(deviceId: string): void {
    this.#buckets.delete(deviceId);
  }
}
