/** A key's current interval: when its last line was written, and the events folded since, with the last one's line. */
interface Interval {
  at: number;
  folded: number;
  /** The line of the last event folded into the interval, written with their count when the interval ends. */
  write: ((count: number) => void) | undefined;
}

/**
 * One log line per key per interval, with the count of the events it stands for: refusals under attack
 * come by the thousand a second, and a log that grows as fast as an attacker sends is a second attack (on the
 * disk and on whoever reads it). The metrics count every event. A key is a reason (connection refusals) or a
 * device and a reason (a device's refused publishes and subscriptions, its publishes with rejected readings).
 *
 * The first event of a key writes its line at once; the events after it, within the interval, are folded. When
 * the interval ends with events folded, a final line counts them (the line of the last of them), whether or
 * not the key has another event: a device that stops after it was limited still has its count logged. That
 * line opens the key's next interval, so a key never has more than one line per interval. A timer per limiter,
 * not per key, writes those lines; it runs only while keys are held, and does not keep the process alive.
 */
export class LogLimiter {
  readonly #intervalMs: number;
  readonly #maxKeys: number;
  readonly #clock: () => number;
  readonly #intervals = new Map<string, Interval>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(intervalMs = 10_000, maxKeys = 1_000, clock: () => number = () => Date.now()) {
    this.#intervalMs = intervalMs;
    this.#maxKeys = maxKeys;
    this.#clock = clock;
  }

  /**
   * Calls `write` with the number of events since the last line for `key` (this one included), now or, when
   * the event is folded, at the end of the key's interval. A folded event's `write` is kept until then: it
   * should hold the line's fields, not what they were computed from (a payload, a packet, a connection).
   */
  note(key: string, write: (count: number) => void): void {
    const now = this.#clock();
    const interval = this.#intervals.get(key);
    if (interval && now - interval.at < this.#intervalMs) {
      interval.folded++;
      interval.write = write;
      return;
    }
    if (!interval && this.#intervals.size >= this.#maxKeys) this.#prune();
    this.#intervals.set(key, { at: now, folded: 0, write: undefined });
    this.#startTimer();
    write((interval?.folded ?? 0) + 1);
  }

  /**
   * Ends the intervals that are over: a key with events folded gets its final line (and a new interval from
   * now), one without is forgotten, as a missing key says the same. The timer calls it; a test may, with its clock.
   */
  flush(): void {
    const now = this.#clock();
    for (const [key, interval] of this.#intervals) {
      if (now - interval.at < this.#intervalMs) continue;
      const { folded, write } = interval;
      if (folded === 0 || !write) {
        this.#intervals.delete(key);
        continue;
      }
      // Reset before the write: a write that throws must not have its line written again at every tick.
      interval.at = now;
      interval.folded = 0;
      interval.write = undefined;
      write(folded);
    }
    if (this.#intervals.size === 0) this.#stopTimer();
  }

  /** Keys held: what the limiter's memory is proportional to. */
  get size(): number {
    return this.#intervals.size;
  }

  /** Writes the count of every key with events folded (shutdown must not lose them), stops the timer and forgets every key. */
  close(): void {
    this.#closed = true;
    this.#stopTimer();
    this.#writeFoldedAndForget();
  }

  /**
   * Keeps the map bounded. Ended intervals go first (flush). Still full (a wide attack), all go, each key with
   * events folded writing its count first: a few lines too many, once, and no count lost.
   */
  #prune(): void {
    this.flush();
    if (this.#intervals.size >= this.#maxKeys) this.#writeFoldedAndForget();
  }

  #writeFoldedAndForget(): void {
    const intervals = [...this.#intervals.values()];
    this.#intervals.clear();
    for (const { folded, write } of intervals) if (folded > 0 && write) write(folded);
  }

  #startTimer(): void {
    if (this.#timer || this.#closed) return;
    // A tenth of the interval: a final line is at most that late, and a sweep of an idle map is one comparison a key.
    this.#timer = setInterval(() => {
      try {
        this.flush();
      } catch {
        // A line that could not be written (the log's stream broken) must not take the gateway down from a timer:
        // the events are counted in the metrics, and the interval was already reset.
      }
    }, Math.max(1, this.#intervalMs / 10));
    this.#timer.unref();
  }

  #stopTimer(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * What a component needs of a limiter it is given rather than owns: one per process for the lines keyed by device
 * (perDeviceLogLimiter), shared by every path a device's messages come by, and closed by whoever made it.
 */
export interface DeviceLogLimit {
  note(key: string, write: (count: number) => void): void;
}

/**
 * A limiter for lines keyed by device: one line per device and reason every 10 s. Sized for a fleet (a device
 * misbehaving at its rate limit must not cost the other devices their lines); the key bound still caps its
 * memory when every device misbehaves at once.
 */
export function perDeviceLogLimiter(): LogLimiter {
  return new LogLimiter(10_000, 100_000);
}
