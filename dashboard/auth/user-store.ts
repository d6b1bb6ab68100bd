import { z } from 'zod';
import { CARE_TEAM } from '../../registry/index.js';
import { ROLES, VigilError, type Role, type User as UserShape } from '../../domain/index.js';
import type { StateDb } from '../../state/index.js';
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

/** Dashboard accounts. Passwords are kept only as scrypt hashes; nothing here is ever created by default. */
export class UserStore {
  readonly #db: StateDb;

  constructor(db: StateDb) {
    this.#db = db;
  }

  async add(input: { username: string; displayName?: string | undefined; role: Role; careTeams?: readonly string[] | undefined; password: string }): Promise<User> {
    const username = check(usernameSchema, input.username, 'user name');
    const password = check(passwordSchema, input.password, 'password');
    const role = check(z.enum(ROLES), input.role, 'role');
    const careTeams = check(careTeamsSchema, [...new Set(input.careTeams ?? [])], 'care teams');
    const hash = await hashPassword(password);
    const now = Date.now();
    try {
      this.#db
        .prepare(
          'INSERT INTO users (username, display_name, role, care_teams, password_hash, password_changed_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(username, input.displayName?.trim() || username, role, JSON.stringify(careTeams), hash, now, now);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new VigilError('VIGIL_ERR_CONFLICT', `user ${username} already exists`);
      throw err;
    }
    return this.byUsername(username)!;
  }

  list(): User[] {
    return (this.#db.prepare('SELECT * FROM users ORDER BY username').all() as UserRow[]).map(toUser);
  }

  get(id: number): User | undefined {
    const row = this.#db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRow | undefined;
    return row ? toUser(row) : undefined;
  }

  byUsername(username: string): User | undefined {
    const row = this.#row(username);
    return row ? toUser(row) : undefined;
  }

  /** The stored hash, for the login check only. */
  passwordHash(username: string): { user: User; hash: string } | undefined {
    const row = this.#row(username);
    return row ? { user: toUser(row), hash: row.password_hash } : undefined;
  }

  #row(username: string): UserRow | undefined {
    return this.#db.prepare('SELECT * FROM users WHERE username = ?').get(username) as UserRow | undefined;
  }

  #require(username: string): User {
    const user = this.byUsername(username);
    if (!user) throw new VigilError('VIGIL_ERR_NOT_FOUND', `user ${username} does not exist`);
    return user;
  }

  /** A new password also ends every session of the user and lifts a lockout. */
  async setPassword(username: string, password: string): Promise<void> {
    const user = this.#require(username);
    const hash = await hashPassword(check(passwordSchema, password, 'password'));
    this.#db.transaction(() => {
      this.#db
        .prepare('UPDATE users SET password_hash = ?, password_changed_at = ?, failed_logins = 0, locked_until = NULL WHERE id = ?')
        .run(hash, Date.now(), user.id);
      this.#db.prepare('DELETE FROM sessions WHERE user_id = ?').run(user.id);
    })();
  }

  /**
   * Narrowing a user's role or care teams ends their sessions: a session carries what its user could see when it
   * began, and an open live connection must not go on receiving patients the user may no longer see (it closes
   * at its next check, within seconds; the next login has the new permissions).
   */
  update(username: string, changes: { role?: Role | undefined; careTeams?: readonly string[] | undefined; displayName?: string | undefined }): User {
    const user = this.#require(username);
    const role = changes.role === undefined ? user.role : check(z.enum(ROLES), changes.role, 'role');
    const teams = changes.careTeams === undefined ? user.careTeams : check(careTeamsSchema, [...new Set(changes.careTeams)], 'care teams');
    const displayName = changes.displayName?.trim() || user.displayName;
    const narrowed = (user.role === 'admin' && role !== 'admin') || user.careTeams.some((t) => !teams.includes(t));
    this.#db.transaction(() => {
      this.#db.prepare('UPDATE users SET role = ?, care_teams = ?, display_name = ? WHERE id = ?').run(role, JSON.stringify(teams), displayName, user.id);
      if (narrowed) this.#db.prepare('DELETE FROM sessions WHERE user_id = ?').run(user.id);
    })();
    return this.get(user.id)!;
  }

  /** Disabling ends the user's sessions at once (their live connection closes at its next check). */
  setDisabled(username: string, disabled: boolean): User {
    const user = this.#require(username);
    this.#db.transaction(() => {
      this.#db.prepare('UPDATE users SET disabled_at = ?, failed_logins = 0, locked_until = NULL WHERE id = ?').run(disabled ? Date.now() : null, user.id);
      if (disabled) this.#db.prepare('DELETE FROM sessions WHERE user_id = ?').run(user.id);
    })();
    return this.get(user.id)!;
  }

  unlock(username: string): void {
    const user = this.#require(username);
    this.#db.prepare('UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?').run(user.id);
  }

  /** Counts a failed login; past `maxFailures` in a row the account is locked for `lockoutMs`. */
  recordFailure(userId: number, maxFailures: number, lockoutMs: number, now: number): number | null {
    const row = this.#db
      .prepare(
        `UPDATE users SET failed_logins = failed_logins + 1,
           locked_until = CASE WHEN failed_logins + 1 >= ? THEN ? ELSE locked_until END
         WHERE id = ? RETURNING locked_until`,
      )
      .get(maxFailures, now + lockoutMs, userId) as { locked_until: number | null } | undefined;
    return row?.locked_until ?? null;
  }

  recordLogin(userId: number, now: number): void {
    this.#db.prepare('UPDATE users SET failed_logins = 0, locked_until = NULL, last_login_at = ? WHERE id = ?').run(now, userId);
  }
}
