import { unlink } from 'node:fs/promises';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../app/config.js';
import { createLogger } from '../app/logger.js';
import { openState } from '../app/state.js';
import { startVigil, type Vigil } from '../app/vigil.js';
import { fillDisk, smallTmpfs } from './support/fill-disk.js';
import { startMosquitto, type MosquittoInstance } from './support/mosquitto.js';
import { waitFor } from './support/temp.js';

/**
 * A worker whose outbox cannot be written must not acknowledge to the broker: Mosquitto keeps the messages and
 * sends them again when the worker reconnects, and once space is back every reading is stored once. Mounting the
 * small tmpfs needs root; where the sandbox forbids it the test says so and is skipped.
 */
describe('worker mode with a full disk', () => {
  let mountPoint: string;
  let mounted = false;
  let broker: MosquittoInstance | undefined;
  let worker: Vigil | undefined;

  let disk: Awaited<ReturnType<typeof smallTmpfs>> | undefined;

  beforeAll(async () => {
    disk = await smallTmpfs('worker disk-full test');
    mountPoint = disk.path;
    mounted = disk.mounted;
  });

  afterAll(async () => {
    await worker?.close(1_000).catch(() => undefined);
    await broker?.stop();
    await disk?.remove();
  });

  it('leaves unacknowledged what it could not make durable; the broker sends it again once space is back', async (ctx) => {
    if (!mounted) return ctx.skip();
    broker = await startMosquitto();
    const { db, registry } = openState(mountPoint);
    const patient = await registry.addPatient({ name: 'Full Disk' });
    await registry.addDevice({ patientId: patient.id, id: 'scale-1' });
    db.close();
    const config = loadConfig({
      VIGIL_DATA_DIR: mountPoint,
      VIGIL_BIND_HOST: '127.0.0.1',
      VIGIL_HTTP_PORT: '0',
      VIGIL_LOG_LEVEL: process.env.VIGIL_TEST_LOG ?? 'silent',
      VIGIL_STORE_RETRY_MAX_MS: '500',
      VIGIL_BROKER_URL: broker.url,
      VIGIL_BROKER_CLIENT_ID: 'full-worker',
    });
    worker = await startVigil(config, createLogger(config.logLevel));
    const httpUrl = `http://127.0.0.1:${worker.httpPort}`;
    const device = await connectAsync(broker.url, { clientId: 'scale-1', reconnectPeriod: 0 });
    const topic = 'rpm/v1/devices/scale-1/readings';
    const weight = (i: number) => JSON.stringify({ type: 'weight', time: new Date(Date.now() - 1000 * (300 - i)).toISOString(), value: 80, unit: 'kg', id: `w${i}` });
    try {
      await device.publishAsync(topic, weight(0), { qos: 1 });
      const stored = async () => (await worker!.ingest.store.queryRaw({ patientId: patient.id, type: 'weight', from: 0, to: Date.now() + 1000 })).length;
      await waitFor(async () => (await stored()) === 1, { what: 'the first reading stored' });

      const filler = await fillDisk(mountPoint);
      // The last page of the outbox segment may still have room: keep publishing until a commit fails.
      let published = 1;
      let unready = false;
      for (let i = 1; i <= 200 && !unready; i++) {
        await device.publishAsync(topic, weight(i), { qos: 1 });
        published++;
        await new Promise((resolve) => setTimeout(resolve, 50));
        unready = (await fetch(`${httpUrl}/readyz`)).status === 503;
      }
      expect(unready, '/readyz should report the outbox unwritable').toBe(true);
      const metrics = await (await fetch(`${httpUrl}/metrics`)).text();
      expect(metrics).toMatch(/^vigil_broker_messages_total\{kind="readings",outcome="not_acknowledged"\} [1-9]/m);
      expect(await stored()).toBeLessThan(published);

      await unlink(filler);
      await waitFor(async () => (await stored()) === published, { what: 'every reading stored once space is back (sent again by the broker)', timeoutMs: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await stored()).toBe(published);
      expect((await (await fetch(`${httpUrl}/metrics`)).text())).toMatch(/^vigil_broker_reconnects_total [1-9]/m);
    } finally {
      await device.endAsync(true);
    }
  }, 120_000);
});
