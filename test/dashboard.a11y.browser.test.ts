import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousViolations } from './support/a11y.js';
import { startA11yClinic, type A11yClinic } from './support/a11y-clinic.js';

/**
 * Every view of the dashboard audited with axe-core in a real Chromium against a real Vigil (issue 19, WCAG
 * 2.1 AA and axe's best practices): the build fails on any serious or critical violation. Beside axe, the
 * findings of the audit it cannot see are asserted one by one (names, roles, headings, titles, charts).
 */
describe('dashboard accessibility: every view', () => {
  let clinic: A11yClinic;
  let page: Page;

  const audit = async (view: string) => expect(await seriousViolations(page, view), view).toEqual([]);
  /** One h1 per view (WCAG 1.3.1, 2.4.6), and the tab's title names the view (2.4.2). */
  const orientation = async (h1: string | RegExp, title: string | RegExp) => {
    expect(await page.locator('h1').allTextContents()).toEqual([expect.stringMatching(h1)]);
    await expect.poll(() => page.title()).toMatch(title);
  };

  beforeAll(async () => {
    clinic = await startA11yClinic();
    page = await clinic.newPage();
  }, 120_000);
  afterAll(() => clinic?.close());

  it('login, and its refusal', async () => {
    await page.getByRole('heading', { name: 'Clinician log in' }).waitFor();
    await orientation('Clinician log in', 'Log in · Vigil');
    await audit('login');
    await page.getByLabel('User name').fill('nurse');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    // A refusal costs a full scrypt hash: on a busy machine that takes longer than the poll's default 1 s.
    await expect.poll(() => page.locator('#login-error').textContent(), { timeout: 10_000 }).toMatch(/wrong user name or password/);
    await audit('login refused');
  });

  it('worklist and live feed: every alert state, rows that are links in a list, the count in the heading', async () => {
    await clinic.logIn(page, 'nurse');
    await page.locator('.feed-item .note-latched').waitFor();
    await page.locator('.feed-item .note-renotified').waitFor();
    await page.locator('.wl-row.att-ok').waitFor();
    // Unacknowledged criticals are counted first in the title.
    await orientation('Worklist', /^\(\d\) Worklist · Vigil$/);
    await audit('worklist');
    // 1.4.3: the green "Stable" badge (4.45:1 before) reaches 4.5:1.
    expect(await seriousViolations(page, 'stable badge', '.att-badge.att-ok')).toEqual([]);
    // 4.1.2: a list of list items, each holding a link (not links posing as list items).
    const rows = await page.locator('.wl-rows').ariaSnapshot();
    expect(rows).toMatch(/^- list "Worklist":\n {2}- listitem:\n {4}- link "Critical \d not acknowledged Test Patient/);
    expect(await page.locator('a[role]').count()).toBe(0);
    // 4.1.2: the heading says its name once, and the count (not "Live alerts live alerts").
    const alerts = await page.locator('.feed-item').count();
    expect(await page.getByRole('heading', { name: `Live alerts ${alerts}`, exact: true }).count()).toBe(1);
  });

  it('patient page: charts with a text alternative and a table, rules with an override and a snooze', async () => {
    await page.goto(`${clinic.t.httpUrl}/#/patients/${clinic.crisis.patientId}`);
    const figure = page.locator('figure.chart[data-type="blood_pressure"]');
    await figure.locator('canvas').first().waitFor();
    await page.locator('[data-rule-id="spo2.low"] .rule-override').waitFor();
    await page.locator('[data-rule-id="bp.hypotension"] .rule-snooze').waitFor();
    await orientation(clinic.crisis.name, new RegExp(`^\\(\\d\\) ${clinic.crisis.name} · Vigil$`));
    await audit('patient');
    // 1.1.1: the plot is an image named for what it shows, described by a summary of the values in words.
    const plot = figure.getByRole('img', { name: 'Chart of blood pressure, last 7 days' });
    expect(await plot.count()).toBe(1);
    const summary = await page.locator(`#${await plot.getAttribute('aria-describedby')}`).textContent();
    // Beyond two days the server sends a mean per period: the summary says so, and gives the extremes.
    expect(summary).toMatch(/^Last 7 days, mean per 30 min: 14 readings in 14 periods, .+\. Systolic 126 to 196 mmHg, latest mean 196\. Diastolic 80 to 118 mmHg, latest mean 118\. Alert lines: critical if systolic > 180 mmHg;/);
    // ...and the values themselves, in a table beside it.
    const toggle = figure.getByRole('button', { name: 'Table of values' });
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    await toggle.click();
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    const table = figure.getByRole('table', { name: 'Blood pressure, last 7 days, mean per 30 min, newest first' });
    const columns = ['mean', 'lowest', 'highest'];
    expect(await table.locator('thead th').allTextContents()).toEqual(['Period from', ...columns.map((c) => `Systolic ${c} (mmHg)`), ...columns.map((c) => `Diastolic ${c} (mmHg)`), 'Readings']);
    expect(await table.locator('tbody tr').count()).toBe(14);
    expect(await table.locator('tbody tr').first().locator('td').allTextContents()).toEqual(['196', '196', '196', '118', '118', '118', '1']);
    await audit('patient, table of values open');
    // Over 24 hours, the readings themselves; the table stays open across the change.
    await page.getByRole('button', { name: '24 hours' }).click();
    await expect.poll(() => figure.locator('.chart-summary').textContent()).toMatch(/^Last 24 hours: \d readings?, .+ Systolic \d+ to 196 mmHg, latest 196\./);
    expect(await figure.getByRole('table').locator('thead th').allTextContents()).toEqual(['Time', 'Systolic (mmHg)', 'Diastolic (mmHg)']);
    await audit('patient, 24 hours');
  });

  it('dialogs: acknowledge, snooze, remove override, time zone with the server refusal shown', async () => {
    const open = async (button: ReturnType<Page['getByRole']>, view: string) => {
      await button.click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      await audit(view);
      return dialog;
    };
    const item = page.locator('.side .feed-item.sev-critical');
    await (await open(item.getByRole('button', { name: /^Acknowledge/ }), 'acknowledge dialog')).getByRole('button', { name: 'Cancel' }).click();
    const rule = page.locator('[data-rule-id="spo2.low"]');
    await (await open(rule.getByRole('button', { name: 'Remove override' }), 'remove override dialog')).getByRole('button', { name: 'Cancel' }).click();
    // The server's refusal, in its words, in the dialog: as the page gets it.
    await page.route('**/time-zone', (route) => route.fulfill({ status: 400, json: { code: 'VIGIL_ERR_BAD_REQUEST', message: 'time zone "Mars/Olympus" is not an IANA zone' } }));
    const zone = await open(page.getByRole('button', { name: 'Change time zone' }), 'time zone dialog');
    await zone.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => zone.getByRole('alert').textContent()).toContain('not an IANA zone');
    await audit('time zone dialog, refused');
    await zone.getByRole('button', { name: 'Cancel' }).click();
    await page.unroute('**/time-zone');
    await page.goto(`${clinic.t.httpUrl}/#/patients/${clinic.low.patientId}`);
    const snooze = await open(page.locator('.side .feed-item').getByRole('button', { name: /^Snooze/ }), 'snooze dialog');
    await snooze.getByRole('button', { name: 'Snooze' }).click();
    await audit('snooze dialog, reason missing');
    await snooze.getByRole('button', { name: 'Cancel' }).click();
  });

  it('heart-failure patient: the dry weight form and its refusal; a patient of another team', async () => {
    await page.goto(`${clinic.t.httpUrl}/#/patients/${clinic.stable.patientId}`);
    const rule = page.locator('li[data-rule-id="weight.gain"]');
    await rule.waitFor();
    await rule.getByLabel('Dry weight (kg)').fill('78.5');
    await rule.getByRole('button', { name: 'Set dry weight' }).click();
    await audit('dry weight form, reason missing');
    const other = await clinic.t.vigil.registry.addPatient({ name: 'Elsewhere' });
    await page.goto(`${clinic.t.httpUrl}/#/patients/${other.id}`);
    await page.locator('.empty-state').waitFor();
    await orientation('Patient not available', /Patient not available · Vigil$/);
    await audit('patient refused');
  });

  it('administration: users with the teams dialog, and the audit log', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await clinic.logIn(page, 'chief');
    await page.getByRole('link', { name: 'Users' }).click();
    await page.locator('tr[data-username="nurse"]').waitFor();
    await orientation('Users', /Users · Vigil$/);
    await audit('users');
    await page.locator('tr[data-username="nurse"]').getByRole('button', { name: 'Teams of nurse' }).click();
    await page.getByRole('dialog').waitFor();
    await audit('teams dialog');
    await page.keyboard.press('Escape');
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.locator('.audit tbody tr').first().waitFor();
    await orientation('Audit log', /Audit log · Vigil$/);
    await audit('audit log');
  });

  it('reflows at 320 px wide (a 1280 px screen at 400 % zoom) without scrolling sideways', async () => {
    await page.setViewportSize({ width: 320, height: 640 });
    for (const [hash, ready] of [['#/', '.wl-row'], [`#/patients/${clinic.crisis.patientId}`, 'figure.chart canvas'], ['#/users', 'tr[data-username]'], ['#/audit', '.audit tbody tr']] as const) {
      await page.goto(`${clinic.t.httpUrl}/${hash}`);
      await page.locator(ready).first().waitFor();
      // Data tables may scroll inside their panel (a WCAG 1.4.10 exception); the page itself may not.
      expect(await page.evaluate('document.documentElement.scrollWidth'), hash).toBeLessThanOrEqual(320);
    }
    await audit('patient page at 320 px');
    await page.setViewportSize({ width: 1366, height: 860 });
  });
});
