import type { Reading } from '../domain/index.js';

/**
 * The newest readings recovered from the outbox at start-up, up to a bound on start-up memory and time. The
 * outbox keeps a reading until it is stored, which a store outage can put off for hours; what a restart has to
 * catch up on is at the newest end: the messages a device resends because their PUBACK never came (duplicate
 * detection), and the readings a crash kept from the threshold rules, which run just after each commit.
 */
export class NewestRecovered {
  readonly #limit: number;
  #kept: Reading[] = [];
  #seen = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  add(reading: Reading): void {
    this.#seen += 1;
    this.#kept.push(reading);
    // Cut back in halves: amortised O(1) per reading, where dropping the oldest one by one would copy each time.
    if (this.#kept.length >= 2 * this.#limit) this.#kept = this.#kept.slice(-this.#limit);
  }

  /** Readings recovered in all. */
  get seen(): number {
    return this.#seen;
  }

  /** The newest `limit` readings, in outbox order, and nothing held afterwards. */
  take(): Reading[] {
    const newest = this.#kept.slice(-this.#limit);
    this.#kept = [];
    return newest;
  }
}
