import type { MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from './browser.js';
import { waitFor } from './temp.js';
import { startTestVigil, type TestVigil } from './vigil.js';

export const PASSWORD = 'ward rounds at seven';
const HOUR = 3_600_000;

interface Reading {
  readonly type: string;
  readonly [field: string]: unknown;
}

export interface Member {
  readonly patientId: string;
  readonly name: string;
  publish(readings: Reading | Reading[]): Promise<void>;
}

/**
 * A ward whose pages show every state the accessibility audit must see (issue 19): a critical alert not yet
 * acknowledged, a latched critical from late data ("Back in range since… · waiting for acknowledgement", "From
 * late data"), a warning re-notified and acknowledged with a note, a stable patient (the green badge), and a
 * patient with an override from a preset and a snooze in the rules panel. A nurse (ward-a) and an administrator.
 */
export interface A11yClinic {
  readonly t: TestVigil;
  readonly browser: Browser;
  /** Hypertension, a week of readings (the charts), a crisis now; COPD target and a hypotension snooze. */
  readonly crisis: Member;
  /** A crisis 48 h ago that arrived late, normal since: latched, waiting for a person. */
  readonly late: Member;
  /** Hypotension, worse since (re-notified), acknowledged with a note. */
  readonly low: Member;
  /** Heart failure, a normal weight today: Stable; the dry weight form. */
  readonly stable: Member;
  newPage(): Promise<Page>;
  logIn(page: Page, username: 'nurse' | 'chief'): Promise<void>;
  close(): Promise<void>;
}

export async function startA11yClinic(): Promise<A11yClinic> {
  const t = await startTestVigil();
  const { registry, users, alerts } = t.vigil;
  const clients: MqttClient[] = [];
  const member = async (programmes: string[]): Promise<Member> => {
    const dev = await t.provision();
    await registry.setCareTeam(dev.patientId, 'ward-a');
    await registry.setProgrammes(dev.patientId, programmes);
    const client = await t.connectDevice(dev);
    clients.push(client);
    let n = 0;
    const publish = async (readings: Reading | Reading[]) => {
      const list = (Array.isArray(readings) ? readings : [readings]).map((r) => ({ id: `r${++n}`, time: new Date().toISOString(), ...r }));
      await client.publishAsync(`rpm/v1/devices/${dev.deviceId}/readings`, JSON.stringify(list), { qos: 1 });
    };
    return { patientId: dev.patientId, name: registry.getPatient(dev.patientId)!.name, publish };
  };
  const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
  const bp = (systolic: number, diastolic: number, msAgo = 0) => ({ type: 'blood_pressure', systolic, diastolic, pulse: 72, time: ago(msAgo) });
  const live = (patientId: string, ruleId: string) => alerts.queries.list({ patientId }).find((a) => a.ruleId === ruleId && a.status !== 'resolved');

  const crisis = await member(['hypertension']);
  await crisis.publish([...Array.from({ length: 14 }, (_, i) => bp(126 + (i % 5) * 3, 80, (14 - i) * 12 * HOUR)), { type: 'spo2', value: 96, time: ago(HOUR) }]);
  await crisis.publish(bp(196, 118));
  const late = await member(['hypertension']);
  await late.publish([bp(128, 82, HOUR), bp(126, 80, 3 * HOUR), bp(196, 112, 48 * HOUR)]);
  const low = await member([]);
  await low.publish(bp(86, 56));
  await waitFor(() => live(low.patientId, 'bp.hypotension'), { what: 'hypotension alert' });
  await low.publish(bp(74, 48));
  const stable = await member(['heart_failure']);
  await stable.publish({ type: 'weight', value: 78.4 });
  const lowAlert = await waitFor(() => live(low.patientId, 'bp.hypotension')?.renotifyCount && live(low.patientId, 'bp.hypotension'), { what: 're-notified hypotension' });
  alerts.actions.acknowledge(lowAlert.id, 'user:colleague', 'Reviewed; repeat tomorrow');
  await waitFor(() => live(crisis.patientId, 'bp.crisis') && live(late.patientId, 'bp.crisis')?.backInRangeAt, { what: 'critical alerts' });
  alerts.actions.applyPreset(crisis.patientId, 'spo2.copd_target', 'user:colleague', { reason: 'Chronic hypercapnia' });
  alerts.actions.snooze(crisis.patientId, 'bp.hypotension', Date.now() + 4 * HOUR, 'user:colleague', 'Post-operative, reviewed');
  // The care panel with content: a hub, a plan dated back (adherence figures), a medication, a message.
  await registry.addDevice({ patientId: crisis.patientId, id: `${crisis.patientId}-hub`, kind: 'hub' });
  t.vigil.care.plans.set(crisis.patientId, 'hypertension', [{ type: 'blood_pressure', times: ['08:00', '20:00'] }], 'user:colleague', Date.now() - 7 * 24 * HOUR);
  t.vigil.care.medications.add(crisis.patientId, { name: 'Amlodipine', dose: '5 mg', times: ['08:00'] }, 'user:colleague', Date.now());
  await t.vigil.care.sendMessage(crisis.patientId, { text: 'Please re-measure in 15 minutes', measure: 'blood_pressure' }, 'user:colleague', 'Nurse');

  await users.add({ username: 'nurse', displayName: 'Nurse Ratched', role: 'clinician', careTeams: ['ward-a'], password: PASSWORD });
  await users.add({ username: 'chief', displayName: 'Chief Admin', role: 'admin', password: PASSWORD });
  const browser = await launchBrowser();
  return {
    t,
    browser,
    crisis,
    late,
    low,
    stable,
    // Reduced motion: the flash and the fading highlight are not half-way through when contrast is measured.
    newPage: async () => {
      const page = await browser.newPage({ viewport: { width: 1366, height: 860 }, reducedMotion: 'reduce' });
      await page.goto(t.httpUrl);
      return page;
    },
    async logIn(page, username) {
      await page.getByLabel('User name').fill(username);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.locator('.live-pill.state-live').waitFor();
      await page.locator('main h1').waitFor();
    },
    async close() {
      await browser.close();
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
      await t.stop();
    },
  };
}
