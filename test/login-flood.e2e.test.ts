import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postFrom } from './support/http-from.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const loginFrom = (port: number, localAddress: string, i: number) =>
  postFrom(port, localAddress, '/api/session', { username: `someone-${i}`, password: 'not a real password' });

/** A flood of logins within each address's rate limit, from several addresses, while a device publishes. */
describe('login flood', () => {
  let t: TestVigil;
  beforeAll(async () => {
    t = await startTestVigil({ VIGIL_BIND_HOST: '127.0.0.1', VIGIL_LOGIN_RATE_PER_MINUTE: '50' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('checks a few passwords at a time and refuses the rest at once (503), and devices are still acknowledged', async () => {
    const dev = await t.provision();
    const device = await t.connectDevice(dev);
    const addresses = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
    const flood = Promise.all(addresses.flatMap((a, k) => Array.from({ length: 12 }, (_, i) => loginFrom(t.vigil.httpPort, a, k * 100 + i))));
    await device.publishAsync(`rpm/v1/devices/${dev.deviceId}/readings`, JSON.stringify({ type: 'heart_rate', time: new Date().toISOString(), value: 72, id: 'during-flood' }), { qos: 1 });
    const statuses = await flood;
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(2);
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 401 || s === 503)).toBe(true);
  });
});
