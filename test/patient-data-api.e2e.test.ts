import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, type DashboardSession } from './support/dashboard-client.js';
import { waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const PASSWORD = 'correct horse battery staple';

/** The administrators' export and erasure on the dashboard API; clinicians are refused both. */
describe("a patient's data on the dashboard API", () => {
  let t: TestVigil;
  let clinician: DashboardSession;
  let admin: DashboardSession;
  let patientId: string;
  let dev: Awaited<ReturnType<TestVigil['provision']>>;

  beforeAll(async () => {
    t = await startTestVigil();
    dev = await t.provision();
    patientId = dev.patientId;
    await t.vigil.registry.setCareTeam(patientId, 'cardiology');
    const client = await t.connectDevice(dev);
    for (let i = 0; i < 5; i++) {
      await client.publishAsync(`rpm/v1/devices/${dev.deviceId}/readings`, JSON.stringify({ type: 'heart_rate', time: new Date(Date.now() - i * 60_000).toISOString(), value: 70 + i, id: `r${i}` }), { qos: 1 });
    }
    await waitFor(async () => (await t.vigil.ingest.store.queryRaw({ patientId, type: 'heart_rate', from: 0, to: Date.now() + 60_000 })).length === 5, { what: 'readings stored' });
    await t.vigil.users.add({ username: 'card', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
    await t.vigil.users.add({ username: 'boss', role: 'admin', password: PASSWORD });
    clinician = await login(t.httpUrl, 'card', PASSWORD);
    admin = await login(t.httpUrl, 'boss', PASSWORD);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('refuses a clinician, even of the care team', async () => {
    expect(await clinician.request('GET', `/api/admin/patients/${patientId}/export`)).toMatchObject({ status: 403, body: { code: 'VIGIL_ERR_FORBIDDEN' } });
    expect(await clinician.request('POST', `/api/admin/patients/${patientId}/erase`, { confirm: patientId })).toMatchObject({ status: 403 });
    expect(t.vigil.registry.getPatient(patientId)).toBeDefined();
  });

  it('gives an administrator the export as one download, then erases the patient once confirmed', async () => {
    const exported = await admin.request<{ manifest: { files: { path: string; rows: number }[] }; files: { path: string; text: string }[] }>('GET', `/api/admin/patients/${patientId}/export`);
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-disposition')).toContain('attachment');
    expect(exported.body.manifest.files).toContainEqual(expect.objectContaining({ path: 'readings-heart_rate.csv', rows: 5 }));
    expect(exported.body.files.find((f) => f.path === 'patient.csv')?.text).toContain(t.vigil.registry.getPatient(patientId)!.name);

    expect((await admin.request('POST', `/api/admin/patients/${patientId}/erase`, { confirm: 'someone-else' })).status).toBe(400);
    const erased = await admin.request<{ pseudonym: string; readings: number; earlierExports: unknown[]; replacedData: string[] }>('POST', `/api/admin/patients/${patientId}/erase`, { confirm: patientId });
    expect(erased.status).toBe(200);
    expect(erased.body.readings).toBe(5);
    // The download above is outside Vigil: the erasure names it, for the administrator to have it deleted.
    expect(erased.body.earlierExports).toEqual([{ at: expect.any(Number), actor: 'user:boss', target: 'download' }]);
    expect(erased.body.replacedData).toEqual([]);
    expect(t.vigil.registry.getPatient(patientId)).toBeUndefined();
    expect(await t.vigil.ingest.store.queryRaw({ patientId, type: 'heart_rate', from: 0, to: Date.now() + 60_000 })).toEqual([]);
    expect((await admin.request('GET', `/api/patients/${patientId}`)).status).toBe(404);
    const actions = t.vigil.audit.list({ actor: 'user:boss' }).map((e) => [e.action, e.patientId, e.target]);
    expect(actions).toContainEqual(['patient.export', patientId, 'download']);
    expect(actions).toContainEqual(['patient.erase', null, `erased:${erased.body.pseudonym}`]);

    // The erasure unassigned the patient's device, in the server that made it: the device's next reading is
    // not stored under the erased patient (the registry's device cache knew it as theirs).
    expect(t.vigil.registry.getDevice(dev.deviceId)?.patientId).toBeNull();
    const client = await t.connectDevice(dev);
    await client.publishAsync(`rpm/v1/devices/${dev.deviceId}/readings`, JSON.stringify({ type: 'heart_rate', time: new Date().toISOString(), value: 99, id: 'after-erasure' }), { qos: 1 }).catch(() => undefined);
    await client.endAsync();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await t.vigil.ingest.store.queryRaw({ patientId, type: 'heart_rate', from: 0, to: Date.now() + 60_000 })).toEqual([]);
  });
});
