import type { LiveMessage } from './types.js';

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'ended';

export interface LiveHandlers {
  onMessage(message: LiveMessage): void;
  onState(state: LiveState): void;
  /** After a reconnect: what was missed has been replayed; refresh anything not carried by events. */
  onResynced(): void;
  onSessionEnded(): void;
}

/**
 * The live channel: one WebSocket, resumed after a drop from the last sequence number seen (the server replays
 * the alert transitions in between), with a growing pause between attempts.
 */
export class LiveChannel {
  #socket: WebSocket | undefined;
  #lastSeq: number;
  #attempt = 0;
  #stopped = false;
  #everReady = false;
  #timer: number | undefined;
  #ping: number | undefined;
  readonly #handlers: LiveHandlers;

  constructor(lastSeq: number, handlers: LiveHandlers) {
    this.#lastSeq = lastSeq;
    this.#handlers = handlers;
    this.#connect();
  }

  #connect(): void {
    this.#handlers.onState(this.#attempt === 0 && !this.#everReady ? 'connecting' : 'reconnecting');
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${location.host}/api/live?after=${this.#lastSeq}`);
    this.#socket = socket;
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(String(event.data)) as LiveMessage;
      if ('seq' in message && typeof message.seq === 'number') this.#lastSeq = Math.max(this.#lastSeq, message.seq);
      if (message.type === 'ready') {
        const resumed = this.#everReady;
        this.#everReady = true;
        this.#attempt = 0;
        this.#handlers.onState('live');
        if (resumed) this.#handlers.onResynced();
        return;
      }
      this.#handlers.onMessage(message);
    });
    socket.addEventListener('open', () => {
      this.#ping = window.setInterval(() => socket.readyState === WebSocket.OPEN && socket.send('ping'), 25_000);
    });
    socket.addEventListener('close', (event) => {
      window.clearInterval(this.#ping);
      if (this.#stopped) return;
      if (event.code === 4401) {
        this.#handlers.onState('ended');
        this.#handlers.onSessionEnded();
        return;
      }
      this.#handlers.onState('reconnecting');
      const delay = Math.min(10_000, 500 * 2 ** this.#attempt++) * (0.75 + Math.random() * 0.5);
      this.#timer = window.setTimeout(() => this.#connect(), delay);
    });
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  stop(): void {
    this.#stopped = true;
    window.clearTimeout(this.#timer);
    window.clearInterval(this.#ping);
    this.#socket?.close(1000, 'bye');
  }
}
