/**
 * One log line per key per interval, with the count of the events it stands for: refusals under attack
 * come by the thousand a second, and a log that grows as fast as an attacker sends is a second attack (on the
 * disk and on whoever reads it). The metrics count every event. A key is a reason (connection refusals) or a
 * device and a reason (a device's refused publishes and subscriptions, its publishes with rejected readings).
 */
export class LogLimiter {
  readonly #intervalMs: number;
  readonly #maxKeys: number;
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(intervalMs = 10_000, maxKeys = 1_000) {
    this.#intervalMs = intervalMs;
    this.#maxKeys = maxKeys;
  }

  /** Calls `write` with the number of events since the last line for `key` (this one included), or not at all. */
  note(key: string, write: (count: number) => void, now = Date.now()): void {
    const entry = this.#last.get(key);
    if (entry && now - entry.at < this.#intervalMs) {
      entry.suppressed++;
      return;
    }
    if (!entry && this.#last.size >= this.#maxKeys) this.#prune(now);
    this.#last.set(key, { at: now, suppressed: 0 });
    write((entry?.suppressed ?? 0) + 1);
  }

  /**
   * Keeps the map bounded. An entry whose interval is over and that stands for no unlogged event says nothing a
   * missing one would not: those go first. Still full (a wide attack), all go: a few lines too many, once.
   */
  #prune(now: number): void {
    for (const [key, entry] of this.#last) {
      if (entry.suppressed === 0 && now - entry.at >= this.#intervalMs) this.#last.delete(key);
    }
    if (this.#last.size >= this.#maxKeys) this.#last.clear();
  }
}

/**
 * A limiter for lines keyed by device: one line per device and reason every 10 s. Sized for a fleet (a device
 * misbehaving at its rate limit must not cost the other devices their lines); the key bound still caps its
 * memory when every device misbehaves at once.
 */
export function perDeviceLogLimiter(): LogLimiter {
  return new LogLimiter(10_000, 100_000);
}
