import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriousViolations } from './support/a11y.js';
import { startA11yClinic, type A11yClinic } from './support/a11y-clinic.js';
import { waitFor } from './support/temp.js';

/** The patient page's care panel in a real Chromium: figures, the thread with receipts, sending, and axe. */
describe('care panel on the patient page', () => {
  let clinic: A11yClinic;
  let page: Page;

  beforeAll(async () => {
    clinic = await startA11yClinic();
    page = await clinic.newPage();
    await clinic.logIn(page, 'nurse');
  }, 120_000);
  afterAll(() => clinic?.close());

  it('shows the plan with its adherence, the medication and the thread, and sends a message that gets its receipts', async () => {
    await page.goto(`${clinic.t.httpUrl}/#/patients/${clinic.crisis.patientId}`);
    const panel = page.locator('[data-panel="care"]');
    await panel.getByText('Please re-measure in 15 minutes').waitFor();
    await expect.poll(() => panel.locator('[data-care="plan"] tbody tr').first().textContent()).toMatch(/Blood pressure.*08:00, 20:00.*of.*%/);
    expect(await panel.locator('[data-care="medications"] tbody').textContent()).toContain('Amlodipine 5 mg');
    expect(await panel.textContent()).toContain('sent, not yet delivered');
    expect(await seriousViolations(page, 'care panel', '[data-panel="care"]')).toEqual([]);

    await panel.getByLabel('Message to the patient').fill('How are you feeling today?');
    // From the patient view, about the open crisis alert.
    await panel.getByLabel('About an open alert').selectOption({ index: 1 });
    await panel.getByRole('button', { name: 'Send message' }).click();
    await panel.getByText('How are you feeling today?').waitFor();
    const care = clinic.t.vigil.care;
    const sent = care.messages.thread(clinic.crisis.patientId).find((m) => m.text === 'How are you feeling today?')!;
    expect(sent.author).toBe('user:nurse');
    expect(sent.alertId).toBe(clinic.t.vigil.alerts.queries.list({ patientId: clinic.crisis.patientId }).find((a) => a.ruleId === 'bp.crisis')?.id);
    expect(await panel.locator('.care-to_patient').last().textContent()).toMatch(/about alert #\d+/);
    // The hub's read receipt (recorded as a reply would be) shows after the next load.
    care.inbox.read(sent.id, Date.now());
    await page.reload();
    await waitFor(async () => /· read /.test((await panel.locator('.care-to_patient').last().textContent()) ?? ''), { what: 'the read receipt shown' });
  });
});
