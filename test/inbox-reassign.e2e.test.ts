import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboxMessage } from '../domain/index.js';
import { waitFor } from './support/temp.js';
import { listenErrors, startTestVigil, type TestVigil } from './support/vigil.js';

const topic = (deviceId: string, kind: string) => `rpm/v1/devices/${deviceId}/${kind}`;
const dr = { name: 'user:dr' };

/**
 * A hub handed from one patient to another (returned, cleaned, given to the next patient) must carry nothing of
 * the first patient's to the second, and nothing the second patient sends may land in the first one's record.
 */
describe('a hub handed to another patient', () => {
  let t: TestVigil;
  beforeAll(async () => {
    t = await startTestVigil({ VIGIL_CARE_CRON: '0 0 0 1 1 *' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  async function handedOver(name: string) {
    const first = await t.vigil.registry.addPatient({ name: `${name} first`, timeZone: 'UTC' });
    const next = await t.vigil.registry.addPatient({ name: `${name} next`, timeZone: 'UTC' });
    const hub = await t.vigil.registry.addDevice({ patientId: first.id, id: `hub-${name}`, kind: 'hub' });
    const creds = { deviceId: hub.device.id, secret: hub.secret };
    // The first patient's app: a persistent session subscribed to the inbox, then offline.
    const before = await t.connectDevice(creds);
    await before.subscribeAsync(topic(creds.deviceId, 'inbox'), { qos: 1 });
    await before.endAsync();
    // A message for the first patient waits for the hub (in the broker's queue, and unacknowledged in the inbox).
    const forFirst = await t.vigil.care.sendMessage(first.id, { text: 'Your potassium is 6.1: stop spironolactone' }, dr, 'Care team');
    expect(t.vigil.care.inbox.get(forFirst.id)?.sentAt).not.toBeNull();
    await t.vigil.registry.assignDevice(creds.deviceId, next.id);
    return { first, next, creds, forFirst };
  }

  /** Connects the hub and collects its inbox until the next patient's marker message arrives (one connection, in order). */
  async function inboxUntilMarker(client: MqttClient, hubId: string, nextPatientId: string, subscribe: boolean): Promise<InboxMessage[]> {
    const got: InboxMessage[] = [];
    client.on('message', (tp, payload) => {
      if (tp === topic(hubId, 'inbox')) got.push(JSON.parse(payload.toString('utf8')) as InboxMessage);
    });
    if (subscribe) await client.subscribeAsync(topic(hubId, 'inbox'), { qos: 1 });
    await t.vigil.care.sendMessage(nextPatientId, { text: 'marker' }, dr, 'Care team');
    await waitFor(() => got.some((m) => m.kind === 'message' && m.text === 'marker'), { what: "the next patient's marker message" });
    return got;
  }

  it("does not deliver the first patient's queued message when the hub comes back on its kept session", async () => {
    const { next, creds, forFirst } = await handedOver('kept');
    const client = await t.connectDevice(creds);
    const got = await inboxUntilMarker(client, creds.deviceId, next.id, false);
    expect(got.map((m) => m.id)).not.toContain(forFirst.id);
    await client.endAsync();
  });

  it("does not resend the first patient's unacknowledged message when the hub comes back on a new session", async () => {
    const { next, creds, forFirst } = await handedOver('fresh');
    const client = await t.connectDevice(creds, { clean: true });
    const got = await inboxUntilMarker(client, creds.deviceId, next.id, true);
    expect(got.map((m) => m.id)).not.toContain(forFirst.id);
    expect(t.vigil.care.inbox.get(forFirst.id)?.deliveredAt).toBeNull();
    await client.endAsync();
  });

  it("refuses the hub's replies to the first patient's message: neither thread takes them", async () => {
    const { first, next, creds, forFirst } = await handedOver('reply');
    const client = await t.connectDevice(creds);
    const errors = await listenErrors(client, creds.deviceId);
    const reply = (body: object) => client.publishAsync(topic(creds.deviceId, 'replies'), JSON.stringify({ v: 1, at: new Date().toISOString(), ref: forFirst.id, ...body }), { qos: 1 });
    await reply({ type: 'read' });
    await reply({ type: 'message', text: 'I am the next patient' });
    await waitFor(() => errors.length >= 2, { what: 'both replies refused' });
    expect(errors.map((e) => [e.ref, e.code])).toEqual([
      [forFirst.id, 'VIGIL_ERR_BAD_REPLY'],
      [forFirst.id, 'VIGIL_ERR_BAD_REPLY'],
    ]);
    expect(t.vigil.care.inbox.get(forFirst.id)?.readAt).toBeNull();
    expect(t.vigil.care.messages.thread(first.id).map((m) => m.text)).toEqual(['Your potassium is 6.1: stop spironolactone']);
    expect(t.vigil.care.messages.thread(next.id).map((m) => m.direction)).not.toContain('from_patient');
    // A reply without a reference is the next patient's own message.
    await client.publishAsync(topic(creds.deviceId, 'replies'), JSON.stringify({ v: 1, at: new Date().toISOString(), type: 'message', text: 'hello' }), { qos: 1 });
    await waitFor(() => t.vigil.care.messages.thread(next.id).some((m) => m.direction === 'from_patient'), { what: "the next patient's own message" });
    expect(t.vigil.care.messages.thread(next.id).filter((m) => m.direction === 'from_patient').map((m) => m.text)).toEqual(['hello']);
    await client.endAsync();
  });
});
