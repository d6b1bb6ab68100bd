import { readFile } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from './support/browser.js';
import { waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const PASSWORD = 'data subject rights';

/** The patient page's export and erasure in a real Chromium: offered to administrators, not to clinicians. */
describe("a patient's data on the patient page", () => {
  let t: TestVigil;
  let browser: Browser;
  let patientId: string;

  beforeAll(async () => {
    t = await startTestVigil();
    const dev = await t.provision();
    patientId = dev.patientId;
    await t.vigil.registry.setCareTeam(patientId, 'ward-a');
    const client = await t.connectDevice(dev);
    await client.publishAsync(`rpm/v1/devices/${dev.deviceId}/readings`, JSON.stringify({ type: 'weight', time: new Date().toISOString(), value: 81.5, unit: 'kg', id: 'w1' }), { qos: 1 });
    await waitFor(async () => (await t.vigil.ingest.store.queryRaw({ patientId, type: 'weight', from: 0, to: Date.now() + 60_000 })).length === 1, { what: 'the reading stored' });
    await t.vigil.users.add({ username: 'nurse', role: 'clinician', careTeams: ['ward-a'], password: PASSWORD });
    await t.vigil.users.add({ username: 'chief', role: 'admin', password: PASSWORD });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  async function openPatientAs(username: string) {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    await page.goto(t.httpUrl);
    await page.getByLabel('User name').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('.live-pill').waitFor();
    await page.goto(`${t.httpUrl}/#/patients/${patientId}`);
    await page.locator('[data-panel="charts"]').waitFor();
    return { page, context };
  }

  it('offers a clinician neither action', async () => {
    const { page, context } = await openPatientAs('nurse');
    expect(await page.locator('[data-panel="patient-data"]').count()).toBe(0);
    await context.close();
  });

  it("lets an administrator download the export, then erase the patient after typing the id", async () => {
    const { page, context } = await openPatientAs('chief');
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export data' }).click();
    const download = await downloading;
    const exported = JSON.parse(await readFile((await download.path())!, 'utf8')) as { files: { path: string; text: string }[] };
    expect(exported.files.find((f) => f.path === 'readings-weight.csv')?.text).toContain('81.5');

    await page.getByRole('button', { name: 'Erase patient…' }).click();
    const dialog = page.locator('dialog');
    await dialog.getByLabel(/Type the patient id/).fill('not-the-id');
    await dialog.getByRole('button', { name: 'Erase patient' }).click();
    await expect.poll(() => dialog.locator('.form-error').textContent()).toMatch(/confirm must repeat the patient id/);
    expect(t.vigil.registry.getPatient(patientId)).toBeDefined();
    await dialog.getByLabel(/Type the patient id/).fill(patientId);
    await dialog.getByRole('button', { name: 'Erase patient' }).click();
    await expect.poll(() => new URL(page.url()).hash, { timeout: 15_000 }).toBe('#/');
    expect(t.vigil.registry.getPatient(patientId)).toBeUndefined();
    expect(await t.vigil.ingest.store.queryRaw({ patientId, type: 'weight', from: 0, to: Date.now() + 60_000 })).toEqual([]);
    await context.close();
  });
});
