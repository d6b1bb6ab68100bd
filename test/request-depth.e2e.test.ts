import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, login } from './support/dashboard-client.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const TOKEN = 'request-depth-admin-token-0123456789abcdef';
const PASSWORD = 'correct horse battery staple';
// Built as text: JSON.stringify cannot write what JSON.parse reads back from it.
const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

/** Sends `body` as JSON text, as it is: `call` would stringify it. */
async function postText(url: string, body: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/**
 * The depth limit is the HTTP server's, not the JSON API's alone: a body nested 20,000 levels deep is refused on a
 * route outside /api's hooks (the login) and under /fhir, each in its own error format, and the server goes on.
 */
describe('a request body nested 20,000 levels deep, outside the JSON API', () => {
  let t: TestVigil;
  beforeAll(async () => {
    t = await startTestVigil({ VIGIL_ADMIN_TOKEN: TOKEN });
    await t.vigil.users.add({ username: 'card', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('is refused at the login with 400 VIGIL_ERR_TOO_DEEP, and the next login goes through', async () => {
    const refused = await postText(`${t.httpUrl}/api/session`, `{"username":${nested(20_000)},"password":"${PASSWORD}"}`);
    expect(refused).toEqual({ status: 400, body: { code: 'VIGIL_ERR_TOO_DEEP', message: expect.stringMatching(/32 levels/) } });
    expect((await login(t.httpUrl, 'card', PASSWORD)).csrfToken).toBeTruthy();
  });

  it('is refused under /fhir with 400 and an OperationOutcome naming VIGIL_ERR_TOO_DEEP', async () => {
    const refused = await postText(`${t.httpUrl}/fhir/Patient`, `{"resourceType":"Patient","name":${nested(20_000)}}`, { authorization: `Bearer ${TOKEN}` });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'invalid', details: { coding: [{ system: 'urn:vigil:error-code', code: 'VIGIL_ERR_TOO_DEEP' }] } }],
    });
    expect((await call(t.httpUrl, 'GET', '/fhir/metadata')).status).toBe(200);
  });

  it('leaves the server live, and a body at the limit is read as before', async () => {
    expect((await call(t.httpUrl, 'GET', '/healthz')).body).toEqual({ status: 'ok' });
    // 32 levels is within the limit: the login judges it (a user name is a string) instead of the depth check.
    const atLimit = await postText(`${t.httpUrl}/api/session`, `{"username":${nested(31)},"password":"${PASSWORD}"}`);
    expect(atLimit).toMatchObject({ status: 400, body: { code: 'VIGIL_ERR_BAD_REQUEST' } });
  });
});
