import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../app/config.js';
import { createLogger } from '../app/logger.js';
import { openState } from '../app/state.js';
import { startVigil, type Vigil } from '../app/vigil.js';
import { startMosquitto, type MosquittoInstance } from './support/mosquitto.js';
import { tempDir, waitFor } from './support/temp.js';

/** Worker mode (VIGIL_BROKER_URL) reads the senml topics of an external Mosquitto as the embedded broker does. */
describe('SenML in worker mode, through a real Mosquitto', () => {
  let broker: MosquittoInstance;
  let dir: { path: string; remove: () => Promise<void> };
  let vigil: Vigil;
  let patientId: string;

  beforeAll(async () => {
    broker = await startMosquitto();
    dir = await tempDir('vigil-senml-worker-');
    const { db, registry } = openState(dir.path);
    patientId = (await registry.addPatient({ name: 'SenML worker patient' })).id;
    await registry.addDevice({ patientId, id: 'senml-dev' });
    db.close();
    const config = loadConfig({
      VIGIL_DATA_DIR: dir.path,
      VIGIL_BIND_HOST: '127.0.0.1',
      VIGIL_HTTP_PORT: '0',
      VIGIL_LOG_LEVEL: process.env.VIGIL_TEST_LOG ?? 'silent',
      VIGIL_BROKER_URL: broker.url,
      VIGIL_BROKER_CLIENT_ID: 'senml-worker',
      VIGIL_BROKER_SHARE_GROUP: 'g-senml',
    });
    vigil = await startVigil(config, createLogger(config.logLevel));
  }, 30_000);

  afterAll(async () => {
    await vigil?.close(2_000);
    await broker?.stop();
    await dir?.remove();
  });

  it('stores a pack published on rpm/v1/devices/{id}/senml and reports a rejected record on the errors topic', async () => {
    const device = await connectAsync(broker.url, { clientId: 'senml-dev', reconnectPeriod: 0, connectTimeout: 5_000 });
    try {
      const errors: { code: string; ref: string }[] = [];
      device.on('message', (_topic, payload) => errors.push(JSON.parse(payload.toString('utf8'))));
      await device.subscribeAsync('rpm/v1/devices/senml-dev/errors', { qos: 1 });
      const bt = Math.floor(Date.now() / 1000) - 120;
      await device.publishAsync(
        'rpm/v1/devices/senml-dev/senml',
        JSON.stringify([{ bn: 'urn:dev:mac:0024befffe804ff1:', bt, n: 'systolic', u: 'mmHg', v: 131 }, { n: 'diastolic', u: 'mmHg', v: 84 }, { n: 'weight', u: 'stone', v: 12 }]),
        { qos: 1 },
      );
      const points = await waitFor(async () => {
        const p = await vigil.ingest.store.queryRaw({ patientId, type: 'blood_pressure', from: 0, to: Date.now() });
        return p.length === 1 && p;
      }, { what: 'the blood pressure stored by the worker' });
      expect(points[0]).toMatchObject({ time: bt * 1000, fields: { systolic: 131, diastolic: 84 } });
      await waitFor(() => errors.length === 1, { what: 'the rejection on the errors topic' });
      expect(errors[0]).toMatchObject({ ref: '2', code: 'VIGIL_ERR_SCHEMA' });
    } finally {
      await device.endAsync(true);
    }
  }, 60_000);
});
