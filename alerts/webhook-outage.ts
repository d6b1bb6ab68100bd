/** The sender's log (pino), of which the outage uses two levels. */
interface OutageLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

interface Outage {
  /** When its first delivery failed. */
  readonly since: number;
  /** Deliveries the receiver was unavailable for since then. */
  failures: number;
  /** How many deliveries had started when the latest one failed. */
  startedAtLastFailure: number;
  /** Whether a delivery started after the latest failure was answered (taken or refused). */
  taken: boolean;
}

/**
 * A receiver's outage as the log tells it: one warning when deliveries start failing, one line when they go
 * through again, however many are in flight. With deliveries in parallel, those already in flight when one fails
 * may still be answered (by another of the receiver's backends, or just before it went down): the log flapped
 * between "failed" and "delivering again" with every answer. A delivery that was in flight when the latest
 * failure came tells nothing about the receiver since; the outage is over once a round of deliveries (a batch)
 * ends with none the receiver was unavailable for, after one sent since the latest failure was answered.
 *
 * It tells whether the receiver can be reached, not whether it takes every delivery: a refusal (4xx but 408 and
 * 429) is an answer. It neither starts an outage nor keeps one going, and answers a probe as a 2xx does; the
 * sender still retries and parks the refused delivery. Counted as a failure, one refusal logged the receiver as
 * down, and once it was back, the recovery waited for a delivery it took.
 */
export class WebhookOutages {
  readonly #log: OutageLog;
  readonly #now: () => number;
  /** Deliveries started so far: tells one sent after a failure from one already in flight when it came. */
  #started = 0;
  #current: Outage | undefined;
  /** Whether a delivery failed since the last round ended: that round ends with it still to retry. */
  #failedInRound = false;

  constructor(log: OutageLog, now: () => number) {
    this.#log = log;
    this.#now = now;
  }

  /** A delivery starts: its number, to give back if it goes through. */
  started(): number {
    return ++this.#started;
  }

  /** The receiver answered a delivery other than unavailable: it took it, or refused it (4xx but 408 and 429). */
  answered(delivery: number): void {
    if (this.#current && delivery > this.#current.startedAtLastFailure) this.#current.taken = true;
  }

  /** The receiver could not be reached, timed out, or answered 5xx, 408 or 429. */
  failed(reason: string, seq: number): void {
    this.#failedInRound = true;
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

  /** Whether to send one delivery at a time: the receiver failed, and has answered none sent since. */
  get probing(): boolean {
    return this.#current !== undefined && !this.#current.taken;
  }

  /**
   * A round of deliveries ended. The outage goes on while one of the round's deliveries failed: with deliveries in
   * parallel, one already on its way may be answered after the failure came. Refused deliveries waiting for
   * their next attempt do not hold it up.
   */
  roundEnded(): void {
    const failed = this.#failedInRound;
    this.#failedInRound = false;
    const outage = this.#current;
    if (failed || !outage?.taken) return;
    this.#log.info({ failures: outage.failures, outageMs: this.#now() - outage.since }, 'alert webhook delivering again');
    this.#current = undefined;
  }
}
