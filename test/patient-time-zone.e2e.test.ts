import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, login, type DashboardSession } from './support/dashboard-client.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const TOKEN = 'time-zone-test-token-0123456789abcdef';
const PASSWORD = 'correct horse battery staple';

/** PUT /api/patients/{id}/time-zone: who may, what is refused, what is audited, and what the patient JSON carries. */
describe('patient time zone over the API', () => {
  let t: TestVigil;
  let cardiologist: DashboardSession;
  let admin: DashboardSession;
  let mine: string;
  let theirs: string;

  beforeAll(async () => {
    t = await startTestVigil({ VIGIL_ADMIN_TOKEN: TOKEN });
    const { registry, users } = t.vigil;
    mine = (await t.provision()).patientId;
    theirs = (await t.provision()).patientId;
    await registry.setCareTeam(mine, 'cardiology');
    await registry.setCareTeam(theirs, 'renal');
    await registry.setProgrammes(mine, ['hypertension']);
    await users.add({ username: 'card', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
    await users.add({ username: 'boss', role: 'admin', password: PASSWORD });
    cardiologist = await login(t.httpUrl, 'card', PASSWORD);
    admin = await login(t.httpUrl, 'boss', PASSWORD);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("lets the patient's care team set it, canonically spelt, and shows it with the enrolment and assignment times", async () => {
    const set = await cardiologist.request<{ patient: { timeZone: string } }>('PUT', `/api/patients/${mine}/time-zone`, { timeZone: 'europe/london' });
    expect(set).toMatchObject({ status: 200, body: { patient: { id: mine, timeZone: 'Europe/London' } } });
    const record = await cardiologist.request<{ patient: Record<string, unknown>; devices: Record<string, unknown>[] }>('GET', `/api/patients/${mine}`);
    const enrolledAt = t.vigil.registry.getPatient(mine)!.enrolledAt.hypertension;
    expect(record.body.patient).toMatchObject({ timeZone: 'Europe/London', programmes: ['hypertension'], enrolledAt: { hypertension: enrolledAt } });
    expect(record.body.devices[0]).toMatchObject({ assignedAt: expect.any(Number), warmUpUntil: null });
    expect(t.vigil.registry.getPatient(mine)?.timeZone).toBe('Europe/London');
  });

  it('refuses a zone Intl does not know, or a fixed offset, naming it', async () => {
    for (const timeZone of ['Mars/Olympus', '+01:00']) {
      const refused = await cardiologist.request<{ code: string; message: string }>('PUT', `/api/patients/${mine}/time-zone`, { timeZone });
      expect(refused.status).toBe(400);
      expect(refused.body.code).toBe('VIGIL_ERR_BAD_REQUEST');
      expect(refused.body.message).toContain(`"${timeZone}"`);
    }
    expect((await cardiologist.request('PUT', `/api/patients/${mine}/time-zone`, {})).status).toBe(400);
    expect(t.vigil.registry.getPatient(mine)?.timeZone).toBe('Europe/London');
  });

  it("refuses a clinician outside the patient's care team, a missing CSRF token, and an unknown patient", async () => {
    expect(await cardiologist.request('PUT', `/api/patients/${theirs}/time-zone`, { timeZone: 'Asia/Tokyo' })).toMatchObject({ status: 404, body: { code: 'VIGIL_ERR_NOT_FOUND' } });
    expect((await call(t.httpUrl, 'PUT', `/api/patients/${mine}/time-zone`, { timeZone: 'Asia/Tokyo' }, { cookie: cardiologist.cookie })).status).toBe(403);
    expect((await admin.request('PUT', '/api/patients/p-nobody/time-zone', { timeZone: 'Asia/Tokyo' })).status).toBe(404);
    expect(t.vigil.registry.getPatient(theirs)?.timeZone).toBe('UTC');
  });

  it('lets an administrator (session or token) set any patient, and audits every change with both zones', async () => {
    expect((await admin.request('PUT', `/api/patients/${theirs}/time-zone`, { timeZone: 'Asia/Tokyo' })).status).toBe(200);
    const byToken = await call(t.httpUrl, 'PUT', `/api/patients/${theirs}/time-zone`, { timeZone: 'Australia/Sydney' }, { authorization: `Bearer ${TOKEN}` });
    expect(byToken).toMatchObject({ status: 200, body: { patient: { timeZone: 'Australia/Sydney' } } });
    const audit = await admin.request<{ entries: { actor: string; action: string; patientId: string; details: unknown }[] }>('GET', '/api/audit?action=patient.time_zone');
    expect(audit.body.entries.map((e) => [e.actor, e.patientId, e.details])).toEqual([
      ['admin', theirs, { from: 'Asia/Tokyo', to: 'Australia/Sydney' }],
      ['user:boss', theirs, { from: 'UTC', to: 'Asia/Tokyo' }],
      ['user:card', mine, { from: 'UTC', to: 'Europe/London' }],
    ]);
  });

  it('documents the route in the OpenAPI spec', async () => {
    const spec = await call<{ paths: Record<string, { put?: { requestBody?: unknown } }> }>(t.httpUrl, 'GET', '/api/docs/json');
    expect(JSON.stringify(spec.body.paths['/api/patients/{patientId}/time-zone']?.put?.requestBody)).toContain('timeZone');
  });
});
