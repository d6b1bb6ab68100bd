import type { ApiToken } from '../../domain/index.js';
import type { Role, User } from './user-store.js';

/**
 * The identity ports: dashboard accounts, sessions and personal API tokens. Async, so that they can live in the
 * embedded SQLite database or in a PostgreSQL shared by several instances behind a load balancer (a login on one,
 * the session used on another; lockouts counted across all). Callers await them; docs/architecture.md.
 */
export interface UserStore {
  add(input: { username: string; displayName?: string | undefined; role: Role; careTeams?: readonly string[] | undefined; password: string }): Promise<User>;
  list(): Promise<User[]>;
  get(id: number): Promise<User | undefined>;
  byUsername(username: string): Promise<User | undefined>;
  /** The stored hash, for the login check only. */
  passwordHash(username: string): Promise<{ user: User; hash: string } | undefined>;
  /**
   * A new password ends every session of the user, revokes their live personal API tokens and lifts a lockout: a
   * reset is how a compromised account is taken back, so nothing the old credentials opened may go on working.
   */
  setPassword(username: string, password: string): Promise<AccessEnded>;
  /** Narrowing a user's role or care teams ends their sessions. */
  update(username: string, changes: { role?: Role | undefined; careTeams?: readonly string[] | undefined; displayName?: string | undefined }): Promise<User>;
  /** Disabling ends the user's sessions and revokes their live API tokens at once (enabling again revives neither). */
  setDisabled(username: string, disabled: boolean): Promise<{ user: User; ended: AccessEnded }>;
  /**
   * `update`, `setPassword` and `setDisabled` together, in one transaction: all of them or none (an administrator's
   * change is audited once, as a whole, and must never be left half made).
   */
  change(username: string, change: UserChange): Promise<{ user: User; ended: AccessEnded }>;
  unlock(username: string): Promise<void>;
  /** Counts a failed login atomically (whichever instance saw it); past `maxFailures` in a row, locks until the answer. */
  recordFailure(userId: number, maxFailures: number, lockoutMs: number, now: number): Promise<number | null>;
  /** Records a login; false (and nothing recorded) when the account is locked, disabled or its password (`hash`, the one checked) changed by now. */
  recordLogin(userId: number, now: number, hash: string): Promise<boolean>;
}

/** What an administrator may change of an account at once (absent: left as it is). */
export interface UserChange {
  readonly role?: Role | undefined;
  readonly careTeams?: readonly string[] | undefined;
  readonly displayName?: string | undefined;
  readonly password?: string | undefined;
  readonly disabled?: boolean | undefined;
}

/** What a password reset or disabling ended, for the audit entry: how many sessions, which API tokens. */
export interface AccessEnded {
  readonly sessions: number;
  readonly tokenIds: readonly number[];
}

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

export interface SessionStore {
  readonly policy: SessionPolicy;
  create(userId: number, origin: string | null, now: number): Promise<{ id: string; csrfToken: string }>;
  /** The live session for this id, its idle clock restarted; undefined (and deleted) when it has expired. */
  touch(id: string, now: number): Promise<Session | undefined>;
  /** The live session for this id without restarting its idle clock. */
  peek(id: string, now: number): Promise<Session | undefined>;
  destroy(id: string): Promise<void>;
  purgeExpired(now: number): Promise<number>;
}

export interface ApiTokenStore {
  /** A new token for the user; the token itself is in the answer only. */
  create(userId: number, input: { label: string; expiresAt: number | null; createdBy: string }, now?: number): Promise<{ token: string; apiToken: ApiToken }>;
  get(id: number): Promise<ApiToken | undefined>;
  /** Every token of a user (or of everyone), newest first, revoked ones included. */
  list(userId?: number): Promise<ApiToken[]>;
  revoke(id: number, now?: number): Promise<ApiToken>;
  /** The live token a bearer value names: not revoked, not expired. */
  verify(presented: string, now?: number): Promise<{ id: number; userId: number } | undefined>;
  /** Why a bearer value `verify` refused was refused: the token it names, revoked or expired. */
  refusal(presented: string, now?: number): Promise<{ id: number; username: string; reason: 'revoked' | 'expired' } | undefined>;
  /** Whether the token is still live (the live channel re-checks an open socket with it). */
  active(id: number, now?: number): Promise<boolean>;
}
