import pg from 'pg';
import type { SqlClient } from '../../state/index.js';
import type { AlertTable } from '../store/alert-table.js';
import { toEvent } from '../store/alert-table.js';
import type { AlertEvent } from '../types.js';
import type { WebhookCursor, WebhookEvents } from '../webhook.js';

/** The key of the session-level advisory lock the delivering instance holds. */
const WEBHOOK_LOCK = 4_711_017;
/** How long the lock's connection may take to connect or answer before this instance stops delivering. */
const LEADER_TIMEOUT_MS = 5_000;

/**
 * One instance at a time delivers the webhook: the one whose dedicated connection holds a session-level advisory
 * lock. PostgreSQL releases it when that session ends (the instance stopped, crashed, or lost the network), and
 * another instance takes it at its next ask. Before each round of deliveries the holder checks its connection
 * answers, and stops delivering if not. A delivery may be sent twice around a hand-over (at least once, as on
 * one instance); its `webhook-id` names the event's shared number, so the receiver can tell.
 */
export class WebhookLeadership {
  readonly #url: string;
  #client: pg.Client | undefined;
  #held = false;
  #closed = false;

  constructor(url: string) {
    this.#url = url;
  }

  async delivering(): Promise<boolean> {
    if (this.#closed) return false;
    try {
      if (!this.#client) {
        const client = new pg.Client({ connectionString: this.#url, application_name: 'vigil-webhook', connectionTimeoutMillis: LEADER_TIMEOUT_MS, query_timeout: LEADER_TIMEOUT_MS });
        client.on('error', () => this.#drop());
        this.#client = client;
        await client.connect();
      }
      if (this.#held) {
        await this.#client.query('SELECT 1');
        return true;
      }
      const { rows } = await this.#client.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1) AS got', [WEBHOOK_LOCK]);
      this.#held = rows[0]?.got === true;
      return this.#held;
    } catch {
      this.#drop();
      return false;
    }
  }

  #drop(): void {
    this.#held = false;
    const client = this.#client;
    this.#client = undefined;
    void client?.end().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#held = false;
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }
}

/**
 * The webhook's events and cursor with shared alerts: events read from PostgreSQL, without quiet writes and
 * without history adopted from a data dir (its own webhook sent that before), and the cursor in PostgreSQL, moved
 * only forward, so that the next instance to deliver starts where the last one stopped.
 */
export function sharedWebhookSource(client: SqlClient, table: AlertTable): { events: WebhookEvents; cursor: WebhookCursor } {
  let known: number | undefined;
  return {
    events: {
      async eventsAfter(seq, limit) {
        const { rows } = await client.query<Record<string, unknown>>(
          'SELECT seq, type, at, actor, alert FROM alert_events WHERE seq > ? AND NOT quiet AND NOT adopted ORDER BY seq LIMIT ?',
          [seq, limit],
        );
        return rows.map((r): AlertEvent => toEvent(r));
      },
      async lastSeq() {
        return (await client.query<{ seq: number }>('SELECT COALESCE(MAX(seq), 0) AS seq FROM alert_events')).rows[0]!.seq;
      },
      countTransitionsAfter: (seq) => table.countTransitionsAfter(seq),
    },
    cursor: {
      async webhookCursor() {
        known = (await client.query<{ seq: number }>('SELECT seq FROM webhook_cursor WHERE id = 1')).rows[0]?.seq;
        return known;
      },
      async setWebhookCursor(seq) {
        await client.query('INSERT INTO webhook_cursor (id, seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET seq = GREATEST(webhook_cursor.seq, excluded.seq)', [seq]);
        known = Math.max(known ?? 0, seq);
      },
      known: () => known,
    },
  };
}
