import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, login } from './support/dashboard-client.js';
import { startPostgres, type PostgresInstance } from './support/postgres.js';
import { CLI } from './support/vigil-process.js';
import { tempDir } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const exec = promisify(execFile);
const PASSWORD = 'correct horse battery staple';
const topic = (deviceId: string, kind: string) => `rpm/v1/devices/${deviceId}/${kind}`;

async function waitFor<T>(check: () => T | Promise<T>, what: string): Promise<NonNullable<T>> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Two Vigil instances with their own data dirs and embedded brokers on one PostgreSQL registry: a device
 * provisioned through one (or the CLI) is accepted by the other, a revocation made on one closes the device's
 * live connection on the other, and a patient erased through one is gone from the other's worklist.
 */
describe('the registry shared in PostgreSQL by two instances', () => {
  let postgres: PostgresInstance;
  let a: TestVigil;
  let b: TestVigil;
  let databaseUrl: string;

  beforeAll(async () => {
    postgres = await startPostgres();
    databaseUrl = await postgres.createDatabase('vigil');
    const start = () => startTestVigil({ VIGIL_DATABASE_URL: databaseUrl });
    [a, b] = await Promise.all([start(), start()]);
    await a.vigil.users.add({ username: 'chief', role: 'admin', password: PASSWORD });
  }, 120_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await postgres?.destroy();
  });

  it('accepts on one instance a device provisioned through the other, and cuts it off there when revoked on the first', async () => {
    const dev = await a.provision();
    await waitFor(() => b.vigil.registry.getDevice(dev.deviceId), 'the device on B');
    const client = await b.connectDevice(dev);
    await client.publishAsync(topic(dev.deviceId, 'readings'), JSON.stringify({ type: 'heart_rate', time: new Date().toISOString(), value: 64 }), { qos: 1 });
    const admin = await login(b.httpUrl, 'chief', PASSWORD);
    await waitFor(async () => {
      const worklist = await admin.request<{ entries: { patient: { id: string }; latest: { type: string }[] }[] }>('GET', '/api/worklist');
      return worklist.body.entries.find((e) => e.patient.id === dev.patientId && e.latest.some((r) => r.type === 'heart_rate'));
    }, 'the patient on B\'s worklist');

    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    await a.vigil.registry.revokeDevice(dev.deviceId);
    await closed;
    await expect(b.connectDevice(dev, { clientId: `${dev.deviceId}.again` })).rejects.toMatchObject({ code: 5 });
  });

  it('provisions from the command line on one data dir what the other instance then accepts', async () => {
    const env = { ...process.env, VIGIL_DATA_DIR: a.dataDir, VIGIL_DATABASE_URL: databaseUrl };
    await exec(process.execPath, [CLI, 'patients', 'add', '--id', 'p-cli', '--name', 'From the CLI', '--programme', 'hypertension'], { env });
    const added = await exec(process.execPath, [CLI, 'devices', 'add', '--patient', 'p-cli', '--id', 'cuff-cli', '--json'], { env });
    const secret = (JSON.parse(added.stdout) as { secret: string }).secret;
    await waitFor(() => b.vigil.registry.getDevice('cuff-cli'), 'the CLI device on B');
    expect(b.vigil.registry.getPatient('p-cli')?.programmes).toEqual(['hypertension']);
    const client = await b.connectDevice({ deviceId: 'cuff-cli', secret });
    await client.publishAsync(topic('cuff-cli', 'readings'), JSON.stringify({ type: 'blood_pressure', time: new Date().toISOString(), systolic: 128, diastolic: 82, unit: 'mmHg' }), { qos: 1 });
    await client.endAsync();
  });

  it('erases through one instance a patient the other then no longer holds', async () => {
    const dev = await a.provision();
    await waitFor(() => b.vigil.registry.getPatient(dev.patientId), 'the patient on B');
    const admin = await login(a.httpUrl, 'chief', PASSWORD);
    const onB = await login(b.httpUrl, 'chief', PASSWORD);
    const listedOnB = async () => (await onB.request<{ entries: { patient: { id: string } }[] }>('GET', '/api/worklist')).body.entries.some((e) => e.patient.id === dev.patientId);
    expect(await listedOnB()).toBe(true);
    const erasing = admin.request('POST', `/api/admin/patients/${dev.patientId}/erase`, { confirm: dev.patientId });
    // B's worklist asked for all along (its shared ranking kept fresh): the first answer after B's replica
    // applied the erasure leaves the patient out, not one a second later.
    await waitFor(async () => {
      await listedOnB();
      return !b.vigil.registry.getPatient(dev.patientId);
    }, 'the patient gone from B');
    expect(await listedOnB()).toBe(false);
    expect((await erasing).status).toBe(200);
    expect(b.vigil.registry.getDevice(dev.deviceId)?.patientId).toBeNull();
    expect((await call(b.httpUrl, 'GET', `/api/patients/${dev.patientId}`, undefined, { cookie: (await login(b.httpUrl, 'chief', PASSWORD)).cookie })).status).toBe(404);
  });

  it('raises one alert for readings taken by both instances, shows it on both, and acknowledges it on one for both', async () => {
    const dev = await a.provision();
    await waitFor(() => b.vigil.registry.getDevice(dev.deviceId), 'the device on B');
    const crisis = JSON.stringify({ type: 'blood_pressure', time: new Date().toISOString(), systolic: 212, diastolic: 126, unit: 'mmHg' });
    const onA = await a.connectDevice(dev);
    const onB = await b.connectDevice(dev, { clientId: `${dev.deviceId}.b` });
    await Promise.all([onA.publishAsync(topic(dev.deviceId, 'readings'), crisis, { qos: 1 }), onB.publishAsync(topic(dev.deviceId, 'readings'), crisis.replace('212', '214'), { qos: 1 })]);
    await Promise.all([onA.endAsync(), onB.endAsync()]);
    type Alerts = { alerts: { id: number; patientId: string; ruleId: string; status: string; count: number }[] };
    const [adminA, adminB] = await Promise.all([login(a.httpUrl, 'chief', PASSWORD), login(b.httpUrl, 'chief', PASSWORD)]);
    const crisisOn = async (admin: typeof adminA) =>
      (await admin.request<Alerts>('GET', `/api/alerts?patientId=${dev.patientId}`)).body.alerts.filter((x) => x.ruleId === 'bp.crisis');
    // Both readings count on the one alert, whichever instance took each.
    await waitFor(async () => (await crisisOn(adminA))[0]?.count === 2 && (await crisisOn(adminB))[0]?.count === 2, 'one alert counting both readings on each instance');
    const [alert] = await crisisOn(adminA);
    expect(await crisisOn(adminA)).toHaveLength(1);
    expect((await crisisOn(adminB)).map((x) => x.id)).toEqual([alert!.id]);

    const acknowledged = await adminB.request<{ alert: { status: string } }>('POST', `/api/alerts/${alert!.id}/acknowledge`, { note: 'phoned the patient' });
    expect(acknowledged.status).toBe(200);
    await waitFor(async () => (await crisisOn(adminA))[0]?.status === 'acknowledged', 'the acknowledgement on A');
    // The alert's history is the same on both: one opening, whichever instance opened it.
    const history = async (admin: typeof adminA) => (await admin.request<{ events: { seq: number; type: string }[] }>('GET', `/api/alerts/${alert!.id}`)).body.events;
    expect((await history(adminA)).filter((e) => e.type === 'alert.opened')).toHaveLength(1);
    expect(await history(adminA)).toEqual(await history(adminB));

    // The command line on A's data dir, while A runs, resolves it in PostgreSQL: B shows it resolved.
    const env = { ...process.env, VIGIL_DATA_DIR: a.dataDir, VIGIL_DATABASE_URL: databaseUrl };
    await exec(process.execPath, [CLI, 'alerts', 'resolve', String(alert!.id), '--by', 'Dr Jones', '--note', 'seen in clinic'], { env });
    await waitFor(async () => (await crisisOn(adminB))[0]?.status === 'resolved', 'the resolution on B');
    expect(await history(adminB)).toEqual(await history(adminA));
  });

  it('refuses to start a data dir that mirrors the shared registry without it, until it is detached', async () => {
    const dir = await tempDir();
    try {
      const c = await startTestVigil({ VIGIL_DATABASE_URL: databaseUrl }, dir.path);
      expect(c.vigil.registry.getPatient('p-cli')).toBeDefined();
      await c.stop();
      // Without the shared registry it would serve a frozen copy: revocations made elsewhere would never arrive.
      await expect(startTestVigil({}, dir.path)).rejects.toMatchObject({ code: 'VIGIL_ERR_CONFIG', message: expect.stringContaining('vigil registry detach') });
      const detached = await exec(process.execPath, [CLI, 'registry', 'detach', '--data-dir', dir.path], { env: { ...process.env, VIGIL_DATABASE_URL: '' } });
      expect(detached.stdout).toContain('its own again');
      const alone = await startTestVigil({}, dir.path);
      expect(alone.vigil.registry.getPatient('p-cli')?.programmes).toEqual(['hypertension']);
      expect(alone.vigil.audit.list({}).map((e) => e.action)).toContain('registry.detach');
      await alone.stop();
    } finally {
      await dir.remove();
    }
  });
});
