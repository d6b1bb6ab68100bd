import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patientCheckinsSchema, type PatientCheckins } from '../domain/index.js';
import { login, type DashboardSession } from './support/dashboard-client.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const PASSWORD = 'correct horse battery staple';

describe('check-in routes: the planned questionnaires and the answers of a patient, scoped and audited', () => {
  let t: TestVigil;
  let card: DashboardSession;
  let other: DashboardSession;
  let patientId: string;

  beforeAll(async () => {
    t = await startTestVigil({ VIGIL_CARE_CRON: '0 0 0 1 1 *' });
    patientId = (await t.vigil.registry.addPatient({ name: 'Hal Example', careTeam: 'cardiology', timeZone: 'Europe/London', programmes: ['heart_failure'] })).id;
    await t.vigil.users.add({ username: 'card', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
    await t.vigil.users.add({ username: 'diab', role: 'clinician', careTeams: ['diabetes'], password: PASSWORD });
    card = await login(t.httpUrl, 'card', PASSWORD);
    other = await login(t.httpUrl, 'diab', PASSWORD);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('starts the check-ins from the programme template, edits them, refuses a bad one, and audits each change', async () => {
    const created = await card.request('PUT', `/api/patients/${patientId}/care/checkins`, { template: 'heart_failure' });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ checkins: [{ questionnaire: 'hf_daily', times: ['08:30'], days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] }], updatedBy: 'user:card' });
    const edited = await card.request('PUT', `/api/patients/${patientId}/care/checkins`, { checkins: [{ questionnaire: 'hf_daily', times: ['09:00'], days: ['mon', 'wed', 'fri'] }] });
    expect(edited.status).toBe(200);
    const bad = await card.request('PUT', `/api/patients/${patientId}/care/checkins`, { checkins: [{ questionnaire: 'hf_daily', times: ['09:00'], days: ['someday'] }] });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('days');
    expect((await card.request('PUT', `/api/patients/${patientId}/care/checkins`, {})).status).toBe(400);
    const actions = t.vigil.audit.list({ patientId }).map((e) => e.action);
    expect(actions.filter((a) => a.startsWith('care.checkins'))).toEqual(['care.checkins.update', 'care.checkins.create']);
  });

  it('shows the plan, the questionnaires with their codes and the answers on GET; another care team is refused', async () => {
    const res = await card.request<PatientCheckins>('GET', `/api/patients/${patientId}/care/checkins?days=7`);
    expect(res.status).toBe(200);
    const parsed = patientCheckinsSchema.parse(res.body);
    expect(parsed.plan?.checkins[0]).toMatchObject({ questionnaire: 'hf_daily', days: ['mon', 'wed', 'fri'] });
    expect(parsed.templates.copd).toEqual([expect.objectContaining({ questionnaire: 'copd_daily' })]);
    const copd = parsed.questionnaires.find((q) => q.id === 'copd_daily')!;
    expect(copd.items.find((i) => i.id === 'breathlessness_exertion')?.code).toEqual({ system: 'http://snomed.info/sct', code: '870179002', display: 'Modified Medical Research Council dyspnea scale' });
    expect(parsed.answers).toEqual([]);
    expect((await other.request('GET', `/api/patients/${patientId}/care/checkins`)).status).toBe(404);
    expect((await other.request('PUT', `/api/patients/${patientId}/care/checkins`, { template: 'heart_failure' })).status).toBe(404);
  });
});
