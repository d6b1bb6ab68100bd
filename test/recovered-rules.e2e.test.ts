import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openState } from '../app/state.js';
import type { Alert } from '../alerts/index.js';
import { OUTBOX_DIR } from '../ingest/index.js';
import { Outbox } from '../ingest/outbox/outbox.js';
import { reading } from './support/readings.js';
import { tempDir, waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const TOKEN = 'recovered-rules-admin-token-0123456789';

/**
 * A crash between a reading's commit and its rules (they run just after the commit) leaves it in the outbox,
 * unevaluated, behind every reading a store outage kept there. At the next start the rules must see it,
 * however long that backlog: it is the newest, not among the first 100,000.
 */
describe('readings recovered from the outbox', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  it('opens the alert of a crisis committed last, behind a backlog of more than 100,000 unstored readings', async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const { db, registry } = openState(dir.path);
    const patient = await registry.addPatient({ name: 'Backlog Patient' });
    const { device } = await registry.addDevice({ patientId: patient.id, id: 'home-hub-1' });
    db.close();

    // What the outbox holds after an InfluxDB outage of a few hours and a crash right after the crisis's commit.
    const now = Date.now();
    const at = (t: number, msgId: string, overrides: Parameters<typeof reading>[0]) =>
      reading({ deviceId: device.id, patientId: patient.id, time: t, receivedAt: t, msgId, ...overrides });
    const backlog = Array.from({ length: 100_000 }, (_, i) => at(now - 3 * 3_600_000 + i * 100, `hr-${i}`, { type: 'heart_rate', fields: { value: 72 } }));
    const outbox = await Outbox.open({ dir: join(dir.path, OUTBOX_DIR) });
    await outbox.append(backlog);
    await outbox.append([at(now - 60_000, 'bp-crisis', { type: 'blood_pressure', fields: { systolic: 196, diastolic: 112 } })]);
    await outbox.close();

    const t: TestVigil = await startTestVigil({ VIGIL_ADMIN_TOKEN: TOKEN }, dir.path);
    cleanups.push(() => t.stop());
    const crisis = await waitFor(
      async () => {
        const response = await fetch(`${t.httpUrl}/api/alerts?patient=${patient.id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
        return ((await response.json()) as { alerts: Alert[] }).alerts.find((a) => a.ruleId === 'bp.crisis');
      },
      { what: 'the recovered crisis alert' },
    );
    expect(crisis).toMatchObject({ severity: 'critical', status: 'open' });
  }, 60_000);

  it('acknowledges as a duplicate the newest reading a device resends after the restart, behind more than 200,000', async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const { db, registry } = openState(dir.path);
    const patient = await registry.addPatient({ name: 'Resending Patient' });
    const { device, secret } = await registry.addDevice({ patientId: patient.id, id: 'oximeter-1' });
    db.close();

    // Committed just before a crash, its PUBACK lost: the device sends it again once Vigil is back.
    const now = Date.now();
    const last = now - 60_000;
    const at = (t: number, msgId: string) => reading({ type: 'heart_rate', deviceId: device.id, patientId: patient.id, time: t, receivedAt: t, msgId, fields: { value: 72 } });
    const outbox = await Outbox.open({ dir: join(dir.path, OUTBOX_DIR) });
    await outbox.append(Array.from({ length: 200_000 }, (_, i) => at(now - 3 * 3_600_000 + i * 50, `hr-${i}`)));
    await outbox.append([at(last, 'hr-last')]);
    await outbox.close();

    const t: TestVigil = await startTestVigil({}, dir.path);
    cleanups.push(() => t.stop());
    const client = await t.connectDevice({ deviceId: device.id, secret });
    await client.publishAsync(`rpm/v1/devices/${device.id}/readings`, JSON.stringify({ type: 'heart_rate', time: new Date(last).toISOString(), value: 72, id: 'hr-last' }), { qos: 1 });
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^vigil_readings_duplicate_total 1$/m);
  }, 60_000);
});
