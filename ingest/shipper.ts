import { once } from 'node:events';
import { backoffDelay, Pause, runWithRetry, type Reading } from '../domain/index.js';
import type { DeadLetters } from './dead-letters.js';
import type { IngestMetrics } from './metrics.js';
import type { Outbox } from './outbox/outbox.js';
import { StoreRejectedError, StoreUnavailableError, type ReadingStore } from './store/index.js';

export interface ShipperOptions {
  readonly outbox: Outbox;
  readonly store: ReadingStore;
  readonly deadLetters: DeadLetters;
  readonly metrics: IngestMetrics;
  readonly log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void; error(obj: object, msg: string): void };
  readonly batchSize?: number;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** How often an idle shipper checks the store and pending dead-letter replays. */
  readonly idleCheckMs?: number;
  /**
   * After new readings wake an idle shipper, it waits this long for more before writing: a trickle of readings
   * then costs a store write (an fsync on the embedded store, a request to InfluxDB) every few tens of ms
   * instead of one per commit.
   */
  readonly lingerMs?: number;
  readonly onStored?: (readings: readonly Reading[]) => void;
}

/**
 * Drains the outbox into the reading store in batches. The checkpoint advances only after the store said yes;
 * while the store is unreachable or failing (5xx, timeouts) the same batch is retried with capped exponential
 * backoff, forever: an outage delays storage and loses nothing. A batch the store refuses (4xx) is split until
 * the refused readings are isolated; those go to the dead-letter table and the rest are stored.
 */
export class Shipper {
  readonly #o: Required<Omit<ShipperOptions, 'onStored'>> & Pick<ShipperOptions, 'onStored'>;
  #running = false;
  #loop: Promise<void> | undefined;
  readonly #pause = new Pause();
  #headReceivedAt: number | undefined;
  #lastError: Error | undefined;
  #storeReachable = true;
  /** The store refused Vigil itself (credentials, database): cleared only by a write that succeeds. */
  #misconfigured = false;
  #lastIdleCheck = 0;

  constructor(options: ShipperOptions) {
    this.#o = {
      ...options,
      batchSize: options.batchSize ?? 5000,
      minBackoffMs: options.minBackoffMs ?? 250,
      maxBackoffMs: options.maxBackoffMs ?? 30_000,
      idleCheckMs: options.idleCheckMs ?? 5_000,
      lingerMs: options.lingerMs ?? 50,
    };
  }

  /** When the oldest reading not yet stored was received, or undefined when caught up. */
  get headReceivedAt(): number | undefined {
    return this.#headReceivedAt;
  }

  get storeReachable(): boolean {
    return this.#storeReachable;
  }

  get storeMisconfigured(): boolean {
    return this.#misconfigured;
  }

  get lastError(): Error | undefined {
    return this.#lastError;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Stops after the batch in hand; with drainMs, first keeps shipping until caught up or the time is over. */
  async stop(drainMs = 0): Promise<void> {
    const deadline = Date.now() + drainMs;
    while (this.#running && this.#o.outbox.depth > 0 && this.#storeReachable && Date.now() < deadline) {
      await sleep(50);
    }
    this.#running = false;
    this.#pause.wake();
    await this.#loop;
  }

  #run(): Promise<void> {
    // A local failure (reading the outbox, writing the checkpoint or a dead letter on a full disk): the batch
    // was not acknowledged, so it is read again from the checkpoint after a pause. Never give up.
    return runWithRetry(() => this.#drain(), {
      running: () => this.#running,
      onFailure: (err) => this.#o.log.warn({ err }, 'shipper step failed; retrying from the checkpoint'),
      backoff: this.#backoff,
      pause: this.#pause,
    });
  }

  get #backoff() {
    return { minMs: this.#o.minBackoffMs, maxMs: this.#o.maxBackoffMs };
  }

  async #drain(): Promise<void> {
    let position = this.#o.outbox.checkpoint;
    while (this.#running) {
      const batch = await this.#o.outbox.read(position, this.#o.batchSize);
      if (batch.records.length === 0) {
        this.#headReceivedAt = undefined;
        await this.#idle();
        continue;
      }
      this.#headReceivedAt = batch.records[0]!.receivedAt;
      if (!(await this.#ship(batch.records))) return;
      await this.#o.outbox.ack(batch.next, batch.records.length);
      position = batch.next;
      this.#o.onStored?.(batch.records);
    }
  }

  async #idle(): Promise<void> {
    if (Date.now() - this.#lastIdleCheck >= this.#o.idleCheckMs) {
      this.#lastIdleCheck = Date.now();
      await this.#checkStore();
      if (this.#storeReachable) await this.#replayDeadLetters();
    }
    const listening = new AbortController();
    const committed = once(this.#o.outbox, 'committed', { signal: listening.signal }).catch(() => undefined);
    const pause = this.#pause.sleep(Math.min(1000, this.#o.idleCheckMs));
    const reason = await Promise.race([committed.then(() => 'committed'), pause]);
    listening.abort();
    this.#pause.wake();
    if (reason === 'committed' && this.#running) await sleep(this.#o.lingerMs);
  }

  async #checkStore(): Promise<void> {
    try {
      await this.#o.store.ping();
      // A ping needs no credentials: it cannot tell that the store now takes Vigil's writes; a write will.
      this.#storeReachable = !this.#misconfigured;
    } catch (err) {
      this.#markUnavailable(err as Error);
    }
  }

  #markUnavailable(err: Error): void {
    const misconfigured = err instanceof StoreUnavailableError && err.misconfigured;
    if (misconfigured && !this.#misconfigured) this.#o.log.error({ err }, 'reading store refuses Vigil (credentials or database); readings wait in the outbox');
    else if (this.#storeReachable && !misconfigured) this.#o.log.warn({ err }, 'reading store unavailable; readings wait in the outbox');
    this.#misconfigured = misconfigured;
    this.#storeReachable = false;
    this.#lastError = err;
  }

  /** Returns false only when stopped before the batch was stored. */
  async #ship(readings: readonly Reading[]): Promise<boolean> {
    for (let attempt = 0; this.#running; attempt++) {
      const started = performance.now();
      try {
        await this.#o.store.write(readings);
        this.#o.metrics.storeWriteSeconds.observe((performance.now() - started) / 1000);
        this.#o.metrics.stored.inc(readings.length);
        if (!this.#storeReachable) this.#o.log.info({}, 'reading store reachable again; draining the outbox');
        this.#storeReachable = true;
        this.#misconfigured = false;
        this.#lastError = undefined;
        return true;
      } catch (err) {
        if (err instanceof StoreRejectedError) {
          this.#o.metrics.storeWriteFailures.inc({ kind: 'rejected' });
          return this.#isolateRejected(readings, err);
        }
        this.#o.metrics.storeWriteFailures.inc({ kind: 'unavailable' });
        this.#markUnavailable(err as Error);
        await this.#pause.sleep(backoffDelay(attempt, this.#backoff));
      }
    }
    return false;
  }

  async #isolateRejected(readings: readonly Reading[], err: StoreRejectedError): Promise<boolean> {
    if (readings.length === 1) {
      this.#o.deadLetters.add(readings[0]!, err.status, err.message);
      this.#o.metrics.deadLettered.inc();
      this.#o.log.warn({ status: err.status, type: readings[0]!.type }, 'reading store refused a reading; dead-lettered');
      return true;
    }
    // Writes are idempotent, so re-sending the half that was fine costs nothing but time.
    const middle = Math.ceil(readings.length / 2);
    return (await this.#ship(readings.slice(0, middle))) && (await this.#ship(readings.slice(middle)));
  }

  async #replayDeadLetters(): Promise<void> {
    const requested = this.#o.deadLetters.replayRequested();
    for (const letter of requested) {
      try {
        await this.#o.store.write([letter.reading]);
        this.#o.deadLetters.markReplayed([letter.id]);
        this.#o.metrics.stored.inc();
      } catch (err) {
        if (err instanceof StoreRejectedError) this.#o.deadLetters.replayFailed(letter.id, err.status, err.message);
        else return this.#markUnavailable(err as Error);
      }
    }
  }

}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
