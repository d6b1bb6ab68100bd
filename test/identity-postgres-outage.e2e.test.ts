import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, login, type ApiResponse, type DashboardSession } from './support/dashboard-client.js';
import { startPostgres, type PostgresInstance } from './support/postgres.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';
import { logInto } from './support/log-lines.js';

const PASSWORD = 'correct horse battery staple';
const ADMIN_TOKEN = 'an-admin-token-of-32-characters-or-more';

interface Readiness {
  status: string;
  checks: Record<string, { ok: boolean; error?: string; degraded?: boolean }>;
}

/**
 * PostgreSQL (VIGIL_DATABASE_URL) stops under a running Vigil and starts again on the same port and data dir:
 * while it is down, everything that needs identity answers 503 VIGIL_ERR_STATE_UNAVAILABLE with Retry-After
 * (never a login or a session let through, never a 500), /readyz and /metrics say so, one log line without the
 * password; once it is back, the same session cookie and a new login work without a restart.
 */
describe('a PostgreSQL outage under a running Vigil', () => {
  let postgres: PostgresInstance;
  let t: TestVigil;
  let clinician: DashboardSession;
  let bearer: Record<string, string>;
  const lines: Record<string, unknown>[] = [];
  const text: string[] = [];

  beforeAll(async () => {
    postgres = await startPostgres();
    const databaseUrl = await postgres.createDatabase('vigil');
    const log = logInto(lines, (chunk) => text.push(chunk.toString('utf8')));
    t = await startTestVigil({ VIGIL_DATABASE_URL: databaseUrl, VIGIL_ADMIN_TOKEN: ADMIN_TOKEN, VIGIL_LOG_LEVEL: 'info' }, undefined, { log });
    await t.vigil.users.add({ username: 'chief', role: 'admin', password: PASSWORD });
    await t.vigil.users.add({ username: 'card', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
    clinician = await login(t.httpUrl, 'card', PASSWORD);
    const admin = await login(t.httpUrl, 'chief', PASSWORD);
    const created = await admin.request<{ token: string }>('POST', '/api/users/card/tokens', { label: 'EHR interface' });
    bearer = { authorization: `Bearer ${created.body.token}` };
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
    await postgres?.destroy();
  });

  const metric = async (name: string) => {
    const { body } = await call<string>(t.httpUrl, 'GET', `/metrics?name=${name}`);
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(body)?.[1]);
  };
  const unavailable = (response: ApiResponse) => {
    expect(response).toMatchObject({ status: 503, body: { code: 'VIGIL_ERR_STATE_UNAVAILABLE' } });
    expect(response.headers.get('retry-after')).toBe('5');
    expect(response.headers.get('set-cookie')).toBeNull();
  };

  it('documents the 503 on every route that checks credentials', async () => {
    const { body: spec } = await call<{ paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>(t.httpUrl, 'GET', '/api/docs/json');
    for (const [path, method] of [['/api/session', 'get'], ['/api/session', 'post'], ['/api/session', 'delete'], ['/api/worklist', 'get'], ['/api/users', 'get']] as const) {
      expect(Object.keys(spec.paths[path]?.[method]?.responses ?? {}), `${method} ${path}`).toContain('503');
    }
    expect(Object.keys(spec.paths['/healthz']?.get?.responses ?? {})).not.toContain('503');
  });

  it('answers 503 with the code while it is down, reports it, and works again with the same session once it is back', async () => {
    expect((await clinician.request('GET', '/api/worklist')).status).toBe(200);
    expect((await call(t.httpUrl, 'GET', '/api/worklist', undefined, bearer)).status).toBe(200);

    await postgres.stop();
    // The session, a personal API token, the session check, a login with the right password and one with a
    // wrong password (which must not count toward a lockout that cannot be recorded): all wait, none let in.
    unavailable(await clinician.request('GET', '/api/worklist'));
    unavailable(await clinician.request('GET', '/api/session'));
    unavailable(await call(t.httpUrl, 'GET', '/api/worklist', undefined, bearer));
    unavailable(await call(t.httpUrl, 'POST', '/api/session', { username: 'card', password: PASSWORD }));
    unavailable(await call(t.httpUrl, 'POST', '/api/session', { username: 'card', password: 'wrong password' }));
    const fhir = await call<{ issue: { code: string; details: { coding: { code: string }[] } }[] }>(t.httpUrl, 'GET', '/fhir/Patient', undefined, bearer);
    expect(fhir.status).toBe(503);
    expect(fhir.headers.get('retry-after')).toBe('5');
    expect(fhir.body.issue[0]).toMatchObject({ code: 'transient', details: { coding: [{ code: 'VIGIL_ERR_STATE_UNAVAILABLE' }] } });
    // No credentials at all is still a plain 401, and the admin token still works: neither needs the database.
    expect((await call(t.httpUrl, 'GET', '/api/worklist')).status).toBe(401);
    expect((await call(t.httpUrl, 'GET', '/api/worklist', undefined, { authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(200);

    const ready = await call<Readiness>(t.httpUrl, 'GET', '/readyz');
    // Readings still flow into the outbox: degraded, not unready, with the database named.
    expect(ready.body.status).toBe('degraded');
    expect(ready.body.checks.database).toMatchObject({ ok: false, degraded: true, error: 'the shared state database does not answer' });
    expect(await metric('vigil_state_database_up')).toBe(0);
    expect(await metric('vigil_state_database_errors_total')).toBeGreaterThanOrEqual(6);
    const down = lines.filter((l) => String(l.msg).startsWith('the shared state database does not answer'));
    expect(down).toHaveLength(1);
    expect(down[0]).toMatchObject({ level: 50, component: 'state', err: { type: expect.any(String) as unknown } });
    expect(text.join('')).not.toContain('vigil-test-password');

    await postgres.start();
    // pg's pool discarded the connections the shutdown ended and opens new ones: no restart of Vigil.
    expect((await clinician.request('GET', '/api/worklist')).status).toBe(200);
    expect(await clinician.request('GET', '/api/session')).toMatchObject({ status: 200, body: { user: { username: 'card' }, csrfToken: clinician.csrfToken } });
    expect((await call(t.httpUrl, 'GET', '/api/worklist', undefined, bearer)).status).toBe(200);
    expect((await login(t.httpUrl, 'card', PASSWORD)).csrfToken).toBeTruthy();
    expect((await call<Readiness>(t.httpUrl, 'GET', '/readyz')).body).toMatchObject({ status: 'ready', checks: { database: { ok: true } } });
    expect(await metric('vigil_state_database_up')).toBe(1);
    expect(lines.filter((l) => l.msg === 'the shared state database answers again; logins and credential checks work')).toHaveLength(1);
    // The wrong password during the outage was not counted: the account is not locked or near it.
    expect((await t.vigil.users.byUsername('card'))?.lockedUntil).toBeNull();
  });
});
