import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { questionnaireWire, QUESTIONNAIRES } from '../careloop/index.js';
import type { InboxMessage } from '../domain/index.js';
import { seriousViolations } from './support/a11y.js';
import { startA11yClinic, type A11yClinic } from './support/a11y-clinic.js';
import { waitFor } from './support/temp.js';

const HOUR = 3_600_000;

/** The patient page's check-in panel in a real Chromium: the plan, the timeline of answers, editing, and axe. */
describe('check-in panel on the patient page', () => {
  let clinic: A11yClinic;
  let page: Page;

  beforeAll(async () => {
    clinic = await startA11yClinic();
    const { care } = clinic.t.vigil;
    const patientId = clinic.crisis.patientId;
    const hubId = `${patientId}-hub`;
    care.checkins.plans.set(patientId, [{ questionnaire: 'hf_daily', times: ['08:30'] }], 'user:colleague', Date.now() - 3 * 24 * HOUR);
    // Two check-ins answered, as the hub would have: as usual, then breathing worse.
    const answered = [
      { hoursAgo: 30, breathlessness: 'same' },
      { hoursAgo: 6, breathlessness: 'worse' },
    ];
    for (const [i, a] of answered.entries()) {
      const dueAt = Date.now() - a.hoursAgo * HOUR;
      const id = `c-panel-test-${i}`;
      const message: InboxMessage = { v: 1, id, kind: 'checkin', created: new Date(dueAt).toISOString(), expiresAt: new Date(dueAt + 3 * HOUR).toISOString(), questionnaire: questionnaireWire(QUESTIONNAIRES.hf_daily!), dueAt: new Date(dueAt).toISOString() };
      care.inbox.add({ id, patientId, hubId, message, subject: 'hf_daily', dueAt, windowEndsAt: dueAt + 3 * HOUR, createdAt: dueAt, expiresAt: dueAt + 3 * HOUR });
      const at = dueAt + 10 * 60_000;
      care.checkins.record(care.inbox.get(id)!, { v: 1, type: 'checkin', ref: id, at: new Date(at).toISOString(), answers: [{ question: 'breathlessness', answer: a.breathlessness }, { question: 'ankle_swelling', answer: 'no' }] }, at, Date.now());
    }
    page = await clinic.newPage();
    await clinic.logIn(page, 'nurse');
  }, 120_000);
  afterAll(() => clinic?.close());

  it('shows the planned check-ins and the timeline of answers, passes axe, and saves edited days (audited)', async () => {
    await page.goto(`${clinic.t.httpUrl}/#/patients/${clinic.crisis.patientId}`);
    const panel = page.locator('[data-panel="checkins"]');
    await panel.getByText('Worse than usual', { exact: true }).waitFor();
    expect(await panel.locator('[data-checkins="plan"] tbody tr').first().textContent()).toMatch(/Heart failure check-in.*08:30.*every day.*180 min/);
    const timeline = panel.locator('[data-checkins="timeline"] tbody');
    expect(await timeline.locator('tr').first().textContent()).toMatch(/how is your breathing today\?.*Same as usual.*Worse than usual/);
    // A question left unanswered shows as a dash, not as a usual answer.
    expect(await timeline.locator('tr').nth(2).textContent()).toMatch(/pillows.*–.*–/);
    expect(await panel.locator('.checkin-score-1').count()).toBe(1);
    expect(await seriousViolations(page, 'check-in panel', '[data-panel="checkins"]')).toEqual([]);

    await panel.getByLabel('Heart failure check-in: days (mon, tue, …; empty: every day)').fill('mon, thu');
    await panel.getByRole('button', { name: 'Save check-ins' }).click();
    await waitFor(() => clinic.t.vigil.care.checkins.plans.get(clinic.crisis.patientId)?.checkins[0]?.days.join(',') === 'mon,thu', { what: 'the saved days' });
    await panel.getByText('mon, thu').waitFor();
    const audit = clinic.t.vigil.audit.list({ patientId: clinic.crisis.patientId }).find((e) => e.action === 'care.checkins.update');
    expect(audit?.actor).toBe('user:nurse');
  });
});
