import type { SqlClient, SqlStatement, SqlValue, StateDb } from '../../state/index.js';

const USER_COLUMNS = ['id', 'username', 'display_name', 'role', 'care_teams', 'password_hash', 'password_changed_at', 'created_at', 'disabled_at', 'failed_logins', 'locked_until', 'last_login_at'] as const;
const TOKEN_COLUMNS = ['id', 'user_id', 'token_hash', 'label', 'created_at', 'created_by', 'expires_at', 'last_used_at', 'revoked_at'] as const;

/** Why an adoption did not run: the shared database has accounts already (another instance adopted first). */
const ACCOUNTS_EXIST = 'vigil: the shared database has accounts already';

function inserts(table: string, columns: readonly string[], rows: readonly Record<string, SqlValue>[]): SqlStatement[] {
  const sql = `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
  return rows.map((row) => ({ sql, params: columns.map((c) => row[c] ?? null) }));
}

/**
 * An installation moving to shared state (VIGIL_DATABASE_URL set for the first time) keeps its accounts: when
 * the shared database has no user yet, this data dir's users and API tokens are copied into it, with their ids,
 * password hashes, lockouts and token digests, so that the same people log in and the same integration tokens
 * work (sessions are not copied: everyone logs in once more). One transaction under an advisory lock, which
 * first checks that no account exists: of several instances starting at once, one adopts and the others find
 * its accounts. Returns what was copied, or undefined when nothing was (no local account, or shared ones exist).
 */
export async function adoptLocalIdentity(db: StateDb, shared: SqlClient): Promise<{ users: number; tokens: number } | undefined> {
  const users = db.prepare<[], Record<string, SqlValue>>(`SELECT ${USER_COLUMNS.join(', ')} FROM users ORDER BY id`).all();
  if (users.length === 0) return undefined;
  if ((await shared.query('SELECT 1 FROM users LIMIT 1')).rows.length > 0) return undefined;
  const tokens = db.prepare<[], Record<string, SqlValue>>(`SELECT ${TOKEN_COLUMNS.join(', ')} FROM api_tokens ORDER BY id`).all();
  try {
    await shared.transaction([
      // Any constant: the key that serialises instances adopting at the same moment.
      { sql: 'SELECT pg_advisory_xact_lock(4711016)' },
      { sql: `DO $$ BEGIN IF EXISTS (SELECT 1 FROM users) THEN RAISE EXCEPTION '${ACCOUNTS_EXIST}'; END IF; END $$` },
      ...inserts('users', USER_COLUMNS, users),
      ...inserts('api_tokens', TOKEN_COLUMNS, tokens),
      // The ids were given: new rows must number on from them.
      { sql: "SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT MAX(id) FROM users))" },
      { sql: "SELECT setval(pg_get_serial_sequence('api_tokens', 'id'), GREATEST((SELECT MAX(id) FROM api_tokens), 1), (SELECT COUNT(*) > 0 FROM api_tokens))" },
    ]);
  } catch (err) {
    if ((err as Error).message.includes(ACCOUNTS_EXIST)) return undefined;
    throw err;
  }
  return { users: users.length, tokens: tokens.length };
}
