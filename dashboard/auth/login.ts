import type { PasswordGate } from './password-gate.js';
import { VigilError } from '../../domain/index.js';
import type { AuditLog } from '../../state/index.js';
import { hashPassword, verifyPassword } from './passwords.js';
import type { SessionStore, UserStore } from './identity.js';
import { usernameSchema, type User } from './user-store.js';

export interface LoginPolicy {
  readonly maxFailures: number;
  readonly lockoutMs: number;
}

// Unknown user names cost the same scrypt as known ones, so that timing does not tell which names exist.
let dummyHash: Promise<string> | undefined;

function refused(): VigilError {
  return new VigilError('VIGIL_ERR_LOGIN_FAILED', 'wrong user name or password, or the account is locked after repeated failures (ask an administrator)');
}

/**
 * Checks a user name and password and opens a session. Failures are counted per account; past the limit the
 * account is locked for a while (and the lockout is audited). Every attempt is in the audit log.
 */
export async function login(
  deps: { users: UserStore; sessions: SessionStore; audit: Pick<AuditLog, 'record'>; policy: LoginPolicy; gate: PasswordGate; now?: () => number },
  username: string,
  password: string,
  origin: string,
): Promise<{ user: User; sessionId: string; csrfToken: string }> {
  const now = deps.now ?? Date.now;
  const found = await deps.users.passwordHash(username);
  if (!found) {
    await deps.gate.run(async () => verifyPassword(password, await (dummyHash ??= hashPassword('not a password of anyone'))));
    // The name sent is the client's, not an account's: it never becomes an actor (`user:card/token:1` would read as
    // that token's doing). A name an account could have is the target; any other string is not kept at all.
    const tried = usernameSchema.safeParse(username).success ? `user:${username}` : null;
    deps.audit.record({ name: 'unauthenticated', origin }, 'login.failed', null, tried, { reason: 'unknown user' });
    throw refused();
  }
  const { user, hash } = found;
  // The account's own name as stored, whatever case the client typed.
  const actor = { name: `user:${user.username}`, origin };
  // Every refusal looks alike (status, code, message, and a password check's time): a different answer for a
  // locked account would tell an attacker which user names exist. The audit log keeps the real reason.
  const ok = await deps.gate.run(() => verifyPassword(password, hash));
  if (user.lockedUntil !== null && user.lockedUntil > now()) {
    deps.audit.record(actor, 'login.refused', null, null, { reason: 'locked' });
    throw refused();
  }
  if (!ok || user.disabledAt !== null) {
    const lockedUntil = ok ? null : await deps.users.recordFailure(user.id, deps.policy.maxFailures, deps.policy.lockoutMs, now());
    const locked = lockedUntil !== null && lockedUntil > now();
    deps.audit.record(actor, locked ? 'login.locked' : 'login.failed', null, null, { reason: ok ? 'disabled' : 'wrong password' });
    throw refused();
  }
  // Refused after the password check: the account was locked or disabled, or its password reset, meanwhile.
  const refuseSinceChecked = async (): Promise<never> => {
    const passwordChanged = (await deps.users.passwordHash(user.username))?.hash !== hash;
    deps.audit.record(actor, 'login.refused', null, null, { reason: passwordChanged ? 'password changed' : 'locked' });
    throw refused();
  };
  // Checked again in the same statement that records the login: another instance may have locked the account
  // (or an administrator disabled it, or reset the password just checked) while this one checked the password.
  if (!(await deps.users.recordLogin(user.id, now(), hash))) return refuseSinceChecked();
  const session = await deps.sessions.create(user.id, origin, now());
  // A reset or a disabling made between the login's record and its session ended the sessions before this one was
  // there (one left after a disabling would come back with enabling). The same conditional write once the session
  // is there, not a read: on PostgreSQL a read does not see a reset that has ended the sessions but not committed
  // yet, where this write waits on the reset's lock of the account's row and then finds its new hash.
  if (!(await deps.users.recordLogin(user.id, now(), hash))) {
    await deps.sessions.destroy(session.id);
    return refuseSinceChecked();
  }
  deps.audit.record(actor, 'login', null, null);
  return { user, sessionId: session.id, csrfToken: session.csrfToken };
}
