import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../app/config.js';
import { createLogger } from '../app/logger.js';
import { startVigil } from '../app/vigil.js';
import { SqliteStore } from '../ingest/index.js';
import { startMosquitto, type MosquittoInstance } from './support/mosquitto.js';
import { provisionedTemplate, type ProvisionedTemplate } from './support/provisioned.js';
import { waitFor } from './support/temp.js';
import { CLI } from './support/vigil-process.js';

const exec = promisify(execFile);
const DEVICES = ['rt-1', 'rt-2', 'rt-3', 'rt-4'] as const;
const topic = (deviceId: string) => `rpm/v1/devices/${deviceId}/readings`;

/**
 * Scaling a share group down on a real Mosquitto: a stopped worker's persistent session keeps being given its
 * share of the stream (Mosquitto 2.0), so deleting the worker would strand what was queued for it.
 * `vigil worker retire` takes that backlog, leaves the group and ends the session: every reading is then stored
 * once, and what devices publish afterwards all goes to the workers that remain.
 */
describe.each([
  { protocol: '5', name: 'MQTT 5', group: 'g-retire-5' },
  { protocol: '3.1.1', name: 'MQTT 3.1.1', group: 'g-retire-311' },
])('vigil worker retire ($name)', ({ protocol, group }) => {
  let broker: MosquittoInstance;
  let template: ProvisionedTemplate;
  const cleanups: (() => Promise<unknown>)[] = [];
  const base = Date.now() - 3_600_000;

  beforeAll(async () => {
    broker = await startMosquitto();
    template = await provisionedTemplate(DEVICES, 'retire');
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

  const env = (dir: string, clientId: string) => ({
    VIGIL_DATA_DIR: dir,
    VIGIL_BROKER_URL: broker.url,
    VIGIL_BROKER_CLIENT_ID: clientId,
    VIGIL_BROKER_SHARE_GROUP: group,
    VIGIL_BROKER_PROTOCOL: protocol,
  });

  async function startWorker(dir: string, clientId: string) {
    const config = loadConfig({ VIGIL_BIND_HOST: '127.0.0.1', VIGIL_HTTP_PORT: '0', VIGIL_LOG_LEVEL: process.env.VIGIL_TEST_LOG ?? 'silent', ...env(dir, clientId) });
    const vigil = await startVigil(config, createLogger(config.logLevel));
    cleanups.push(() => vigil.close(2_000));
    return vigil;
  }

  async function storedCount(dir: string): Promise<number> {
    const store = new SqliteStore(dir);
    try {
      let n = 0;
      for (const patientId of template.patients.values()) n += (await store.queryRaw({ patientId, type: 'blood_pressure', from: 0, to: Date.now() + 86_400_000 })).length;
      return n;
    } finally {
      await store.close();
    }
  }

  async function publish(from: number, perDevice: number): Promise<void> {
    const clients: MqttClient[] = await Promise.all(DEVICES.map((id) => connectAsync(broker.url, { clientId: id, reconnectPeriod: 0 })));
    try {
      await Promise.all(
        clients.map((c, d) =>
          Promise.all(
            Array.from({ length: perDevice }, (_, i) =>
              c.publishAsync(topic(DEVICES[d]!), JSON.stringify({ type: 'blood_pressure', time: new Date(base + (from + i) * 1000).toISOString(), systolic: 121, diastolic: 79 }), { qos: 1 }),
            ),
          ),
        ),
      );
    } finally {
      await Promise.all(clients.map((c) => c.endAsync()));
    }
  }

  it('takes the backlog queued for a stopped worker, then leaves the group: nothing stranded, nothing more queued for it', async () => {
    const [keptDir, retiredDir] = [await dataDir(), await dataDir()];
    await startWorker(keptDir, `kept-${protocol}`);
    const leaving = await startWorker(retiredDir, `leaving-${protocol}`);
    await leaving.close(2_000);

    // Published while the second worker is stopped: Mosquitto queues its round-robin share in its session.
    const perDevice = 30;
    await publish(0, perDevice);
    const all = DEVICES.length * perDevice;
    await waitFor(async () => (await storedCount(keptDir)) > 0, { what: 'the kept worker storing its share' });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const keptAlone = await storedCount(keptDir);
    expect(keptAlone).toBeLessThan(all);

    const retired = await exec(process.execPath, [CLI, 'worker', 'retire', '--quiet-seconds', '1', '--timeout-seconds', '60'], {
      env: { ...process.env, ...env(retiredDir, `leaving-${protocol}`), VIGIL_LOG_LEVEL: 'warn' },
      timeout: 90_000,
    });
    expect(retired.stdout).toMatch(new RegExp(`worker leaving-${protocol} retired from share group ${group}: ${all - keptAlone} messages taken`));
    expect(retired.stdout).toContain('its outbox is empty');
    expect(keptAlone + (await storedCount(retiredDir))).toBe(all);

    // The session is gone: every reading published now goes to the worker that remains.
    await publish(perDevice, perDevice);
    await waitFor(async () => (await storedCount(keptDir)) === keptAlone + all, { timeoutMs: 30_000, what: 'every new reading stored by the kept worker' });
  }, 150_000);

  it('refuses to retire a data dir a worker still serves, and a Vigil that is not a worker', async () => {
    const dir = await dataDir();
    await startWorker(dir, `busy-${protocol}`);
    const busy = await exec(process.execPath, [CLI, 'worker', 'retire'], { env: { ...process.env, ...env(dir, `busy-${protocol}`) } }).catch((err: { code: number; stderr: string }) => err);
    expect(busy).toMatchObject({ code: 1, stderr: expect.stringContaining('stop the worker first') });
    const embedded = await exec(process.execPath, [CLI, 'worker', 'retire'], { env: { ...process.env, VIGIL_DATA_DIR: await dataDir() } }).catch((err: { code: number; stderr: string }) => err);
    // A configuration error: exit code 2, as for every command.
    expect(embedded).toMatchObject({ code: 2, stderr: expect.stringContaining('VIGIL_BROKER_URL is not set') });
  }, 60_000);
});
