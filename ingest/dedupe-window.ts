/**
 * The idempotency keys of recent readings, for duplicate detection before the outbox: a device that resends a
 * message (no PUBACK arrived, a hub replaying its backlog) is acknowledged without storing the reading twice.
 *
 * A ring of generations (up to GENERATIONS) of about `capacity / generations` keys each: keys are added to the
 * newest, a lookup checks them newest first, and when the newest is full the oldest is dropped whole and becomes
 * the new one. Every operation is O(1) however long the process runs. (A single Map evicting its oldest key with
 * `keys().next()` after deletes slows down as V8's deleted slots pile up at its front: over 100 µs per reading
 * after 200,000 readings.) Many small generations rather than two large ones: a V8 Map rehashes every key as it
 * doubles, in the one `set` that crosses the size, and a generation of 100,000 keys held the main thread, with
 * every device's PUBACK behind it, 3-4 ms when it passed 65,536 in isolation and about 19 ms in a loaded process
 * (docs/benchmarks.md, "A ninth look"); one of 12,500 keys rehashes at most 8,192 of them.
 *
 * Guarantee: at every moment the window holds the most recent `capacity - ceil(capacity / 16)` distinct keys
 * added (187,500 of the default 200,000; `capacity - 1` below 16), and never more than `capacity`; it is global
 * across devices (keys name their device). Beyond the window, a duplicate is appended again and the reading
 * stores overwrite it (same series and time): it is stored once either way. The generations' sizes add up to
 * `capacity` exactly, differing by one at most where 16 does not divide it: equal sizes rounded down lost up to
 * 15 keys of the window and a whole generation more (a window of 31 held only the last 15).
 */
export class DedupeWindow<V> {
  /** The most keys each generation takes before the next one begins (summing to the capacity). */
  readonly #sizes: number[];
  /** A ring: `#newest` is where keys are added; the one after it is the oldest. */
  readonly #generations: Map<string, V>[];
  #newest = 0;

  constructor(capacity: number) {
    // At least 2: dropping whole generations, a window of 1 would hold nothing just after each key, and an
    // undefined or NaN size (a bad setting) would make an empty ring that fails on the first reading.
    if (!Number.isSafeInteger(capacity) || capacity < 2) throw new RangeError(`the duplicate window holds a whole number of keys, at least 2 (not ${capacity})`);
    const count = Math.min(GENERATIONS, capacity);
    const size = Math.floor(capacity / count);
    this.#sizes = Array.from({ length: count }, (_, i) => size + (i < capacity % count ? 1 : 0));
    this.#generations = Array.from({ length: count }, () => new Map<string, V>());
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** The key's value, or undefined when the window does not hold the key (values are never undefined). */
  get(key: string): V | undefined {
    const count = this.#generations.length;
    for (let back = 0; back < count; back++) {
      const value = this.#generations[(this.#newest - back + count) % count]!.get(key);
      if (value !== undefined) return value;
    }
    return undefined;
  }

  /** Adds a key the window does not hold (check with `get`: one lookup instead of a delete per add). */
  add(key: string, value: Exclude<V, undefined>): void {
    const newest = this.#generations[this.#newest]!;
    newest.set(key, value);
    if (newest.size >= this.#sizes[this.#newest]!) {
      this.#newest = (this.#newest + 1) % this.#generations.length;
      this.#generations[this.#newest] = new Map();
    }
  }

  delete(key: string): void {
    for (const generation of this.#generations) generation.delete(key);
  }

  get size(): number {
    let size = 0;
    for (const generation of this.#generations) size += generation.size;
    return size;
  }
}

/** Generations in the ring: a lookup that misses asks each (rare: intake.ts skips readings newer than their device's newest). */
const GENERATIONS = 16;
