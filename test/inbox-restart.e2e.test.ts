import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboxMessage } from '../domain/index.js';
import { tempDir, waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const MINUTE = 60_000;
const topic = (deviceId: string, kind: string) => `rpm/v1/devices/${deviceId}/${kind}`;
const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
const minuteStart = (t: number) => Math.floor(t / MINUTE) * MINUTE;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The care loop is driven by the test's ticks; the cron never fires during it. */
const ENV = { VIGIL_CARE_CRON: '0 0 0 1 1 *' };

describe("an offline hub's inbox survives a restart of the embedded broker", () => {
  let dataDir: Awaited<ReturnType<typeof tempDir>>;
  let t: TestVigil | undefined;
  beforeAll(async () => {
    dataDir = await tempDir();
  });
  afterAll(async () => {
    await t?.stop();
    await dataDir?.remove();
  });

  /** The hub as a phone app would be: persistent session, subscribing when the broker has no session for it. */
  async function connectHub(vigil: TestVigil, creds: { deviceId: string; secret: string }, inbox: InboxMessage[]): Promise<MqttClient> {
    const client = await vigil.connectDevice(creds);
    client.on('message', (tp, payload) => {
      if (tp === topic(creds.deviceId, 'inbox')) inbox.push(JSON.parse(payload.toString('utf8')) as InboxMessage);
    });
    await client.subscribeAsync(topic(creds.deviceId, 'inbox'), { qos: 1 });
    return client;
  }

  it('sends the unexpired reminder again when the hub comes back after the restart, not the expired message nor what it had', async () => {
    t = await startTestVigil(ENV, dataDir.path);
    const patient = await t.vigil.registry.addPatient({ name: 'Rosa', timeZone: 'UTC' });
    const hub = await t.vigil.registry.addDevice({ patientId: patient.id, id: 'hub-rosa', kind: 'hub' });
    const creds = { deviceId: hub.device.id, secret: hub.secret };
    const before: InboxMessage[] = [];
    const online = await connectHub(t, creds, before);
    // Received (acknowledged) before the restart: not sent again.
    const had = await t.vigil.care.sendMessage(patient.id, { text: 'Welcome to the programme' }, { name: 'user:dr' }, 'Care team');
    await waitFor(() => t!.vigil.care.inbox.get(had.id)?.ackedAt, { what: "the hub's PUBACK recorded" });
    await online.endAsync();

    // While the hub is offline: a reminder (its window open 30 minutes) and a message about to expire.
    const now = Date.now();
    const due = minuteStart(now);
    t.vigil.care.plans.set(patient.id, 'custom', [{ type: 'blood_pressure', times: [hhmm(due)], windowMinutes: 30 }], 'user:dr', due - 1);
    const expiring: InboxMessage = { v: 1, id: 'msg-expiring-restart', kind: 'message', created: new Date(now).toISOString(), expiresAt: new Date(now + 1_500).toISOString(), text: 'soon stale', from: 'Care team' };
    t.vigil.care.inbox.add({ id: expiring.id, patientId: patient.id, hubId: creds.deviceId, message: expiring, subject: '', dueAt: null, windowEndsAt: null, createdAt: now, expiresAt: now + 1_500 });
    expect((await t.vigil.care.tick(now)).reminders).toBe(1);
    const reminder = t.vigil.care.inbox.recent(patient.id, 10).find((e) => e.kind === 'measure_reminder')!;
    expect(reminder.sentAt).not.toBeNull();
    expect(t.vigil.care.inbox.get(expiring.id)?.sentAt).not.toBeNull();

    await t.stop();
    t = await startTestVigil(ENV, dataDir.path);
    await sleep(Math.max(0, now + 1_600 - Date.now()));
    const after: InboxMessage[] = [];
    await connectHub(t, creds, after);
    await waitFor(() => after.some((m) => m.id === reminder.id), { what: 'the reminder resent after the restart' });
    expect(after.find((m) => m.id === reminder.id)).toMatchObject({ kind: 'measure_reminder', measurement: 'blood_pressure', dueAt: new Date(due).toISOString() });
    await waitFor(() => t!.vigil.care.inbox.get(reminder.id)?.ackedAt, { what: 'the resent reminder acknowledged' });
    // Whatever else was coming has come by now (one connection, in order): only the reminder.
    await t.vigil.care.sendMessage(patient.id, { text: 'marker' }, { name: 'user:dr' }, 'Care team');
    await waitFor(() => after.some((m) => m.kind === 'message' && m.text === 'marker'), { what: 'the marker message' });
    expect(after.map((m) => m.id)).not.toContain(expiring.id);
    expect(after.map((m) => m.id)).not.toContain(had.id);
    expect(after.filter((m) => m.id === reminder.id)).toHaveLength(1);
  });
});
