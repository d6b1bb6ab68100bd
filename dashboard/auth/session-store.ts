import { createHash, randomBytes } from 'node:crypto';
import type { SqlClient } from '../../state/index.js';
import type { Session, SessionPolicy, SessionStore } from './identity.js';

export type { Session, SessionPolicy } from './identity.js';

function hashId(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

// Quoted aliases: PostgreSQL folds unquoted ones to lower case.
const READ = 'SELECT user_id AS "userId", csrf_token AS "csrfToken", created_at AS "createdAt", last_seen_at AS "lastSeenAt" FROM sessions WHERE id_hash = ?';

/**
 * Server-side sessions in the state database (SQLite, or PostgreSQL shared by several instances), so that they
 * survive a restart, hold on whichever instance a request reaches, and can be ended from the CLI (a disabled user
 * or a new password ends them). Expiry is judged from the stored times on every request. Activity is written at
 * most every 30 s per session.
 */
export class SqlSessionStore implements SessionStore {
  readonly #sql: SqlClient;
  readonly #policy: SessionPolicy;

  constructor(sql: SqlClient, policy: SessionPolicy) {
    this.#sql = sql;
    this.#policy = policy;
  }

  get policy(): SessionPolicy {
    return this.#policy;
  }

  async create(userId: number, origin: string | null, now: number): Promise<{ id: string; csrfToken: string }> {
    const id = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    await this.#sql.query('INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, origin) VALUES (?, ?, ?, ?, ?, ?)', [
      hashId(id),
      userId,
      csrfToken,
      now,
      now,
      origin,
    ]);
    return { id, csrfToken };
  }

  async #read(key: string): Promise<Session | undefined> {
    return (await this.#sql.query<Session>(READ, [key])).rows[0];
  }

  #expired(session: Session, now: number): boolean {
    return now - session.lastSeenAt > this.#policy.idleMs || now - session.createdAt > this.#policy.maxAgeMs;
  }

  async touch(id: string, now: number): Promise<Session | undefined> {
    const key = hashId(id);
    const row = await this.#read(key);
    if (!row) return undefined;
    if (this.#expired(row, now)) {
      await this.#sql.query('DELETE FROM sessions WHERE id_hash = ?', [key]);
      return undefined;
    }
    if (now - row.lastSeenAt > 30_000) await this.#sql.query('UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?', [now, key]);
    return row;
  }

  /**
   * The page's background refreshes, and the live channel checking its open sockets, see the session without
   * restarting its idle clock.
   */
  async peek(id: string, now: number): Promise<Session | undefined> {
    const row = await this.#read(hashId(id));
    return row && !this.#expired(row, now) ? row : undefined;
  }

  async destroy(id: string): Promise<void> {
    await this.#sql.query('DELETE FROM sessions WHERE id_hash = ?', [hashId(id)]);
  }

  async purgeExpired(now: number): Promise<number> {
    const result = await this.#sql.query('DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?', [now - this.#policy.idleMs, now - this.#policy.maxAgeMs]);
    return result.changes;
  }
}
