import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patientCareSchema, type PatientCare } from '../domain/index.js';
import { login, type DashboardSession } from './support/dashboard-client.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const PASSWORD = 'correct horse battery staple';

describe('care routes: plan, medications, messages and adherence of a patient, scoped and audited', () => {
  let t: TestVigil;
  let card: DashboardSession;
  let other: DashboardSession;
  let patientId: string;

  beforeAll(async () => {
    t = await startTestVigil({ VIGIL_CARE_CRON: '0 0 0 1 1 *' });
    const patient = await t.vigil.registry.addPatient({ name: 'Ada Example', careTeam: 'cardiology', timeZone: 'Europe/London', programmes: ['hypertension'] });
    patientId = patient.id;
    await t.vigil.registry.addDevice({ patientId, id: 'hub-ada', kind: 'hub' });
    await t.vigil.users.add({ username: 'card', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
    await t.vigil.users.add({ username: 'diab', role: 'clinician', careTeams: ['diabetes'], password: PASSWORD });
    card = await login(t.httpUrl, 'card', PASSWORD);
    other = await login(t.httpUrl, 'diab', PASSWORD);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('creates the plan from the programme template, edits it, and audits each change', async () => {
    const created = await card.request('PUT', `/api/patients/${patientId}/care/plan`, { template: 'hypertension' });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ template: 'hypertension', measurements: [{ type: 'blood_pressure', times: ['08:00', '20:00'] }], updatedBy: 'user:card' });
    const edited = await card.request('PUT', `/api/patients/${patientId}/care/plan`, { template: 'hypertension', measurements: [{ type: 'blood_pressure', times: ['07:00', '19:00'] }, { type: 'weight', times: ['07:30'] }] });
    expect(edited.status).toBe(200);
    const bad = await card.request('PUT', `/api/patients/${patientId}/care/plan`, { template: 'custom', measurements: [{ type: 'weight', times: ['25:00'] }] });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('local time of day');
    const actions = t.vigil.audit.list({ patientId }).map((e) => e.action);
    expect(actions.filter((a) => a.startsWith('care.plan'))).toEqual(['care.plan.update', 'care.plan.create']);
  });

  it('adds a medication, sends a message, and shows plan, adherence and thread on GET', async () => {
    const med = await card.request('POST', `/api/patients/${patientId}/care/medications`, { name: 'Ramipril', dose: '5 mg', times: ['08:00'] });
    expect(med.status).toBe(201);
    const sent = await card.request('POST', `/api/patients/${patientId}/care/messages`, { text: 'Please re-measure in 15 minutes', measure: 'blood_pressure' });
    expect(sent.status).toBe(201);
    expect(sent.body).toMatchObject({ direction: 'to_patient', author: 'user:card', deliveredAt: null, readAt: null });
    const care = await card.request<PatientCare>('GET', `/api/patients/${patientId}/care?days=7`);
    expect(care.status).toBe(200);
    const parsed = patientCareSchema.parse(care.body);
    expect(parsed).toMatchObject({ hub: { id: 'hub-ada', online: false }, plan: { template: 'hypertension' }, medications: [{ name: 'Ramipril', windowMinutes: 120 }] });
    expect(parsed.adherence.measurements.map((m) => m.type)).toEqual(['blood_pressure', 'weight']);
    expect(parsed.adherence.medications).toEqual([expect.objectContaining({ name: 'Ramipril', share: null })]);
    expect(parsed.messages.map((m) => m.text)).toEqual(['Please re-measure in 15 minutes']);
    const stopped = await card.request('POST', `/api/patients/${patientId}/care/medications/${(med.body as { id: string }).id}/stop`);
    expect(stopped.status).toBe(200);
    expect(stopped.body.stoppedAt).toBeGreaterThan(0);
  });

  it('refuses another care team (404, as a patient that does not exist) and a message to a patient without a hub (409)', async () => {
    expect((await other.request('GET', `/api/patients/${patientId}/care`)).status).toBe(404);
    const lonely = await t.vigil.registry.addPatient({ name: 'No Hub', careTeam: 'cardiology' });
    expect((await card.request('POST', `/api/patients/${lonely.id}/care/messages`, { text: 'hello' })).status).toBe(409);
    // A message about an alert must be about one of this patient's alerts.
    expect((await card.request('POST', `/api/patients/${patientId}/care/messages`, { text: 'about that', alertId: 999_999 })).status).toBe(404);
  });
});
