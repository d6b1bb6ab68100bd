import type { Principal } from '../auth/principal.js';

/** Open live connections one caller may hold: a tab each; more is a script, not a person. */
export const MAX_LIVE_PER_CALLER = 16;

/**
 * Who holds a live connection: the session, the personal token, or, for the admin token, the integration using it:
 * the actor it names (`X-Vigil-Actor`) from its address. The admin token is one credential shared by every
 * integration of a deployment (a wall board, a pager bridge, a script), and the one that keeps working when
 * PostgreSQL does not; counted as one caller, a single client leaking sockets (a reconnect loop that never
 * closes, a crashed script's half-open connections) took all 16 and locked every other integration, the
 * operators' live monitoring among them, out of the live channel. A holder of the admin token could name more
 * actors to get more connections, but it holds the admin role already (users, erasure): the limit is against a
 * runaway client, not against it. Sessions and personal tokens stay one caller wherever they connect from.
 */
export function callerOf(principal: Principal, origin: string): string {
  if (principal.sessionId !== undefined) return `session:${principal.sessionId}`;
  if (principal.tokenId !== undefined) return `token:${principal.tokenId}`;
  return `admin-token:${principal.username}@${origin}`;
}

/**
 * Counts open live connections per caller, so that one session or token cannot hold the server's sockets and file
 * descriptors (each also costs two queries of the 5-second access check). A caller's count falls when its socket
 * closes, however it closes.
 */
export class CallerLimit {
  readonly #max: number;
  readonly #open = new Map<string, number>();

  constructor(max = MAX_LIVE_PER_CALLER) {
    this.#max = max;
  }

  /** `origin`: the client's address (request.ip), which tells integrations holding the admin token apart. */
  admits(principal: Principal, origin: string): boolean {
    return (this.#open.get(callerOf(principal, origin)) ?? 0) < this.#max;
  }

  /** Counts a connection if the caller has room; answers the release to call once when it closes, or undefined. */
  take(principal: Principal, origin: string): (() => void) | undefined {
    const caller = callerOf(principal, origin);
    const open = this.#open.get(caller) ?? 0;
    if (open >= this.#max) return undefined;
    this.#open.set(caller, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#open.get(caller) ?? 1) - 1;
      if (left > 0) this.#open.set(caller, left);
      else this.#open.delete(caller);
    };
  }
}
