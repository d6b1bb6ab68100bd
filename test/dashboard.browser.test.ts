import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from './support/browser.js';
import { tempDir } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const PASSWORD = 'ward rounds at seven';

/**
 * The dashboard in a real headless Chromium against a real Vigil: a clinician logs in, sees the worklist,
 * receives a live alert published by a device over MQTT, acknowledges it, and opens the patient's chart.
 * Screenshots go to $VIGIL_SCREENSHOT_DIR (or a temp dir) to be looked at.
 */
describe('dashboard in a browser', () => {
  let t: TestVigil;
  let browser: Browser;
  let page: Page;
  let shots: string;
  let removeShots: (() => Promise<void>) | undefined;
  let device: { patientId: string; deviceId: string; client: MqttClient };
  const consoleErrors: string[] = [];
  // The live channel goes through a route the test can cut, like a Wi-Fi drop between ward and server.
  const liveRoutes: WebSocketRoute[] = [];
  let networkDown = false;

  const publish = (readings: unknown) => device.client.publishAsync(`rpm/v1/devices/${device.deviceId}/readings`, JSON.stringify(readings), { qos: 1 });
  const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    if (process.env.VIGIL_SCREENSHOT_DIR) {
      shots = process.env.VIGIL_SCREENSHOT_DIR;
      mkdirSync(shots, { recursive: true });
    } else {
      const dir = await tempDir('vigil-shots-');
      shots = dir.path;
      removeShots = dir.remove;
    }
    t = await startTestVigil();
    const { registry, users } = t.vigil;
    const dev = await t.provision();
    registry.setCareTeam(dev.patientId, 'ward-a');
    registry.setProgrammes(dev.patientId, ['hypertension']);
    device = { ...dev, client: await t.connectDevice(dev) };
    const hour = 3_600_000;
    await publish(
      Array.from({ length: 12 }, (_, i) => ({ type: 'blood_pressure', time: new Date(Date.now() - (12 - i) * 4 * hour).toISOString(), systolic: 128 + (i % 4) * 4, diastolic: 82, pulse: 70, id: `h${i}` })),
    );
    const quiet = await t.provision();
    registry.setCareTeam(quiet.patientId, 'ward-a');
    const elsewhere = await t.provision();
    registry.setCareTeam(elsewhere.patientId, 'ward-b');
    await users.add({ username: 'nurse', displayName: 'Nurse Ratched', role: 'clinician', careTeams: ['ward-a'], password: PASSWORD });
    await users.add({ username: 'chief', displayName: 'Chief Admin', role: 'admin', password: PASSWORD });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1366, height: 860 } });
    // Expected refusals (401 before login, 403 for another team's patient) are logged by the browser too.
    page.on('console', (m) => m.type() === 'error' && !/status of 40[13]/.test(m.text()) && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.routeWebSocket(/\/api\/live/, (ws) => {
      if (networkDown) return void ws.close({ code: 1013, reason: 'test: network down' });
      liveRoutes.push(ws);
      ws.connectToServer();
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
    await removeShots?.();
  });

  it('logs in and shows the worklist of the care team, live', async () => {
    await page.goto(t.httpUrl);
    await page.getByLabel('User name').fill('nurse');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.locator('#login-error').textContent()).toMatch(/wrong user name or password/);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator(`.wl-row[data-patient-id="${device.patientId}"]`).waitFor();
    await page.locator('.live-pill.state-live').waitFor();
    expect(await page.locator('.wl-row').count()).toBe(2);
    expect(await page.locator('.topbar').textContent()).toContain('Nurse Ratched');
    await expect.poll(() => page.locator(`.wl-row[data-patient-id="${device.patientId}"] .chip`).first().textContent()).toMatch(/Blood pressure \d+\/82 mmHg/);
    await shot('1-worklist');
  });

  it('shows a critical alert from a device within seconds, without a reload, and acknowledges it with a note', async () => {
    const sent = Date.now();
    await publish({ type: 'blood_pressure', time: new Date().toISOString(), systolic: 196, diastolic: 118, pulse: 96, id: 'crisis' });
    const item = page.locator('.feed-item.sev-critical', { hasText: 'Severe hypertension' });
    await item.waitFor({ timeout: 15_000 });
    const shownAfterMs = Date.now() - sent;
    expect(shownAfterMs).toBeLessThan(10_000);
    await expect.poll(() => page.title()).toBe('(1) Vigil');
    await expect.poll(() => page.locator(`.wl-row[data-patient-id="${device.patientId}"] .att-badge`).textContent(), { timeout: 10_000 }).toMatch(/Critical/);
    await shot('2-live-critical-alert');

    await item.getByRole('button', { name: 'Acknowledge' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Note (optional)').fill('Called the patient; repeat in 15 minutes');
    await shot('3-acknowledge-dialog');
    await dialog.getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => item.locator('.feed-ack').textContent(), { timeout: 10_000 }).toContain('Acknowledged by nurse');
    await expect.poll(() => page.title()).toBe('Vigil');
  });

  it('shows a dropped connection, reconnects, and catches up on what happened meanwhile', async () => {
    const item = page.locator('.feed-item.sev-critical', { hasText: 'Severe hypertension' });
    const alertId = Number(await item.getAttribute('data-alert-id'));
    networkDown = true;
    for (const route of liveRoutes.splice(0)) await route.close({ code: 1012, reason: 'test: network down' });
    await page.locator('.live-pill.state-reconnecting').waitFor({ timeout: 10_000 });
    await shot('5-reconnecting');
    // While the page is away, a colleague resolves the alert.
    t.vigil.alerts.actions.resolve(alertId, 'user:colleague', 'seen in clinic');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await item.count()).toBe(1);
    networkDown = false;
    await page.locator('.live-pill.state-live').waitFor({ timeout: 20_000 });
    await expect.poll(() => item.count(), { timeout: 10_000 }).toBe(0);
  });

  it("opens the patient's chart with the thresholds drawn, and records the view in the audit log", async () => {
    await page.locator(`.wl-row[data-patient-id="${device.patientId}"]`).click();
    const chart = page.locator('.chart[data-type="blood_pressure"]');
    await chart.locator('canvas').waitFor();
    const legend = await chart.locator('.u-legend').textContent();
    expect(legend).toContain('critical systolic > 180');
    expect(legend).toContain('systolic');
    expect(await page.locator('h2').first().textContent()).toMatch(/^Test Patient/);
    await shot('4-patient-chart');
    await page.emulateMedia({ media: 'print' });
    await shot('4b-patient-printed');
    expect(await page.getByRole('button', { name: 'Print report' }).isVisible()).toBe(false);
    await page.emulateMedia({ media: 'screen' });
    await page.getByRole('button', { name: '90 days' }).click();
    await expect.poll(() => chart.locator('figcaption').textContent()).toMatch(/mean per/);
    const views = t.vigil.audit.list({ actor: 'user:nurse', action: 'patient.view' });
    expect(views[0]).toMatchObject({ patientId: device.patientId, origin: '127.0.0.1' });
  });

  it('labels every form control, and refuses a patient of another care team', async () => {
    await page.goto(`${t.httpUrl}/#/`);
    await page.locator('.wl-row').first().waitFor();
    const controls = await page.$$eval('input, select, textarea', (els) => els.map((el) => ({ id: el.id, ariaLabel: el.getAttribute('aria-label'), html: el.outerHTML })));
    expect(controls.length).toBeGreaterThanOrEqual(3);
    const unlabelled: string[] = [];
    for (const c of controls) if (!c.ariaLabel && !(c.id && (await page.locator(`label[for="${c.id}"]`).count()) === 1)) unlabelled.push(c.html);
    expect(unlabelled).toEqual([]);
    // A tablet in portrait: the feed goes under the worklist, nothing wider than the screen.
    await page.setViewportSize({ width: 820, height: 1180 });
    await page.locator('.wl-row').first().waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(820);
    await shot('6-tablet');
    await page.setViewportSize({ width: 1366, height: 860 });
    const others = t.vigil.registry.listPatients().find((p) => p.careTeam === 'ward-b')!;
    await page.goto(`${t.httpUrl}/#/patients/${others.id}`);
    await expect.poll(() => page.locator('.empty-state').textContent()).toContain('not in one of your care teams');
  });

  it('logs out, and the API then refuses the old session', async () => {
    await page.goto(`${t.httpUrl}/#/`);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Clinician log in' }).waitFor();
    await expect.poll(() => page.locator('.notice').textContent()).toContain('logged out');
    const status = await page.evaluate(async () => (await fetch('/api/worklist')).status);
    expect(status).toBe(401);
    expect(consoleErrors).toEqual([]);
  });

  it('lets an administrator add a clinician, who then logs in; the audit log shows the change', async () => {
    await page.getByLabel('User name').fill('chief');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('link', { name: 'Users' }).click();
    await page.locator('tr[data-username="nurse"]').waitFor();
    await page.locator('#nu-username').fill('locum');
    await page.locator('#nu-name').fill('Dr Locum');
    await page.locator('#nu-teams').fill('ward-a');
    await page.getByRole('button', { name: 'Add user' }).click();
    const secret = page.locator('#new-password code.secret');
    await secret.waitFor();
    const password = (await secret.textContent())!;
    expect(password).toMatch(/^[\w-]{20}$/);
    await page.locator('tr[data-username="locum"]').waitFor();
    await shot('7-users');
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.locator('.audit tbody tr').first().waitFor();
    expect(await page.locator('.audit tbody').textContent()).toContain('user.add');
    await shot('8-audit');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('User name').fill('locum');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator(`.wl-row[data-patient-id="${device.patientId}"]`).waitFor();
    expect(await page.locator('.topbar').textContent()).toContain('Dr Locum');
    expect(await page.getByRole('link', { name: 'Users' }).count()).toBe(0);
  });
});

describe('dashboard automatic log-off', () => {
  let t: TestVigil;
  let browser: Browser;

  beforeAll(async () => {
    // Three seconds of inactivity end a session here (15 minutes by default).
    t = await startTestVigil({ VIGIL_SESSION_IDLE_MINUTES: '0.05' });
    await t.vigil.users.add({ username: 'nurse', role: 'admin', password: PASSWORD });
    browser = await launchBrowser();
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('logs a clinician off after the idle time, with the reason on the login page, though live data keeps coming', async () => {
    const dev = await t.provision();
    const client = await t.connectDevice(dev);
    let streaming = true;
    // Readings make the page refresh its worklist by itself: that is not the clinician being active.
    const stream = (async () => {
      for (let n = 0; streaming && n < 200; n++) {
        await client.publishAsync(`rpm/v1/devices/${dev.deviceId}/readings`, JSON.stringify({ type: 'heart_rate', time: new Date().toISOString(), value: 70, id: `s${n}` }), { qos: 1 });
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    })();
    const page = await browser.newPage();
    await page.goto(t.httpUrl);
    await page.getByLabel('User name').fill('nurse');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('.live-pill.state-live').waitFor();
    await page.getByRole('heading', { name: 'Clinician log in' }).waitFor({ timeout: 20_000 });
    expect(await page.locator('.notice').textContent()).toMatch(/logged off after a period of inactivity|session has ended/);
    streaming = false;
    await stream;
    expect(await page.evaluate(async () => (await fetch('/api/worklist')).status)).toBe(401);
  });
});
