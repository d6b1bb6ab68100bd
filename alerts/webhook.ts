import { createHmac } from 'node:crypto';
import type { AlertTable } from './store/alert-table.js';
import type { SweepState } from './store/sweep-state.js';
import type { AlertEvent } from './types.js';

export interface WebhookOptions {
  readonly url: string;
  readonly secret: string;
  readonly table: AlertTable;
  readonly cursor: SweepState;
  readonly log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  readonly onDelivered?: (event: AlertEvent) => void;
  readonly onFailed?: () => void;
  readonly timeoutMs?: number;
  readonly maxBackoffMs?: number;
}

/** Whether an event notifies (alert.updated records a repeat or a clear timer, and is not sent). */
export function isTransition(event: AlertEvent): boolean {
  return event.type !== 'alert.updated';
}

/** `sha256=<hex>` over `<timestamp>.<body>`: the receiver recomputes it with the shared secret. */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Delivers alert transitions to a paging or EHR system: one signed JSON POST per transition, in sequence
 * order, at least once. The cursor (last delivered seq) is stored, so deliveries resume after a restart; a
 * receiver that is down or failing is retried with capped exponential backoff and nothing is skipped.
 */
export class WebhookSender {
  readonly #o: WebhookOptions;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #failing = false;

  constructor(options: WebhookOptions) {
    this.#o = options;
    // Configured for the first time: start with what happens from now on, not the whole history.
    if (options.cursor.webhookCursor() === undefined) options.cursor.setWebhookCursor(options.table.lastSeq());
  }

  start(): void {
    this.#running = true;
    this.#loop = this.#run();
  }

  nudge(): void {
    this.#wake?.();
  }

  pending(): number {
    return this.#o.table.countTransitionsAfter(this.#o.cursor.webhookCursor() ?? 0);
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    for (let failures = 0; this.#running; failures++) {
      try {
        await this.#deliverAll();
      } catch (err) {
        // The state database could not be read or the cursor written (busy, disk full): try again shortly.
        this.#o.log.warn({ err: (err as Error).message }, 'alert webhook step failed; retrying');
        await this.#sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)));
      }
    }
  }

  async #deliverAll(): Promise<void> {
    let attempt = 0;
    while (this.#running) {
      const cursor = this.#o.cursor.webhookCursor() ?? 0;
      const events = this.#o.table.eventsAfter(cursor, 100);
      if (events.length === 0) {
        await this.#sleep(1000);
        continue;
      }
      for (const event of events) {
        if (!this.#running) return;
        if (isTransition(event)) {
          const ok = await this.#deliver(event);
          if (!ok) {
            this.#o.onFailed?.();
            const cap = Math.min(this.#o.maxBackoffMs ?? 60_000, 500 * 2 ** Math.min(attempt++, 16));
            await this.#sleep(cap / 2 + Math.random() * (cap / 2));
            break;
          }
          attempt = 0;
          this.#o.onDelivered?.(event);
        }
        this.#o.cursor.setWebhookCursor(event.seq);
      }
    }
  }

  async #deliver(event: AlertEvent): Promise<boolean> {
    const body = JSON.stringify({ seq: event.seq, type: event.type, at: new Date(event.at).toISOString(), actor: event.actor, change: event.change, alert: event.alert });
    const timestamp = String(Math.floor(Date.now() / 1000));
    try {
      const response = await fetch(this.#o.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-vigil-event': event.type,
          'x-vigil-delivery': String(event.seq),
          'x-vigil-timestamp': timestamp,
          'x-vigil-signature': signature(this.#o.secret, timestamp, body),
        },
        body,
        signal: AbortSignal.timeout(this.#o.timeoutMs ?? 10_000),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (!response.ok) throw new Error(`receiver answered ${response.status}`);
      if (this.#failing) this.#o.log.info({}, 'alert webhook delivering again');
      this.#failing = false;
      return true;
    } catch (err) {
      if (!this.#failing) this.#o.log.warn({ err: (err as Error).message, seq: event.seq }, 'alert webhook delivery failed; retrying');
      this.#failing = true;
      return false;
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      this.#wake = done;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}
