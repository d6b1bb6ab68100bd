import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login } from './support/dashboard-client.js';
import { startFaultProxy } from './support/fault-proxy.js';
import { startInfluxd, type InfluxInstance } from './support/influxd.js';
import { waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const topic = (deviceId: string) => `rpm/v1/devices/${deviceId}/readings`;

async function readyz(t: TestVigil) {
  return (await (await fetch(`${t.httpUrl}/readyz`)).json()) as {
    status: string;
    checks: { store: { ok: boolean }; outbox: { depth: number; oldestAgeSeconds: number } };
  };
}

/** Vigil against a real InfluxDB that goes away in the middle of a stream and comes back. */
describe('InfluxDB outage', () => {
  let influx: InfluxInstance;
  let t: TestVigil;

  beforeAll(async () => {
    influx = await startInfluxd();
    t = await startTestVigil({ VIGIL_INFLUX_URL: influx.url, VIGIL_INFLUX_DB: 'vigil', VIGIL_STORE_RETRY_MAX_MS: '500', VIGIL_INFLUX_TIMEOUT_MS: '2000' });
  });
  afterAll(async () => {
    await t?.stop();
    await influx?.destroy();
  });

  async function countStored(patientId: string): Promise<number> {
    const rows = await influx.query(`SELECT count("value") FROM "heart_rate" WHERE "patient_id" = '${patientId}'`);
    return (rows[0]?.[1] as number | undefined) ?? 0;
  }

  it('keeps acknowledging while InfluxDB is down, shows the backlog, and stores every reading once when it is back', async () => {
    const dev = await t.provision();
    const client = await t.connectDevice(dev);
    const base = Date.now() - 600_000;
    let n = 0;
    const publish = async (count: number) => {
      for (let i = 0; i < count; i++, n++) {
        await client.publishAsync(topic(dev.deviceId), JSON.stringify({ type: 'heart_rate', time: new Date(base + n * 1000).toISOString(), value: 60 + (n % 40), id: `hr${n}` }), { qos: 1 });
      }
    };

    await publish(20);
    await waitFor(async () => (await countStored(dev.patientId)) === 20, { what: '20 readings in InfluxDB' });

    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      await influx.stop(signal);
      await publish(25); // every one acknowledged: publishAsync resolves on PUBACK
      const during = await waitFor(async () => {
        const r = await readyz(t);
        return r.checks.store.ok === false && r.checks.outbox.depth >= 25 && r;
      }, { what: 'readyz to show the backlog' });
      expect(during.status).toBe('degraded');
      const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
      expect(metrics).toMatch(/^vigil_outbox_depth (2[5-9]|[3-9]\d)/m);
      await influx.start();
      await waitFor(async () => (await readyz(t)).checks.outbox.depth === 0, { what: 'the outbox to drain', timeoutMs: 30_000 });
    }
    expect(await countStored(dev.patientId)).toBe(70);
    const ready = await readyz(t);
    expect(ready.status).toBe('ready');
  });

  it('exports through the API the readings acknowledged while InfluxDB refuses writes, still in the outbox, each once', async () => {
    const proxy = await startFaultProxy(influx.url);
    const viaProxy = await startTestVigil({ VIGIL_INFLUX_URL: proxy.url, VIGIL_INFLUX_DB: 'exports', VIGIL_STORE_RETRY_MAX_MS: '500', VIGIL_INFLUX_TIMEOUT_MS: '800' });
    try {
      const dev = await viaProxy.provision();
      const client = await viaProxy.connectDevice(dev);
      const base = Date.now() - 300_000;
      const publish = (i: number) => client.publishAsync(topic(dev.deviceId), JSON.stringify({ type: 'heart_rate', time: new Date(base + i * 1000).toISOString(), value: 70 + i, id: `x${i}` }), { qos: 1 });
      await publish(0);
      await waitFor(async () => (await viaProxy.vigil.ingest.store.queryRaw({ patientId: dev.patientId, type: 'heart_rate', from: 0, to: Date.now() })).length === 1, { what: 'the first reading stored' });
      // Writes fail, queries answer: three readings wait in the outbox, acknowledged.
      proxy.setMode('error500', /^\/write/);
      for (let i = 1; i <= 3; i++) await publish(i);
      await viaProxy.vigil.users.add({ username: 'exporter', role: 'admin', password: 'correct horse battery staple' });
      const admin = await login(viaProxy.httpUrl, 'exporter', 'correct horse battery staple');
      const period = `from=${encodeURIComponent(new Date(base - 60_000).toISOString())}&to=${encodeURIComponent(new Date().toISOString())}`;
      const csv = await admin.request<string>('GET', `/api/patients/${dev.patientId}/export/csv?${period}`);
      expect(csv.status).toBe(200);
      // A header line, and one line per reading: the stored one and the three still in the outbox.
      expect(String(csv.body).trim().split('\n')).toHaveLength(1 + 4);
      const bundle = await admin.request<{ entry: { resource: { resourceType: string } }[] }>('GET', `/api/patients/${dev.patientId}/export/fhir?${period}`);
      expect(bundle.status).toBe(200);
      expect(bundle.body.entry.filter((e) => e.resource.resourceType === 'Observation')).toHaveLength(4);
      proxy.setMode('pass');
      await waitFor(async () => (await viaProxy.vigil.ingest.store.queryRaw({ patientId: dev.patientId, type: 'heart_rate', from: 0, to: Date.now() })).length === 4, { what: 'the outbox to drain' });
      // Stored now: still each once.
      expect(String((await admin.request<string>('GET', `/api/patients/${dev.patientId}/export/csv?${period}`)).body).trim().split('\n')).toHaveLength(1 + 4);
      await client.endAsync();
    } finally {
      await viaProxy.stop();
      await proxy.close();
    }
  });

  it('dead-letters a reading InfluxDB refuses (4xx), stores the rest, and replays it once the cause is fixed', async () => {
    const dev = await t.provision();
    const client = await t.connectDevice(dev);
    const time = Date.now() - 60_000;
    // A conflicting field type in the same shard makes InfluxDB answer 400 for Vigil's float "value".
    await fetch(`${influx.url}/write?db=vigil`, { method: 'POST', body: `weight,device_id=x,patient_id=x value="heavy" ${time - 1000}000000` });
    await client.publishAsync(topic(dev.deviceId), JSON.stringify([
      { type: 'weight', time: new Date(time).toISOString(), value: 81.2, unit: 'kg', id: 'w1' },
      { type: 'heart_rate', time: new Date(time).toISOString(), value: 72, id: 'h1' },
    ]), { qos: 1 });
    const letters = await waitFor(() => {
      const list = t.vigil.ingest.deadLetters.list();
      return list.length === 1 && list;
    }, { what: 'a dead letter' });
    expect(letters[0]).toMatchObject({ status: 400, reading: { type: 'weight', deviceId: dev.deviceId, fields: { value: 81.2 } } });
    await waitFor(async () => (await countStored(dev.patientId)) === 1, { what: 'the heart rate stored' });

    await fetch(`${influx.url}/query?db=vigil&q=${encodeURIComponent('DROP MEASUREMENT "weight"')}`, { method: 'POST' });
    expect(t.vigil.ingest.deadLetters.requestReplay()).toBe(1);
    await waitFor(async () => (await influx.query(`SELECT "value" FROM "weight" WHERE "patient_id" = '${dev.patientId}'`)).length === 1, {
      what: 'the replayed reading in InfluxDB',
      timeoutMs: 20_000,
    });
    // The dead letter is removed once the store has answered, which can come just after the point is queryable.
    await waitFor(() => t.vigil.ingest.deadLetters.list().length === 0, { what: 'the dead letter removed after its replay' });
    expect(t.vigil.ingest.deadLetters.list()).toEqual([]);
  });

  it('keeps every reading through a store that answers 500 and one that never answers, and stores each once', async () => {
    const proxy = await startFaultProxy(influx.url);
    const viaProxy = await startTestVigil({ VIGIL_INFLUX_URL: proxy.url, VIGIL_INFLUX_DB: 'faults', VIGIL_STORE_RETRY_MAX_MS: '500', VIGIL_INFLUX_TIMEOUT_MS: '800' });
    try {
      const dev = await viaProxy.provision();
      const client = await viaProxy.connectDevice(dev);
      const count = async () =>
        ((await influx.query(`SELECT count("value") FROM "heart_rate" WHERE "patient_id" = '${dev.patientId}'`, 'faults'))[0]?.[1] as number | undefined) ?? 0;
      let n = 0;
      const publish = async (k: number) => {
        for (let i = 0; i < k; i++, n++) {
          await client.publishAsync(topic(dev.deviceId), JSON.stringify({ type: 'heart_rate', time: new Date(Date.now() - 600_000 + n * 1000).toISOString(), value: 70, id: `f${n}` }), { qos: 1 });
        }
      };
      await publish(10);
      await waitFor(async () => (await count()) === 10, { what: 'the first readings stored through the proxy' });
      for (const mode of ['error500', 'hang'] as const) {
        proxy.setMode(mode);
        await publish(10);
        const r = await waitFor(async () => {
          const ready = await readyz(viaProxy);
          return ready.checks.store.ok === false && ready.checks.outbox.depth >= 10 && ready;
        }, { what: `the backlog while InfluxDB is behind a ${mode} fault` });
        expect(r.status).toBe('degraded');
        proxy.setMode('pass');
        await waitFor(async () => (await readyz(viaProxy)).checks.outbox.depth === 0, { what: 'the drain', timeoutMs: 30_000 });
      }
      expect(await count()).toBe(30);
      const metrics = await (await fetch(`${viaProxy.httpUrl}/metrics`)).text();
      expect(metrics).toMatch(/vigil_store_write_failures_total\{kind="unavailable"\} [1-9]/);
    } finally {
      await viaProxy.stop();
      await proxy.close();
    }
  });
});
