import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GlucoseReport, HomeBpReport } from '../domain/index.js';
import { seriousViolations } from './support/a11y.js';
import { launchBrowser } from './support/browser.js';
import { login } from './support/dashboard-client.js';
import { waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const PASSWORD = 'reports at the clinic';

/** The Reports panel of the patient page in a real Chromium, its figures checked against the API's report. */
describe('dashboard: the Reports panel', () => {
  let t: TestVigil;
  let browser: Browser;
  let page: Page;
  let patientId: string;
  let glucose: GlucoseReport;
  let homeBp: HomeBpReport;

  beforeAll(async () => {
    t = await startTestVigil();
    const dev = await t.provision();
    patientId = dev.patientId;
    await t.vigil.registry.setCareTeam(patientId, 'ward-a');
    await t.vigil.users.add({ username: 'nurse', role: 'clinician', careTeams: ['ward-a'], password: PASSWORD });
    const client = await t.connectDevice(dev);
    const now = Date.now();
    // Six hours of CGM, 5 minutes apart, rising from 60 to 250 mg/dL; two BP readings.
    const cgm = Array.from({ length: 72 }, (_, i) => ({ type: 'glucose', id: `g${i}`, time: new Date(now - (i + 1) * 5 * 60_000).toISOString(), value: 250 - (i * 190) / 71, unit: 'mg/dL', source: 'cgm' }));
    await client.publishAsync(`rpm/v1/devices/${dev.deviceId}/readings`, JSON.stringify(cgm), { qos: 1 });
    await client.publishAsync(
      `rpm/v1/devices/${dev.deviceId}/readings`,
      JSON.stringify([
        { type: 'blood_pressure', id: 'b1', time: new Date(now - 60_000).toISOString(), systolic: 150, diastolic: 92, pulse: 70 },
        { type: 'blood_pressure', id: 'b2', time: new Date(now - 120_000).toISOString(), systolic: 124, diastolic: 78, pulse: 70 },
      ]),
      { qos: 1 },
    );
    await client.endAsync();
    const session = await login(t.httpUrl, 'nurse', PASSWORD);
    glucose = await waitFor(async () => {
      const r = (await session.request('GET', `/api/patients/${patientId}/reports/glucose?days=14`)).body as unknown as GlucoseReport;
      return r.readings === 72 && r;
    }, { what: 'the CGM readings stored' });
    homeBp = (await session.request('GET', `/api/patients/${patientId}/reports/home-bp?days=28`)).body as unknown as HomeBpReport;
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1366, height: 860 }, reducedMotion: 'reduce' });
    await page.goto(t.httpUrl);
    await page.getByLabel('User name').fill('nurse');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('main h1').waitFor();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('shows the glucose figures the API computes, against their targets, and the AGP as a chart with a text alternative', async () => {
    await page.goto(`${t.httpUrl}/#/patients/${patientId}`);
    const reports = page.getByRole('region', { name: 'Reports' });
    const agp = reports.locator('figure.chart[data-type="agp"]');
    await agp.locator('canvas').first().waitFor();
    const targets = reports.getByRole('table', { name: 'Glucose figures against the consensus targets' });
    const rows = await targets.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    expect(rows).toEqual(glucose.targets.map((t) => [t.label, t.value === null ? '–' : `${t.value} ${t.unit}`, `${t.op} ${t.limit} ${t.unit}`, t.met === null ? '–' : t.met ? 'Met' : 'Not met']));
    expect(rows.find((r) => r[0] === 'Time in range 70-180 mg/dL')?.[1]).toBe(`${glucose.targets.find((x) => x.id === 'tir')!.value} %`);
    const plot = agp.getByRole('img', { name: 'Ambulatory glucose profile chart' });
    const summary = await page.locator(`#${await plot.getAttribute('aria-describedby')}`).textContent();
    expect(summary).toMatch(/^Median glucose by local time of day over 14 days: lowest \d+(\.\d)? mg\/dL at \d\d:00, highest/);
    await agp.locator('summary', { hasText: 'Table of the profile' }).click();
    const agpRows = await agp.getByRole('table', { name: 'Ambulatory glucose profile, mg/dL by local hour' }).locator('tbody tr').count();
    expect(agpRows).toBe(24);
    expect(await reports.getByRole('link', { name: 'Download glucose report (CSV)' }).getAttribute('href')).toBe(`/api/patients/${patientId}/reports/glucose?days=14&format=csv`);
  });

  it('shows the home BP report and passes axe (WCAG 2.1 AA)', async () => {
    const reports = page.getByRole('region', { name: 'Reports' });
    const bp = reports.getByRole('table', { name: 'Home blood pressure figures' });
    await expect.poll(() => bp.locator('tbody tr').nth(1).locator('td').textContent()).toBe(homeBp.categoryLabel);
    expect(await bp.locator('tbody tr').nth(3).locator('td').textContent()).toBe('1 of 2 (50 %)');
    expect(await seriousViolations(page, 'reports', '.reports')).toEqual([]);
  });
});
