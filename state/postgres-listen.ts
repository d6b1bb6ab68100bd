import pg from 'pg';
import { RetryLater } from './retry-later.js';

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

/** How long closing the listening connection waits for the server's goodbye before dropping the socket. */
const END_MS = 2_000;
/** The listening connection's application_name (unless the URL sets one). */
export const LISTENER_NAME = 'vigil-listen';
/**
 * A listening connection only receives, so a connection that died without a word (a NAT or load balancer that
 * drops idle flows after a few minutes, a network cut during a failover) would look alive until TCP keepalive
 * gives up, two hours and more with Linux's defaults, while every change meanwhile is lost. So it is asked
 * `SELECT 1` this often (which also keeps the flow busy), and given up and replaced when no answer comes.
 */
export const LISTEN_HEARTBEAT = { everyMs: 10_000, answerMs: 5_000 } as const;

/**
 * A dedicated connection that LISTENs on one channel (a pooled connection cannot: the pool lends it to others)
 * and reconnects, with backoff, whenever it drops or stops answering its heartbeat: a database restart, a
 * failover, a network cut.
 */
export function listenPostgres(url: string, channel: string, handlers: ListenHandlers, heartbeat: { everyMs: number; answerMs: number } = LISTEN_HEARTBEAT): Listener {
  let client: pg.Client | undefined;
  let beat: NodeJS.Timeout | undefined;
  const retry = new RetryLater(() =>
    connect().catch((err: Error) => {
      handlers.error(err);
      reconnectLater();
    }),
  );

  /** Asks the listening connection for an answer; replaces it when none comes in time. */
  const watch = (c: pg.Client): void => {
    clearInterval(beat);
    let asking = false;
    beat = setInterval(() => {
      if (asking || client !== c) return;
      asking = true;
      c.query({ text: 'SELECT 1', query_timeout: heartbeat.answerMs } as pg.QueryConfig)
        .catch((err: Error) => {
          if (client !== c) return;
          handlers.error(new Error(`the listening connection did not answer its heartbeat within ${heartbeat.answerMs} ms; reconnecting`, { cause: err }));
          reconnectLater();
          void endWithin(c, END_MS);
        })
        .finally(() => (asking = false));
    }, heartbeat.everyMs);
    beat.unref();
  };

  const connect = async (): Promise<void> => {
    // Named, so that an operator (and a test) tells it apart in pg_stat_activity: its last query is the heartbeat's.
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, keepAlive: true, application_name: LISTENER_NAME });
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
      retry.succeeded();
      if (client === c) watch(c);
    } catch (err) {
      if (client === c) client = undefined;
      await endWithin(c, END_MS);
      throw err;
    }
  };

  function reconnectLater(): void {
    client = undefined;
    clearInterval(beat);
    retry.failed();
  }

  const ready = connect();
  return {
    ready,
    async close() {
      retry.close();
      clearInterval(beat);
      const c = client;
      client = undefined;
      if (c) await endWithin(c, END_MS);
    },
  };
}

/** pg's connection, for the one thing its API lacks: dropping a socket whose peer never answers the goodbye. */
interface WithSocket {
  readonly connection?: { readonly stream?: { destroy(): void } };
}

/**
 * Ends a connection politely, and destroys its socket if that has not ended within `ms`: on a flow a NAT forgot
 * the goodbye is never answered, and pg's end() would wait for the kernel to give up (minutes), keeping a
 * shutdown, or a command, waiting.
 */
async function endWithin(c: pg.Client, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  const outcome = await Promise.race([c.end().then(() => 'ended' as const, () => 'ended' as const), late]);
  clearTimeout(timer);
  if (outcome === 'late') (c as unknown as WithSocket).connection?.stream?.destroy();
}
