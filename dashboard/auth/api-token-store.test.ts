import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { openState } from '../../app/state.js';
import { tempDir } from '../../test/support/temp.js';
import { ApiTokenStore } from './api-token-store.js';
import { createAuthenticator } from './authenticate.js';
import { SessionStore } from './session-store.js';
import { UserStore } from './user-store.js';

describe('personal API tokens', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  async function setup() {
    const dir = await tempDir();
    const { db } = openState(dir.path);
    cleanups.push(() => db.close(), dir.remove);
    const users = new UserStore(db);
    const user = await users.add({ username: 'ehr', role: 'clinician', careTeams: ['cardiology'], password: 'a long enough password' });
    const tokens = new ApiTokenStore(db);
    const sessions = new SessionStore(db, { idleMs: 60_000, maxAgeMs: 3_600_000 });
    const authenticate = createAuthenticator({ adminToken: undefined, users, sessions, tokens });
    const request = (token: string) => ({ headers: { authorization: `Bearer ${token}` }, cookies: {}, method: 'GET' }) as unknown as Parameters<typeof authenticate>[0];
    return { db, users, user, tokens, authenticate, request };
  }

  it('keeps only a digest, and lets the token in as its user with the care teams they have now', async () => {
    const { db, users, user, tokens, authenticate, request } = await setup();
    const { token, apiToken } = tokens.create(user.id, { label: 'EHR', expiresAt: null, createdBy: 'user:chief' });
    expect(token).toMatch(/^vigil_pat_[\w-]{43}$/);
    const stored = db.prepare('SELECT token_hash FROM api_tokens WHERE id = ?').get(apiToken.id) as { token_hash: string };
    expect(stored.token_hash).toBe(createHash('sha256').update(token).digest('base64url'));
    expect(JSON.stringify(db.prepare('SELECT * FROM api_tokens').all())).not.toContain(token.slice(10));
    expect(authenticate(request(token))).toMatchObject({ kind: 'token', username: 'ehr', role: 'clinician', careTeams: ['cardiology'], tokenId: apiToken.id });
    users.update('ehr', { careTeams: ['oncology'] });
    expect(authenticate(request(token))?.careTeams).toEqual(['oncology']);
    users.setDisabled('ehr', true);
    expect(() => authenticate(request(token))).toThrow(/disabled user/);
  });

  it('refuses a revoked, an expired or an unknown token, and records the last use', async () => {
    const { user, tokens, authenticate, request } = await setup();
    const t0 = Date.parse('2026-11-28T08:00:00Z');
    const short = tokens.create(user.id, { label: 'a week', expiresAt: t0 + 7 * 86_400_000, createdBy: 'cli:root' }, t0);
    expect(tokens.verify(short.token, t0 + 86_400_000)).toEqual({ id: short.apiToken.id, userId: user.id });
    expect(tokens.get(short.apiToken.id)?.lastUsedAt).toBe(t0 + 86_400_000);
    expect(tokens.verify(short.token, t0 + 7 * 86_400_000)).toBeUndefined();
    const revoked = tokens.create(user.id, { label: 'gone', expiresAt: null, createdBy: 'cli:root' });
    tokens.revoke(revoked.apiToken.id);
    expect(tokens.active(revoked.apiToken.id)).toBe(false);
    expect(() => authenticate(request(revoked.token))).toThrow(/revoked/);
    expect(() => tokens.revoke(revoked.apiToken.id)).toThrow(/already revoked/);
    expect(() => authenticate(request(`${revoked.token}x`))).toThrow(/revoked or expired/);
    expect(tokens.list(user.id).map((t) => t.label)).toEqual(['gone', 'a week']);
  });
});
