import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, openLive } from './support/dashboard-client.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const statusOf = (refusal: unknown) => Number(/HTTP (\d+)/.exec(String(refusal))?.[1]);

/**
 * Guessing a bearer credential is slowed wherever one is taken: the admin token is the operator's choice (24
 * characters at least), so every route that checks a bearer value counts against VIGIL_API_RATE_PER_MINUTE.
 */
describe('bearer credentials outside /api/*', () => {
  let t: TestVigil;
  beforeAll(async () => {
    t = await startTestVigil({ VIGIL_ADMIN_TOKEN: 'the-admin-token-0123456789abcdef', VIGIL_API_RATE_PER_MINUTE: '3' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('rate-limits bearer guesses on the live channel and the session routes per address, one budget with the API', async () => {
    const guess = (i: number) => ({ authorization: `Bearer guess-${i}-0123456789abcdefghij` });
    const live = async (i: number) => statusOf(await openLive(t.httpUrl, guess(i)).catch((e: unknown) => e));
    const statuses = [
      await live(0),
      (await call(t.httpUrl, 'GET', '/api/session', undefined, guess(1))).status,
      (await call(t.httpUrl, 'GET', '/api/worklist', undefined, guess(2))).status,
      (await call(t.httpUrl, 'DELETE', '/api/session', undefined, guess(3))).status,
      await live(4),
    ];
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    // No bearer value: a person's page, its logins limited on their own.
    expect((await call(t.httpUrl, 'GET', '/api/session')).status).toBe(401);
    expect((await call(t.httpUrl, 'POST', '/api/session', { username: 'nobody', password: 'whatever it is' })).status).toBe(401);
  });
});
