import { VigilError } from '../../domain/index.js';
import type { AuditLog } from '../../state/index.js';
import { hashPassword, verifyPassword } from './passwords.js';
import type { SessionStore } from './session-store.js';
import type { User, UserStore } from './user-store.js';

export interface LoginPolicy {
  readonly maxFailures: number;
  readonly lockoutMs: number;
}

// Unknown user names cost the same scrypt as known ones, so that timing does not tell which names exist.
let dummyHash: Promise<string> | undefined;

/**
 * Checks a user name and password and opens a session. Failures are counted per account; past the limit the
 * account is locked for a while (and the lockout is audited). Every attempt is in the audit log.
 */
export async function login(
  deps: { users: UserStore; sessions: SessionStore; audit: Pick<AuditLog, 'record'>; policy: LoginPolicy; now?: () => number },
  username: string,
  password: string,
  origin: string,
): Promise<{ user: User; sessionId: string; csrfToken: string }> {
  const now = deps.now ?? Date.now;
  const found = deps.users.passwordHash(username);
  const actor = { name: `user:${found?.user.username ?? username.slice(0, 64)}`, origin };
  if (!found) {
    await verifyPassword(password, await (dummyHash ??= hashPassword('not a password of anyone')));
    deps.audit.record(actor, 'login.failed', null, null, { reason: 'unknown user' });
    throw new VigilError('VIGIL_ERR_LOGIN_FAILED', 'wrong user name or password');
  }
  const { user, hash } = found;
  if (user.lockedUntil !== null && user.lockedUntil > now()) {
    deps.audit.record(actor, 'login.refused', null, null, { reason: 'locked' });
    throw new VigilError('VIGIL_ERR_LOCKED', `too many failed logins: try again after ${new Date(user.lockedUntil).toISOString()} or ask an administrator`);
  }
  const ok = await verifyPassword(password, hash);
  if (!ok || user.disabledAt !== null) {
    const lockedUntil = ok ? null : deps.users.recordFailure(user.id, deps.policy.maxFailures, deps.policy.lockoutMs, now());
    const locked = lockedUntil !== null && lockedUntil > now();
    deps.audit.record(actor, locked ? 'login.locked' : 'login.failed', null, null, { reason: ok ? 'disabled' : 'wrong password' });
    if (locked) throw new VigilError('VIGIL_ERR_LOCKED', `too many failed logins: try again after ${new Date(lockedUntil).toISOString()} or ask an administrator`);
    throw new VigilError('VIGIL_ERR_LOGIN_FAILED', 'wrong user name or password');
  }
  deps.users.recordLogin(user.id, now());
  const session = deps.sessions.create(user.id, origin, now());
  deps.audit.record(actor, 'login', null, null);
  return { user, sessionId: session.id, csrfToken: session.csrfToken };
}
