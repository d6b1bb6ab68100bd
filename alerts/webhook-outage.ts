/** The sender's log (pino), of which the outage uses two levels. */
interface OutageLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

interface Outage {
  /** When its first delivery failed. */
  readonly since: number;
  /** Deliveries that failed since then (unavailable or refused). */
  failures: number;
  /** How many deliveries had started when the latest one failed. */
  startedAtLastFailure: number;
  /** Whether a delivery started after the latest failure went through. */
  taken: boolean;
}

/**
 * A receiver's outage as the log tells it: one warning when deliveries start failing, one line when they go
 * through again, however many are in flight. With deliveries in parallel, those already in flight when one fails
 * may still be answered (by another of the receiver's backends, or just before it went down): the log flapped
 * between "failed" and "delivering again" with every answer. A delivery that was in flight when the latest
 * failure came tells nothing about the receiver since; the outage is over once a round of deliveries (a batch)
 * ends with none left to retry, after one sent since the latest failure went through.
 */
export class WebhookOutages {
  readonly #log: OutageLog;
  readonly #now: () => number;
  /** Deliveries started so far: tells one sent after a failure from one already in flight when it came. */
  #started = 0;
  #current: Outage | undefined;

  constructor(log: OutageLog, now: () => number) {
    this.#log = log;
    this.#now = now;
  }

  /** A delivery starts: its number, to give back if it goes through. */
  started(): number {
    return ++this.#started;
  }

  delivered(delivery: number): void {
    if (this.#current && delivery > this.#current.startedAtLastFailure) this.#current.taken = true;
  }

  failed(reason: string, seq: number): void {
    const outage = this.#current;
    if (!outage) {
      this.#current = { since: this.#now(), failures: 1, startedAtLastFailure: this.#started, taken: false };
      this.#log.warn({ reason, seq }, 'alert webhook delivery failed; retrying');
      return;
    }
    outage.failures++;
    outage.startedAtLastFailure = this.#started;
    outage.taken = false;
  }

  /** Whether to send one delivery at a time: the receiver failed, and has taken none sent since. */
  get probing(): boolean {
    return this.#current !== undefined && !this.#current.taken;
  }

  /** A round of deliveries ended, with some to try again after a wait (`retry`) or none. */
  roundEnded(retry: boolean): void {
    const outage = this.#current;
    if (retry || !outage?.taken) return;
    this.#log.info({ failures: outage.failures, outageMs: this.#now() - outage.since }, 'alert webhook delivering again');
    this.#current = undefined;
  }
}
