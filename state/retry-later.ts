/** Waits before trying again, one more step per failure in a row. */
const RETRY_MS = [250, 500, 1_000, 2_000, 5_000, 10_000];

/**
 * One retry timer with backoff, for work on the shared database that failed (a reconnection, a fetch, a write):
 * at most one retry waits at a time, a success resets the backoff, and nothing runs after `close`.
 */
export class RetryLater {
  readonly #again: () => void;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(again: () => void) {
    this.#again = again;
  }

  /** A retry waits to run (the caller leaves the work to it). */
  get waiting(): boolean {
    return this.#timer !== undefined;
  }

  get closed(): boolean {
    return this.#closed;
  }

  failed(): void {
    if (this.#timer || this.#closed) return;
    const delay = RETRY_MS[Math.min(this.#failures, RETRY_MS.length - 1)]!;
    this.#failures++;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#again();
    }, delay);
    this.#timer.unref();
  }

  succeeded(): void {
    this.#failures = 0;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
