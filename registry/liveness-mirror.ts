import { isOutage, RetryLater, type SqlClient, type SqlStatement } from '../state/index.js';

/**
 * Statements kept while the shared registry is out of reach: about an hour of a 10,000-device fleet's status
 * changes, or a few last-seen batches of it. Beyond, the oldest go: the later ones mostly supersede them.
 */
const BACKLOG_LIMIT = 100_000;

/**
 * Devices' liveness written to the shared registry after the state database, in order, without anyone waiting
 * (bookkeeping). What fails to be written (PostgreSQL restarting, a cut connection) is kept and written again
 * with backoff, ahead of newer batches: a device that stays connected sends no new status, and the resync after
 * the outage would otherwise put PostgreSQL's older liveness back into every replica, this one's included. The
 * statements never move a status or a last-seen time backwards (registry.ts LIVENESS), so writing them late is
 * safe whatever other instances wrote meanwhile. A batch PostgreSQL refuses (not an outage) is reported and
 * dropped, as it would be refused again and hold back every later one.
 */
export class LivenessMirror {
  readonly #source: SqlClient;
  readonly #onError: (err: Error) => void;
  /** The batches not yet written, oldest first, each written in one transaction as it was recorded. */
  #batches: SqlStatement[][] = [];
  #waiting = 0;
  #chain: Promise<void> = Promise.resolve();
  readonly #retry = new RetryLater(() => this.write([]));

  constructor(source: SqlClient, onError: (err: Error) => void) {
    this.#source = source;
    this.#onError = onError;
  }

  write(statements: readonly SqlStatement[]): void {
    if (statements.length > 0) {
      this.#batches.push([...statements]);
      this.#waiting += statements.length;
      while (this.#waiting > BACKLOG_LIMIT && this.#batches.length > 1) this.#waiting -= this.#batches.shift()!.length;
    }
    // While PostgreSQL is out of reach the retry's timer writes next, rather than one attempt per batch.
    if (this.#batches.length === 0 || this.#retry.closed || this.#retry.waiting) return;
    this.#chain = this.#chain.then(() => this.#flush());
  }

  /** Resolves once the liveness written so far has reached the shared registry, or failed to (and waits again). */
  settled(): Promise<void> {
    return this.#chain;
  }

  /** Stops writing again what failed; resolves once the write under way is done (before the pool closes). */
  close(): Promise<void> {
    this.#retry.close();
    return this.#chain;
  }

  async #flush(): Promise<void> {
    while (this.#batches.length > 0 && !this.#retry.closed) {
      const batch = this.#batches[0]!;
      try {
        await this.#source.transaction(batch);
        this.#retry.succeeded();
      } catch (err) {
        this.#onError(err as Error);
        // Out of reach: the batch stays first, so that the order of writes stays the order of events.
        if (isOutage(err)) return this.#retry.failed();
      }
      this.#batches.shift();
      this.#waiting -= batch.length;
    }
  }
}
