import type { MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/temp.js';
import { connectPacket, publishPacket, rawSocket } from './support/raw-mqtt.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';
import { logInto } from './support/log-lines.js';

/**
 * What a security tester got past the gateway's bounds: a device's rate reset by reconnecting, the log grown
 * without bound by one connection, and CONNECTs of a bad protocol level or name closed without a word.
 */

const topic = (deviceId: string, kind: string) => `rpm/v1/devices/${deviceId}/${kind}`;
const reading = (id: string) => JSON.stringify({ type: 'heart_rate', time: new Date().toISOString(), value: 61, id });

async function metric(t: TestVigil, name: string): Promise<number> {
  const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/** Vigil in this process with its log kept: the parsed lines and the bytes written. */
async function startLogged(env: Record<string, string>) {
  const lines: Record<string, unknown>[] = [];
  let bytes = 0;
  const log = logInto(lines, (chunk) => (bytes += chunk.length));
  const t = await startTestVigil({ VIGIL_LOG_LEVEL: 'info', ...env }, undefined, { log });
  return { t, lines, bytes: () => bytes };
}

/** Publishes readings one by one until one is refused (the connection closes) or `n` are acknowledged. */
async function publishUntilRefused(client: MqttClient, deviceId: string, n: number, tag: string): Promise<number> {
  const closed = new Promise<'closed'>((resolve) => client.once('close', () => resolve('closed')));
  for (let i = 0; i < n; i++) {
    const outcome = await Promise.race([client.publishAsync(topic(deviceId, 'readings'), reading(`${tag}-${i}`), { qos: 1 }).then(() => 'acked' as const), closed]);
    if (outcome === 'closed') return i;
  }
  return n;
}

describe('a device rate limit survives reconnects', () => {
  let t: TestVigil;
  beforeAll(async () => {
    // A burst of 5 and practically no refill (one token per 1,000 s), no waiting: the bucket is the only variable.
    t = await startTestVigil({ VIGIL_DEVICE_RATE: '0.001', VIGIL_DEVICE_BURST: '5', VIGIL_DEVICE_MAX_WAIT_MS: '0' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('acknowledges one burst in all, however often the device reconnects', async () => {
    const dev = await t.provision();
    const acked: number[] = [];
    for (let round = 0; round < 3; round++) {
      const client = await t.connectDevice(dev, { clean: true });
      acked.push(await publishUntilRefused(client, dev.deviceId, 5, `r${round}`));
      await client.endAsync(true);
      // The gateway has seen the connection go (its last one) before the next round connects.
      await waitFor(async () => (await metric(t, 'vigil_devices_connected')) === 0, { what: 'the device disconnected' });
    }
    expect(acked).toEqual([5, 0, 0]);
    expect(await metric(t, 'vigil_mqtt_refused_total{code="VIGIL_ERR_RATE_LIMITED"}')).toBe(2);
  });
});

describe('one device connection cannot grow the log without bound', () => {
  let t: TestVigil;
  let lines: Record<string, unknown>[];
  let logBytes: () => number;
  beforeAll(async () => {
    ({ t, lines, bytes: logBytes } = await startLogged({ VIGIL_DEVICE_RATE: '0.001', VIGIL_DEVICE_BURST: '5', VIGIL_DEVICE_MAX_WAIT_MS: '0' }));
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('refuses 20 subscriptions of four 60 KB filters with a few short log lines, each counted', async () => {
    const dev = await t.provision();
    const client = await t.connectDevice(dev, { clean: true });
    const before = logBytes();
    for (let i = 0; i < 20; i++) {
      const filters = Array.from({ length: 4 }, (_, k) => `${topic(dev.deviceId, `${i}-${k}-`)}${'x'.repeat(60_000)}`);
      // mqtt.js rejects a SUBACK with failures; the codes are on the packet it carries.
      const granted = await client.subscribeAsync(filters, { qos: 1 }).then(
        (g) => g.map((s) => s.qos),
        (err: { packet?: { granted?: number[] } }) => err.packet?.granted,
      );
      expect(granted).toEqual([128, 128, 128, 128]);
    }
    expect(client.connected).toBe(true);
    expect(await metric(t, 'vigil_mqtt_refused_total{code="VIGIL_ERR_FOREIGN_TOPIC"}')).toBe(80);
    // 80 refusals of 4.8 MB of filters: one line (the rest counted in the line that ends the interval, 10 s on),
    // with the topic cut short.
    const refused = lines.filter((l) => l.deviceId === dev.deviceId && l.msg === 'subscription refused');
    expect(refused).toHaveLength(1);
    expect(String(refused[0]!.topic).length).toBeLessThan(200);
    expect(refused[0]!.topicLength).toBe(topic(dev.deviceId, '0-0-').length + 60_000);
    expect(logBytes() - before).toBeLessThan(16 * 1024);
  });

  it('logs a refused login\'s username cut to an id\'s length, with its full length', async () => {
    // A username no device has, as long as the 4 KB CONNECT allows.
    const username = 'u'.repeat(3_000);
    const raw = rawSocket(t.vigil.mqttPort);
    await raw.connected;
    raw.socket.write(connectPacket('c-1', username, 'guess'));
    await raw.closed;
    const [line] = lines.filter((l) => l.msg === 'device connection refused' && l.reason === 'unknown');
    expect(JSON.stringify(line).length).toBeLessThan(1_000);
    expect(line).toMatchObject({ deviceId: `${'u'.repeat(64)}…`, deviceIdLength: 3_000, count: 1 });
  });

  it('logs one refusal line for a thousand publishes pipelined past the rate limit, and counts them all', async () => {
    const dev = await t.provision();
    const raw = rawSocket(t.vigil.mqttPort);
    await raw.connected;
    raw.socket.write(connectPacket(dev.deviceId, dev.deviceId, dev.secret));
    await waitFor(() => raw.received().length >= 4, { what: 'the CONNACK' });
    expect([...raw.received().subarray(0, 4)]).toEqual([0x20, 0x02, 0x00, 0x00]);
    // One write: the first five use up the burst, the rest are refused as they are parsed.
    const publishes = Array.from({ length: 1000 }, (_, i) => publishPacket(topic(dev.deviceId, 'readings'), i + 1, reading(`p-${i}`)));
    raw.socket.write(Buffer.concat(publishes));
    await raw.closed;
    const counted = await metric(t, 'vigil_mqtt_refused_total{code="VIGIL_ERR_RATE_LIMITED"}');
    expect(counted).toBeGreaterThan(1);
    const refused = lines.filter((l) => l.deviceId === dev.deviceId && l.msg === 'refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ code: 'VIGIL_ERR_RATE_LIMITED', count: 1 });
  });
});

describe('a CONNECT the MQTT parser cannot accept is refused in words', () => {
  let t: TestVigil;
  let lines: Record<string, unknown>[];
  beforeAll(async () => {
    ({ t, lines } = await startLogged({}));
  });
  afterAll(async () => {
    await t?.stop();
  });

  const refusals = (reason: string) => metric(t, `vigil_mqtt_connections_refused_total{reason="${reason}"}`);

  async function sendConnect(options: Parameters<typeof connectPacket>[3]): Promise<Buffer> {
    const raw = rawSocket(t.vigil.mqttPort);
    await raw.connected;
    raw.socket.write(connectPacket('bad-connect', 'bad-connect', 'secret', options));
    await raw.closed;
    return raw.received();
  }

  it('answers protocol levels 9 and 0 with CONNACK 1, counted and logged', async () => {
    expect([...(await sendConnect({ level: 9 }))]).toEqual([0x20, 0x02, 0x00, 0x01]);
    expect([...(await sendConnect({ level: 0 }))]).toEqual([0x20, 0x02, 0x00, 0x01]);
    expect(await refusals('protocol_version')).toBe(2);
    const line = lines.find((l) => l.reason === 'protocol_version');
    expect(line).toMatchObject({ protocolVersion: 9, remote: '127.0.0.1' });
  });

  it('answers CONNACK 1 over MQTT on WebSocket too (the same guard)', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${t.vigil.httpPort}/mqtt`, 'mqtt');
    const received: Buffer[] = [];
    ws.on('message', (data: Buffer) => received.push(data));
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send(connectPacket('bad-connect', 'bad-connect', 'secret', { level: 9 }));
    await closed;
    expect([...Buffer.concat(received)]).toEqual([0x20, 0x02, 0x00, 0x01]);
    expect(await refusals('protocol_version')).toBe(3);
  });

  it('closes a CONNECT with protocol name "XXXX", counted and logged', async () => {
    expect((await sendConnect({ protocolName: 'XXXX' })).length).toBe(0);
    expect(await refusals('protocol_name')).toBe(1);
    expect(lines.some((l) => l.reason === 'protocol_name' && l.remote === '127.0.0.1')).toBe(true);
  });

  it('counts and logs any other CONNECT the parser refuses (the reserved flag set)', async () => {
    await sendConnect({ flags: 0xc3 });
    await waitFor(async () => (await refusals('malformed_packet')) === 1, { what: 'the malformed CONNECT counted' });
    expect(lines.some((l) => l.reason === 'malformed_packet' && l.remote === '127.0.0.1')).toBe(true);
  });
});
