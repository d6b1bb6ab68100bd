/**
 * One log line per reason per interval, with the count of the events it stands for: refusals under attack
 * come by the thousand a second, and a log that grows as fast as an attacker sends is a second attack (on the
 * disk and on whoever reads it). The metrics count every event.
 */
export class LogLimiter {
  readonly #intervalMs: number;
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(intervalMs = 10_000) {
    this.#intervalMs = intervalMs;
  }

  /** Calls `write` with the number of events since the last line for `key` (this one included), or not at all. */
  note(key: string, write: (count: number) => void, now = Date.now()): void {
    const entry = this.#last.get(key);
    if (entry && now - entry.at < this.#intervalMs) {
      entry.suppressed++;
      return;
    }
    if (this.#last.size >= 1_000) this.#last.clear(); // bounded: keys are reasons, not addresses, but be safe
    this.#last.set(key, { at: now, suppressed: 0 });
    write((entry?.suppressed ?? 0) + 1);
  }
}
