import { createHash, randomBytes } from 'node:crypto';
import type { ApiToken } from '../../domain/index.js';
import { VigilError } from '../../domain/index.js';
import type { Migration, StateDb } from '../../state/index.js';

/**
 * Its own migration component rather than the dashboard's next version: a component's versions must be applied in
 * one order everywhere, and other branches add dashboard migrations of their own.
 */
export const API_TOKEN_MIGRATIONS: readonly Migration[] = [
  {
    component: 'dashboard.api_tokens',
    version: 1,
    sql: `
      -- Personal API tokens: only a SHA-256 of the token is stored (it is 256 random bits, so a slow hash adds
      -- nothing), and it is shown once, when created. Revoked tokens stay, for the audit trail.
      CREATE TABLE api_tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        token_hash TEXT NOT NULL UNIQUE,
        label TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        expires_at INTEGER,
        last_used_at INTEGER,
        revoked_at INTEGER
      );
      CREATE INDEX api_tokens_user ON api_tokens(user_id);
    `,
  },
];

/** A token starts with this, so that secret scanners and people can tell it apart from other strings. */
const PREFIX = 'vigil_pat_';

interface Row {
  id: number;
  user_id: number;
  username: string;
  label: string;
  created_at: number;
  created_by: string;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

function hash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

function toToken(row: Row): ApiToken {
  return {
    id: row.id,
    username: row.username,
    label: row.label,
    createdAt: row.created_at,
    createdBy: row.created_by,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

const SELECT = 'SELECT t.*, u.username FROM api_tokens t JOIN users u ON u.id = t.user_id';

/**
 * Personal API tokens (`Authorization: Bearer vigil_pat_...`), for integrations such as an EHR reading /fhir: each
 * acts as its user, with the user's current role and care teams, so narrowing the user narrows the token, and
 * disabling the user stops it. Created and revoked by administrators (CLI and API); checked on every request, so a
 * revocation applies to the next one.
 */
export class ApiTokenStore {
  readonly #db: StateDb;

  constructor(db: StateDb) {
    this.#db = db;
  }

  /** A new token for the user; the token itself is in the answer only. */
  create(userId: number, input: { label: string; expiresAt: number | null; createdBy: string }, now = Date.now()): { token: string; apiToken: ApiToken } {
    const token = `${PREFIX}${randomBytes(32).toString('base64url')}`;
    const { lastInsertRowid } = this.#db
      .prepare('INSERT INTO api_tokens (user_id, token_hash, label, created_at, created_by, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(userId, hash(token), input.label, now, input.createdBy, input.expiresAt);
    return { token, apiToken: this.get(Number(lastInsertRowid))! };
  }

  get(id: number): ApiToken | undefined {
    const row = this.#db.prepare(`${SELECT} WHERE t.id = ?`).get(id) as Row | undefined;
    return row ? toToken(row) : undefined;
  }

  /** Every token of a user (or of everyone), newest first, revoked ones included. */
  list(userId?: number): ApiToken[] {
    const rows = (userId === undefined ? this.#db.prepare(`${SELECT} ORDER BY t.id DESC`).all() : this.#db.prepare(`${SELECT} WHERE t.user_id = ? ORDER BY t.id DESC`).all(userId)) as Row[];
    return rows.map(toToken);
  }

  revoke(id: number, now = Date.now()): ApiToken {
    const token = this.get(id);
    if (!token) throw new VigilError('VIGIL_ERR_NOT_FOUND', `API token ${id} does not exist`);
    if (token.revokedAt !== null) throw new VigilError('VIGIL_ERR_CONFLICT', `API token ${id} is already revoked`);
    this.#db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ?').run(now, id);
    return this.get(id)!;
  }

  /**
   * The live token a bearer value names: not revoked, not expired. The lookup is by digest (an index), so an
   * unknown value costs the same as a known one. Last use is written at most once a minute.
   */
  verify(presented: string, now = Date.now()): { id: number; userId: number } | undefined {
    if (!presented.startsWith(PREFIX)) return undefined;
    const row = this.#db.prepare('SELECT id, user_id, expires_at, last_used_at, revoked_at FROM api_tokens WHERE token_hash = ?').get(hash(presented)) as
      | Pick<Row, 'id' | 'user_id' | 'expires_at' | 'last_used_at' | 'revoked_at'>
      | undefined;
    if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at <= now)) return undefined;
    if (row.last_used_at === null || now - row.last_used_at > 60_000) this.#db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(now, row.id);
    return { id: row.id, userId: row.user_id };
  }

  /** Whether the token is still live (the live channel re-checks an open socket with it). */
  active(id: number, now = Date.now()): boolean {
    const token = this.get(id);
    return token !== undefined && token.revokedAt === null && (token.expiresAt === null || token.expiresAt > now);
  }
}
