import { z } from 'zod';
import { CARE_TEAM } from '../../registry/index.js';
import { ROLES, VigilError, type Role, type User as UserShape } from '../../domain/index.js';
import { isUniqueViolation, type SqlClient, type SqlStatement, type SqlValue } from '../../state/index.js';
import type { AccessEnded, UserChange, UserStore } from './identity.js';
import { hashPassword, MIN_PASSWORD_LENGTH } from './passwords.js';

export { ROLES, type Role };

export const usernameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._@-]{1,63}$/i, 'a user name is 2-64 letters, digits, . _ @ or -');
export const passwordSchema = z.string().min(MIN_PASSWORD_LENGTH, `a password has at least ${MIN_PASSWORD_LENGTH} characters`).max(256);
export const careTeamsSchema = z.array(z.string().regex(CARE_TEAM, 'a care team is 1-64 letters, digits, spaces, _ . or -')).max(50);

/** A dashboard account, never with its password hash (its wire shape, domain/api/user.ts). */
export type User = Readonly<UserShape>;

interface UserRow {
  id: number;
  username: string;
  display_name: string;
  role: Role;
  care_teams: string;
  password_hash: string;
  created_at: number;
  disabled_at: number | null;
  failed_logins: number;
  locked_until: number | null;
  last_login_at: number | null;
}

function toUser(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    role: row.role,
    careTeams: JSON.parse(row.care_teams) as string[],
    createdAt: row.created_at,
    disabledAt: row.disabled_at,
    lockedUntil: row.locked_until,
    lastLoginAt: row.last_login_at,
  };
}

function check<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new VigilError('VIGIL_ERR_CONFIG', `${what}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** The session rows of a user, which a new password, a narrowing or disabling ends. */
const END_SESSIONS = 'DELETE FROM sessions WHERE user_id = ?';

/**
 * The user's live personal API tokens (not revoked, not expired), which a new password or disabling revokes: a
 * token is a credential of the account as much as a session is. Revoked rather than deleted, so the audit trail and
 * the token list still show them (with when); expired ones stay as they are.
 */
const REVOKE_TOKENS = 'UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) RETURNING id';

/** Both, as statements of the caller's transaction: the account's change and the end of its access commit together. */
function endAccess(userId: number, now: number) {
  return [
    { sql: END_SESSIONS, params: [userId] },
    { sql: REVOKE_TOKENS, params: [now, userId, now] },
  ];
}

function ended(results: readonly { rows: Record<string, unknown>[]; changes: number }[]): AccessEnded {
  const [sessions, tokens] = results.slice(-2);
  return { sessions: sessions!.changes, tokenIds: tokens!.rows.map((r) => Number(r.id)).sort((a, b) => a - b) };
}

/**
 * A user name matches whatever its case (one account per name). `lower()` rather than SQLite's COLLATE NOCASE,
 * which PostgreSQL lacks; its index there is on lower(username). Names are ASCII, which both fold alike.
 */
const BY_NAME = 'SELECT * FROM users WHERE lower(username) = lower(?)';

/**
 * Dashboard accounts, in SQLite or PostgreSQL (the SQL port). Passwords are kept only as scrypt hashes; nothing
 * here is ever created by default.
 */
export class SqlUserStore implements UserStore {
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  async add(input: { username: string; displayName?: string | undefined; role: Role; careTeams?: readonly string[] | undefined; password: string }): Promise<User> {
    const username = check(usernameSchema, input.username, 'user name');
    const password = check(passwordSchema, input.password, 'password');
    const role = check(z.enum(ROLES), input.role, 'role');
    const careTeams = check(careTeamsSchema, [...new Set(input.careTeams ?? [])], 'care teams');
    const hash = await hashPassword(password);
    const now = Date.now();
    try {
      const { rows } = await this.#sql.query<UserRow>(
        'INSERT INTO users (username, display_name, role, care_teams, password_hash, password_changed_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *',
        [username, input.displayName?.trim() || username, role, JSON.stringify(careTeams), hash, now, now],
      );
      return toUser(rows[0]!);
    } catch (err) {
      if (isUniqueViolation(err)) throw new VigilError('VIGIL_ERR_CONFLICT', `user ${username} already exists`);
      throw err;
    }
  }

  async list(): Promise<User[]> {
    return (await this.#sql.query<UserRow>('SELECT * FROM users ORDER BY lower(username)')).rows.map(toUser);
  }

  async get(id: number): Promise<User | undefined> {
    const row = (await this.#sql.query<UserRow>('SELECT * FROM users WHERE id = ?', [id])).rows[0];
    return row ? toUser(row) : undefined;
  }

  async byUsername(username: string): Promise<User | undefined> {
    const row = await this.#row(username);
    return row ? toUser(row) : undefined;
  }

  async passwordHash(username: string): Promise<{ user: User; hash: string } | undefined> {
    const row = await this.#row(username);
    return row ? { user: toUser(row), hash: row.password_hash } : undefined;
  }

  async #row(username: string): Promise<UserRow | undefined> {
    return (await this.#sql.query<UserRow>(BY_NAME, [username])).rows[0];
  }

  async #require(username: string): Promise<User> {
    const user = await this.byUsername(username);
    if (!user) throw new VigilError('VIGIL_ERR_NOT_FOUND', `user ${username} does not exist`);
    return user;
  }

  /**
   * A new password ends every session of the user, revokes their live API tokens and lifts a lockout, in one
   * transaction: whoever held the old password may have made a token with it (through an administrator's session)
   * or kept a session open, and a reset must shut both out at once.
   */
  async setPassword(username: string, password: string): Promise<AccessEnded> {
    return (await this.change(username, { password })).ended;
  }

  async update(username: string, changes: { role?: Role | undefined; careTeams?: readonly string[] | undefined; displayName?: string | undefined }): Promise<User> {
    return (await this.change(username, changes)).user;
  }

  async setDisabled(username: string, disabled: boolean): Promise<{ user: User; ended: AccessEnded }> {
    return this.change(username, { disabled });
  }

  /**
   * Every part of the change in one transaction, the password hashed before it begins.
   *
   * Narrowing a user's role or care teams ends their sessions: a session carries what its user could see when it
   * began, and an open live connection must not go on receiving patients the user may no longer see (it closes
   * at its next check, within seconds; the next login has the new permissions).
   *
   * Disabling ends the user's sessions and revokes their live API tokens at once (their live connections close at
   * their next check). Revoked, not only refused while disabled: an account disabled because it was compromised
   * and enabled again later must not bring back tokens its attacker may hold; the administrator issues new ones.
   */
  async change(username: string, change: UserChange): Promise<{ user: User; ended: AccessEnded }> {
    // Hashed before the account is read: the tens of ms of scrypt must not lie between the read and the write.
    const hash = change.password === undefined ? undefined : await hashPassword(check(passwordSchema, change.password, 'password'));
    const user = await this.#require(username);
    const role = change.role === undefined ? user.role : check(z.enum(ROLES), change.role, 'role');
    const teams = change.careTeams === undefined ? user.careTeams : check(careTeamsSchema, [...new Set(change.careTeams)], 'care teams');
    const displayName = change.displayName?.trim() || undefined;
    const narrowed = (user.role === 'admin' && role !== 'admin') || user.careTeams.some((t) => !teams.includes(t));
    const now = Date.now();
    // Only what the change names is written: a reset or a disabling that wrote back the role and care teams it read
    // would undo another administrator's narrowing made in the meantime, with nothing in the audit log to say so.
    const profile = new Map<string, SqlValue>();
    if (change.role !== undefined) profile.set('role', role);
    if (change.careTeams !== undefined) profile.set('care_teams', JSON.stringify(teams));
    if (displayName !== undefined) profile.set('display_name', displayName);
    const statements: SqlStatement[] = [];
    if (profile.size > 0) {
      const sets = [...profile.keys()].map((column) => `${column} = ?`).join(', ');
      statements.push({ sql: `UPDATE users SET ${sets} WHERE id = ?`, params: [...profile.values(), user.id] });
    }
    if (hash !== undefined) {
      statements.push({ sql: 'UPDATE users SET password_hash = ?, password_changed_at = ?, failed_logins = 0, locked_until = NULL WHERE id = ?', params: [hash, now, user.id] });
    }
    if (change.disabled !== undefined) {
      statements.push({ sql: 'UPDATE users SET disabled_at = ?, failed_logins = 0, locked_until = NULL WHERE id = ?', params: [change.disabled ? now : null, user.id] });
    }
    const endsAccess = hash !== undefined || change.disabled === true;
    if (endsAccess) statements.push(...endAccess(user.id, now));
    else if (narrowed) statements.push({ sql: END_SESSIONS, params: [user.id] });
    const results = await this.#sql.transaction(statements);
    return { user: (await this.get(user.id))!, ended: endsAccess ? ended(results) : { sessions: 0, tokenIds: [] } };
  }

  async unlock(username: string): Promise<void> {
    const user = await this.#require(username);
    await this.#sql.query('UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?', [user.id]);
  }

  /**
   * Counts a failed login; past `maxFailures` in a row the account is locked for `lockoutMs`. One statement that
   * reads and writes the counter, so that failures on several instances at once are all counted.
   */
  async recordFailure(userId: number, maxFailures: number, lockoutMs: number, now: number): Promise<number | null> {
    const { rows } = await this.#sql.query<{ locked_until: number | null }>(
      `UPDATE users SET failed_logins = failed_logins + 1,
         locked_until = CASE WHEN failed_logins + 1 >= ? THEN ? ELSE locked_until END
       WHERE id = ? RETURNING locked_until`,
      [maxFailures, now + lockoutMs, userId],
    );
    return rows[0]?.locked_until ?? null;
  }

  /**
   * Records a login and resets the failure count, unless the account was locked, disabled or given a new password
   * since it was read: another instance may have counted the failure that locks it while this one checked the
   * password, and an administrator taking a compromised account back may have reset the password this login
   * checked (`hash`). False then, and nothing changes.
   */
  async recordLogin(userId: number, now: number, hash: string): Promise<boolean> {
    const { rows } = await this.#sql.query(
      `UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = ?
       WHERE id = ? AND password_hash = ? AND disabled_at IS NULL AND (locked_until IS NULL OR locked_until <= ?) RETURNING id`,
      [now, userId, hash, now],
    );
    return rows.length === 1;
  }
}
