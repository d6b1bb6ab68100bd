import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../app/config.js';
import { createLogger } from '../app/logger.js';
import { openState } from '../app/state.js';
import { startVigil, type Vigil } from '../app/vigil.js';
import { SqliteStore } from '../ingest/index.js';
import { startMosquitto, type MosquittoInstance } from './support/mosquitto.js';
import { tempDir, waitFor } from './support/temp.js';

const DEVICES = Array.from({ length: 10 }, (_, i) => `backlog-${i}`);
const PER_DEVICE = 5_000;
const BOUND = 50;
const base = Date.now() - 86_400_000;
const reading = (i: number) => JSON.stringify({ type: 'heart_rate', time: new Date(base + i * 1000).toISOString(), value: 60 + (i % 40), id: `r${i}` });

/** One unlabelled series of a Vigil's /metrics, or undefined when it does not expose it. */
async function metric(vigil: Vigil, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${vigil.httpPort}/metrics`)).text();
  const value = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];
  return value === undefined ? undefined : Number(value);
}

/**
 * A worker that comes back to a backlog of 50,000 QoS 1 messages queued for its session at a real Mosquitto
 * (configured with no in-flight limit of its own, as docs/operations.md once advised) holds at most
 * VIGIL_WORKER_MAX_INFLIGHT of them between arrival and PUBACK, and stores every one the broker acknowledged.
 * Over MQTT 5 the broker is held to the bound by the Receive Maximum of the worker's CONNECT; over MQTT 3.1.1 it
 * floods, and the worker's own gate stops reading.
 */
describe.each([
  ['5', 'v5'],
  ['3.1.1', 'v311'],
] as const)('a worker on MQTT %s back to a backlog', (protocol, tag) => {
  let broker: MosquittoInstance;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const patients = new Map<string, string>();
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    dir = await tempDir('vigil-worker-inflight-');
    const { db, registry } = openState(dir.path);
    for (const id of DEVICES) {
      const patient = await registry.addPatient({ name: `Backlog ${id}` });
      await registry.addDevice({ patientId: patient.id, id });
      patients.set(id, patient.id);
    }
    db.close();
  }, 60_000);

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  afterAll(async () => {
    await broker?.stop();
    await dir?.remove();
  });

  async function startWorker(): Promise<Vigil> {
    const config = loadConfig({
      VIGIL_BIND_HOST: '127.0.0.1',
      VIGIL_HTTP_PORT: '0',
      VIGIL_LOG_LEVEL: process.env.VIGIL_TEST_LOG ?? 'silent',
      VIGIL_DATA_DIR: dir.path,
      VIGIL_BROKER_URL: broker.url,
      VIGIL_BROKER_CLIENT_ID: `backlog-worker-${tag}`,
      VIGIL_BROKER_SHARE_GROUP: `g-backlog-${tag}`,
      VIGIL_BROKER_PROTOCOL: protocol,
      VIGIL_WORKER_MAX_INFLIGHT: String(BOUND),
    });
    const vigil = await startVigil(config, createLogger(config.logLevel));
    cleanups.push(() => vigil.close(2_000));
    return vigil;
  }

  async function storedTimes(): Promise<Map<string, number[]>> {
    const store = new SqliteStore(dir.path);
    try {
      const byDevice = new Map<string, number[]>();
      for (const [deviceId, patientId] of patients) {
        const rows = await store.queryRaw({ patientId, type: 'heart_rate', from: 0, to: Date.now() + 86_400_000 });
        byDevice.set(deviceId, rows.map((r) => r.time));
      }
      return byDevice;
    } finally {
      await store.close();
    }
  }

  it(`holds at most VIGIL_WORKER_MAX_INFLIGHT (${BOUND}) messages at once and stores all ${DEVICES.length * PER_DEVICE}`, async () => {
    // First start: the broker makes the worker's persistent session and its shared subscriptions; then it leaves.
    const first = await startWorker();
    expect(await metric(first, 'vigil_worker_inflight_max')).toBe(BOUND);
    await cleanups.pop()!();

    // While it is away, the devices publish; the broker acknowledges each message and queues it for the session.
    const devices: MqttClient[] = [];
    for (const id of DEVICES) {
      const client = await connectAsync(broker.url, { clientId: id, reconnectPeriod: 0, connectTimeout: 5_000 });
      devices.push(client);
      cleanups.push(() => client.endAsync(true));
    }
    let acknowledged = 0;
    await Promise.all(
      devices.map(async (client, d) => {
        for (let i = 0; i < PER_DEVICE; i += 500) {
          await Promise.all(Array.from({ length: 500 }, (_, k) => client.publishAsync(`rpm/v1/devices/${DEVICES[d]}/readings`, reading(i + k), { qos: 1 })));
          acknowledged += 500;
        }
      }),
    );
    expect(acknowledged).toBe(DEVICES.length * PER_DEVICE);

    // Back: the whole backlog arrives at once, as fast as the worker takes it.
    const worker = await startWorker();
    await waitFor(async () => ((await metric(worker, 'vigil_readings_stored_total')) ?? 0) >= acknowledged, { timeoutMs: 240_000, intervalMs: 250, what: `${acknowledged} readings stored` });
    const peak = await metric(worker, 'vigil_worker_inflight_peak');
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(BOUND);
    await waitFor(async () => (await metric(worker, 'vigil_worker_inflight')) === 0, { what: 'every PUBACK sent' });

    // Nothing acknowledged is lost: each device's readings, each once.
    const stored = await storedTimes();
    for (const id of DEVICES) expect(stored.get(id)).toEqual(Array.from({ length: PER_DEVICE }, (_, i) => base + i * 1000));
  }, 300_000);
});
