import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { questionnaireWire, QUESTIONNAIRES } from '../careloop/index.js';
import type { InboxMessage } from '../domain/index.js';
import { login, type DashboardSession } from './support/dashboard-client.js';
import { fhirErrors } from './support/fhir-validator.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const PASSWORD = 'correct horse battery staple';
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Check-in answers in the patient's FHIR export: survey Observations reported by the patient, validated with Medplum. */
describe('check-in answers in the FHIR export', () => {
  let t: TestVigil;
  let admin: DashboardSession;
  let patientId: string;
  const at = Date.now() - 3_600_000;

  beforeAll(async () => {
    t = await startTestVigil({ VIGIL_CARE_CRON: '0 0 0 1 1 *' });
    patientId = (await t.vigil.registry.addPatient({ name: 'Copd Example', programmes: ['copd'] })).id;
    await t.vigil.users.add({ username: 'chief', role: 'admin', password: PASSWORD });
    admin = await login(t.httpUrl, 'chief', PASSWORD);
    const { care } = t.vigil;
    const id = 'c-fhir-test-1';
    const message: InboxMessage = { v: 1, id, kind: 'checkin', created: new Date(at).toISOString(), expiresAt: new Date(at + 3_600_000).toISOString(), questionnaire: questionnaireWire(QUESTIONNAIRES.copd_daily!), dueAt: new Date(at).toISOString() };
    care.inbox.add({ id, patientId, hubId: 'hub-x', message, subject: 'copd_daily', dueAt: at, windowEndsAt: at + 3_600_000, createdAt: at, expiresAt: at + 3_600_000 });
    const problem = care.checkins.record(care.inbox.get(id)!, { v: 1, type: 'checkin', ref: id, at: new Date(at).toISOString(), answers: [{ question: 'sputum_colour', answer: 'green' }, { question: 'breathlessness_exertion', answer: 'grade_3' }] }, at, Date.now());
    expect(problem).toBeUndefined();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('exports each answer as a valid Observation of category survey, coded, with the patient as performer', async () => {
    const res = await admin.request<Json>('GET', `/api/patients/${patientId}/export/fhir`);
    expect(res.status).toBe(200);
    expect(fhirErrors(res.body as Json & { resourceType: string })).toEqual([]);
    const surveys = (res.body.entry as { resource: Json }[]).map((e) => e.resource).filter((r) => r.category?.[0]?.coding?.[0]?.code === 'survey');
    expect(surveys).toHaveLength(2);
    const mmrc = surveys.find((s) => s.code.coding[0].system === 'http://snomed.info/sct')!;
    expect(mmrc).toMatchObject({
      status: 'final',
      code: { coding: [{ code: '870179002' }] },
      performer: [{ reference: `Patient/${patientId}` }],
      effectiveDateTime: new Date(at).toISOString(),
      valueCodeableConcept: { coding: [{ system: 'urn:vigil:checkin-answer:copd_daily:breathlessness_exertion', code: 'grade_3' }] },
    });
    expect(surveys.find((s) => s.code.coding[0].code === 'copd-sputum-colour')?.valueCodeableConcept.text).toBe('Green');
  });
});
