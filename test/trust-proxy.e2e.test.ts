import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postFrom } from './support/http-from.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

/** A login attempt from a given loopback address, claiming another address in X-Forwarded-For. */
const loginFrom = (port: number, localAddress: string, forwardedFor: string) =>
  postFrom(port, localAddress, '/api/session', { username: 'nobody', password: 'not a real password' }, { 'x-forwarded-for': forwardedFor });

/** Only the proxy named in VIGIL_TRUST_PROXY may say who the client is; anyone else's X-Forwarded-For is ignored. */
describe('trusted proxies', () => {
  let t: TestVigil;
  beforeAll(async () => {
    t = await startTestVigil({ VIGIL_TRUST_PROXY: '127.0.0.2', VIGIL_BIND_HOST: '127.0.0.1' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('records the forwarded address from the trusted proxy, and the real one from a client that forges it', async () => {
    expect(await loginFrom(t.vigil.httpPort, '127.0.0.2', '203.0.113.7')).toBe(401);
    expect(await loginFrom(t.vigil.httpPort, '127.0.0.3', '198.51.100.9')).toBe(401);
    const origins = t.vigil.audit.list({ action: 'login.failed' }).map((e) => e.origin);
    expect(origins).toContain('203.0.113.7');
    expect(origins).toContain('127.0.0.3');
    expect(origins).not.toContain('198.51.100.9');
  });
});
