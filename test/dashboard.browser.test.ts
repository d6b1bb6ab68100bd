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
  let quietPatientId: string;
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
    // A snooze limit below the dialog's longest choice, to see the server's refusal shown in the dialog.
    t = await startTestVigil({ VIGIL_ALERT_SNOOZE_MAX_HOURS: '8' });
    const { registry, users } = t.vigil;
    const dev = await t.provision();
    await registry.setCareTeam(dev.patientId, 'ward-a');
    await registry.setProgrammes(dev.patientId, ['hypertension']);
    device = { ...dev, client: await t.connectDevice(dev) };
    const hour = 3_600_000;
    await publish(
      Array.from({ length: 12 }, (_, i) => ({ type: 'blood_pressure', time: new Date(Date.now() - (12 - i) * 4 * hour).toISOString(), systolic: 128 + (i % 4) * 4, diastolic: 82, pulse: 70, id: `h${i}` })),
    );
    const quiet = await t.provision();
    await registry.setCareTeam(quiet.patientId, 'ward-a');
    await registry.setProgrammes(quiet.patientId, ['heart_failure']);
    quietPatientId = quiet.patientId;
    const elsewhere = await t.provision();
    await registry.setCareTeam(elsewhere.patientId, 'ward-b');
    await users.add({ username: 'nurse', displayName: 'Nurse Ratched', role: 'clinician', careTeams: ['ward-a'], password: PASSWORD });
    await users.add({ username: 'chief', displayName: 'Chief Admin', role: 'admin', password: PASSWORD });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1366, height: 860 } });
    // Expected refusals (401 before login, 404 for another team's patient, 403 for a refused state change) are logged by the browser too.
    page.on('console', (m) => m.type() === 'error' && !/status of 40[134]/.test(m.text()) && consoleErrors.push(m.text()));
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
    await expect.poll(() => page.locator('#login-error').textContent(), { timeout: 15_000 }).toMatch(/wrong user name or password/);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator(`.wl-row[data-patient-id="${device.patientId}"]`).waitFor();
    await page.locator('.live-pill.state-live').waitFor();
    expect(await page.locator('.wl-row').count()).toBe(2);
    expect(await page.locator('.topbar').textContent()).toContain('Nurse Ratched');
    // The readings published in beforeAll may still be on their way on a busy machine.
    await expect.poll(() => page.locator(`.wl-row[data-patient-id="${device.patientId}"] .chip`).first().textContent(), { timeout: 10_000 }).toMatch(/BP \d+\/82 mmHg/);
    await shot('1-worklist');
  });

  it('shows a critical alert from a device within seconds, without a reload, and acknowledges it with a note', async () => {
    const sent = Date.now();
    await publish({ type: 'blood_pressure', time: new Date().toISOString(), systolic: 196, diastolic: 118, pulse: 96, id: 'crisis' });
    const item = page.locator('.feed-item.sev-critical', { hasText: 'Severe hypertension' });
    await item.waitFor({ timeout: 15_000 });
    const shownAfterMs = Date.now() - sent;
    expect(shownAfterMs).toBeLessThan(10_000);
    await expect.poll(() => page.title()).toBe('(1) Worklist · Vigil');
    await expect.poll(() => page.locator(`.wl-row[data-patient-id="${device.patientId}"] .att-badge`).textContent(), { timeout: 10_000 }).toMatch(/Critical/);
    await shot('2-live-critical-alert');

    await item.getByRole('button', { name: 'Acknowledge' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Note (optional)').fill('Called the patient; repeat in 15 minutes');
    await shot('3-acknowledge-dialog');
    await dialog.getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => item.locator('.feed-ack').textContent(), { timeout: 10_000 }).toContain('Acknowledged by nurse');
    await expect.poll(() => page.title()).toBe('Worklist · Vigil');
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
    // The chart's own key (uPlot's legend of "--" is off): the lines and the alert lines with their unit.
    const key = await chart.locator('.chart-key').textContent();
    expect(key).toContain('Critical: systolic > 180, diastolic > 120 mmHg');
    expect(key).toContain('Systolic');
    expect(await chart.locator('.u-legend').count()).toBe(0);
    expect(await page.locator('h1').textContent()).toMatch(/^Test Patient/);
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

  it('keeps a critical alert back in range in the feed, latched, until a person acknowledges it', async () => {
    // A 6-second hold (60 minutes by default) so that readings seconds apart are "back in range for the hold time".
    t.vigil.alerts.actions.setOverride(device.patientId, 'bp.crisis', { resolveAfterMinutes: 0.1 }, 'cli:test', { reason: 'test: short hold time' });
    await page.goto(`${t.httpUrl}/#/`);
    await page.locator('.live-pill.state-live').waitFor();
    const secondsAgo = (s: number) => new Date(Date.now() - s * 1000).toISOString();
    await publish({ type: 'blood_pressure', time: secondsAgo(10), systolic: 204, diastolic: 124, pulse: 98, id: 'crisis-2' });
    const item = page.locator('.feed-item.sev-critical', { hasText: 'Severe hypertension' });
    await item.waitFor({ timeout: 15_000 });
    // A critical alert is acknowledged, never snoozed.
    expect(await item.getByRole('button', { name: 'Snooze' }).count()).toBe(0);
    await publish([
      { type: 'blood_pressure', time: secondsAgo(8), systolic: 132, diastolic: 80, pulse: 74, id: 'calm-1' },
      { type: 'blood_pressure', time: secondsAgo(0), systolic: 128, diastolic: 80, pulse: 72, irregularHeartbeat: true, id: 'calm-2' },
    ]);
    await expect.poll(() => item.locator('.note-latched').textContent(), { timeout: 15_000 }).toMatch(/^Back in range since .+ · waiting for acknowledgement$/);
    // The device flagged an irregular heartbeat: said in words beside the reading in the worklist.
    await expect.poll(() => page.locator(`.wl-row[data-patient-id="${device.patientId}"] .chip`).first().textContent(), { timeout: 10_000 }).toMatch(/128\/80 mmHg · irregular heartbeat/);
    await shot('9-latched-critical');
    // Back in range does not close it: it waits, still counted in the title.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await item.count()).toBe(1);
    expect(await page.title()).toBe('(1) Worklist · Vigil');
    await item.getByRole('button', { name: 'Acknowledge' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain('acknowledging also resolves this alert');
    await dialog.getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => item.count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => page.title()).toBe('Worklist · Vigil');
    t.vigil.alerts.actions.clearOverride(device.patientId, 'bp.crisis', 'cli:test');
  });

  it('applies the COPD target from the patient page in one step, listed with who and why, and removes it', async () => {
    await page.goto(`${t.httpUrl}/#/patients/${device.patientId}`);
    const rule = page.locator('li[data-rule-id="spo2.low"]');
    await rule.waitFor();
    expect(await page.locator('.latest[data-type="blood_pressure"]').textContent()).toMatch(/128\/80 mmHg.*pulse 72 · irregular heartbeat/);
    await rule.getByRole('button', { name: /^Use COPD target saturation 88-92 % \(BTS 2017\)$/ }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain('warning if < 88 %');
    await dialog.getByLabel('Reason (optional)').fill('Chronic hypercapnia; target agreed with the respiratory team');
    await dialog.getByRole('button', { name: 'Apply' }).click();
    const override = rule.locator('.rule-override');
    await override.waitFor({ timeout: 10_000 });
    const text = (await override.textContent())!;
    expect(text).toContain('critical if <= 83 %, warning if < 88 %');
    expect(text).toContain('PresetCOPD target saturation 88-92 % (BTS 2017)');
    expect(text).toContain('Set bynurse');
    expect(text).toContain('Chronic hypercapnia; target agreed with the respiratory team');
    expect(text).toContain('no expiry');
    expect(await rule.getByRole('button', { name: /^Use COPD target/ }).count()).toBe(0);
    expect(await rule.locator('.rule-status').textContent()).toContain('override for this patient');
    expect(t.vigil.alerts.queries.overridesOf(device.patientId)).toEqual([expect.objectContaining({ ruleId: 'spo2.low', actor: 'user:nurse', preset: 'spo2.copd_target' })]);
    await override.scrollIntoViewIfNeeded();
    await shot('10-rules-override');
    await override.getByRole('button', { name: 'Remove override' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove override' }).click();
    await expect.poll(() => override.count(), { timeout: 10_000 }).toBe(0);
    expect(t.vigil.alerts.queries.overridesOf(device.patientId)).toEqual([]);
  });

  it('snoozes a warning only with a reason and within the limit, lists the snooze on the patient page, and ends it', async () => {
    await publish({ type: 'blood_pressure', time: new Date().toISOString(), systolic: 86, diastolic: 56, pulse: 80, id: 'low-1' });
    const item = page.locator('.side .feed-item', { hasText: 'Hypotension' });
    await item.waitFor({ timeout: 15_000 });
    // Further past the line: it asks for a person again, and says why.
    await publish({ type: 'blood_pressure', time: new Date().toISOString(), systolic: 74, diastolic: 48, pulse: 84, id: 'low-2' });
    await expect.poll(() => item.locator('.note-renotified').textContent(), { timeout: 15_000 }).toMatch(/^Worse: 74\/48 mmHg, pulse 84 bpm · notified again once, last /);
    await item.getByRole('button', { name: 'Snooze' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain('Reason (required)');
    await dialog.getByRole('button', { name: 'Snooze' }).click();
    // Refused by the browser: the dialog stays, the reason box is invalid, and nothing reached the server.
    expect(await dialog.isVisible()).toBe(true);
    expect(await dialog.locator('textarea[name="reason"]:invalid').count()).toBe(1);
    expect(t.vigil.alerts.queries.snoozesOf(device.patientId)).toEqual([]);
    await dialog.getByLabel('Reason (required)').fill('Known post-operative low pressure, reviewed by Dr Grey');
    // This server allows 8 hours (VIGIL_ALERT_SNOOZE_MAX_HOURS): the dialog offers nothing longer.
    expect(await dialog.getByLabel('For').locator('option').allTextContents()).toEqual(['1 hour', '2 hours', '4 hours', '8 hours']);
    expect(await dialog.textContent()).toContain('At most 8 hours.');
    await shot('11-snooze-dialog');
    await dialog.getByLabel('For').selectOption('4');
    await dialog.getByRole('button', { name: 'Snooze' }).click();
    const snooze = page.locator('li[data-rule-id="bp.hypotension"] .rule-snooze');
    await snooze.waitFor({ timeout: 10_000 });
    const text = (await snooze.textContent())!;
    expect(text).toContain('Snoozed bynurse');
    expect(text).toContain('Known post-operative low pressure, reviewed by Dr Grey');
    expect(text).toContain('warning and below');
    expect(t.vigil.alerts.queries.snoozesOf(device.patientId)).toEqual([expect.objectContaining({ ruleId: 'bp.hypotension', tier: 'warning', actor: 'user:nurse' })]);
    await snooze.getByRole('button', { name: 'End snooze' }).click();
    await expect.poll(() => snooze.count(), { timeout: 10_000 }).toBe(0);
    expect(t.vigil.alerts.queries.snoozesOf(device.patientId)).toEqual([]);
  });

  it("sets a heart-failure patient's dry weight with a required reason, every control labelled", async () => {
    await page.goto(`${t.httpUrl}/#/patients/${quietPatientId}`);
    const rule = page.locator('li[data-rule-id="weight.gain"]');
    await rule.waitFor();
    const controls = await page.$$eval('main input, main select, main textarea', (els) => els.map((el) => ({ id: el.id, html: el.outerHTML })));
    expect(controls.length).toBeGreaterThanOrEqual(2);
    for (const c of controls) expect(await page.locator(`label[for="${c.id}"]`).count(), c.html).toBe(1);
    await rule.getByLabel('Dry weight (kg)').fill('78.5');
    await rule.getByRole('button', { name: 'Set dry weight' }).click();
    expect(await rule.locator('textarea[name="reason"]:invalid').count()).toBe(1);
    expect(t.vigil.alerts.queries.overridesOf(quietPatientId)).toEqual([]);
    await rule.getByLabel('Reason (required)').fill('Euvolaemic at clinic review');
    await rule.getByRole('button', { name: 'Set dry weight' }).click();
    const override = rule.locator('.rule-override');
    await override.waitFor({ timeout: 10_000 });
    expect(await override.textContent()).toMatch(/dry weight 78\.5 kg.*Euvolaemic at clinic review/);
    expect(await rule.getByLabel('Dry weight (kg)').inputValue()).toBe('78.5');
    expect(t.vigil.alerts.queries.overridesOf(quietPatientId)).toEqual([expect.objectContaining({ ruleId: 'weight.gain', override: { dryWeightKg: 78.5 }, actor: 'user:nurse' })]);
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
