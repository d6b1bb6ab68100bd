/**
 * Failed MQTT logins, throttled per key (a remote address, or a device id): each key may fail `perMinute` times
 * in a minute (a token bucket of that size, refilled continuously); past that, its attempts are refused without
 * checking a secret until a token has come back. Secrets are 256 random bits, so this is not what stops a guess;
 * it stops a peer from spending Vigil's CPU (hashes, legacy scrypt) and log at a thousand attempts a second.
 */
export class AuthThrottle {
  readonly #perMinute: number;
  readonly #maxKeys: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(perMinute: number, maxKeys = 100_000) {
    this.#perMinute = perMinute;
    this.#maxKeys = maxKeys;
  }

  #refilled(key: string, now: number): { tokens: number; at: number } | undefined {
    const bucket = this.#buckets.get(key);
    if (!bucket) return undefined;
    bucket.tokens = Math.min(this.#perMinute, bucket.tokens + ((now - bucket.at) / 60_000) * this.#perMinute);
    bucket.at = now;
    return bucket;
  }

  /** True while `key` has used up its failures. */
  blocked(key: string, now = Date.now()): boolean {
    const bucket = this.#refilled(key, now);
    return bucket !== undefined && bucket.tokens < 1;
  }

  /** Counts a failed login of `key`. */
  fail(key: string, now = Date.now()): void {
    const bucket = this.#refilled(key, now) ?? { tokens: this.#perMinute, at: now };
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    if (!this.#buckets.has(key) && this.#buckets.size >= this.#maxKeys) this.#prune(now);
    this.#buckets.set(key, bucket);
  }

  /** Keeps the map bounded: keys whose bucket is full again are forgotten (they would start full anyway). */
  #prune(now: number): void {
    for (const key of [...this.#buckets.keys()]) {
      const bucket = this.#refilled(key, now);
      if (bucket && bucket.tokens >= this.#perMinute) this.#buckets.delete(key);
    }
    // Still full of throttled keys (a wide attack): forget the oldest half rather than grow.
    if (this.#buckets.size >= this.#maxKeys) {
      let drop = Math.ceil(this.#buckets.size / 2);
      for (const key of this.#buckets.keys()) {
        if (drop-- <= 0) break;
        this.#buckets.delete(key);
      }
    }
  }
}
