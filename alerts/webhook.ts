import { backoffDelay, Pause, runWithRetry } from '../domain/index.js';
import type { AlertTable } from './store/alert-table.js';
import type { SweepState } from './store/sweep-state.js';
import type { WebhookParking } from './store/webhook-parked.js';
import type { AlertEvent } from './types.js';
import { signature, standardSignature } from './webhook-signing.js';

export { signature } from './webhook-signing.js';

export interface WebhookOptions {
  readonly url: string;
  /** Newest first; every one signs (Standard Webhooks rotation). */
  readonly secrets: readonly string[];
  readonly table: AlertTable;
  readonly cursor: SweepState;
  readonly parking: WebhookParking;
  readonly log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void; error(obj: object, msg: string): void };
  readonly onDelivered?: (event: AlertEvent) => void;
  readonly onFailed?: () => void;
  readonly onParked?: () => void;
  readonly timeoutMs?: number;
  readonly maxBackoffMs?: number;
  /** Attempts before a refused delivery (4xx) is parked. */
  readonly maxRefusals?: number;
  readonly now?: () => number;
}

/** Whether an event notifies (alert.updated records a repeat or a clear timer, and is not sent). */
export function isTransition(event: AlertEvent): boolean {
  return event.type !== 'alert.updated';
}

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

/**
 * Delivers alert transitions to a paging or EHR system: one signed JSON POST per transition, in sequence order,
 * at least once, signed both as Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`) and
 * with Vigil's own headers. The cursor (last delivered seq) is stored, so deliveries resume after a restart.
 */
export class WebhookSender {
  readonly #o: WebhookOptions;
  readonly #now: () => number;
  #running = false;
  #loop: Promise<void> | undefined;
  readonly #pause = new Pause();
  #failing = false;

  constructor(options: WebhookOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    // Configured for the first time: start with what happens from now on, not the whole history.
    if (options.cursor.webhookCursor() === undefined) options.cursor.setWebhookCursor(options.table.lastSeq());
  }

  start(): void {
    this.#running = true;
    this.#loop = this.#run();
  }

  nudge(): void {
    this.#pause.wake();
  }

  pending(): number {
    return this.#o.table.countTransitionsAfter(this.#o.cursor.webhookCursor() ?? 0);
  }

  async stop(): Promise<void> {
    this.#running = false;
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
    let refusals = 0;
    while (this.#running) {
      await this.#replayRequested();
      const cursor = this.#o.cursor.webhookCursor() ?? 0;
      const events = this.#o.table.eventsAfter(cursor, 100);
      if (events.length === 0) {
        await this.#pause.sleep(1000);
        continue;
      }
      for (const event of events) {
        if (!this.#running) return;
        if (isTransition(event)) {
          const outcome = await this.#deliver(event);
          if (outcome.kind !== 'delivered') {
            this.#o.onFailed?.();
            if (outcome.kind === 'refused' && ++refusals >= (this.#o.maxRefusals ?? 5)) {
              this.#park(event, outcome.status, outcome.error, refusals);
              refusals = 0;
              attempt = 0;
              this.#o.cursor.setWebhookCursor(event.seq);
              continue;
            }
            await this.#pause.sleep(backoffDelay(attempt++, { minMs: 500, maxMs: this.#o.maxBackoffMs ?? 60_000 }));
            break;
          }
          attempt = 0;
          refusals = 0;
          this.#o.onDelivered?.(event);
        }
        this.#o.cursor.setWebhookCursor(event.seq);
      }
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
      const [event] = this.#o.table.eventsAfter(parked.seq - 1, 1);
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
    if (outcome.kind === 'delivered') {
      if (this.#failing) this.#o.log.info({}, 'alert webhook delivering again');
      this.#failing = false;
    } else {
      if (!this.#failing) this.#o.log.warn({ reason: outcome.error, seq: event.seq }, 'alert webhook delivery failed; retrying');
      this.#failing = true;
    }
    return outcome;
  }
}
