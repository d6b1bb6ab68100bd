import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_DB_FILE } from '../state/index.js';
import { call, login, openLive, type DashboardSession } from './support/dashboard-client.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const PASSWORD = 'correct horse battery staple';

interface Entry {
  readonly actor: string;
  readonly action: string;
  readonly target: string | null;
  readonly details: Record<string, unknown> | null;
}

/**
 * Taking a compromised account back: a password reset or disabling by an administrator stops every session and
 * personal API token of the account at once (open live connections too), and the log says which.
 */
describe('a reset or disabled account loses every credential at once', () => {
  let t: TestVigil;
  let admin: DashboardSession;

  const entries = async (query: string) => (await admin.request<{ entries: Entry[] }>('GET', `/api/audit?${query}`)).body.entries;
  const newToken = async (username: string, label: string) => (await admin.request<{ token: string; apiToken: { id: number } }>('POST', `/api/users/${username}/tokens`, { label })).body;
  const asToken = (token: string) => call(t.httpUrl, 'GET', '/api/worklist', undefined, { authorization: `Bearer ${token}` });

  beforeAll(async () => {
    t = await startTestVigil();
    await t.vigil.users.add({ username: 'card', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
    await t.vigil.users.add({ username: 'boss', role: 'admin', password: PASSWORD });
    admin = await login(t.httpUrl, 'boss', PASSWORD);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("a password reset by an administrator ends the user's sessions and revokes their API tokens, audited", async () => {
    const session = await login(t.httpUrl, 'card', PASSWORD);
    const ehr = await newToken('card', 'EHR interface');
    const script = await newToken('card', 'script');
    expect((await asToken(ehr.token)).status).toBe(200);
    const live = await openLive(t.httpUrl, { authorization: `Bearer ${script.token}` });

    const reset = await admin.request('PATCH', '/api/users/card', { password: 'a brand new long password' });
    expect(reset.status).toBe(200);
    expect((await asToken(ehr.token)).status).toBe(401);
    expect((await asToken(script.token)).status).toBe(401);
    expect((await session.request('GET', '/api/worklist')).status).toBe(401);
    // The open live connection of the token closes at its next check (every 5 s), as a revoked token's does.
    expect((await live.closed).code).toBe(4401);

    const [change] = await entries('action=user.change');
    expect(change).toMatchObject({ actor: 'user:boss', target: 'user:card', details: { passwordChanged: true, sessionsEnded: 1, tokensRevoked: [ehr.apiToken.id, script.apiToken.id] } });
    const revoked = await entries('action=token.revoke');
    expect(revoked.map((e) => e.details)).toEqual(
      expect.arrayContaining([
        { tokenId: ehr.apiToken.id, reason: 'password-reset' },
        { tokenId: script.apiToken.id, reason: 'password-reset' },
      ]),
    );
    // The new password logs in, and a token made after the reset works.
    await login(t.httpUrl, 'card', 'a brand new long password');
    expect((await asToken((await newToken('card', 'after the reset')).token)).status).toBe(200);
  }, 30_000);

  it('disabling revokes the tokens for good: enabling the account again does not bring them back', async () => {
    const { token, apiToken } = await newToken('card', 'kept after disabling?');
    expect((await admin.request('PATCH', '/api/users/card', { disabled: true })).status).toBe(200);
    expect((await asToken(token)).status).toBe(401);
    expect((await admin.request('PATCH', '/api/users/card', { disabled: false })).status).toBe(200);
    expect((await asToken(token)).status).toBe(401);
    const tokens = (await admin.request<{ tokens: { id: number; revokedAt: number | null }[] }>('GET', '/api/users/card/tokens')).body.tokens;
    expect(tokens.find((x) => x.id === apiToken.id)?.revokedAt).not.toBeNull();
    expect(tokens.every((x) => x.revokedAt !== null)).toBe(true);
    expect((await entries('action=token.revoke')).map((e) => e.details)).toContainEqual({ tokenId: apiToken.id, reason: 'user-disabled' });
  });

  it('a change refused halfway makes none of its parts, and audits nothing', async () => {
    const { token } = await newToken('card', 'kept when the change fails');
    const before = await entries('action=user.change');
    // The database refuses the disabling (as PostgreSQL or SQLite refuses any write: a trigger here, disk full or
    // a constraint in the field), after the role change before it in the same request.
    const db = new Database(join(t.dataDir, STATE_DB_FILE));
    db.exec("CREATE TRIGGER refuse_disabling BEFORE UPDATE OF disabled_at ON users WHEN NEW.disabled_at IS NOT NULL BEGIN SELECT RAISE(ABORT, 'refused for the test'); END");
    try {
      const refused = await admin.request('PATCH', '/api/users/card', { role: 'admin', careTeams: ['oncology'], password: 'yet another long password', disabled: true });
      expect(refused.status).toBe(500);
    } finally {
      db.exec('DROP TRIGGER refuse_disabling');
      db.close();
    }
    const users = (await admin.request<{ users: { username: string; role: string; careTeams: string[]; disabledAt: number | null }[] }>('GET', '/api/users')).body.users;
    expect(users.find((u) => u.username === 'card')).toMatchObject({ role: 'clinician', careTeams: ['cardiology'], disabledAt: null });
    // The old password still logs in, the token still works, and the log has no change it did not make.
    await login(t.httpUrl, 'card', 'a brand new long password');
    expect((await asToken(token)).status).toBe(200);
    expect(await entries('action=user.change')).toEqual(before);
  });

  it('audits what the server made of a change, not what the client sent', async () => {
    await t.vigil.users.add({ username: 'ward', role: 'clinician', careTeams: ['cardiology'], displayName: 'Dr Ward', password: PASSWORD });
    // A name of spaces keeps the name; repeated teams are kept once; the name as sent in the path is any case.
    const answer = await admin.request<{ user: { displayName: string; careTeams: string[] } }>('PATCH', '/api/users/WARD', { displayName: '   ', careTeams: ['oncology', 'oncology'] });
    expect(answer.status).toBe(200);
    expect(answer.body.user).toMatchObject({ displayName: 'Dr Ward', careTeams: ['oncology'] });
    const [change] = await entries('action=user.change');
    expect(change).toMatchObject({ target: 'user:ward', details: { careTeams: ['oncology'], passwordChanged: false } });
    expect(change!.details).not.toHaveProperty('displayName');
  });
});
