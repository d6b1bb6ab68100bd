import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../app/config.js';
import { createLogger } from '../app/logger.js';
import { startVigil, type Vigil } from '../app/vigil.js';
import { SqliteStore } from '../ingest/index.js';
import { startMosquitto, type MosquittoInstance } from './support/mosquitto.js';
import { provisionedTemplate, type ProvisionedTemplate } from './support/provisioned.js';
import { waitFor } from './support/temp.js';
import { startVigilWorkerProcess } from './support/vigil-process.js';

const exec = promisify(execFile);
const DEVICES = ['bp-1', 'bp-2', 'bp-3', 'bp-4'] as const;
const topic = (deviceId: string, kind: 'readings' | 'status' | 'errors') => `rpm/v1/devices/${deviceId}/${kind}`;

/**
 * Worker mode against a real Mosquitto: Vigil runs no broker, consumes the devices' topics through a shared
 * subscription, and acknowledges only what is durable. Each test uses its own share group: the persistent
 * sessions of an earlier test's workers stay subscribed in the broker after those workers stop.
 */
describe('worker mode on an external Mosquitto', () => {
  let broker: MosquittoInstance;
  let template: ProvisionedTemplate;
  let patients: ReadonlyMap<string, string>;
  const cleanups: (() => Promise<unknown>)[] = [];
  const base = Date.now() - 3_600_000;

  beforeAll(async () => {
    broker = await startMosquitto();
    // One provisioned registry, copied into each worker's data dir: each worker has its own registry here.
    template = await provisionedTemplate([...DEVICES, 'v5-dev', 'v5-cli', 'bad-dev'], 'worker');
    patients = template.patients;
  }, 30_000);

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  afterAll(async () => {
    await broker?.stop();
    await template?.remove();
  });

  async function dataDir(): Promise<string> {
    const dir = await template.copy();
    cleanups.push(() => dir.remove());
    return dir.path;
  }

  function workerEnv(dir: string, clientId: string, group: string): Record<string, string> {
    return { VIGIL_DATA_DIR: dir, VIGIL_BROKER_URL: broker.url, VIGIL_BROKER_CLIENT_ID: clientId, VIGIL_BROKER_SHARE_GROUP: group };
  }

  async function startWorker(dir: string, clientId: string, group: string): Promise<Vigil> {
    const config = loadConfig({ VIGIL_BIND_HOST: '127.0.0.1', VIGIL_HTTP_PORT: '0', VIGIL_LOG_LEVEL: process.env.VIGIL_TEST_LOG ?? 'silent', ...workerEnv(dir, clientId, group) });
    const vigil = await startVigil(config, createLogger(config.logLevel));
    cleanups.push(() => vigil.close(2_000));
    return vigil;
  }

  async function device(deviceId: string, options: IClientOptions = {}): Promise<MqttClient> {
    const client = await connectAsync(broker.url, { clientId: deviceId, reconnectPeriod: 0, connectTimeout: 5_000, ...options });
    cleanups.push(() => client.endAsync(true));
    return client;
  }

  const reading = (i: number, extra: object = {}) =>
    JSON.stringify({ type: 'blood_pressure', time: new Date(base + i * 1000).toISOString(), systolic: 120, diastolic: 80, pulse: 70, id: `r${i}`, ...extra });

  /** The reading times each device's patient has in one worker's embedded store. */
  async function stored(dir: string): Promise<Map<string, number[]>> {
    const store = new SqliteStore(dir);
    try {
      const byDevice = new Map<string, number[]>();
      for (const [deviceId, patientId] of patients) {
        const rows = await store.queryRaw({ patientId, type: 'blood_pressure', from: 0, to: Date.now() + 86_400_000 });
        byDevice.set(deviceId, rows.map((r) => r.time));
      }
      return byDevice;
    } finally {
      await store.close();
    }
  }

  const total = (byDevice: Map<string, number[]>) => [...byDevice.values()].reduce((n, times) => n + times.length, 0);

  /** Every published reading of `perDevice` per device stored exactly once across the workers' stores. */
  async function expectEachStoredOnce(dirs: string[], perDevice: number): Promise<Map<string, number[]>[]> {
    const expected = DEVICES.length * perDevice;
    const stores = await waitFor(
      async () => {
        const all = await Promise.all(dirs.map(stored));
        return all.reduce((n, s) => n + total(s), 0) >= expected ? all : undefined;
      },
      { timeoutMs: 60_000, what: `${expected} readings stored` },
    );
    for (const deviceId of DEVICES) {
      const times = stores.flatMap((s) => s.get(deviceId) ?? []).sort((a, b) => a - b);
      expect(times).toEqual(Array.from({ length: perDevice }, (_, i) => base + i * 1000));
    }
    return stores;
  }

  it('two workers share one stream: every reading stored exactly once, both workers took some', async () => {
    const dirs = [await dataDir(), await dataDir()];
    await startWorker(dirs[0]!, 'share-a', 'g-share');
    await startWorker(dirs[1]!, 'share-b', 'g-share');
    const perDevice = 60;
    const devices = await Promise.all(DEVICES.map((id) => device(id)));
    await Promise.all(
      devices.map((client, d) => Promise.all(Array.from({ length: perDevice }, (_, i) => client.publishAsync(topic(DEVICES[d]!, 'readings'), reading(i), { qos: 1 })))),
    );
    const stores = await expectEachStoredOnce(dirs, perDevice);
    for (const s of stores) expect(total(s)).toBeGreaterThan(0);
  }, 90_000);

  it('a worker killed with SIGKILL mid-stream loses nothing the broker acknowledged: the restarted worker gets it again', async () => {
    const dirs = [await dataDir(), await dataDir()];
    await startWorker(dirs[0]!, 'kill-a', 'g-kill');
    const env = workerEnv(dirs[1]!, 'kill-b', 'g-kill');
    let victim = await startVigilWorkerProcess(env);
    cleanups.push(async () => victim.child.kill('SIGKILL'));
    const perDevice = 150;
    const devices = await Promise.all(DEVICES.map((id) => device(id)));
    let acknowledged = 0;
    const publishing = devices.map(async (client, d) => {
      for (let i = 0; i < perDevice; i += 10) {
        // Windows of 10 in flight per device: the stream keeps flowing while the worker is killed.
        await Promise.all(Array.from({ length: 10 }, (_, k) => client.publishAsync(topic(DEVICES[d]!, 'readings'), reading(i + k), { qos: 1 })));
        acknowledged += 10;
      }
    });
    await waitFor(() => acknowledged >= (DEVICES.length * perDevice) / 4, { timeoutMs: 30_000, what: 'a quarter of the stream acknowledged by the broker' });
    const exited = new Promise((resolve) => victim.child.once('exit', resolve));
    victim.child.kill('SIGKILL');
    await exited;
    await Promise.all(publishing);
    expect(acknowledged).toBe(DEVICES.length * perDevice);
    // The same client id resumes the persistent session: Mosquitto sends what the killed worker never acknowledged.
    victim = await startVigilWorkerProcess(env);
    await expectEachStoredOnce(dirs, perDevice);
    expect(total(await stored(dirs[1]!))).toBeGreaterThan(0);
  }, 120_000);

  it('MQTT 5 devices (mqtt.js and mosquitto_pub -V mqttv5) get their readings stored; /readyz reports the broker', async () => {
    const dir = await dataDir();
    const worker = await startWorker(dir, 'v5-worker', 'g-v5');
    const client = await device('v5-dev', { protocolVersion: 5 });
    await client.publishAsync(topic('v5-dev', 'readings'), reading(1), { qos: 1 });
    await exec('mosquitto_pub', ['-V', 'mqttv5', '-h', '127.0.0.1', '-p', String(broker.port), '-i', 'v5-cli', '-q', '1', '-t', topic('v5-cli', 'readings'), '-m', reading(2)], { timeout: 15_000 });
    const byDevice = await waitFor(
      async () => {
        const s = await stored(dir);
        return s.get('v5-dev')?.length === 1 && s.get('v5-cli')?.length === 1 ? s : undefined;
      },
      { what: 'both MQTT 5 readings stored' },
    );
    expect(byDevice.get('v5-dev')).toEqual([base + 1000]);
    expect(byDevice.get('v5-cli')).toEqual([base + 2000]);
    const ready = (await (await fetch(`http://127.0.0.1:${worker.httpPort}/readyz`)).json()) as { status: string; checks: { broker: Record<string, unknown> } };
    expect(ready.status).toBe('ready');
    expect(ready.checks.broker).toMatchObject({ ok: true, mode: 'external', protocolVersion: 5, broker: broker.url });
  }, 60_000);

  it('an invalid reading gets its coded rejection, a status updates presence, an unknown device is told: all through the broker', async () => {
    const dir = await dataDir();
    const worker = await startWorker(dir, 'errors-worker', 'g-errors');
    const received: { topic: string; body: { code: string; ref: string; rejected?: number } }[] = [];
    const bad = await device('bad-dev');
    const stranger = await device('not-provisioned');
    for (const client of [bad, stranger]) {
      client.on('message', (t, payload) => received.push({ topic: t, body: JSON.parse(payload.toString('utf8')) }));
    }
    await bad.subscribeAsync(topic('bad-dev', 'errors'), { qos: 1 });
    await stranger.subscribeAsync(topic('not-provisioned', 'errors'), { qos: 1 });

    await bad.publishAsync(topic('bad-dev', 'readings'), reading(5, { systolic: 80, diastolic: 120 }), { qos: 1 });
    await bad.publishAsync(topic('bad-dev', 'status'), JSON.stringify({ online: true, battery: 42, firmware: '1.2.3' }), { qos: 1 });
    await stranger.publishAsync(topic('not-provisioned', 'readings'), reading(6), { qos: 1 });

    await waitFor(() => received.length >= 2, { what: 'two errors messages' });
    expect(received).toContainEqual({ topic: topic('bad-dev', 'errors'), body: expect.objectContaining({ code: 'VIGIL_ERR_BP_ORDER', ref: 'r5', rejected: 1 }) });
    expect(received).toContainEqual({ topic: topic('not-provisioned', 'errors'), body: expect.objectContaining({ code: 'VIGIL_ERR_NOT_FOUND' }) });
    await waitFor(() => worker.registry.getDevice('bad-dev')?.battery === 42, { what: 'the status recorded' });
    expect(worker.registry.getDevice('bad-dev')).toMatchObject({ online: true, battery: 42, firmware: '1.2.3' });
    expect((await stored(dir)).get('bad-dev')).toEqual([]);
  }, 60_000);
});
