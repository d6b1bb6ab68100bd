import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, login } from './support/dashboard-client.js';
import { startPostgres, type PostgresInstance } from './support/postgres.js';
import { CLI } from './support/vigil-process.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const exec = promisify(execFile);
const PASSWORD = 'correct horse battery staple';

/**
 * Two Vigil instances, each with its own data dir, on one real PostgreSQL (VIGIL_DATABASE_URL), as behind a load
 * balancer: a session opened on one holds on the other, failures on both count toward one lockout, a token
 * revoked on one is refused by the other, and the CLI manages the same accounts.
 */
describe('identity shared in PostgreSQL by two instances', () => {
  let postgres: PostgresInstance;
  let a: TestVigil;
  let b: TestVigil;
  let databaseUrl: string;

  beforeAll(async () => {
    postgres = await startPostgres();
    databaseUrl = await postgres.createDatabase('vigil');
    // Both at once: the migration lock lets one create the tables and the other find them.
    const start = () => startTestVigil({ VIGIL_DATABASE_URL: databaseUrl, VIGIL_LOGIN_MAX_FAILURES: '3' });
    [a, b] = await Promise.all([start(), start()]);
    await a.vigil.users.add({ username: 'chief', role: 'admin', password: PASSWORD });
    await b.vigil.users.add({ username: 'card', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
  }, 120_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await postgres?.destroy();
  });

  it('sees the users either instance added, and a session opened on one holds on the other until logout there', async () => {
    expect((await a.vigil.users.list()).map((u) => u.username)).toEqual(['card', 'chief']);
    expect((await call<{ checks: Record<string, { ok: boolean }> }>(b.httpUrl, 'GET', '/readyz')).body.checks.database).toMatchObject({ ok: true });
    const onA = await login(a.httpUrl, 'card', PASSWORD);
    const onB = (method: string, path: string) => call(b.httpUrl, method, path, undefined, { cookie: onA.cookie, ...(method === 'GET' ? {} : { 'x-csrf-token': onA.csrfToken }) });
    expect(await onB('GET', '/api/session')).toMatchObject({ status: 200, body: { user: { username: 'card' }, csrfToken: onA.csrfToken } });
    expect((await onB('GET', '/api/worklist')).status).toBe(200);
    expect((await onB('DELETE', '/api/session')).status).toBe(204);
    expect((await onA.request('GET', '/api/worklist')).status).toBe(401);
  });

  it('locks an account after failures spread over both instances, on both', async () => {
    await a.vigil.users.add({ username: 'victim', role: 'clinician', password: PASSWORD });
    const attempt = (url: string, password: string) => call(url, 'POST', '/api/session', { username: 'victim', password });
    expect((await attempt(a.httpUrl, 'wrong password 1')).status).toBe(401);
    expect((await attempt(b.httpUrl, 'wrong password 2')).status).toBe(401);
    expect((await attempt(a.httpUrl, 'wrong password 3')).status).toBe(401);
    // The third failure, counted in the database whichever instance saw it, locked the account everywhere.
    expect((await attempt(b.httpUrl, PASSWORD)).status).toBe(401);
    expect((await attempt(a.httpUrl, PASSWORD)).status).toBe(401);
    expect((await b.vigil.users.byUsername('victim'))?.lockedUntil).toBeGreaterThan(Date.now());
    await b.vigil.users.unlock('victim');
    expect((await attempt(a.httpUrl, PASSWORD)).status).toBe(200);
  });

  it('refuses on one instance a token revoked on the other', async () => {
    const admin = await login(a.httpUrl, 'chief', PASSWORD);
    const created = await admin.request<{ token: string; apiToken: { id: number } }>('POST', '/api/users/card/tokens', { label: 'EHR interface' });
    expect(created.status).toBe(201);
    const bearer = { authorization: `Bearer ${created.body.token}` };
    expect((await call(b.httpUrl, 'GET', '/api/worklist', undefined, bearer)).status).toBe(200);
    expect((await admin.request('DELETE', `/api/users/card/tokens/${created.body.apiToken.id}`)).status).toBe(204);
    expect(await call(b.httpUrl, 'GET', '/api/worklist', undefined, bearer)).toMatchObject({ status: 401, body: { code: 'VIGIL_ERR_UNAUTHORIZED' } });
    expect((await call(a.httpUrl, 'GET', '/api/worklist', undefined, bearer)).status).toBe(401);
  });

  it('manages the shared accounts and tokens from the command line', async () => {
    const env = { ...process.env, VIGIL_DATA_DIR: b.dataDir, VIGIL_DATABASE_URL: databaseUrl, VIGIL_NEW_PASSWORD: PASSWORD };
    await exec(process.execPath, [CLI, 'users', 'add', 'night-nurse', '--role', 'clinician', '--team', 'cardiology'], { env });
    expect((await login(a.httpUrl, 'night-nurse', PASSWORD)).csrfToken).toBeTruthy();
    const created = await exec(process.execPath, [CLI, 'users', 'token', 'add', 'night-nurse', '--label', 'from the CLI'], { env });
    const token = /token: (vigil_pat_\S+)/.exec(created.stdout)![1]!;
    const id = /API token (\d+)/.exec(created.stdout)![1]!;
    expect((await call(a.httpUrl, 'GET', '/api/worklist', undefined, { authorization: `Bearer ${token}` })).status).toBe(200);
    const listed = await exec(process.execPath, [CLI, 'users', 'list', '--json'], { env });
    expect((JSON.parse(listed.stdout) as { username: string }[]).map((u) => u.username)).toEqual(['card', 'chief', 'night-nurse', 'victim']);
    await exec(process.execPath, [CLI, 'users', 'token', 'revoke', id], { env });
    expect((await call(a.httpUrl, 'GET', '/api/worklist', undefined, { authorization: `Bearer ${token}` })).status).toBe(401);
    await exec(process.execPath, [CLI, 'users', 'disable', 'night-nurse'], { env });
    expect((await call(a.httpUrl, 'POST', '/api/session', { username: 'night-nurse', password: PASSWORD })).status).toBe(401);
  });
});
