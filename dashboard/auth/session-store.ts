import { createHash, randomBytes } from 'node:crypto';
import type { StateDb } from '../../state/index.js';

export interface Session {
  readonly userId: number;
  readonly csrfToken: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
}

export interface SessionPolicy {
  /** Automatic log-off after this long without a request. */
  readonly idleMs: number;
  /** A session ends this long after login, however active. */
  readonly maxAgeMs: number;
}

function hashId(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

/**
 * Server-side sessions in the state database, so that they survive a restart and can be ended from the CLI
 * (a disabled user or a new password ends them). Activity is written at most every 30 s per session.
 */
export class SessionStore {
  readonly #db: StateDb;
  readonly #policy: SessionPolicy;

  constructor(db: StateDb, policy: SessionPolicy) {
    this.#db = db;
    this.#policy = policy;
  }

  get policy(): SessionPolicy {
    return this.#policy;
  }

  create(userId: number, origin: string | null, now: number): { id: string; csrfToken: string } {
    const id = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    this.#db
      .prepare('INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, origin) VALUES (?, ?, ?, ?, ?, ?)')
      .run(hashId(id), userId, csrfToken, now, now, origin);
    return { id, csrfToken };
  }

  #read(key: string): Session | undefined {
    return this.#db
      .prepare('SELECT user_id AS userId, csrf_token AS csrfToken, created_at AS createdAt, last_seen_at AS lastSeenAt FROM sessions WHERE id_hash = ?')
      .get(key) as Session | undefined;
  }

  #expired(session: Session, now: number): boolean {
    return now - session.lastSeenAt > this.#policy.idleMs || now - session.createdAt > this.#policy.maxAgeMs;
  }

  /** The live session for this id, its idle clock restarted; undefined (and deleted) when it has expired. */
  touch(id: string, now: number): Session | undefined {
    const key = hashId(id);
    const row = this.#read(key);
    if (!row) return undefined;
    if (this.#expired(row, now)) {
      this.#db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(key);
      return undefined;
    }
    if (now - row.lastSeenAt > 30_000) this.#db.prepare('UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?').run(now, key);
    return row;
  }

  /**
   * The live session for this id without restarting its idle clock: the page's background refreshes, and the
   * live channel checking its open sockets.
   */
  peek(id: string, now: number): Session | undefined {
    const row = this.#read(hashId(id));
    return row && !this.#expired(row, now) ? row : undefined;
  }

  destroy(id: string): void {
    this.#db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(hashId(id));
  }

  purgeExpired(now: number): number {
    return this.#db
      .prepare('DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?')
      .run(now - this.#policy.idleMs, now - this.#policy.maxAgeMs).changes;
  }
}
