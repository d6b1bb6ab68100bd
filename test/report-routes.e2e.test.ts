import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { glucoseReportSchema, homeBpReportSchema, riskScoreSchema, weightReportSchema } from '../domain/index.js';
import { login, type DashboardSession } from './support/dashboard-client.js';
import { lookAtPdf } from './support/pdf.js';
import { waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const PASSWORD = 'correct horse battery staple';

/** The answer has exactly its schema's fields. */
function exactly<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.parse(body);
  expect(parsed).toEqual(body);
  return parsed;
}

describe('report routes: the glucose and home BP reports of a patient, as JSON and CSV, scoped and audited', () => {
  let t: TestVigil;
  let diab: DashboardSession;
  let card: DashboardSession;
  let patientId: string;

  beforeAll(async () => {
    t = await startTestVigil();
    const dev = await t.provision();
    patientId = dev.patientId;
    await t.vigil.registry.setCareTeam(patientId, 'diabetes-clinic');
    await t.vigil.users.add({ username: 'diab', role: 'clinician', careTeams: ['diabetes-clinic'], password: PASSWORD });
    await t.vigil.users.add({ username: 'card', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
    diab = await login(t.httpUrl, 'diab', PASSWORD);
    card = await login(t.httpUrl, 'card', PASSWORD);
    const client = await t.connectDevice(dev);
    // Ten CGM readings 5 minutes apart over the last hour: 60, 8 x 120, 260 -> TBR < 70 10 %, TIR 80 %, > 250 10 %.
    const now = Date.now();
    const values = [60, 120, 120, 120, 120, 120, 120, 120, 120, 260];
    await client.publishAsync(
      `rpm/v1/devices/${dev.deviceId}/readings`,
      JSON.stringify(values.map((value, i) => ({ type: 'glucose', time: new Date(now - (i + 1) * 5 * 60_000).toISOString(), value, unit: 'mg/dL', source: 'cgm', id: `g${i}` }))),
      { qos: 1 },
    );
    await client.publishAsync(
      `rpm/v1/devices/${dev.deviceId}/readings`,
      JSON.stringify([{ type: 'blood_pressure', time: new Date(now - 60_000).toISOString(), systolic: 142, diastolic: 88, pulse: 70, id: 'b1' }]),
      { qos: 1 },
    );
    // Both messages: acknowledged means durable in the outbox; the shipper stores them a moment later, maybe apart.
    await waitFor(async () => (await diab.request('GET', `/api/patients/${patientId}/reports/glucose`)).body.readings === 10, { what: 'the glucose readings in the store' });
    await waitFor(async () => (await diab.request('GET', `/api/patients/${patientId}/reports/home-bp?days=7`)).body.readings === 1, { what: 'the BP reading in the store' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers the glucose report with exactly its schema, no-store, and audits the view', async () => {
    const res = await diab.request('GET', `/api/patients/${patientId}/reports/glucose?days=14`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const report = exactly(glucoseReportSchema, res.body);
    expect(report.source).toBe('cgm');
    expect(report.ranges.map((r) => r.percent)).toEqual([0, 10, 80, 0, 10]);
    expect(report.meanMgdl).toBe(128);
    expect(report.agp!.bins.reduce((s, b) => s + b.count, 0)).toBe(10);
    const audited = t.vigil.audit.list({ patientId, limit: 50 }).filter((e) => e.action === 'patient.report.view');
    expect(audited.map((e) => e.target)).toContain('glucose');
  });

  it('answers the home BP report, and both reports as CSV downloads', async () => {
    const res = await diab.request('GET', `/api/patients/${patientId}/reports/home-bp?days=7`);
    const report = exactly(homeBpReportSchema, res.body);
    expect(report.readings).toBe(1);
    expect(report.aboveTarget).toMatchObject({ count: 1, percent: 100 });
    // One day, and it is day 1 of monitoring: discarded, so no average yet.
    expect(report.category).toBe('unknown');

    const csv = await diab.request<string>('GET', `/api/patients/${patientId}/reports/glucose?format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toMatch(new RegExp(`attachment; filename="vigil-glucose-${patientId}-`));
    expect(csv.headers.get('cache-control')).toBe('no-store');
    expect(csv.body).toContain('target,Time in range 70-180 mg/dL,80,%,> 70,true');
    const bpCsv = await diab.request<string>('GET', `/api/patients/${patientId}/reports/home-bp?format=csv`);
    expect(bpCsv.body).toContain('target,readings at or above 135/85,100,%');
  });

  it("judges home BP against the patient's own line: their bp.home_average override in force", async () => {
    t.vigil.alerts.actions.setOverride(
      patientId,
      'bp.home_average',
      { conditions: [{ field: 'systolic', op: '>=', value: 145 }, { field: 'diastolic', op: '>=', value: 90 }] },
      { name: 'diab', origin: 'cli' },
      { reason: 'older patient: a home line of 145/90 agreed with the team' },
    );
    try {
      const report = exactly(homeBpReportSchema, (await diab.request('GET', `/api/patients/${patientId}/reports/home-bp`)).body);
      // 142/88 is below the patient's 145/90, while the default 135/85 counted it above.
      expect(report.aboveTarget).toEqual({ count: 0, percent: 0, systolic: 145, diastolic: 90 });
      const csv = await diab.request<string>('GET', `/api/patients/${patientId}/reports/home-bp?format=csv`);
      expect(csv.body).toContain('target,readings at or above 145/90,0,%');
    } finally {
      t.vigil.alerts.actions.clearOverride(patientId, 'bp.home_average', { name: 'diab', origin: 'cli' });
    }
  });

  it("answers the weight report with the patient's dry weight, as JSON and CSV", async () => {
    t.vigil.alerts.actions.setOverride(patientId, 'weight.gain', { dryWeightKg: 70.5 }, { name: 'diab', origin: 'cli' }, { reason: 'dry weight at discharge' });
    try {
      const report = exactly(weightReportSchema, (await diab.request('GET', `/api/patients/${patientId}/reports/weight`)).body);
      expect(report.days).toBe(30);
      expect(report.daily).toHaveLength(30);
      expect(report.baseline).toMatchObject({ kg: 70.5, source: 'dry_weight' });
      const csv = await diab.request<string>('GET', `/api/patients/${patientId}/reports/weight?days=7&format=csv`);
      expect(csv.headers.get('content-disposition')).toMatch(new RegExp(`attachment; filename="vigil-weight-${patientId}-`));
      expect(csv.body).toContain("baseline,the care team's dry weight,70.5,kg");
      expect(t.vigil.audit.list({ patientId, limit: 50 }).some((e) => e.action === 'patient.report.view' && e.target === 'weight')).toBe(true);
    } finally {
      t.vigil.alerts.actions.clearOverride(patientId, 'weight.gain', { name: 'diab', origin: 'cli' });
    }
  });

  it('answers the risk score from the latest vitals: 142/88 with pulse 70 scores 0 and 0', async () => {
    const risk = exactly(riskScoreSchema, (await diab.request('GET', `/api/patients/${patientId}/reports/risk`)).body);
    expect(risk.parts.map((p) => [p.parameter, p.value, p.points])).toEqual([
      ['pulse', 70, 0],
      ['systolic', 142, 0],
    ]);
    expect(risk.text).toBe('pulse 70 /min: 0, systolic BP 142 mmHg: 0');
    expect((await card.request('GET', `/api/patients/${patientId}/reports/risk`)).status).toBe(404);
  });

  it('downloads each report as a one-page PDF with its figures', async () => {
    for (const [path, name, figure] of [
      ['glucose?days=14', 'glucose', /Mean glucose\s+128 mg\/dL/],
      ['home-bp?days=7', 'home-bp', /Readings at or above 135\/85\s+1 of 1 \(100 %\)/],
      ['weight?days=30', 'weight', /Days past a window\s+0 of 0 days/],
      ['risk', 'risk', /pulse 70 \/min: 0, systolic BP 142 mmHg: 0/],
      ['programme', 'programme', /Days with readings\s+1 of 1 days so far/],
    ] as const) {
      const res = await fetch(`${t.httpUrl}/api/patients/${patientId}/reports/${path}${path.includes('?') ? '&' : '?'}format=pdf`, { headers: { cookie: diab.cookie } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/pdf');
      expect(res.headers.get('content-disposition')).toMatch(new RegExp(`attachment; filename="vigil-${name}-${patientId}-\\d{4}-\\d{2}-\\d{2}\\.pdf"`));
      expect(res.headers.get('cache-control')).toBe('no-store');
      const look = await lookAtPdf(Buffer.from(await res.arrayBuffer()));
      expect(look.pages).toBe(1);
      expect(look.text).toMatch(figure);
      expect(look.inkShare).toBeGreaterThan(0.005);
    }
  });

  it('refuses a patient outside the care team (404, audited) as an unknown one (404) and a bad period (400)', async () => {
    expect((await card.request('GET', `/api/patients/${patientId}/reports/glucose`)).status).toBe(404);
    expect(t.vigil.audit.list({ patientId, limit: 50 }).some((e) => e.action === 'access.denied' && e.target?.endsWith('/reports/glucose'))).toBe(true);
    expect((await diab.request('GET', '/api/patients/nobody/reports/home-bp')).status).toBe(404);
    expect((await diab.request('GET', `/api/patients/${patientId}/reports/glucose?days=0`)).status).toBe(400);
    expect((await diab.request('GET', `/api/patients/${patientId}/reports/glucose?days=91`)).status).toBe(400);
  });
});
