import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { identityBackends } from '../../test/support/identity-backends.js';
import { gateThen, usersThen } from '../../test/support/login-races.js';
import { AuditLog } from '../../state/index.js';
import { API_TOKEN_MIGRATIONS } from './api-token-store.js';
import { createAuthenticator } from './authenticate.js';
import { identityStores } from './identity-database.js';
import { login } from './login.js';
import { PasswordGate } from './password-gate.js';

const PASSWORD = 'a long enough password';
const POLICY = { idleMs: 15 * 60_000, maxAgeMs: 12 * 3_600_000 };

/**
 * One contract for the identity stores, run on the embedded SQLite database and on a real PostgreSQL: users,
 * lockouts, sessions and API tokens answer alike on both.
 */
describe.each(identityBackends())('identity stores on $name', (backend) => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  async function setup() {
    const { sql, db, close } = await backend.open();
    cleanups.push(close);
    const stores = identityStores(sql, POLICY);
    const user = await stores.users.add({ username: 'nurse', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
    const authenticate = createAuthenticator({ adminToken: undefined, ...stores });
    const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` }, cookies: {}, method: 'GET' }) as unknown as Parameters<typeof authenticate>[0];
    return { sql, db, ...stores, user, authenticate, bearer };
  }

  describe('users', () => {
    it('adds a user, finds it whatever the case of its name, and refuses a second account of that name', async () => {
      const { users, user } = await setup();
      expect(user).toMatchObject({ username: 'nurse', displayName: 'nurse', role: 'clinician', careTeams: ['cardiology'], disabledAt: null, lockedUntil: null, lastLoginAt: null });
      expect(await users.byUsername('NURSE')).toEqual(user);
      expect(await users.get(user.id)).toEqual(user);
      await expect(users.add({ username: 'Nurse', role: 'admin', password: PASSWORD })).rejects.toMatchObject({ code: 'VIGIL_ERR_CONFLICT' });
      await users.add({ username: 'Admin', role: 'admin', password: PASSWORD });
      expect((await users.list()).map((u) => u.username)).toEqual(['Admin', 'nurse']);
      expect(await users.byUsername('ghost')).toBeUndefined();
      await expect(users.unlock('ghost')).rejects.toMatchObject({ code: 'VIGIL_ERR_NOT_FOUND' });
    });

    it('rejects weak passwords and bad names with a reason, and keeps only an scrypt hash', async () => {
      const { sql, users } = await setup();
      await expect(users.add({ username: 'x', role: 'clinician', password: PASSWORD })).rejects.toThrow(/user name/);
      await expect(users.add({ username: 'short', role: 'clinician', password: 'short' })).rejects.toThrow(/at least 12/);
      const { rows } = await sql.query<{ password_hash: string }>('SELECT password_hash FROM users');
      expect(rows).toHaveLength(1);
      expect(rows[0]!.password_hash).toMatch(/^scrypt\$32768\$8\$3\$/);
      expect(rows[0]!.password_hash).not.toContain(PASSWORD);
      expect((await users.passwordHash('nurse'))?.hash).toBe(rows[0]!.password_hash);
    });

    it('locks after the limit of failures in a row, counting every one of many at once, and a login or unlock resets it', async () => {
      const { users, user } = await setup();
      const now = Date.parse('2026-11-29T08:00:00Z');
      const hash = (await users.passwordHash('nurse'))!.hash;
      expect(await users.recordFailure(user.id, 5, 60_000, now)).toBeNull();
      // Not with a password hash the account no longer has (a reset since the check): nothing is recorded.
      expect(await users.recordLogin(user.id, now, 'scrypt$an$old$hash')).toBe(false);
      await users.recordLogin(user.id, now, hash);
      // Ten failures at the same moment (on PostgreSQL, over several pooled connections): none is lost.
      const answers = await Promise.all(Array.from({ length: 10 }, () => users.recordFailure(user.id, 10, 60_000, now)));
      expect(answers.filter((a) => a === now + 60_000)).toHaveLength(1);
      expect((await users.get(user.id))?.lockedUntil).toBe(now + 60_000);
      await users.unlock('nurse');
      expect((await users.get(user.id))?.lockedUntil).toBeNull();
      expect(await users.recordFailure(user.id, 2, 60_000, now)).toBeNull();
      expect(await users.recordLogin(user.id, now + 1, hash)).toBe(true);
      expect(await users.recordFailure(user.id, 2, 60_000, now)).toBeNull();
      expect(await users.get(user.id)).toMatchObject({ lockedUntil: null, lastLoginAt: now + 1 });
      // Locked (or disabled) by now: the login is not recorded and the lock stays.
      expect(await users.recordFailure(user.id, 2, 60_000, now)).toBe(now + 60_000);
      expect(await users.recordLogin(user.id, now + 2, hash)).toBe(false);
      expect(await users.get(user.id)).toMatchObject({ lockedUntil: now + 60_000, lastLoginAt: now + 1 });
    });

    it('refuses the right password when another instance locked the account during the password check', async () => {
      const { db, users, sessions } = await setup();
      const audit = new AuditLog(db);
      const policy = { maxFailures: 3, lockoutMs: 60_000 };
      // The check itself is real; as it ends, another instance counts the third failure of a guessing run.
      const gate = new PasswordGate();
      const racing = gateThen(async () => {
        const other = (await users.byUsername('nurse'))!;
        for (let i = 0; i < policy.maxFailures; i++) await users.recordFailure(other.id, policy.maxFailures, policy.lockoutMs, Date.now());
      }, gate);
      await expect(login({ users, sessions, audit, policy, gate: racing }, 'nurse', PASSWORD, '10.0.0.9')).rejects.toMatchObject({ code: 'VIGIL_ERR_LOGIN_FAILED' });
      expect((await users.byUsername('nurse'))?.lockedUntil).toBeGreaterThan(Date.now());
      expect(audit.list({ action: 'login.refused' })).toEqual([expect.objectContaining({ actor: 'user:nurse', details: { reason: 'locked' } })]);
      // Without the race, the same password logs in.
      await users.unlock('nurse');
      expect((await login({ users, sessions, audit, policy, gate }, 'nurse', PASSWORD, '10.0.0.9')).user.username).toBe('nurse');
    });

    it('refuses the old password when an administrator reset it during the password check, and leaves no session', async () => {
      const { sql, db, users, sessions, user } = await setup();
      const audit = new AuditLog(db);
      const policy = { maxFailures: 3, lockoutMs: 60_000 };
      // Taking a compromised account back: whoever holds the old password logs in just as the reset is made (on
      // another instance, or in the tens of ms of this one's check). The reset must win.
      const gate = new PasswordGate();
      const racing = gateThen(async () => void (await users.setPassword('nurse', 'the new long password')), gate);
      await expect(login({ users, sessions, audit, policy, gate: racing }, 'nurse', PASSWORD, '10.0.0.9')).rejects.toMatchObject({ code: 'VIGIL_ERR_LOGIN_FAILED' });
      expect((await sql.query<{ n: number }>('SELECT count(*) AS n FROM sessions WHERE user_id = ?', [user.id])).rows.map((r) => Number(r.n))).toEqual([0]);
      expect(audit.list({ action: 'login' })).toEqual([]);
      expect((await login({ users, sessions, audit, policy, gate }, 'nurse', 'the new long password', '10.0.0.9')).user.username).toBe('nurse');
      // The reset made just after the login was recorded, before its session was there to be ended.
      const late = usersThen(users, async () => void (await users.setPassword('nurse', 'a third long password')));
      const before = (await sql.query<{ n: number }>('SELECT count(*) AS n FROM sessions WHERE user_id = ?', [user.id])).rows.map((r) => Number(r.n));
      await expect(login({ users: late, sessions, audit, policy, gate }, 'nurse', 'the new long password', '10.0.0.9')).rejects.toMatchObject({ code: 'VIGIL_ERR_LOGIN_FAILED' });
      expect(before).toEqual([1]);
      // The reset ended the one session there was; the racing login's was destroyed after it.
      expect((await sql.query<{ n: number }>('SELECT count(*) AS n FROM sessions WHERE user_id = ?', [user.id])).rows.map((r) => Number(r.n))).toEqual([0]);
      expect(audit.list({ action: 'login.refused' }).map((e) => e.details)).toEqual([{ reason: 'password changed' }, { reason: 'password changed' }]);
    });

    it('leaves no session when the account is disabled between the login record and its session', async () => {
      const { sql, db, users, sessions, user } = await setup();
      const audit = new AuditLog(db);
      // The disabling commits just after the login was recorded, before its session is there to be ended.
      const late = usersThen(users, async (recorded) => {
        if (recorded && (await users.get(user.id))?.disabledAt === null) await users.setDisabled('nurse', true);
      });
      await expect(login({ users: late, sessions, audit, policy: { maxFailures: 3, lockoutMs: 60_000 }, gate: new PasswordGate() }, 'nurse', PASSWORD, '10.0.0.9')).rejects.toMatchObject({
        code: 'VIGIL_ERR_LOGIN_FAILED',
      });
      // Enabling again revives no session: none may be left for it to revive.
      await users.setDisabled('nurse', false);
      expect((await sql.query<{ n: number }>('SELECT count(*) AS n FROM sessions WHERE user_id = ?', [user.id])).rows.map((r) => Number(r.n))).toEqual([0]);
      expect(audit.list({ action: 'login' })).toEqual([]);
      expect(audit.list({ action: 'login.refused' }).map((e) => e.details)).toEqual([{ reason: 'locked' }]);
    });

    it('ends the sessions of a user whose password changes, whose teams narrow or who is disabled, and not of a widened one', async () => {
      const { users, sessions, user } = await setup();
      const now = Date.now();
      const first = await sessions.create(user.id, null, now);
      await users.update('nurse', { careTeams: ['cardiology', 'oncology'], displayName: 'Nurse Jones' });
      expect(await sessions.peek(first.id, now)).toBeDefined();
      expect(await users.byUsername('nurse')).toMatchObject({ displayName: 'Nurse Jones', careTeams: ['cardiology', 'oncology'] });
      await users.update('nurse', { careTeams: ['oncology'] });
      expect(await sessions.peek(first.id, now)).toBeUndefined();
      const second = await sessions.create(user.id, null, now);
      await users.setPassword('nurse', 'another long password');
      expect(await sessions.peek(second.id, now)).toBeUndefined();
      const third = await sessions.create(user.id, null, now);
      expect((await users.setDisabled('nurse', true)).user.disabledAt).not.toBeNull();
      expect(await sessions.peek(third.id, now)).toBeUndefined();
      expect((await users.setDisabled('nurse', false)).user.disabledAt).toBeNull();
    });
  });

  describe('sessions', () => {
    it('ends after the idle time without requests, and activity keeps it alive up to the absolute limit', async () => {
      const { sessions, user } = await setup();
      const t0 = Date.parse('2026-11-23T08:00:00Z');
      const { id } = await sessions.create(user.id, '10.0.0.5', t0);
      expect(await sessions.touch(id, t0 + 14 * 60_000)).toMatchObject({ userId: user.id, createdAt: t0 });
      expect(await sessions.touch(id, t0 + 28 * 60_000)).toBeDefined();
      // A background refresh sees the session without keeping it alive.
      expect(await sessions.peek(id, t0 + 40 * 60_000)).toBeDefined();
      expect(await sessions.touch(id, t0 + 44 * 60_000)).toBeUndefined();
      expect(await sessions.touch(id, t0 + 45 * 60_000)).toBeUndefined();

      const second = await sessions.create(user.id, null, t0);
      for (let m = 10; m < 12 * 60; m += 10) expect(await sessions.touch(second.id, t0 + m * 60_000)).toBeDefined();
      expect(await sessions.touch(second.id, t0 + 12 * 60 * 60_000 + 1)).toBeUndefined();
    });

    it('keeps only a hash of the session id, destroys on logout and purges expired ones', async () => {
      const { sql, sessions, user } = await setup();
      const t0 = Date.now();
      const { id, csrfToken } = await sessions.create(user.id, null, t0);
      const { rows } = await sql.query<{ id_hash: string }>('SELECT id_hash FROM sessions');
      expect(rows).toHaveLength(1);
      expect(rows[0]!.id_hash).not.toContain(id);
      expect((await sessions.peek(id, t0))?.csrfToken).toBe(csrfToken);
      await sessions.destroy(id);
      expect(await sessions.peek(id, t0)).toBeUndefined();
      await sessions.create(user.id, null, t0 - 20 * 60_000);
      await sessions.create(user.id, null, t0);
      expect(await sessions.purgeExpired(t0)).toBe(1);
      expect((await sql.query('SELECT id_hash FROM sessions')).rows).toHaveLength(1);
    });
  });

  describe('API tokens', () => {
    it('keeps only a digest, and lets the token in as its user with the care teams they have now', async () => {
      const { sql, users, user, tokens, authenticate, bearer } = await setup();
      const { token, apiToken } = await tokens.create(user.id, { label: 'EHR', expiresAt: null, createdBy: 'user:chief' });
      expect(token).toMatch(/^vigil_pat_[\w-]{43}$/);
      expect(apiToken).toMatchObject({ username: 'nurse', label: 'EHR', createdBy: 'user:chief', expiresAt: null, lastUsedAt: null, revokedAt: null });
      const { rows } = await sql.query<{ token_hash: string }>('SELECT token_hash FROM api_tokens WHERE id = ?', [apiToken.id]);
      expect(rows[0]!.token_hash).toBe(createHash('sha256').update(token).digest('base64url'));
      expect(JSON.stringify((await sql.query('SELECT * FROM api_tokens')).rows)).not.toContain(token.slice(10));
      expect(await authenticate(bearer(token))).toMatchObject({ kind: 'token', username: 'nurse', role: 'clinician', careTeams: ['cardiology'], tokenId: apiToken.id });
      // The scheme is case-insensitive (RFC 7235): "bearer" and "BEARER" are the same credential.
      const scheme = (header: string) => ({ headers: { authorization: header }, cookies: {}, method: 'GET' }) as unknown as Parameters<typeof authenticate>[0];
      expect(await authenticate(scheme(`bearer ${token}`))).toMatchObject({ kind: 'token', tokenId: apiToken.id });
      expect(await authenticate(scheme(`BEARER  ${token}`))).toMatchObject({ kind: 'token', tokenId: apiToken.id });
      await expect(authenticate(scheme(`Basic ${token}`))).rejects.toThrow();
      await users.update('nurse', { careTeams: ['oncology'] });
      expect((await authenticate(bearer(token)))?.careTeams).toEqual(['oncology']);
      await users.setDisabled('nurse', true);
      await expect(authenticate(bearer(token))).rejects.toThrow(/revoked/);
    });

    it('revokes every live token of a user whose password is reset or who is disabled, and enabling again revives none', async () => {
      const { users, user, tokens, sessions, authenticate, bearer } = await setup();
      const other = await users.add({ username: 'other', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
      const now = Date.now();
      const first = await tokens.create(user.id, { label: 'EHR', expiresAt: null, createdBy: 'cli:root' });
      const second = await tokens.create(user.id, { label: 'script', expiresAt: now + 86_400_000, createdBy: 'cli:root' });
      const expired = await tokens.create(user.id, { label: 'old', expiresAt: now - 1, createdBy: 'cli:root' });
      const theirs = await tokens.create(other.id, { label: 'theirs', expiresAt: null, createdBy: 'cli:root' });
      await sessions.create(user.id, null, now);
      await sessions.create(user.id, null, now);

      // The reset answers what it ended, for the audit entry: both sessions, both live tokens (not the expired one).
      expect(await users.setPassword('nurse', 'another long password')).toEqual({ sessions: 2, tokenIds: [first.apiToken.id, second.apiToken.id] });
      for (const t of [first, second]) {
        expect(await tokens.active(t.apiToken.id)).toBe(false);
        await expect(authenticate(bearer(t.token))).rejects.toThrow(/revoked/);
      }
      expect((await tokens.get(expired.apiToken.id))?.revokedAt).toBeNull();
      // Another user's token is theirs alone.
      expect(await authenticate(bearer(theirs.token))).toMatchObject({ username: 'other' });

      const third = await tokens.create(user.id, { label: 'after the reset', expiresAt: null, createdBy: 'cli:root' });
      await sessions.create(user.id, null, now);
      const disabled = await users.setDisabled('nurse', true);
      expect(disabled.ended).toEqual({ sessions: 1, tokenIds: [third.apiToken.id] });
      // Enabling the account again does not bring the token back: whoever took it over may hold it.
      expect((await users.setDisabled('nurse', false)).ended).toEqual({ sessions: 0, tokenIds: [] });
      await expect(authenticate(bearer(third.token))).rejects.toThrow(/revoked/);
      expect(await tokens.active(third.apiToken.id)).toBe(false);
    });

    it('makes a change of role, password and disabling at once, ending access once', async () => {
      const { users, user, tokens, sessions } = await setup();
      const now = Date.now();
      const token = await tokens.create(user.id, { label: 'EHR', expiresAt: null, createdBy: 'cli:root' });
      await sessions.create(user.id, null, now);
      const hashBefore = (await users.passwordHash('nurse'))?.hash;
      const { user: changed, ended } = await users.change('nurse', { role: 'admin', careTeams: [], displayName: 'Nurse Admin', password: 'another long password', disabled: true });
      expect(changed).toMatchObject({ role: 'admin', careTeams: [], displayName: 'Nurse Admin' });
      expect(changed.disabledAt).not.toBeNull();
      expect(ended).toEqual({ sessions: 1, tokenIds: [token.apiToken.id] });
      expect((await users.passwordHash('nurse'))?.hash).not.toBe(hashBefore);
      // Nothing given, nothing changed (and no access ended).
      expect(await users.change('nurse', {})).toMatchObject({ user: { role: 'admin', displayName: 'Nurse Admin' }, ended: { sessions: 0, tokenIds: [] } });
    });

    it('never writes back the role or care teams it read when a reset or disabling changes neither', async () => {
      const { users, sessions, user } = await setup();
      const now = Date.now();
      // One administrator resets the password (hashed for tens of ms) while another narrows the care teams: the
      // reset must not put back the teams it read before hashing, nor the role another administrator lowered.
      const reset = users.setPassword('nurse', 'another long password');
      await users.update('nurse', { careTeams: ['oncology'], displayName: 'Nurse Jones' });
      await reset;
      expect(await users.byUsername('nurse')).toMatchObject({ careTeams: ['oncology'], displayName: 'Nurse Jones' });
      await users.update('nurse', { role: 'admin' });
      const disabling = users.change('nurse', { password: 'a third long password', disabled: true });
      await users.update('nurse', { role: 'clinician' });
      await disabling;
      expect(await users.byUsername('nurse')).toMatchObject({ role: 'clinician', careTeams: ['oncology'] });
      // A session begun after the narrowing has what the narrowing left, and the reset ended it all the same.
      const later = await sessions.create(user.id, null, now);
      await users.setPassword('nurse', 'a fourth long password');
      expect(await sessions.peek(later.id, now)).toBeUndefined();
    });

    it("revokes, when upgraded, the live tokens of accounts disabled before disabling revoked them, and no one else's", async () => {
      const { sql, users, user, tokens, authenticate, bearer } = await setup();
      const other = await users.add({ username: 'other', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
      const old = await tokens.create(user.id, { label: 'EHR', expiresAt: null, createdBy: 'cli:root' });
      const theirs = await tokens.create(other.id, { label: 'theirs', expiresAt: null, createdBy: 'cli:root' });
      // An account disabled by the code before: the row only, its tokens left live.
      await sql.query('UPDATE users SET disabled_at = ? WHERE id = ?', [Date.now(), user.id]);
      const upgrade = API_TOKEN_MIGRATIONS.find((m) => m.version === 2)!;
      await sql.query(backend.name === 'PostgreSQL' ? upgrade.postgres! : upgrade.sql);
      expect((await tokens.get(old.apiToken.id))?.revokedAt).toEqual(expect.any(Number));
      await sql.query('UPDATE users SET disabled_at = NULL WHERE id = ?', [user.id]);
      await expect(authenticate(bearer(old.token))).rejects.toThrow(/revoked/);
      expect(await authenticate(bearer(theirs.token))).toMatchObject({ username: 'other' });
    });

    it('refuses a revoked, an expired or an unknown token, records the last use, and revokes once when asked twice at once', async () => {
      const { user, tokens, authenticate, bearer } = await setup();
      const t0 = Date.parse('2026-11-28T08:00:00Z');
      const short = await tokens.create(user.id, { label: 'a week', expiresAt: t0 + 7 * 86_400_000, createdBy: 'cli:root' }, t0);
      expect(await tokens.verify(short.token, t0 + 86_400_000)).toEqual({ id: short.apiToken.id, userId: user.id });
      expect((await tokens.get(short.apiToken.id))?.lastUsedAt).toBe(t0 + 86_400_000);
      expect(await tokens.verify(short.token, t0 + 7 * 86_400_000)).toBeUndefined();
      expect(await tokens.refusal(short.token, t0 + 7 * 86_400_000)).toEqual({ id: short.apiToken.id, username: 'nurse', reason: 'expired' });
      const revoked = await tokens.create(user.id, { label: 'gone', expiresAt: null, createdBy: 'cli:root' });
      const both = await Promise.allSettled([tokens.revoke(revoked.apiToken.id), tokens.revoke(revoked.apiToken.id)]);
      expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(both.find((r) => r.status === 'rejected')).toMatchObject({ reason: expect.objectContaining({ code: 'VIGIL_ERR_CONFLICT' }) });
      expect(await tokens.active(revoked.apiToken.id)).toBe(false);
      await expect(authenticate(bearer(revoked.token))).rejects.toThrow(/revoked/);
      await expect(authenticate(bearer(`${revoked.token}x`))).rejects.toThrow(/revoked or expired/);
      await expect(tokens.revoke(9_999)).rejects.toMatchObject({ code: 'VIGIL_ERR_NOT_FOUND' });
      expect((await tokens.list(user.id)).map((t) => t.label)).toEqual(['gone', 'a week']);
      expect((await tokens.list()).map((t) => t.id)).toEqual([revoked.apiToken.id, short.apiToken.id]);
    });
  });
});
