import type { WebSocket } from 'ws';
import type { AlertEvent } from '../../alerts/index.js';
import type { LiveMessage, Reading } from '../../domain/index.js';
import type { Principal } from '../auth/principal.js';
import { CallerLimit } from './caller-limit.js';

/** What the hub needs to know about who may see what, and whether a session still stands. */
export interface LiveAccess {
  canSeePatient(principal: Principal, patientId: string): boolean;
  patientName(patientId: string): string | undefined;
  sessionValid(principal: Principal): Promise<boolean>;
  /** Whether the user's role or care teams are no longer those the socket was opened with. */
  accessChanged(principal: Principal): Promise<boolean>;
  eventsAfter(seq: number, limit: number): AlertEvent[];
}

export interface LiveHubOptions {
  readonly access: LiveAccess;
  /** A client whose socket has this much unsent data is too slow: it is closed and resyncs when it reconnects. */
  readonly maxBufferedBytes: number;
  /** Readings are pushed in batches, at most this often. */
  readonly readingBatchMs: number;
  readonly onDropped?: () => void;
  /** Open connections one session or token may hold (MAX_LIVE_PER_CALLER). */
  readonly maxPerCaller?: number;
}

interface Client {
  readonly socket: WebSocket;
  readonly principal: Principal;
  lastSeq: number;
}

/**
 * Close codes the page understands: 4401 log in again; 4008 too slow, reconnect and replay; 4009 the user's role or
 * care teams changed, reconnect (and see what the user may see now); 4029 the caller holds too many connections
 * already (the page reconnects with its growing pause).
 */
export const CLOSE_SESSION_ENDED = 4401;
export const CLOSE_TOO_SLOW = 4008;
export const CLOSE_ACCESS_CHANGED = 4009;
export const CLOSE_TOO_MANY = 4029;

/**
 * The live channel (`/api/live`): alert transitions with their sequence number, replayed from the last one the
 * client saw, and batches of readings. Each client gets only the patients it may see. Nothing here waits for a
 * client: a stalled socket is dropped once its buffer passes a bound, so ingest never slows for a browser.
 */
export class LiveHub {
  readonly #o: LiveHubOptions;
  readonly #clients = new Set<Client>();
  readonly #perCaller: CallerLimit;
  #pendingReadings: Reading[] = [];
  #readingTimer: NodeJS.Timeout | undefined;
  readonly #sessionTimer: NodeJS.Timeout;
  #checking = false;

  constructor(options: LiveHubOptions) {
    this.#o = options;
    this.#perCaller = new CallerLimit(options.maxPerCaller);
    this.#sessionTimer = setInterval(() => {
      // One check at a time: a slow database must not pile checks up.
      if (this.#checking) return;
      this.#checking = true;
      void this.#checkSessions().finally(() => (this.#checking = false));
    }, 5_000);
    this.#sessionTimer.unref();
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Whether the caller may open another connection (asked before the upgrade, for a plain 429); `origin`: its address. */
  admits(principal: Principal, origin: string): boolean {
    return this.#perCaller.admits(principal, origin);
  }

  /**
   * Registers a socket after replaying what it missed; synchronous, so no event falls between the two. Answers
   * how many replayed events the principal was shown and the last sequence number: a replay is a read of alert
   * history, audited by the caller like `GET /api/alerts/events`.
   */
  attach(socket: WebSocket, principal: Principal, afterSeq: number, origin: string): { replayed: number; lastSeq: number } {
    // Counted here too: upgrades admitted together may have passed `admits` before any of them was attached.
    const release = this.#perCaller.take(principal, origin);
    if (!release) {
      socket.close(CLOSE_TOO_MANY, 'too many live connections: close another one');
      return { replayed: 0, lastSeq: afterSeq };
    }
    socket.on('close', release);
    const client: Client = { socket, principal, lastSeq: afterSeq };
    let replayed = 0;
    for (;;) {
      const events = this.#o.access.eventsAfter(client.lastSeq, 1000);
      for (const event of events) {
        if (this.#sendAlertEvent(client, event)) replayed += 1;
        // Dropped as too slow (or gone): the rest of the history is not read for it, on the loop that acknowledges
        // devices. It reconnects from the last event it received.
        if (socket.readyState !== socket.OPEN) return { replayed, lastSeq: client.lastSeq };
      }
      if (events.length < 1000) break;
    }
    this.#send(client, { type: 'ready', seq: client.lastSeq, user: principal.username });
    this.#clients.add(client);
    socket.on('close', () => this.#clients.delete(client));
    socket.on('error', () => this.#clients.delete(client));
    // The page sends nothing but pings; anything else is ignored, never parsed as a command.
    socket.on('message', (data) => {
      if (data.toString() === 'ping') this.#send(client, { type: 'pong' });
    });
    return { replayed, lastSeq: client.lastSeq };
  }

  onAlertEvent(event: AlertEvent): void {
    for (const client of this.#clients) this.#sendAlertEvent(client, event);
  }

  /** Sends the event if the client has not had it and may see its patient; answers whether it was sent. */
  #sendAlertEvent(client: Client, event: AlertEvent): boolean {
    // A replayed event can also arrive live (stored before it was emitted): the sequence number tells.
    if (event.seq <= client.lastSeq) return false;
    client.lastSeq = event.seq;
    if (!this.#o.access.canSeePatient(client.principal, event.alert.patientId)) return false;
    return this.#send(client, {
      type: event.type,
      seq: event.seq,
      at: event.at,
      actor: event.actor,
      change: event.change,
      alert: event.alert,
      patientName: this.#o.access.patientName(event.alert.patientId),
    });
  }

  onReadings(readings: readonly Reading[]): void {
    if (this.#clients.size === 0 || readings.length === 0) return;
    this.#pendingReadings.push(...readings);
    this.#readingTimer ??= setTimeout(() => this.#flushReadings(), this.#o.readingBatchMs);
  }

  #flushReadings(): void {
    this.#readingTimer = undefined;
    const batch = this.#pendingReadings;
    this.#pendingReadings = [];
    const slim = batch.map((r) => ({ patientId: r.patientId, type: r.type, time: r.time, deviceId: r.deviceId, fields: r.fields, tags: r.tags }));
    for (const client of this.#clients) {
      const visible = slim.filter((r) => this.#o.access.canSeePatient(client.principal, r.patientId));
      if (visible.length > 0) this.#send(client, { type: 'readings', readings: visible });
    }
  }

  /** Every message is one of the live channel's schema (domain/api/live.ts), from which the page takes its types. */
  #send(client: Client, message: LiveMessage): boolean {
    const { socket } = client;
    if (socket.readyState !== socket.OPEN) return false;
    if (socket.bufferedAmount > this.#o.maxBufferedBytes) {
      this.#clients.delete(client);
      this.#o.onDropped?.();
      socket.close(CLOSE_TOO_SLOW, 'too slow: reconnect to catch up');
      // A peer that does not read does not answer the close handshake either.
      setTimeout(() => socket.terminate(), 1_000).unref();
      return false;
    }
    socket.send(JSON.stringify(message));
    return true;
  }

  async #checkSessions(): Promise<void> {
    for (const client of this.#clients) {
      let valid = true;
      let changed = false;
      try {
        valid = await this.#o.access.sessionValid(client.principal);
        // A socket keeps the principal it was opened with: narrowing a user's teams must reach it too.
        changed = valid && (await this.#o.access.accessChanged(client.principal));
      } catch {
        // The state database is busy or failing: check again in five seconds rather than crash or log everyone off.
      }
      // Closed (or dropped as too slow) while the database answered.
      if (!this.#clients.has(client)) continue;
      if (!valid || changed) {
        this.#clients.delete(client);
        if (valid) client.socket.close(CLOSE_ACCESS_CHANGED, 'access changed: reconnect');
        else client.socket.close(CLOSE_SESSION_ENDED, 'session ended');
      }
    }
  }

  close(): void {
    clearInterval(this.#sessionTimer);
    if (this.#readingTimer) clearTimeout(this.#readingTimer);
    for (const client of this.#clients) client.socket.close(1001, 'server stopping');
    this.#clients.clear();
  }
}
