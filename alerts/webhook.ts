import { backoffDelay, Pause, runWithRetry } from '../domain/index.js';
import { warmHttpClient } from './http-client-warm-up.js';
import { deliverBatch } from './webhook-batch.js';
import { WebhookOutages } from './webhook-outage.js';
import type { WebhookParking } from './store/webhook-parked.js';
import type { AlertEvent } from './types.js';
import { signature, standardSignature } from './webhook-signing.js';

export { signature } from './webhook-signing.js';

/** Where the sender reads transitions: the state database, or the shared alerts in PostgreSQL. */
export interface WebhookEvents {
  /** Events after `seq`, in order, at most `limit` (those to send; the sender skips alert.updated). */
  eventsAfter(seq: number, limit: number): AlertEvent[] | Promise<AlertEvent[]>;
  /** The newest event's number: a webhook configured for the first time starts after it. */
  lastSeq(): number | Promise<number>;
  /** Transitions after `seq` (the pending gauge, less those delivered ahead of a gap): read locally, never waits. */
  countTransitionsAfter(seq: number): number;
}

/** The last delivered event's number, kept across restarts (and, with shared alerts, across instances). */
export interface WebhookCursor {
  webhookCursor(): number | undefined | Promise<number | undefined>;
  setWebhookCursor(seq: number): void | Promise<void>;
  /** The position last read or written, without waiting (the pending gauge). */
  known(): number | undefined;
}

export interface WebhookOptions {
  readonly url: string;
  /** Newest first; every one signs (Standard Webhooks rotation). */
  readonly secrets: readonly string[];
  readonly table: WebhookEvents;
  readonly cursor: WebhookCursor;
  /**
   * With shared alerts, whether this instance is the one that delivers now: one instance at a time sends, from the
   * shared cursor, so that each transition is sent once whichever instance made it. Absent: always.
   */
  readonly delivering?: (() => Promise<boolean>) | undefined;
  readonly parking: WebhookParking;
  readonly log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void; error(obj: object, msg: string): void };
  readonly onDelivered?: (event: AlertEvent) => void;
  readonly onFailed?: () => void;
  readonly onParked?: () => void;
  readonly timeoutMs?: number;
  readonly maxBackoffMs?: number;
  /**
   * Deliveries in flight at once (VIGIL_ALERT_WEBHOOK_CONCURRENCY): each patient's events stay in sequence order,
   * different patients' may overtake each other. 1, the default here, sends every event in sequence order.
   */
  readonly concurrency?: number;
  /** Attempts before a refused delivery (4xx) is parked. */
  readonly maxRefusals?: number;
  readonly now?: () => number;
}

/** How often an instance that does not deliver (shared alerts) asks whether it should now. */
const LEADER_POLL_MS = 5_000;

/**
 * What an attempt came to. A receiver that is down, times out, answers 5xx, 408 or 429 is `unavailable`: retried
 * for as long as it takes (nothing is skipped). Any other 4xx is `refused`: this delivery is what the receiver
 * will not take (a schema it rejects, a signature it cannot check), so after a few tries it is parked and the
 * deliveries after it go on, instead of every later alert waiting behind it for ever.
 */
type Outcome = { readonly kind: 'delivered' } | { readonly kind: 'unavailable'; readonly error: string } | { readonly kind: 'refused'; readonly status: number; readonly error: string };

function classify(status: number): Outcome {
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return { kind: 'refused', status, error: `receiver answered ${status}` };
  return { kind: 'unavailable', error: `receiver answered ${status}` };
}

/** What the sender knows of one event past the cursor. */
interface Ahead {
  /** Which event: a number the log gave to another event since (this one erased) starts afresh. */
  readonly alertId: number;
  readonly at: number;
  /** Needs nothing more (delivered or parked): not sent again when one before it is retried. */
  settled: boolean;
  /** Refusals (4xx) so far: the event is parked after `maxRefusals`. */
  refusals: number;
}

/**
 * Delivers alert transitions to a paging or EHR system: one signed JSON POST per transition, each patient's in
 * sequence order (different patients' in parallel, up to `concurrency`: webhook-batch.ts), at least once, signed
 * both as Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`) and with Vigil's own
 * headers. The cursor (the end of the delivered prefix) is stored, so deliveries resume after a restart.
 */
export class WebhookSender {
  readonly #o: WebhookOptions;
  readonly #now: () => number;
  #running = false;
  #loop: Promise<void> | undefined;
  readonly #pause = new Pause();
  readonly #outages: WebhookOutages;
  #delivering = false;
  /** What this sender knows of events past the cursor, by seq, for as long as they are there (#forgetPassed). */
  readonly #ahead = new Map<number, Ahead>();

  constructor(options: WebhookOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#outages = new WebhookOutages(options.log, this.#now);
  }

  start(): void {
    this.#running = true;
    // Warmed first, so that the first delivery does not compile the HTTP client on the broker's thread.
    this.#loop = warmHttpClient().then(() => this.#run());
  }

  /** Whether this instance delivered, or may deliver, at its last look (with shared alerts, one instance does). */
  get delivering(): boolean {
    return this.#delivering;
  }

  nudge(): void {
    this.#pause.wake();
  }

  /**
   * Transitions still to deliver, in flight or waiting (the pending gauge): those past the cursor, less the ones
   * delivered or parked ahead of one not yet through (deliveries go in parallel, and the cursor moves once per
   * batch). One delivered ahead and erased since the sender last read the log is subtracted until its next read
   * although the log no longer counts it: hence never below nought.
   *
   * With shared alerts only the instance delivering at its last look counts them: another's position is where it
   * stopped when it lost the lead (or none), and would count again what the delivering one counts, ever more of it.
   */
  pending(): number {
    if (this.#o.delivering && !this.#delivering) return 0;
    const known = this.#o.cursor.known();
    if (known === undefined) return 0;
    let settledAhead = 0;
    for (const [seq, event] of this.#ahead) if (event.settled && seq > known) settledAhead++;
    return Math.max(0, this.#o.table.countTransitionsAfter(known) - settledAhead);
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#delivering = false;
    this.#pause.wake();
    await this.#loop;
  }

  #run(): Promise<void> {
    // The state database could not be read or the cursor written (busy, disk full): try again shortly.
    return runWithRetry(() => this.#deliverAll(), {
      running: () => this.#running,
      onFailure: (err) => this.#o.log.warn({ err }, 'alert webhook step failed; retrying'),
      backoff: { minMs: 500, maxMs: 30_000, jitter: false },
      pause: this.#pause,
    });
  }

  async #deliverAll(): Promise<void> {
    let attempt = 0;
    while (this.#running) {
      const delivering = this.#o.delivering ? await this.#o.delivering() : true;
      if (!delivering) {
        this.#delivering = false;
        await this.#pause.sleep(LEADER_POLL_MS);
        continue;
      }
      // The position is read before this instance counts as delivering (pending() counts from it), and before the
      // replays, which may take a while: taking the lead, the one known here is where it stopped, maybe long ago.
      let cursor = await this.#o.cursor.webhookCursor();
      this.#delivering = true;
      await this.#replayRequested();
      if (cursor === undefined) {
        // Configured for the first time: start with what happens from now on, not the whole history.
        cursor = await this.#o.table.lastSeq();
        await this.#o.cursor.setWebhookCursor(cursor);
      }
      const events = await this.#o.table.eventsAfter(cursor, 100);
      this.#forgetPassed(events);
      if (events.length === 0) {
        await this.#pause.sleep(1000);
        continue;
      }
      const result = await deliverBatch(events, {
        // One at a time while the receiver fails: a retry probes it with one delivery, not a volley of them.
        concurrency: () => (this.#outages.probing ? 1 : (this.#o.concurrency ?? 1)),
        running: () => this.#running,
        send: (event) => this.#send(event),
      });
      // The cursor is written once per batch (one write per event cost the broker's thread 0.4 ms each in an
      // alert storm). A crash re-sends at most the batch's delivered events, which the receiver already tells
      // apart by `seq` (delivery is at least once).
      if (result.settled !== undefined) await this.#o.cursor.setWebhookCursor(result.settled);
      this.#outages.roundEnded();
      if (result.error) throw result.error.err;
      if (result.retry) await this.#pause.sleep(backoffDelay(attempt++, { minMs: 500, maxMs: this.#o.maxBackoffMs ?? 60_000 }));
      else attempt = 0;
    }
  }

  /**
   * One delivery of one event: true when it needs nothing more (delivered, parked, or delivered already ahead of
   * one that failed), false to try it again after a wait.
   */
  async #send(event: AlertEvent): Promise<boolean> {
    const known = this.#aheadOf(event);
    if (known.settled) return true;
    const outcome = await this.#deliver(event);
    if (outcome.kind === 'delivered') {
      known.settled = true;
      this.#o.onDelivered?.(event);
      return true;
    }
    this.#o.onFailed?.();
    if (outcome.kind !== 'refused') return false;
    known.refusals++;
    if (known.refusals < (this.#o.maxRefusals ?? 5)) return false;
    this.#park(event, outcome.status, outcome.error, known.refusals);
    known.settled = true;
    return true;
  }

  /** What is known of an event about to be sent; from now on, until it is forgotten. */
  #aheadOf(event: AlertEvent): Ahead {
    let known = this.#ahead.get(event.seq);
    if (!known) {
      known = { alertId: event.alert.id, at: event.at, settled: false, refusals: 0 };
      this.#ahead.set(event.seq, known);
    }
    return known;
  }

  /**
   * Forgets the events that `events` (the log read from the cursor) no longer holds: those the cursor passed, and
   * those gone from the log (a patient's erasure deletes their alerts' events). Otherwise a refused event erased
   * before it was parked would be remembered for ever, and if its number were ever given to another event, that
   * one would inherit its refusals or be taken as delivered. Every event known here came from an earlier read of
   * at most as many events from an earlier cursor, and the log only gains events after its last: one still there
   * is read again.
   */
  #forgetPassed(events: readonly AlertEvent[]): void {
    if (this.#ahead.size === 0) return;
    const read = new Map(events.map((e) => [e.seq, e]));
    for (const [seq, known] of this.#ahead) {
      const event = read.get(seq);
      if (event?.alert.id !== known.alertId || event.at !== known.at) this.#ahead.delete(seq);
    }
  }

  #park(event: AlertEvent, status: number, error: string, attempts: number): void {
    this.#o.parking.park(event.seq, status, error, attempts, this.#now());
    this.#o.onParked?.();
    this.#o.log.error({ seq: event.seq, type: event.type, status, attempts }, 'alert webhook delivery refused by the receiver; parked (vigil alerts parked, replay with vigil alerts replay)');
  }

  /** Parked deliveries a person asked to send again: out of order, marked as a replay. */
  async #replayRequested(): Promise<void> {
    for (const parked of this.#o.parking.replayRequested()) {
      const [event] = await this.#o.table.eventsAfter(parked.seq - 1, 1);
      if (!event || event.seq !== parked.seq) {
        this.#o.parking.remove(parked.seq);
        continue;
      }
      const outcome = await this.#deliver(event, true);
      if (outcome.kind === 'delivered') {
        this.#o.parking.remove(parked.seq);
        this.#o.onDelivered?.(event);
      } else {
        this.#o.parking.park(parked.seq, outcome.kind === 'refused' ? outcome.status : null, outcome.error, 1, this.#now());
      }
    }
  }

  async #deliver(event: AlertEvent, replay = false): Promise<Outcome> {
    const body = JSON.stringify({ seq: event.seq, type: event.type, at: new Date(event.at).toISOString(), actor: event.actor, change: event.change, replay: replay || undefined, alert: event.alert });
    const timestamp = String(Math.floor(this.#now() / 1000));
    const id = `vigil-alert-event-${event.seq}`;
    const delivery = this.#outages.started();
    let outcome: Outcome;
    try {
      const response = await fetch(this.#o.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': timestamp,
          'webhook-signature': standardSignature(this.#o.secrets, id, timestamp, body),
          'x-vigil-event': event.type,
          'x-vigil-delivery': String(event.seq),
          'x-vigil-timestamp': timestamp,
          'x-vigil-signature': signature(this.#o.secrets[0]!, timestamp, body),
        },
        body,
        signal: AbortSignal.timeout(this.#o.timeoutMs ?? 10_000),
      });
      await response.arrayBuffer().catch(() => undefined);
      outcome = classify(response.status);
    } catch (err) {
      outcome = { kind: 'unavailable', error: (err as Error).message };
    }
    // A refusal is an answer: the receiver is reachable (webhook-outage.ts).
    if (outcome.kind === 'unavailable') this.#outages.failed(outcome.error, event.seq);
    else this.#outages.answered(delivery);
    return outcome;
  }
}
