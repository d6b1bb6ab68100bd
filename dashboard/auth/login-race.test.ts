import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { usersThen } from '../../test/support/login-races.js';
import { postgresForFile } from '../../test/support/postgres.js';
import { tempDir } from '../../test/support/temp.js';
import { openState } from '../../app/state.js';
import { AuditLog, openPostgres } from '../../state/index.js';
import { IDENTITY_POSTGRES_MIGRATIONS, identityStores } from './identity-database.js';
import { login } from './login.js';
import { PasswordGate } from './password-gate.js';
import { hashPassword } from './passwords.js';

const PASSWORD = 'a long enough password';
const POLICY = { idleMs: 15 * 60_000, maxAgeMs: 12 * 3_600_000 };
const LOGIN_POLICY = { maxFailures: 3, lockoutMs: 60_000 };

/**
 * A password reset commits its new hash and the end of the sessions together: until its COMMIT, a login's read of
 * the account (READ COMMITTED) still shows the old hash, though the reset's end of the sessions has already run.
 */
describe('a login racing a password reset on PostgreSQL', () => {
  const postgres = postgresForFile('loginrace');
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('leaves no session when the reset has ended the sessions but not yet committed as the login checks', async () => {
    const url = await postgres.database();
    const shared = await openPostgres(url, IDENTITY_POSTGRES_MIGRATIONS, (err) => {
      throw err;
    });
    const dir = await tempDir();
    const { db } = openState(dir.path);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    cleanups.push(async () => {
      await admin.end();
      await shared.close();
      db.close();
      await dir.remove();
    });
    const { users, sessions } = identityStores(shared.client, POLICY);
    const user = await users.add({ username: 'nurse', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
    const audit = new AuditLog(db);
    const newHash = await hashPassword('the new long password');
    let commit: Promise<unknown> | undefined;
    // The reset's own statements (SqlUserStore.change: the new hash, then the end of the sessions), its COMMIT
    // still to come when the login opens its session and checks the account: READ COMMITTED shows the old hash.
    const late = usersThen(users, async () => {
      if (commit !== undefined) return;
      await admin.query('BEGIN');
      await admin.query('UPDATE users SET password_hash = $1, password_changed_at = $2, failed_logins = 0, locked_until = NULL WHERE id = $3', [newHash, Date.now(), user.id]);
      await admin.query('DELETE FROM sessions WHERE user_id = $1', [user.id]);
      commit = new Promise((resolve) => setTimeout(resolve, 300)).then(() => admin.query('COMMIT'));
    });
    const answer = login({ users: late, sessions, audit, policy: LOGIN_POLICY, gate: new PasswordGate() }, 'nurse', PASSWORD, '10.0.0.9').then(
      () => 'logged in',
      (err: { code?: string }) => err.code,
    );
    expect(await answer).toBe('VIGIL_ERR_LOGIN_FAILED');
    await commit;
    expect((await shared.client.query<{ n: number }>('SELECT count(*) AS n FROM sessions WHERE user_id = ?', [user.id])).rows.map((r) => Number(r.n))).toEqual([0]);
    expect(audit.list({ action: 'login.refused' }).map((e) => e.details)).toEqual([{ reason: 'password changed' }]);
  });
});
