import type { Principal } from '../auth/principal.js';

/** Open live connections one caller may hold: a tab each; more is a script, not a person. */
export const MAX_LIVE_PER_CALLER = 16;

/** Who holds a live connection: the session, the personal token, or the admin token (whatever actor it names). */
function callerOf(principal: Principal): string {
  if (principal.sessionId !== undefined) return `session:${principal.sessionId}`;
  return principal.tokenId !== undefined ? `token:${principal.tokenId}` : 'admin-token';
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

  admits(principal: Principal): boolean {
    return (this.#open.get(callerOf(principal)) ?? 0) < this.#max;
  }

  /** Counts a connection if the caller has room; answers the release to call once when it closes, or undefined. */
  take(principal: Principal): (() => void) | undefined {
    const caller = callerOf(principal);
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
