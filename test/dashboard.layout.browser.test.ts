import type { MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from './support/browser.js';
import { waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const PASSWORD = 'ward rounds at seven';

// The page's globals used by the functions run in it: the tests compile without the DOM library.
declare const document: { createRange(): { selectNodeContents(node: unknown): void; getClientRects(): Iterable<{ top: number }> } };
declare function getComputedStyle(el: unknown): { backgroundColor: string };
const HOUR = 3_600_000;

/**
 * What a hospital buyer saw in the dashboard's screenshots at 1,440 and 1,024 px (issue 14, item 7), asserted so
 * that it stays fixed: uPlot's legend of "--" under every chart, names and alert titles cut off beside empty
 * space, a third latest reading clipped by the row, the audit time wrapping to five lines on a tablet, alert
 * texts without units, and a repeated warning highlighted louder than a critical alert.
 */
describe('dashboard layout at 1,440 and 1,024 px', () => {
  let t: TestVigil;
  let browser: Browser;
  const clients: MqttClient[] = [];
  let long: { patientId: string; publish: (r: object[]) => Promise<void> };
  let low: { patientId: string; publish: (r: object[]) => Promise<void> };

  const member = async (name: string, programmes: string[]) => {
    const { registry } = t.vigil;
    const patient = await registry.addPatient({ name, programmes: programmes as never, careTeam: 'ward-a' });
    const { device, secret } = await registry.addDevice({ patientId: patient.id });
    const client = await t.connectDevice({ deviceId: device.id, secret });
    clients.push(client);
    let n = 0;
    const publish = async (readings: object[]) => {
      const list = readings.map((r) => ({ id: `r${++n}`, time: new Date().toISOString(), ...r }));
      await client.publishAsync(`rpm/v1/devices/${device.id}/readings`, JSON.stringify(list), { qos: 1 });
    };
    return { patientId: patient.id, publish };
  };
  const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
  const bp = (systolic: number, diastolic: number, msAgo = 0) => ({ type: 'blood_pressure', systolic, diastolic, pulse: 72, time: ago(msAgo) });
  const live = (patientId: string, ruleId: string) => t.vigil.alerts.queries.list({ patientId }).find((a) => a.ruleId === ruleId && a.status !== 'resolved');

  async function open(width: number, height: number, username: string, hash = ''): Promise<Page> {
    const page = await browser.newPage({ viewport: { width, height }, reducedMotion: 'reduce' });
    await page.goto(t.httpUrl);
    await page.getByLabel('User name').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('.live-pill.state-live').waitFor();
    if (hash) await page.goto(`${t.httpUrl}/${hash}`);
    await page.locator('main h1').waitFor();
    return page;
  }

  beforeAll(async () => {
    t = await startTestVigil();
    // A long name and a long alert title, and five reading types: what was cut off and clipped.
    long = await member('Margaret Worthington (recovering after a fall)', ['hypertension']);
    await long.publish([
      ...Array.from({ length: 14 }, (_, i) => bp(126 + (i % 5) * 3, 80, (14 - i) * 12 * HOUR)),
      { type: 'spo2', value: 96 },
      { type: 'weight', value: 72.4, unit: 'kg' },
      { type: 'temperature', value: 36.8, unit: 'Cel' },
      { type: 'heart_rate', value: 70 },
    ]);
    await long.publish([bp(196, 118)]);
    low = await member('Test Patient Low', []);
    await low.publish([bp(86, 56)]);
    await waitFor(() => live(long.patientId, 'bp.crisis') && live(low.patientId, 'bp.hypotension'), { what: 'a critical and a warning alert' });
    await t.vigil.users.add({ username: 'nurse', displayName: 'Nurse Ratched', role: 'clinician', careTeams: ['ward-a'], password: PASSWORD });
    await t.vigil.users.add({ username: 'chief', displayName: 'Chief Admin', role: 'admin', password: PASSWORD });
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await t?.stop();
  });

  it('1,440 px worklist: names and alert titles whole, latest readings not clipped, alert texts with units', async () => {
    const page = await open(1440, 900, 'nurse');
    const row = page.locator(`.wl-row[data-patient-id="${long.patientId}"]`);
    await row.waitFor();
    // Not cut off: the text fits its box across and down (two lines at most, with the room the row has).
    const cut = await row.evaluate((el) =>
      [...el.querySelectorAll('.wl-who strong, .wl-alert > span')].filter((e) => e.scrollWidth > e.clientWidth || e.scrollHeight > e.clientHeight).map((e) => e.textContent),
    );
    expect(cut).toEqual([]);
    expect(await row.locator('.wl-alert').textContent()).toBe('Severe hypertension / hypertensive crisis');
    // The worklist sends the three newest types: two chips and "+1 more", each inside the row (the third chip
    // was clipped by the row's height).
    expect(await row.locator('.chip').allTextContents()).toEqual([expect.any(String), expect.any(String), '+1 more']);
    const clipped = await row.evaluate((el) => {
      const box = el.querySelector('.wl-latest')!.getBoundingClientRect();
      return [...el.querySelectorAll('.chip')].filter((c) => {
        const r = c.getBoundingClientRect();
        return r.bottom > box.bottom + 0.5 || r.right > box.right + 0.5 || r.height === 0;
      }).length;
    });
    expect(clipped).toBe(0);
    // Alert texts in the feed: the values with their units, not repeating the title.
    const message = page.locator(`.feed-item:has(a[href$="${long.patientId}"]) .feed-message`).first();
    expect(await message.textContent()).toMatch(/^systolic 196 > 180 mmHg, diastolic 118 > 120|^systolic 196 > 180 mmHg$/);
    await page.close();
  });

  it('a repeated warning is never highlighted louder than a critical alert', async () => {
    const page = await open(1440, 900, 'nurse');
    await page.locator('.feed-item.sev-critical').first().waitFor();
    // Worse while the page is open: the warning comes again over the live channel and is highlighted.
    await low.publish([bp(74, 48)]);
    const fresh = page.locator('.feed-item.fresh.sev-warning');
    await fresh.waitFor({ timeout: 10_000 });
    // How far a background is from white: the louder, the more tinted. The critical was not updated.
    const tint = (selector: string) =>
      page.locator(selector).first().evaluate((el) => {
        // "rgba(0, 0, 0, 0)" is no background: the white panel shows through.
        const [r, g, b, alpha] = getComputedStyle(el).backgroundColor.match(/[\d.]+/g)!.map(Number);
        return alpha === 0 ? 0 : 765 - r! - g! - b!;
      });
    const warning = await tint('.feed-item.fresh.sev-warning');
    const critical = await tint('.feed-item.sev-critical:not(.fresh)');
    expect(warning).toBeGreaterThan(0);
    expect(critical).toBeGreaterThanOrEqual(warning);
    await page.close();
  });

  it('1,440 px patient page: charts without uPlot legend, a key with the alert lines in units', async () => {
    const page = await open(1440, 900, 'nurse', `#/patients/${long.patientId}`);
    const figure = page.locator('figure.chart[data-type="blood_pressure"]');
    await figure.locator('canvas').waitFor();
    expect(await page.locator('.u-legend').count()).toBe(0);
    const key = await figure.locator('.chart-key li').allTextContents();
    expect(key).toEqual(expect.arrayContaining(['Systolic', 'Diastolic', 'Critical: systolic > 180, diastolic > 120 mmHg', 'Warning: systolic < 90, diastolic < 60 mmHg']));
    await page.close();
  });

  it('1,024 px: the worklist keeps the alert column; the audit time stays on one line', async () => {
    const page = await open(1024, 768, 'chief');
    await page.locator(`.wl-row[data-patient-id="${long.patientId}"]`).waitFor();
    expect(await page.locator(`.wl-row[data-patient-id="${long.patientId}"] .wl-alert`).isVisible()).toBe(true);
    await page.goto(`${t.httpUrl}/#/audit`);
    await page.locator('td[data-col="when"]').first().waitFor();
    const lines = await page.locator('td[data-col="when"]').evaluateAll((cells) =>
      cells.map((cell) => {
        const range = document.createRange();
        range.selectNodeContents(cell);
        return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
      }),
    );
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((n) => n === 1)).toBe(true);
    // Details in words and local dates, not JSON with ISO timestamps.
    expect(await page.locator('.audit-details').allTextContents()).not.toContainEqual(expect.stringMatching(/[{"]|\d{4}-\d{2}-\d{2}T/));
    await page.close();
  });
});
