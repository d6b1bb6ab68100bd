import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProgrammeReport, RiskScore, Worklist, WeightReport } from '../domain/index.js';
import { SimulatedDevice, type DeviceModel } from '../simulators/index.js';
import { seriousViolations } from './support/a11y.js';
import { launchBrowser } from './support/browser.js';
import { login, type DashboardSession } from './support/dashboard-client.js';
import { lookAtPdf } from './support/pdf.js';
import { waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const PASSWORD = 'heart failure clinic';

/**
 * A demo heart-failure patient with a simulated history (the simulator's backfill, as `vigil demo` uploads it):
 * a month of morning weights gaining 0.4 kg a day, two weeks of BP, two days of oximetry and temperature. The
 * weight, risk and programme figures the pages show are checked against the API's, which come from the
 * report functions tested by hand.
 */
describe('dashboard: reports over a simulated history', () => {
  let t: TestVigil;
  let browser: Browser;
  let page: Page;
  let session: DashboardSession;
  let patientId: string;
  let weight: WeightReport;
  let risk: RiskScore;

  beforeAll(async () => {
    t = await startTestVigil();
    const patient = await t.vigil.registry.addPatient({ name: 'Demo Heart Failure', timeZone: 'Europe/Paris' });
    patientId = patient.id;
    await t.vigil.registry.setProgrammes(patientId, ['heart_failure', 'hypertension']);
    await t.vigil.registry.setCareTeam(patientId, 'ward-a');
    const conn = { url: t.mqttUrl, topicPrefix: 'rpm/v1' };
    const history: [DeviceModel, number][] = [
      ['scale', 30],
      ['bp_cuff', 14],
      ['pulse_oximeter', 2],
      ['thermometer', 2],
    ];
    for (const [i, [model, days]] of history.entries()) {
      const { device, secret } = await t.vigil.registry.addDevice({ patientId, id: `demo-hf-${model}` });
      const sim = new SimulatedDevice({ deviceId: device.id, secret, model, condition: 'heart_failure', seed: 11 + i, trend: { weightGainPerDay: 0.4 } }, conn);
      await sim.start();
      await sim.backfill(days);
      // And a temperature now: enrolled today, today is the programme period's one day with a reading.
      if (model === 'thermometer') await sim.publish({ type: 'temperature', value: 37.2, unit: 'Cel', time: new Date().toISOString(), id: 'now' });
      await sim.stop();
    }
    await t.vigil.users.add({ username: 'nurse', role: 'clinician', careTeams: ['ward-a'], password: PASSWORD });
    session = await login(t.httpUrl, 'nurse', PASSWORD);
    weight = await waitFor(async () => {
      const r = (await session.request('GET', `/api/patients/${patientId}/reports/weight?days=30`)).body as unknown as WeightReport;
      // 31 mornings backfilled; today's only once 07:00 UTC has passed.
      return r.weighedDays >= 29 && r;
    }, { what: 'the backfilled weights in the store' });
    risk = (await session.request('GET', `/api/patients/${patientId}/reports/risk`)).body as unknown as RiskScore;
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1366, height: 900 }, reducedMotion: 'reduce' });
    await page.goto(t.httpUrl);
    await page.getByLabel('User name').fill('nurse');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('main h1').waitFor();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('the history is what the report functions were tested on: a steady gain past the 7-day window', () => {
    // 0.4 kg a day: 2.8 kg in 7 days (> 2.3) while 1 day (0.4) and 3 days (1.2) stay inside their limits, give or
    // take the simulated scale's noise; the baseline is the median of the 14 days before the last 7.
    expect(weight.alertDays).toBeGreaterThan(0);
    expect(weight.baseline.source).toBe('median');
    expect(weight.latest!.aboveBaselineKg!).toBeGreaterThan(2.3);
    expect(risk.parts.map((p) => p.parameter)).toEqual(['spo2', 'pulse', 'systolic', 'temperature']);
  });

  it('shows the weight report day by day as the API computes it, alert windows marked, with its PDF', async () => {
    await page.goto(`${t.httpUrl}/#/patients/${patientId}`);
    const section = page.locator('[data-report="weight"]');
    const figures = section.getByRole('table', { name: 'Heart-failure weight figures' });
    await figures.waitFor();
    const cell = (row: number) => figures.locator('tbody tr').nth(row).locator('td').textContent();
    expect(await cell(0)).toBe(`${weight.baseline.kg} kg (${weight.baseline.label})`);
    expect(await cell(3)).toBe(`${weight.alertDays} of ${weight.weighedDays} days with a morning weight`);
    const rows = await section.locator('table.weight-days tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-date'), tr.children[1]!.textContent, tr.children[4]!.textContent]));
    // A day is in an alert window when it lies from some alert's window start up to that alert (the API's windows).
    const inWindow = (date: string) => weight.daily.some((a) => a.alert && date >= a.alert.windowFrom && date <= a.date);
    expect(rows).toEqual([...weight.daily].reverse().map((d) => [d.date, d.kg === null ? '–' : `${d.kg} kg`, d.alert ? 'Alert' : inWindow(d.date) ? 'In alert window' : '']));
    // Every day the API marks is an alert row; every alert's window days are marked on the page.
    for (const d of weight.daily.filter((x) => x.alert)) {
      expect(await section.locator(`tr[data-date="${d.date}"]`).getAttribute('class')).toBe('weight-alert');
      const windowDays = weight.daily.filter((x) => x.date >= d.alert!.windowFrom && x.date < d.date && !x.alert);
      for (const w of windowDays) expect(await section.locator(`tr[data-date="${w.date}"]`).getAttribute('class')).toBe('weight-window');
    }
    const pdfHref = await section.getByRole('link', { name: 'Download weight report (PDF)' }).getAttribute('href');
    const pdf = await page.request.get(`${t.httpUrl}${pdfHref}`);
    const look = await lookAtPdf(await pdf.body());
    expect(look.pages).toBe(1);
    expect(look.text).toContain(`${weight.alertDays} of ${weight.weighedDays} days with a morning weight`);
  });

  it('shows the risk score with its parts as the API computes them, on the patient page and the worklist', async () => {
    const section = page.locator('[data-report="risk"]');
    expect(await section.locator('[data-risk-score]').textContent()).toBe(`Score ${risk.score}`);
    expect(await section.textContent()).toContain(risk.text);
    const parts = await section.getByRole('table', { name: 'Risk score parts' }).locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.children[0]!.textContent, tr.children[1]!.textContent]));
    expect(parts.slice(0, risk.parts.length)).toEqual(risk.parts.map((p) => [`${p.label} ${p.value} ${p.unit}`, String(p.points)]));
    expect(await seriousViolations(page, 'reports', '.reports')).toEqual([]);

    const worklist = (await session.request('GET', '/api/worklist')).body as unknown as Worklist;
    const entry = worklist.entries.find((e) => e.patient.id === patientId)!;
    await page.goto(`${t.httpUrl}/#/`);
    const chip = page.locator(`.wl-row[data-patient-id="${patientId}"] .wl-risk`);
    await chip.waitFor();
    expect(await chip.getAttribute('data-risk')).toBe(String(entry.risk.score));
    expect(await chip.getAttribute('title')).toBe(`Risk score ${entry.risk.score}: ${entry.risk.text}`);
  });

  it('shows the programme table from the navigation, sortable, with the API days and codes', async () => {
    const report = await waitFor(async () => {
      const r = (await session.request('GET', '/api/reports/programme')).body as unknown as ProgrammeReport;
      return r.rows.find((x) => x.patientId === patientId)?.daysWithReadings === 1 && r;
    }, { what: "today's temperature in the store" });
    const row = report.rows.find((r) => r.patientId === patientId)!;
    // Enrolled today: period 1, day 1; the backfilled history before enrolment is not in the period, today's
    // temperature is.
    expect([row.period.index, row.period.elapsedDays, row.daysWithReadings]).toEqual([1, 1, 1]);
    await page.getByRole('link', { name: 'Programme' }).click();
    const table = page.locator('table.programme-table');
    const tr = table.locator(`tr[data-patient="${patientId}"]`);
    await tr.waitFor();
    const cells = await tr.locator('td').allTextContents();
    expect(cells.slice(1, 3)).toEqual([String(row.daysWithReadings), row.code ?? 'none (under 2 days)']);
    const byName = table.getByRole('button', { name: 'Patient' });
    await byName.click();
    await expect.poll(() => byName.evaluate((b) => b.parentElement!.getAttribute('aria-sort'))).toBe('ascending');
    expect(await page.getByRole('link', { name: 'Download CSV' }).getAttribute('href')).toBe('/api/reports/programme?sort=name&order=asc&format=csv');
    expect(await seriousViolations(page, 'programme', '.programme')).toEqual([]);
  });
});
