import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { focusedElement as focused, focusRingProblems, recordAnnouncements, tabTo } from './support/a11y.js';
import { startA11yClinic, type A11yClinic } from './support/a11y-clinic.js';

/**
 * The main tasks with the keyboard alone (WCAG 2.1.1, 2.4.3, 2.4.7), what a screen reader is told unasked
 * (4.1.3), and every focus ring (2.4.7, 1.4.11): issue 19. No clicks here.
 */
describe('dashboard with the keyboard and a screen reader', () => {
  let clinic: A11yClinic;
  let page: Page;

  beforeAll(async () => {
    clinic = await startA11yClinic();
    page = await clinic.newPage();
    await clinic.logIn(page, 'nurse');
    await page.locator('.feed-item .note-latched').waitFor();
  }, 120_000);
  afterAll(() => clinic?.close());

  it('shows a whole focus ring, at 3:1, on every stop of the worklist, the top bar and the feed', async () => {
    const { stops, problems } = await focusRingProblems(page);
    expect(problems).toEqual([]);
    // The walk went through them all: top bar, filters, every row, every alert's buttons.
    expect(stops[0]).toBe('a Skip to content');
    expect(stops).toContain('button Log out');
    expect(stops.filter((s) => s.startsWith('a Critical') || s.startsWith('a Stable')).length).toBeGreaterThanOrEqual(3);
    expect(stops.filter((s) => s.startsWith('button Acknowledge')).length).toBeGreaterThanOrEqual(1);
  });

  it('opens a patient from the worklist, landing on their name, the tab titled with it', async () => {
    await tabTo(page, `a.wl-row[data-patient-id="${clinic.crisis.patientId}"]`);
    await page.keyboard.press('Enter');
    await expect.poll(() => focused(page)).toMatchObject({ tag: 'h1', text: clinic.crisis.name });
    expect(page.url()).toContain(`#/patients/${clinic.crisis.patientId}`);
    await expect.poll(() => page.title()).toMatch(new RegExp(`${clinic.crisis.name} · Vigil$`));
  });

  it('skips to the content of the patient page without leaving it', async () => {
    // The page as it opens: the skip link is the first stop.
    await page.reload();
    await page.locator('h1', { hasText: clinic.crisis.name }).waitFor();
    await page.keyboard.press('Tab');
    expect(await focused(page)).toMatchObject({ tag: 'a', text: 'Skip to content' });
    await page.keyboard.press('Enter');
    expect(await focused(page)).toMatchObject({ tag: 'main', id: 'main' });
    expect(page.url()).toContain(`#/patients/${clinic.crisis.patientId}`);
    expect(await page.locator('h1').textContent()).toBe(clinic.crisis.name);
  });

  it('changes the chart range and opens a table of values, focus staying on the button pressed', async () => {
    await page.locator('figure.chart canvas').first().waitFor();
    await tabTo(page, '[data-range="30d"]');
    await page.keyboard.press('Space');
    await expect.poll(() => page.locator('[data-range="30d"]').getAttribute('aria-pressed')).toBe('true');
    await expect.poll(() => page.locator('figure[data-type="blood_pressure"] .chart-summary').textContent()).toMatch(/^Last 30 days/);
    expect(await focused(page)).toMatchObject({ range: '30d' });
    await tabTo(page, 'figure[data-type="blood_pressure"] [data-action="table"]');
    await page.keyboard.press('Enter');
    expect(await page.locator('figure[data-type="blood_pressure"] table tbody tr').count()).toBeGreaterThan(0);
    // A live refresh rebuilds the page: focus and the open table stay.
    await clinic.crisis.publish({ type: 'blood_pressure', systolic: 150, diastolic: 95, pulse: 80 });
    await expect.poll(() => page.locator('.latest[data-type="blood_pressure"]').textContent(), { timeout: 10_000 }).toContain('150/95');
    await expect.poll(() => focused(page)).toMatchObject({ action: 'table' });
    expect(await page.locator('figure[data-type="blood_pressure"] [data-action="table"]').getAttribute('aria-expanded')).toBe('true');
  });

  it('shows a whole focus ring on every stop of the patient page, tables and rules included', async () => {
    const { stops, problems } = await focusRingProblems(page);
    expect(problems).toEqual([]);
    for (const stop of ['button 24 hours', 'button 30 days', 'button 1 year', 'button Table of values', 'div Blood pressure, last 30 days', 'button Remove override', 'button End snooze', 'button Change time zone']) {
      expect(stops.some((s) => s.startsWith(stop)), stop).toBe(true);
    }
  });

  it('acknowledges an alert from the feed, focus staying with the alert', async () => {
    await tabTo(page, 'a.nav-link[data-nav="worklist"]');
    await page.keyboard.press('Enter');
    await expect.poll(() => focused(page)).toMatchObject({ tag: 'h1', text: 'Worklist' });
    const alertId = await page.locator(`.feed-item.sev-critical.status-open:has(a[href$="${clinic.crisis.patientId}"])`).first().getAttribute('data-alert-id');
    await tabTo(page, `.feed-item[data-alert-id="${alertId}"] [data-action="acknowledge"]`);
    await page.keyboard.press('Enter');
    await expect.poll(() => focused(page)).toMatchObject({ tag: 'textarea' });
    await page.keyboard.type('Called the patient');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await focused(page)).toMatchObject({ tag: 'button', text: 'Acknowledge' });
    await page.keyboard.press('Enter');
    await page.locator(`.feed-item[data-alert-id="${alertId}"].status-acknowledged`).waitFor();
    // Not <body>: the alert acted on (its Acknowledge button is gone), or what replaced it.
    await expect.poll(() => focused(page)).toMatchObject({ alertId });
    expect(clinic.t.vigil.alerts.queries.get(Number(alertId))?.alert).toMatchObject({ status: 'acknowledged', acknowledgeNote: 'Called the patient' });
  });

  it('tells a screen reader what is new about an alert once, and nothing for repeats or refreshes', async () => {
    const announced = await recordAnnouncements(page);
    const name = clinic.stable.name;
    await clinic.stable.publish({ type: 'blood_pressure', systolic: 86, diastolic: 56, pulse: 80 });
    await expect.poll(async () => (await announced()).map((a) => a.text).join('\n'), { timeout: 15_000 }).toContain(`New warning alert for ${name}: Hypotension`);
    // The same finding again and again (the alert's count goes up) while the worklist refreshes every 2 s.
    for (let i = 0; i < 5; i++) {
      await clinic.stable.publish({ type: 'blood_pressure', systolic: 86, diastolic: 56, pulse: 80 });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    await expect.poll(() => page.locator('.feed-item', { hasText: name }).locator('.feed-title').textContent()).toContain('×6');
    await clinic.stable.publish({ type: 'blood_pressure', systolic: 74, diastolic: 48, pulse: 84 });
    const alert = clinic.t.vigil.alerts.queries.list({ patientId: clinic.stable.patientId }).find((a) => a.ruleId === 'bp.hypotension')!;
    await expect.poll(async () => (await announced()).some((a) => a.text.includes('notified again: Hypotension')), { timeout: 10_000 }).toBe(true);
    clinic.t.vigil.alerts.actions.resolve(alert.id, 'user:colleague', 'seen');
    await expect.poll(async () => (await announced()).some((a) => a.text.includes('Resolved: Hypotension')), { timeout: 10_000 }).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const texts = (await announced()).map((a) => a.text);
    expect(texts.filter((t) => t.includes('Hypotension'))).toEqual([
      `New warning alert for ${name}: Hypotension`,
      `Alert for ${name} notified again: Hypotension. Worse: 74/48 mmHg, pulse 84 bpm`,
      `Resolved: Hypotension for ${name}`,
    ]);
    // Nothing said twice, and nothing from the feed's list or the worklist's summary being rewritten.
    expect(texts.length).toBe(new Set(texts).size);
    expect((await announced()).filter((a) => /feed-list|wl-summary/.test(a.region))).toEqual([]);
  });

  it('answers a search of the worklist with the number of patients found, once', async () => {
    const announced = await recordAnnouncements(page);
    await tabTo(page, '#wl-search');
    await page.keyboard.type(clinic.late.name);
    await expect.poll(async () => (await announced()).map((a) => a.text), { timeout: 5_000 }).toEqual([expect.stringMatching(/^1 patient · 1 critical/)]);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect((await announced()).length).toBe(1);
  });

  it('logs out, landing in the user name box, the reason read with it', async () => {
    await tabTo(page, '.topbar-right > button');
    await page.keyboard.press('Enter');
    await expect.poll(() => focused(page)).toMatchObject({ tag: 'input', id: 'username' });
    expect(await page.locator('#username').getAttribute('aria-describedby')).toContain('login-notice');
    expect(await page.locator('#login-notice').textContent()).toContain('logged out');
    expect(await page.title()).toBe('Log in · Vigil');
  });
});
