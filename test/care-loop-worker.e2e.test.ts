import { connect, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../app/config.js';
import { createLogger } from '../app/logger.js';
import { openState } from '../app/state.js';
import { startVigil, type Vigil } from '../app/vigil.js';
import { questionnaireWire, QUESTIONNAIRES } from '../careloop/index.js';
import type { InboxMessage } from '../domain/index.js';
import { startMosquitto, type MosquittoInstance } from './support/mosquitto.js';
import { tempDir, waitFor } from './support/temp.js';

const inbox = (hubId: string) => `rpm/v1/devices/${hubId}/inbox`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The hub protocol in worker mode on a real Mosquitto: Vigil publishes inbox messages through its broker
 * connection (MQTT 5, with the message-expiry property) and consumes the hub's replies through its shared
 * subscription. The broker, not Vigil, keeps an offline hub's messages and drops the expired ones.
 */
describe('care loop in worker mode on an external Mosquitto', () => {
  let broker: MosquittoInstance;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let vigil: Vigil;
  let patientId: string;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    dir = await tempDir('vigil-care-worker-');
    const { db, registry } = openState(dir.path);
    patientId = (await registry.addPatient({ name: 'Worker Hub Patient', timeZone: 'UTC' })).id;
    await registry.addDevice({ patientId, id: 'hub-w', kind: 'hub' });
    db.close();
    const config = loadConfig({
      VIGIL_BIND_HOST: '127.0.0.1',
      VIGIL_HTTP_PORT: '0',
      VIGIL_LOG_LEVEL: process.env.VIGIL_TEST_LOG ?? 'silent',
      VIGIL_DATA_DIR: dir.path,
      VIGIL_BROKER_URL: broker.url,
      VIGIL_BROKER_CLIENT_ID: 'vigil-care-worker',
      VIGIL_BROKER_SHARE_GROUP: 'care',
      VIGIL_CARE_CRON: '0 0 0 1 1 *',
    });
    vigil = await startVigil(config, createLogger(config.logLevel));
  }, 30_000);

  afterAll(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await vigil?.close(2_000);
    await broker?.stop();
    await dir?.remove();
  });

  async function hub(received: InboxMessage[]): Promise<MqttClient> {
    // The listener is in place before the CONNACK: a kept session's messages arrive right after it.
    const client = connect(broker.url, { clientId: 'hub-w', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 }, reconnectPeriod: 0 });
    clients.push(client);
    client.on('message', (topic, payload) => {
      if (topic === inbox('hub-w')) received.push(JSON.parse(payload.toString('utf8')) as InboxMessage);
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    return client;
  }

  it('keeps a message for an offline hub, drops the one that expired meanwhile, and records the read receipt', async () => {
    const received: InboxMessage[] = [];
    const first = await hub(received);
    await first.subscribeAsync(inbox('hub-w'), { qos: 1 });
    await first.endAsync();
    // Offline: one message that expires in a second, then one that does not.
    const created = Date.now();
    const id = 'msg-worker-expiring';
    const expiring: InboxMessage = { v: 1, id, kind: 'message', created: new Date(created).toISOString(), expiresAt: new Date(created + 1000).toISOString(), text: 'stale soon', from: 'Care team' };
    vigil.care.inbox.add({ id, patientId, hubId: 'hub-w', message: expiring, subject: '', dueAt: null, windowEndsAt: null, createdAt: created, expiresAt: created + 1000 });
    await vigil.care.tick();
    expect(vigil.care.inbox.get(id)?.sentAt).not.toBeNull();
    const fresh = await vigil.care.sendMessage(patientId, { text: 'Please weigh yourself tomorrow morning' }, 'user:dr', 'Dr Example');
    await sleep(2_500);
    const again = await hub(received);
    await waitFor(() => received.some((m) => m.id === fresh.id), { what: 'the kept message after reconnecting' });
    expect(received.map((m) => m.id)).toEqual([fresh.id]);
    await again.publishAsync('rpm/v1/devices/hub-w/replies', JSON.stringify({ v: 1, type: 'read', ref: fresh.id, at: new Date().toISOString() }), { qos: 1 });
    await waitFor(() => vigil.care.inbox.get(fresh.id)?.readAt, { what: 'the read receipt through the shared subscription' });
  });

  it('keeps a check-in for an offline hub, drops an expired one, and records the answers through the shared subscription', async () => {
    const received: InboxMessage[] = [];
    const first = await hub(received);
    await first.subscribeAsync(inbox('hub-w'), { qos: 1 });
    await first.endAsync();
    // Offline: a check-in that expires in a second (queued by hand), then one from the plan, due now.
    const created = Date.now();
    const stale: InboxMessage = { v: 1, id: 'c-worker-expiring', kind: 'checkin', created: new Date(created).toISOString(), expiresAt: new Date(created + 1000).toISOString(), questionnaire: questionnaireWire(QUESTIONNAIRES.hf_daily!), dueAt: new Date(created).toISOString() };
    vigil.care.inbox.add({ id: stale.id, patientId, hubId: 'hub-w', message: stale, subject: 'hf_daily', dueAt: created - 86_400_000, windowEndsAt: created + 1000, createdAt: created, expiresAt: created + 1000 });
    const due = Math.floor(created / 60_000) * 60_000;
    vigil.care.checkins.plans.set(patientId, [{ questionnaire: 'hf_daily', times: [new Date(due).toISOString().slice(11, 16)] }], 'user:dr', due - 1);
    await vigil.care.tick();
    await sleep(2_500);
    const again = await hub(received);
    const checkin = await waitFor(() => received.find((m) => m.kind === 'checkin'), { what: 'the kept check-in after reconnecting' });
    expect(received.filter((m) => m.kind === 'checkin').map((m) => m.id)).toEqual([checkin.id]);
    expect(checkin.id).not.toBe(stale.id);
    await again.publishAsync('rpm/v1/devices/hub-w/replies', JSON.stringify({ v: 1, type: 'checkin', ref: checkin.id, at: new Date().toISOString(), answers: [{ question: 'breathlessness', answer: 'same' }] }), { qos: 1 });
    await waitFor(() => vigil.care.checkins.answersTo(checkin.id).length === 1, { what: 'the answer through the shared subscription' });
  });
});
