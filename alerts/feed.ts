import { EventEmitter } from 'node:events';
import type { AlertTable } from './store/alert-table.js';
import type { AlertEvent } from './types.js';

/**
 * The event feed: every stored transition, emitted once in sequence order, whichever process wrote it (this
 * server's evaluation and actions, or the CLI's). Consumers that reconnect replay from a sequence number.
 */
export class AlertFeed extends EventEmitter<{ event: [AlertEvent] }> {
  readonly #table: AlertTable;
  #emittedSeq: number;
  readonly #onResolved: (event: AlertEvent) => void;

  constructor(table: AlertTable, onResolved: (event: AlertEvent) => void) {
    super();
    this.#table = table;
    this.#emittedSeq = table.lastSeq();
    this.#onResolved = onResolved;
  }

  /** Emits, in sequence order, every stored event not emitted yet. */
  drain(): void {
    for (;;) {
      const events = this.#table.eventsAfter(this.#emittedSeq, 500);
      if (events.length === 0) return;
      for (const event of events) {
        this.#emittedSeq = event.seq;
        if (event.type === 'alert.resolved') this.#onResolved(event);
        this.emit('event', event);
      }
    }
  }

  /** The sequence number of the newest stored transition: a client that has seen it is up to date. */
  lastSeq(): number {
    return this.#table.lastSeq();
  }

  eventsAfter(seq: number, limit?: number): AlertEvent[] {
    return this.#table.eventsAfter(seq, limit);
  }
}
