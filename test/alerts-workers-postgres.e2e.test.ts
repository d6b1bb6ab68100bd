import { connectAsync } from 'mqtt';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../app/logger.js';
import { startVigil, type Vigil } from '../app/vigil.js';
import { SqliteStore } from '../ingest/index.js';
import { startMosquitto, type MosquittoInstance } from './support/mosquitto.js';
import { startPostgres, type PostgresInstance } from './support/postgres.js';
import { provisionedTemplate, type ProvisionedTemplate } from './support/provisioned.js';
import { waitFor } from './support/temp.js';
import { testConfig } from './support/vigil.js';

const READINGS = 40;

/**
 * The cluster shape: two workers on one Mosquitto (a shared subscription splits the device's messages
 * between them) and one PostgreSQL. A patient's critical readings reach both workers; the alert is opened once,
 * counts every reading, and both workers show that one alert.
 */
describe('alerts of workers on one broker and one PostgreSQL', () => {
  let broker: MosquittoInstance;
  let postgres: PostgresInstance;
  let template: ProvisionedTemplate;
  const workers: Vigil[] = [];
  const removals: (() => Promise<void>)[] = [];
  let databaseUrl: string;

  beforeAll(async () => {
    [broker, postgres] = await Promise.all([startMosquitto(), startPostgres()]);
    databaseUrl = await postgres.createDatabase('workers');
    template = await provisionedTemplate(['cuff-1'], 'alerts-workers');
  }, 120_000);
  afterAll(async () => {
    for (const w of workers) await w.close(2_000).catch(() => undefined);
    for (const remove of removals) await remove();
    await template?.remove();
    await broker?.stop();
    await postgres?.destroy();
  });

  async function startWorker(clientId: string): Promise<{ vigil: Vigil; dir: string }> {
    const dir = await template.copy();
    removals.push(dir.remove);
    const config = testConfig({
      VIGIL_DATA_DIR: dir.path,
      VIGIL_BROKER_URL: broker.url,
      VIGIL_BROKER_CLIENT_ID: clientId,
      VIGIL_BROKER_SHARE_GROUP: 'g-alerts',
      VIGIL_DATABASE_URL: databaseUrl,
    });
    const vigil = await startVigil(config, createLogger(config.logLevel));
    workers.push(vigil);
    return { vigil, dir: dir.path };
  }

  it('opens one alert for a patient whose critical readings both workers take, counting each reading once', async () => {
    // One after the other: the first adopts the provisioned registry into PostgreSQL, the second finds it there.
    const a = await startWorker('alerts-a');
    const b = await startWorker('alerts-b');
    const patientId = template.patients.get('cuff-1')!;
    const device = await connectAsync(broker.url, { clientId: 'cuff-1', reconnectPeriod: 0, connectTimeout: 5_000 });
    try {
      const start = Date.now() - READINGS * 1000;
      await Promise.all(
        Array.from({ length: READINGS }, (_, i) =>
          device.publishAsync(
            'rpm/v1/devices/cuff-1/readings',
            JSON.stringify({ type: 'blood_pressure', time: new Date(start + i * 1000).toISOString(), systolic: 200 + (i % 10), diastolic: 124, unit: 'mmHg', id: `crisis-${i}` }),
            { qos: 1 },
          ),
        ),
      );
    } finally {
      await device.endAsync();
    }
    // Both workers took some of the readings (otherwise this would prove nothing about two workers).
    const storedBy = async (dir: string) => {
      const store = new SqliteStore(dir);
      try {
        return (await store.queryRaw({ patientId, type: 'blood_pressure', from: 0, to: Date.now() + 60_000 })).length;
      } finally {
        await store.close();
      }
    };
    const counts = await waitFor(
      async () => {
        const n = [await storedBy(a.dir), await storedBy(b.dir)];
        return n[0]! + n[1]! >= READINGS ? n : undefined;
      },
      { timeoutMs: 60_000, what: 'every reading stored by one worker or the other' },
    );
    expect(counts[0]).toBeGreaterThan(0);
    expect(counts[1]).toBeGreaterThan(0);

    const live = (w: Vigil) => w.alerts.queries.list({ patientId, status: 'live' }).filter((x) => x.ruleId === 'bp.crisis');
    await waitFor(() => live(a.vigil)[0]?.count === READINGS && live(b.vigil)[0]?.count === READINGS, { timeoutMs: 30_000, what: `one alert counting ${READINGS} readings on both workers` });
    expect(live(a.vigil)).toHaveLength(1);
    expect(live(b.vigil).map((x) => x.id)).toEqual(live(a.vigil).map((x) => x.id));
    const client = new pg.Client(databaseUrl);
    await client.connect();
    try {
      const alerts = await client.query("SELECT count(*)::int AS n FROM alerts WHERE patient_id = $1 AND rule_id = 'bp.crisis'", [patientId]);
      expect(alerts.rows[0].n).toBe(1);
      const opened = await client.query("SELECT count(*)::int AS n FROM alert_events WHERE type = 'alert.opened'");
      expect(opened.rows[0].n).toBe(1);
    } finally {
      await client.end();
    }
  }, 120_000);
});
