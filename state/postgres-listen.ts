import pg from 'pg';

export interface ListenHandlers {
  /** A notification's payload, in commit order. */
  readonly notify: (payload: string) => void;
  /**
   * LISTEN is in place (first connection and every reconnection). Notifications sent while no connection listened
   * are lost for good, so the caller catches up here (a full resync), after LISTEN, so nothing falls in between.
   */
  readonly listening: () => Promise<void>;
  /** The connection failed or a catch-up failed; the listener reconnects on its own. */
  readonly error: (err: Error) => void;
}

export interface Listener {
  /** Resolves once the first LISTEN and its catch-up are done; rejects if they fail (the caller cannot start). */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

const RETRY_MS = [250, 500, 1_000, 2_000, 5_000, 10_000];

/**
 * A dedicated connection that LISTENs on one channel (a pooled connection cannot: the pool lends it to others)
 * and reconnects, with backoff, whenever it drops: a database restart, a failover, a network cut.
 */
export function listenPostgres(url: string, channel: string, handlers: ListenHandlers): Listener {
  let client: pg.Client | undefined;
  let closed = false;
  let failures = 0;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, keepAlive: true });
    client = c;
    c.on('notification', (message) => {
      if (message.channel === channel && message.payload !== undefined) handlers.notify(message.payload);
    });
    // An 'error' without a listener would end the process; 'end' follows it, and both mean: reconnect.
    c.on('error', (err) => handlers.error(err));
    c.on('end', () => {
      if (client === c) reconnectLater();
    });
    try {
      await c.connect();
      // pg's escapeIdentifier: the channel is a constant, but quoting keeps it what it says.
      await c.query(`LISTEN ${c.escapeIdentifier(channel)}`);
      await handlers.listening();
      failures = 0;
    } catch (err) {
      if (client === c) client = undefined;
      await c.end().catch(() => undefined);
      throw err;
    }
  };

  const reconnectLater = (): void => {
    client = undefined;
    if (closed || retry) return;
    const delay = RETRY_MS[Math.min(failures, RETRY_MS.length - 1)]!;
    failures++;
    retry = setTimeout(() => {
      retry = undefined;
      if (closed) return;
      connect().catch((err: Error) => {
        handlers.error(err);
        reconnectLater();
      });
    }, delay);
    retry.unref();
  };

  const ready = connect();
  return {
    ready,
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
