import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfluxd, type InfluxInstance } from './support/influxd.js';
import { tempDir, waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

type Readyz = { status: string; checks: { store: { ok: boolean; error?: string; deadLetters: number }; outbox: { depth: number } } };

/** A real InfluxDB with authentication that refuses Vigil's credentials: nothing is dead-lettered, nothing lost. */
describe('InfluxDB refusing Vigil', () => {
  let influx: InfluxInstance;
  let dataDir: Awaited<ReturnType<typeof tempDir>>;
  let t: TestVigil | undefined;
  const env = (password: string) => ({ VIGIL_INFLUX_URL: influx.url, VIGIL_INFLUX_DB: 'vigil', VIGIL_INFLUX_USER: 'vigil-writer', VIGIL_INFLUX_PASSWORD: password, VIGIL_STORE_RETRY_MAX_MS: '500' });
  const readyz = async () => (await (await fetch(`${t!.httpUrl}/readyz`)).json()) as Readyz;

  beforeAll(async () => {
    influx = await startInfluxd({ auth: { username: 'vigil-writer', password: 'right-password' } });
    await influx.query('CREATE DATABASE vigil');
    dataDir = await tempDir();
  });
  afterAll(async () => {
    await t?.stop();
    await influx?.destroy();
    await dataDir?.remove();
  });

  it('keeps acknowledged readings in the outbox and reports not ready with the reason, then stores them with the right credentials', async () => {
    t = await startTestVigil(env('wrong-password'), dataDir.path);
    const dev = await t.provision();
    const client = await t.connectDevice(dev);
    const base = Date.now() - 60_000;
    for (let i = 0; i < 5; i++) {
      await client.publishAsync(`rpm/v1/devices/${dev.deviceId}/readings`, JSON.stringify({ type: 'heart_rate', time: new Date(base + i * 1000).toISOString(), value: 70 + i, id: `hr${i}` }), { qos: 1 });
    }
    const refused = await waitFor(async () => {
      const r = await readyz();
      return r.status === 'unready' && r;
    }, { what: 'the instance to report not ready' });
    expect(refused.checks.store.error).toMatch(/refused Vigil's credentials \(401\)/);
    expect(refused.checks.outbox.depth).toBe(5);
    expect(refused.checks.store.deadLetters).toBe(0);
    await client.endAsync();
    await t.stop();

    t = await startTestVigil(env('right-password'), dataDir.path);
    await waitFor(async () => {
      const rows = await influx.query(`SELECT count("value") FROM "heart_rate" WHERE "patient_id" = '${dev.patientId}'`);
      return rows[0]?.[1] === 5;
    }, { what: 'the five readings stored once the credentials are right' });
    const healthy = await readyz();
    expect(healthy.status).toBe('ready');
    // A healthy store is not called degraded anywhere in the answer.
    expect(JSON.stringify(healthy)).not.toContain('degraded');
  });
});
