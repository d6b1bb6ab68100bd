/**
 * The idempotency keys of recent readings, for duplicate detection before the outbox: a device that resends a
 * message (no PUBACK arrived, a hub replaying its backlog) is acknowledged without storing the reading twice.
 *
 * Two generations of at most `capacity / 2` keys each: a lookup checks both, and when the current one is full
 * it becomes the previous one and the oldest generation is dropped whole. Every operation is O(1) however long
 * the process runs. (A single Map evicting its oldest key with `keys().next()` after deletes slows down as V8's
 * deleted slots pile up at its front: over 100 µs per reading after 200,000 readings.)
 *
 * Guarantee: a key is remembered for at least the next `capacity / 2` distinct keys added after it, and at most
 * `capacity`; the window is global across devices (keys name their device). Beyond the window, a duplicate is
 * appended again and the reading stores overwrite it (same series and time): it is stored once either way.
 */
export class DedupeWindow<V> {
  readonly #generation: number;
  #current = new Map<string, V>();
  #previous = new Map<string, V>();

  constructor(capacity: number) {
    this.#generation = Math.max(1, Math.floor(capacity / 2));
  }

  has(key: string): boolean {
    return this.#current.has(key) || this.#previous.has(key);
  }

  /** The key's value, or undefined when the window does not hold the key (values are never undefined). */
  get(key: string): V | undefined {
    const value = this.#current.get(key);
    return value === undefined ? this.#previous.get(key) : value;
  }

  /** Adds a key the window does not hold (check with `get`: one lookup instead of a delete per add). */
  add(key: string, value: Exclude<V, undefined>): void {
    this.#current.set(key, value);
    if (this.#current.size >= this.#generation) {
      this.#previous = this.#current;
      this.#current = new Map();
    }
  }

  delete(key: string): void {
    this.#current.delete(key);
    this.#previous.delete(key);
  }

  get size(): number {
    return this.#current.size + this.#previous.size;
  }
}
