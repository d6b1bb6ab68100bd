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
 *
 * A connection that went silent (a NAT or firewall forgot it: no FIN, no RST) leaves its session, and the lock,
 * alive in PostgreSQL until the server's TCP keepalive gives up on it (two hours by default): no instance could
 * deliver meanwhile. So the holder that stops answering ends its own old session from its next connection (by
 * process id and start time, so never another's), and asks the server to probe its sessions within a minute.
 */
export class WebhookLeadership {
  readonly #url: string;
  #client: pg.Client | undefined;
  #held = false;
  #closed = false;
  /** The session that holds the lock here; once given up, the one to end from the next connection. */
  #session: { pid: number; started: string } | undefined;
  #abandoned: { pid: number; started: string } | undefined;

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
        // The server's probes of this session (PostgreSQL 15, 20.3.1): a host that vanished is noticed in about a minute.
        await client.query('SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; SET tcp_keepalives_count = 3');
        if (this.#abandoned) {
          await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND backend_start::text = $2', [this.#abandoned.pid, this.#abandoned.started]);
          this.#abandoned = undefined;
        }
      }
      if (this.#held) {
        await this.#client.query('SELECT 1');
        return true;
      }
      const { rows } = await this.#client.query<{ got: boolean; pid: number; started: string }>(
        'SELECT pg_try_advisory_lock($1) AS got, pid, backend_start::text AS started FROM pg_stat_activity WHERE pid = pg_backend_pid()',
        [WEBHOOK_LOCK],
      );
      this.#held = rows[0]?.got === true;
      if (this.#held) this.#session = { pid: rows[0]!.pid, started: rows[0]!.started };
      return this.#held;
    } catch {
      this.#drop();
      return false;
    }
  }

  #drop(): void {
    if (this.#held) this.#abandoned = this.#session;
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
