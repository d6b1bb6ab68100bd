import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login } from './support/dashboard-client.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const PASSWORD = 'correct horse battery staple';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A session ends after VIGIL_SESSION_IDLE_MINUTES without a person's input. A browser cannot add headers to a
 * WebSocket upgrade, so the live channel's (re)connections say nothing about a person: a flaky network reconnecting
 * every few minutes must not keep a screen nobody uses logged in.
 */
describe('live channel and the idle clock', () => {
  let t: TestVigil;
  beforeAll(async () => {
    // 45 s: the session store writes activity at most every 30 s, so a reconnection at 32 s would be written.
    t = await startTestVigil({ VIGIL_SESSION_IDLE_MINUTES: '0.75' });
    await t.vigil.users.add({ username: 'card', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('does not restart the idle clock when the live channel connects', async () => {
    const session = await login(t.httpUrl, 'card', PASSWORD);
    await sleep(32_000);
    const live = await session.live();
    live.close();
    await sleep(16_000);
    // 48 s after the last input (the login): over, whatever the socket did.
    expect((await session.request('GET', '/api/session', undefined, { 'x-vigil-background': '1' })).status).toBe(401);
  }, 90_000);
});
