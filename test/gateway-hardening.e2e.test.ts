import { MqttClient, type IClientOptions } from 'mqtt';
import { createConnection, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Gateway } from '../gateway/index.js';
import { connectPacket, publishPacket, rawSocket, utf8, varint } from './support/raw-mqtt.js';
import { waitFor } from './support/temp.js';
import { startTestGateway, type TestGateway } from './support/test-gateway.js';
import { listenErrors, startTestVigil, type TestVigil } from './support/vigil.js';

/**
 * The attacks of issue 13 ("Hardening"), items 1, 2, 4, 5 and 6 (MQTT), each against lowered limits on
 * loopback, with several loopback addresses where per-address behaviour matters. Each would pass through the
 * gateway as it was before the issue.
 */

const topic = (deviceId: string, kind: string) => `rpm/v1/devices/${deviceId}/${kind}`;
const iso = (offsetMs = 0) => new Date(Date.now() + offsetMs).toISOString();
const MB = 1024 * 1024;

async function metric(t: TestVigil, name: string): Promise<number> {
  const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/** Writes up to `bytes` zeros in 64 KB chunks, stopping when the peer has closed. */
async function stream(socket: Socket | { write(b: Buffer): unknown }, bytes: number, isClosed: () => boolean): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024);
  for (let sent = 0; sent < bytes && !isClosed(); sent += chunk.length) {
    socket.write(chunk);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** An MQTT device connection from a given loopback address: resolves 'connected' or the CONNACK refusal code. */
function connectFrom(port: number, localAddress: string, creds: { deviceId: string; secret: string }, options: IClientOptions = {}) {
  const client = new MqttClient(() => createConnection({ port, host: '127.0.0.1', localAddress }), {
    protocolVersion: 4,
    clientId: creds.deviceId,
    username: creds.deviceId,
    password: creds.secret,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...options,
  });
  const outcome = new Promise<'connected' | number | string>((resolve) => {
    client.once('connect', () => resolve('connected'));
    client.once('error', (err: Error & { code?: number | string }) => resolve(err.code ?? err.message));
    client.once('close', () => resolve('closed'));
  });
  return { client, outcome };
}

describe('item 2: the byte stream is guarded before the MQTT parser', () => {
  let t: TestVigil;
  beforeAll(async () => {
    t = await startTestVigil({ VIGIL_MAX_PAYLOAD_BYTES: '65536', VIGIL_DEVICE_RATE: '1000', VIGIL_DEVICE_BURST: '1000' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('closes an unauthenticated TCP connection at a header declaring 255 MB, without reading the bytes', async () => {
    const publish = rawSocket(t.vigil.mqttPort, '127.0.0.2');
    await publish.connected;
    publish.socket.write(Buffer.concat([Buffer.from([0x30]), varint(255 * MB)]));
    await stream(publish.socket, 8 * MB, publish.isClosed);
    await publish.closed;
    expect(await metric(t, 'vigil_mqtt_connections_refused_total{reason="first_packet_not_connect"}')).toBe(1);

    const connect = rawSocket(t.vigil.mqttPort, '127.0.0.2');
    await connect.connected;
    connect.socket.write(Buffer.concat([Buffer.from([0x10]), varint(255 * MB)]));
    await stream(connect.socket, 8 * MB, connect.isClosed);
    await connect.closed;
    expect(await metric(t, 'vigil_mqtt_connections_refused_total{reason="connect_too_large"}')).toBe(1);
  });

  it('closes an authenticated connection at a PUBLISH declaring 200 MB, and serves the device when it comes back', async () => {
    const dev = await t.provision();
    const client = await t.connectDevice(dev);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    let isClosed = false;
    void closed.then(() => (isClosed = true));
    client.stream.write(Buffer.concat([Buffer.from([0x32]), varint(200 * MB), utf8(topic(dev.deviceId, 'readings')), Buffer.from([0, 1])]));
    await stream(client.stream, 8 * MB, () => isClosed);
    await closed;
    expect(await metric(t, 'vigil_mqtt_connections_refused_total{reason="packet_too_large"}')).toBe(1);

    const again = await t.connectDevice(dev, { clean: true });
    await again.publishAsync(topic(dev.deviceId, 'readings'), JSON.stringify({ type: 'heart_rate', time: iso(), value: 61 }), { qos: 1 });
  });

  it('still refuses a payload a little over the limit politely, on the same connection', async () => {
    const dev = await t.provision();
    const client = await t.connectDevice(dev);
    const errors = await listenErrors(client, dev.deviceId);
    await client.publishAsync(topic(dev.deviceId, 'readings'), Buffer.alloc(70_000, 0x20), { qos: 1 });
    await waitFor(() => errors.length === 1);
    expect(errors[0]).toMatchObject({ code: 'VIGIL_ERR_PAYLOAD_TOO_LARGE' });
    expect(client.connected).toBe(true);
  });

  it('serves a device that sends its first PUBLISH right behind CONNECT, before the CONNACK', async () => {
    const dev = await t.provision();
    const raw = rawSocket(t.vigil.mqttPort);
    await raw.connected;
    const reading = JSON.stringify({ type: 'heart_rate', time: iso(), value: 66, id: 'pipelined' });
    raw.socket.write(Buffer.concat([connectPacket(dev.deviceId, dev.deviceId, dev.secret), publishPacket(topic(dev.deviceId, 'readings'), 7, reading)]));
    // CONNACK accepted, then PUBACK of packet 7.
    await waitFor(() => raw.received().includes(Buffer.from([0x40, 0x02, 0x00, 0x07])), { what: 'the PUBACK' });
    expect([...raw.received().subarray(0, 4)]).toEqual([0x20, 0x02, 0x00, 0x00]);
    raw.socket.destroy();
  });

  it('guards MQTT over WebSocket the same way, and refuses a browser from another Origin', async () => {
    const url = `ws://127.0.0.1:${t.vigil.httpPort}/mqtt`;
    const ws = new WebSocket(url, 'mqtt');
    const wsClosed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send(Buffer.concat([Buffer.from([0x10]), varint(255 * MB)]));
    let isClosed = false;
    void wsClosed.then(() => (isClosed = true));
    for (let i = 0; i < 64 && !isClosed; i++) {
      ws.send(Buffer.alloc(32 * 1024));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await wsClosed;
    expect(await metric(t, 'vigil_mqtt_connections_refused_total{reason="connect_too_large"}')).toBeGreaterThanOrEqual(1);

    const browser = new WebSocket(url, 'mqtt', { headers: { origin: 'https://evil.example' } });
    browser.on('error', () => undefined);
    const code = await new Promise<number>((resolve) => browser.once('close', (c) => resolve(c)));
    expect(code).toBe(1008);
    expect(await metric(t, 'vigil_mqtt_connections_refused_total{reason="origin"}')).toBe(1);
  });
});

describe('item 1: sessions per device and errors messages are bounded', () => {
  let t: TestVigil;
  beforeAll(async () => {
    t = await startTestVigil({ VIGIL_MAX_SESSIONS_PER_DEVICE: '2', VIGIL_MAX_BATCH: '2000', VIGIL_MAX_PAYLOAD_BYTES: '262144' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('holds at most the bound of client ids per device: a third is refused while two are online, and replaces an offline one', async () => {
    const dev = await t.provision();
    const a = await t.connectDevice(dev, { clientId: `${dev.deviceId}.a` });
    await t.connectDevice(dev, { clientId: `${dev.deviceId}.b` });
    const refusal = await t.connectDevice(dev, { clientId: `${dev.deviceId}.c` }).then(
      () => 'connected',
      (err: { code?: number }) => err.code,
    );
    expect(refusal).toBe(3);
    expect(await metric(t, 'vigil_mqtt_auth_failures_total{reason="max_sessions"}')).toBe(1);
    await a.endAsync();
    await waitFor(async () => (await t.connectDevice(dev, { clientId: `${dev.deviceId}.c` }).then(() => true, () => false)), { what: 'the third session admitted' });
    expect(await metric(t, 'vigil_mqtt_sessions_evicted_total')).toBe(1);
  });

  it('sends one errors message per publish, however many readings it rejects, and queues none for offline sessions', async () => {
    const dev = await t.provision();
    const publisher = await t.connectDevice(dev);
    const bad = (n: number, tag: string) => JSON.stringify(Array.from({ length: n }, (_, i) => ({ type: 'heart_rate', time: iso(), value: 9_999, id: `${tag}-${i}` })));

    // A listener with a persistent session subscribes, then goes away.
    const listenerId = `${dev.deviceId}.errors`;
    const first = await t.connectDevice(dev, { clientId: listenerId, clean: false });
    await first.subscribeAsync(topic(dev.deviceId, 'errors'), { qos: 1 });
    await first.endAsync();
    // While it is away, three publishes of 1,000 rejected readings each.
    for (let k = 0; k < 3; k++) await publisher.publishAsync(topic(dev.deviceId, 'readings'), bad(1000, `away${k}`), { qos: 1 });

    const back = await t.connectDevice(dev, { clientId: listenerId, clean: false });
    const received: { ref: string; rejected: number; omitted: number; errors: unknown[] }[] = [];
    back.on('message', (_t, payload) => received.push(JSON.parse(payload.toString('utf8'))));
    await back.subscribeAsync(topic(dev.deviceId, 'errors'), { qos: 1 });
    await publisher.publishAsync(topic(dev.deviceId, 'readings'), bad(1000, 'online'), { qos: 1 });
    await publisher.publishAsync(topic(dev.deviceId, 'readings'), bad(1, 'marker'), { qos: 1 });
    await waitFor(() => received.some((m) => m.ref === 'marker-0'), { what: 'the marker summary' });
    // Nothing queued while it was away; one message for the 1,000, then the marker.
    expect(received.map((m) => m.ref)).toEqual(['online-0', 'marker-0']);
    expect(received[0]).toMatchObject({ rejected: 1000, omitted: 980 });
    expect(received[0]!.errors).toHaveLength(20);
    // Every rejection is still kept in the rejection log: one record per publish, counting them all.
    const recorded = t.vigil.ingest.rejections.recent({ deviceId: dev.deviceId, limit: 5000 });
    expect(recorded.map((r) => r.rejected)).toEqual([1, 1000, 1000, 1000, 1000]);
  });
});

describe('item 4: connection limits and the CONNECT deadline', () => {
  let t: TestVigil;
  beforeAll(async () => {
    t = await startTestVigil({ VIGIL_MQTT_MAX_CONNECTIONS: '12', VIGIL_MQTT_MAX_CONNECTIONS_PER_ADDRESS: '4', VIGIL_MQTT_CONNECT_TIMEOUT_MS: '1500' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('refuses idle sockets past the per-address and global caps, closes them at the deadline, and lets devices in again', async () => {
    const dev = await t.provision();
    const idle: ReturnType<typeof rawSocket>[] = [];
    const open = async (address: string) => {
      const s = rawSocket(t.vigil.mqttPort, address);
      idle.push(s);
      await s.connected;
      return s;
    };
    for (let i = 0; i < 4; i++) await open('127.0.0.2');
    await waitFor(async () => (await metric(t, 'vigil_mqtt_connections_open')) === 4);
    const fifth = await open('127.0.0.2');
    await fifth.closed;
    expect(await metric(t, 'vigil_mqtt_connections_refused_total{reason="max_connections_per_address"}')).toBe(1);

    for (const address of ['127.0.0.3', '127.0.0.4']) for (let i = 0; i < 4; i++) await open(address);
    await waitFor(async () => (await metric(t, 'vigil_mqtt_connections_open')) === 12);
    const over = await open('127.0.0.5');
    await over.closed;
    expect(await metric(t, 'vigil_mqtt_connections_refused_total{reason="max_connections"}')).toBe(1);
    // /healthz is served while the MQTT side is full.
    expect((await fetch(`${t.httpUrl}/healthz`)).status).toBe(200);

    // None of them sent CONNECT: each is closed at the deadline, and a device gets in.
    await Promise.all(idle.map((s) => s.closed));
    expect(await metric(t, 'vigil_mqtt_connections_refused_total{reason="connect_deadline"}')).toBe(12);
    // Logged-in connections no longer count against their address (a fleet behind one NAT address): more
    // devices than the per-address cap connect from 127.0.0.2, one after the other.
    const fleet = await Promise.all(Array.from({ length: 6 }, () => t.provision()));
    const clients = [];
    for (const d of fleet) {
      const { outcome, client } = connectFrom(t.vigil.mqttPort, '127.0.0.2', d);
      expect(await outcome).toBe('connected');
      clients.push(client);
    }
    const { outcome, client } = connectFrom(t.vigil.mqttPort, '127.0.0.2', dev);
    expect(await outcome).toBe('connected');
    for (const c of [...clients, client]) c.end(true);
  });
});

describe('item 6: failed MQTT logins are throttled per address and per device id', () => {
  let t: TestVigil;
  beforeAll(async () => {
    t = await startTestVigil({ VIGIL_MQTT_AUTH_FAILURES_PER_MINUTE: '3', VIGIL_MQTT_DEVICE_AUTH_FAILURES_PER_MINUTE: '5' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  const attempt = async (t: TestVigil, address: string, creds: { deviceId: string; secret: string }) => {
    const { client, outcome } = connectFrom(t.vigil.mqttPort, address, creds);
    const result = await outcome;
    client.end(true);
    return result;
  };

  it('refuses an address after its failures, unchecked, while other addresses log in', async () => {
    const dev = await t.provision();
    const wrong = { ...dev, secret: `${dev.secret}x` };
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await attempt(t, '127.0.0.2', wrong));
    results.push(await attempt(t, '127.0.0.2', dev));
    expect(results).toEqual([4, 4, 4, 3]);
    expect(await attempt(t, '127.0.0.3', dev)).toBe('connected');
    expect(await metric(t, 'vigil_mqtt_auth_failures_total{reason="throttled"}')).toBe(1);
  });

  it('refuses a device id after its failures from many addresses', async () => {
    const dev = await t.provision();
    const other = await t.provision();
    const wrong = { ...dev, secret: `${dev.secret}x` };
    for (let i = 0; i < 5; i++) expect(await attempt(t, `127.0.1.${i + 1}`, wrong)).toBe(4);
    expect(await attempt(t, '127.0.1.9', wrong)).toBe(3);
    expect(await attempt(t, '127.0.1.9', other)).toBe('connected');
  });
});

describe('item 5: a status is small and never retained', () => {
  let state: TestGateway['state'];
  let gateway: Gateway;
  let stop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ state, gateway, stop } = await startTestGateway({ accept: (_deviceId, _payload, _format, answer) => answer({ rejections: [] }) }));
  });
  afterAll(() => stop?.());

  it('refuses a status over 1 KB, records a small one, and the broker retains neither, nor the last will', async () => {
    const patient = await state.registry.addPatient({ name: 'Status Patient' });
    const { device, secret } = await state.registry.addDevice({ patientId: patient.id });
    const creds = { deviceId: device.id, secret };
    const will = { topic: topic(device.id, 'status'), payload: Buffer.from('{"online":false}'), qos: 1 as const, retain: true };
    const { client, outcome } = connectFrom(gateway.mqttPort, '127.0.0.1', creds, { will, clean: false });
    expect(await outcome).toBe('connected');
    const errors = await listenErrors(client, device.id);

    await client.publishAsync(topic(device.id, 'status'), JSON.stringify({ online: true, battery: 50, padding: 'x'.repeat(200_000) }), { qos: 1, retain: true });
    await waitFor(() => errors.length === 1);
    expect(errors[0]).toMatchObject({ ref: 'status', code: 'VIGIL_ERR_BAD_STATUS' });
    expect(errors[0]!.message).toMatch(/at most 1024/);

    await client.publishAsync(topic(device.id, 'status'), JSON.stringify({ online: true, battery: 77, firmware: '3.0.1' }), { qos: 1, retain: true });
    await waitFor(() => state.registry.getDevice(device.id)?.battery === 77, { what: 'the status recorded' });
    expect(await gateway.retainedMessages()).toBe(0);

    client.stream.destroy();
    await waitFor(() => state.registry.getDevice(device.id)?.online === false, { what: 'the last will recorded' });
    expect(await gateway.retainedMessages()).toBe(0);
  });
});
