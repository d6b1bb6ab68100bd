import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { programmeReportSchema, programmeRowSchema } from '../domain/index.js';
import { login, type DashboardSession } from './support/dashboard-client.js';
import { lookAtPdf } from './support/pdf.js';
import { waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const PASSWORD = 'programme days and minutes';

describe('programme routes: days with readings per 30-day period and alert work, per patient and per care team', () => {
  let t: TestVigil;
  let nurse: DashboardSession;
  let patientId: string;
  let otherId: string;

  beforeAll(async () => {
    t = await startTestVigil();
    const dev = await t.provision();
    patientId = dev.patientId;
    otherId = (await t.provision()).patientId;
    await t.vigil.registry.setCareTeam(patientId, 'rpm');
    await t.vigil.registry.setCareTeam(otherId, 'elsewhere');
    await t.vigil.users.add({ username: 'nurse', role: 'clinician', careTeams: ['rpm'], password: PASSWORD });
    nurse = await login(t.httpUrl, 'nurse', PASSWORD);
    const client = await t.connectDevice(dev);
    // A hypertensive crisis reading now: a critical alert that the nurse acknowledges and resolves with notes.
    await client.publishAsync(`rpm/v1/devices/${dev.deviceId}/readings`, JSON.stringify([{ type: 'blood_pressure', id: 'c1', time: new Date().toISOString(), systolic: 190, diastolic: 125, pulse: 80 }]), { qos: 1 });
    await client.endAsync();
    const alert = await waitFor(() => t.vigil.alerts.queries.list({ patientId })[0], { what: 'the crisis alert' });
    t.vigil.alerts.actions.acknowledge(alert.id, { name: 'nurse', origin: 'web' }, 'phoned the patient');
    t.vigil.alerts.actions.resolve(alert.id, { name: 'nurse', origin: 'web' }, 'repeat 150/90, GP appointment booked');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("answers one patient's row: today is a day with readings, one day reaches no code, the nurse's alert work", async () => {
    // The alert fires from the durable outbox; the reading store gets the reading a moment later.
    const res = await waitFor(async () => {
      const r = await nurse.request('GET', `/api/patients/${patientId}/reports/programme`);
      return (r.body as { daysWithReadings?: number }).daysWithReadings === 1 && r;
    }, { what: 'the reading in the store' });
    expect(res.status).toBe(200);
    const row = programmeRowSchema.parse(res.body);
    expect(row).toEqual(res.body);
    expect(row.period.index).toBe(1);
    expect(row.period.elapsedDays).toBe(1);
    expect([row.daysWithReadings, row.code, row.can16]).toEqual([1, null, true]);
    expect(row.alerts).toMatchObject({ acknowledged: 1, resolvedByPerson: 1, notes: 2, handled: 1 });
    expect(t.vigil.audit.list({ patientId, limit: 50 }).some((e) => e.action === 'patient.report.view' && e.target === 'programme')).toBe(true);
  });

  it("answers the care team's table with only the user's patients, sorted, and as a CSV download", async () => {
    const res = await nurse.request('GET', '/api/reports/programme?sort=name&order=desc');
    const report = programmeReportSchema.parse(res.body);
    expect(report).toEqual(res.body);
    expect(report.rows.map((r) => r.patientId)).toEqual([patientId]);
    expect(report.sort).toBe('name desc');
    const admin = await t.vigil.users.add({ username: 'boss', role: 'admin', password: PASSWORD }).then(() => login(t.httpUrl, 'boss', PASSWORD));
    const all = programmeReportSchema.parse((await admin.request('GET', '/api/reports/programme')).body);
    // Fewest days first: the other patient has none.
    expect(all.rows.map((r) => [r.patientId, r.daysWithReadings])).toEqual([[otherId, 0], [patientId, 1]]);
    const csv = await nurse.request<string>('GET', '/api/reports/programme?format=csv');
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toMatch(/attachment; filename="vigil-programme-/);
    expect(csv.body.split('\r\n')[1]).toMatch(new RegExp(`^${patientId},`));
    expect(t.vigil.audit.list({ limit: 50 }).some((e) => e.action === 'report.programme.view')).toBe(true);
    const pdf = await fetch(`${t.httpUrl}/api/reports/programme?format=pdf`, { headers: { cookie: nurse.cookie } });
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    const look = await lookAtPdf(Buffer.from(await pdf.arrayBuffer()));
    expect(look.pages).toBe(1);
    expect(look.text).toContain('Care teams: rpm; 1 patients');
    expect(look.text).toContain(`(${patientId})`);
    expect((await nurse.request('GET', '/api/reports/programme?sort=nonsense')).status).toBe(400);
    expect((await nurse.request('GET', `/api/patients/${otherId}/reports/programme`)).status).toBe(404);
  });
});
