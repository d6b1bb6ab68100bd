import { connectAsync, type MqttClient } from 'mqtt';
import { generate, parser as parser_, type Packet } from 'mqtt-packet';
import { createConnection } from 'node:net';
import { Registry as MetricsRegistry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openState } from '../app/state.js';
import { createGateway, type Gateway } from '../gateway/index.js';
import { tempDir, waitFor } from './support/temp.js';

/**
 * Read-ahead (gateway/read-ahead.ts): a device's next publish is read and handed to ingest while its previous one
 * is still being made durable, yet each PUBACK still waits for its own commit and they come in order. Before it,
 * aedes left the second message in the socket until the first was acknowledged, so with few devices the rate
 * was bound to the disk's sync latency. The sink here holds each message until the test lets it commit.
 */

const topic = (deviceId: string) => `rpm/v1/devices/${deviceId}/readings`;

describe('read-ahead: a device keeps being read while its readings commit', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let state: ReturnType<typeof openState>;
  let gateway: Gateway;
  /** One entry per message the sink has been handed, with the function that lets it commit. */
  const held: { payload: string; commit: () => void }[] = [];

  beforeAll(async () => {
    dir = await tempDir();
    state = openState(dir.path);
    const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
    gateway = await createGateway({
      host: '127.0.0.1',
      port: 0,
      topicPrefix: 'rpm/v1',
      registry: state.registry,
      sink: {
        handleReadings: (_deviceId, payload) =>
          new Promise((resolve) => held.push({ payload: payload.toString(), commit: () => resolve({ rejections: [] }) })),
      },
      metrics: new MetricsRegistry(),
      log: quiet,
      rate: { perSecond: 100, burst: 100, maxWaitMs: 1000 },
      maxInFlightBytes: 1 << 20,
    });
  });
  afterAll(async () => {
    await gateway?.close();
    state?.db.close();
    await dir?.remove();
  });

  it('hands a message to ingest while the chunk before it commits, and acknowledges all in order', async () => {
    const patient = state.registry.addPatient({ name: 'Read Ahead' });
    const { device, secret } = await state.registry.addDevice({ patientId: patient.id });
    const socket = createConnection({ host: '127.0.0.1', port: gateway.mqttPort });
    const parser = parser_();
    const acks: number[] = [];
    let connected = false;
    parser.on('packet', (p: Packet) => {
      if (p.cmd === 'connack') connected = p.returnCode === 0;
      if (p.cmd === 'puback') acks.push(p.messageId!);
    });
    socket.on('data', (b) => parser.parse(b));
    try {
      socket.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: device.id, username: device.id, password: Buffer.from(secret) }));
      await waitFor(() => connected);
      const publish = (messageId: number) => generate({ cmd: 'publish', topic: topic(device.id), payload: Buffer.from(`m${messageId}`), qos: 1, messageId, retain: false, dup: false });
      // Two publishes in one chunk: aedes counts both as handled only once both are acknowledged.
      socket.write(Buffer.concat([publish(1), publish(2)]));
      await waitFor(() => held.length === 2);
      // The next chunk, while both still commit: read at once with read-ahead, left in the socket without.
      socket.write(publish(3));
      await waitFor(() => held.length === 3, { timeoutMs: 5_000, what: 'the third publish handed to ingest while the first two commit' });
      expect(held.map((h) => h.payload)).toEqual(['m1', 'm2', 'm3']);
      expect(acks).toEqual([]);

      held[0]!.commit();
      await waitFor(() => acks.length === 1);
      held[1]!.commit();
      held[2]!.commit();
      await waitFor(() => acks.length === 3);
      expect(acks).toEqual([1, 2, 3]);
    } finally {
      socket.destroy();
    }
  });

  it('still counts every packet once: after held publishes commit, the device is read as before', async () => {
    const patient = state.registry.addPatient({ name: 'Read Ahead Two' });
    const { device, secret } = await state.registry.addDevice({ patientId: patient.id });
    const client: MqttClient = await connectAsync(`mqtt://127.0.0.1:${gateway.mqttPort}`, { clientId: device.id, username: device.id, password: secret, reconnectPeriod: 0 });
    held.length = 0;
    try {
      const sent = Array.from({ length: 30 }, (_, i) => client.publishAsync(topic(device.id), `m${i}`, { qos: 1 }));
      await waitFor(() => held.length === 30);
      for (const h of held) h.commit();
      await Promise.all(sent);
      // A ping and one more publish after the absorbed completions: the connection is still read.
      held.length = 0;
      const last = client.publishAsync(topic(device.id), 'after', { qos: 1 });
      await waitFor(() => held.length === 1);
      held[0]!.commit();
      await last;
      expect(held.map((h) => h.payload)).toEqual(['after']);
    } finally {
      await client.endAsync(true);
    }
  });
});
