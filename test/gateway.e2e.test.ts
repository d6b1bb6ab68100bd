import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenErrors, startTestVigil, type TestVigil } from './support/vigil.js';
import { waitFor } from './support/temp.js';

const topic = (deviceId: string, kind: string) => `rpm/v1/devices/${deviceId}/${kind}`;
const iso = (offsetMs = 0) => new Date(Date.now() + offsetMs).toISOString();

async function metric(t: TestVigil, name: string): Promise<number> {
  const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

async function stored(t: TestVigil, patientId: string, type: Parameters<TestVigil['vigil']['ingest']['store']['queryRaw']>[0]['type']) {
  return t.vigil.ingest.store.queryRaw({ patientId, type, from: 0, to: Date.now() + 3_600_000 });
}

describe('gateway and ingest, end to end over real MQTT', () => {
  let t: TestVigil;
  beforeAll(async () => {
    t = await startTestVigil({ VIGIL_DEVICE_RATE: '50', VIGIL_DEVICE_BURST: '200', VIGIL_MAX_PAYLOAD_BYTES: '4096' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('acknowledges a valid reading after it is durable, then stores it for the right patient', async () => {
    const dev = await t.provision();
    const client = await t.connectDevice(dev);
    await client.publishAsync(topic(dev.deviceId, 'readings'), JSON.stringify({ type: 'blood_pressure', time: iso(), systolic: 16, diastolic: 10, unit: 'kPa', pulse: 66 }), { qos: 1 });
    const points = await waitFor(async () => {
      const p = await stored(t, dev.patientId, 'blood_pressure');
      return p.length > 0 && p;
    });
    expect(points[0]).toMatchObject({ deviceId: dev.deviceId, fields: { systolic: 120, diastolic: 75, pulse: 66 } });
    // Connection state is written in batches (every 100 ms), not on the connect itself.
    await waitFor(() => t.vigil.registry.getDevice(dev.deviceId)?.online, { what: 'the device recorded online' });
  });

  it('accepts the good readings of a batch and rejects each bad one with its reason, on the errors topic and in the log', async () => {
    const dev = await t.provision();
    const client = await t.connectDevice(dev);
    const errors = await listenErrors(client, dev.deviceId);
    const batch = [
      { type: 'glucose', time: iso(-3 * 3_600_000), value: 6.1, unit: 'mmol/L', source: 'meter', id: 'g1' },
      { type: 'glucose', time: iso(), value: 2000, unit: 'mg/dL', source: 'meter', id: 'g2' },
      { type: 'blood_pressure', time: iso(), systolic: 80, diastolic: 90, id: 'bp1' },
      { type: 'spo2', time: iso(3_600_000), value: 97, id: 's1' },
      { type: 'weight', time: iso(), value: 80 },
      { type: 'thermostat', time: iso() },
      'not an object',
      { type: 'weight', time: iso(), value: 176, unit: 'lb', id: 'w1' },
    ];
    await client.publishAsync(topic(dev.deviceId, 'readings'), JSON.stringify(batch), { qos: 1 });
    // One errors message for the publish (v2 summary); its top level is the first rejection in the v1 shape.
    await waitFor(() => errors.length >= 1, { what: 'the rejections summary' });
    const summary = errors[0] as unknown as { ref: string; code: string; rejected: number; omitted: number; errors: { ref: string; code: string; message: string }[] };
    expect(errors).toHaveLength(1);
    expect(summary).toMatchObject({ ref: 'g2', code: 'VIGIL_ERR_OUT_OF_RANGE', rejected: 6, omitted: 0 });
    expect(summary.errors.map((e) => [e.ref, e.code])).toEqual([
      ['g2', 'VIGIL_ERR_OUT_OF_RANGE'],
      ['bp1', 'VIGIL_ERR_BP_ORDER'],
      ['s1', 'VIGIL_ERR_FUTURE_TIME'],
      ['4', 'VIGIL_ERR_SCHEMA'],
      ['5', 'VIGIL_ERR_UNKNOWN_TYPE'],
      ['6', 'VIGIL_ERR_NOT_A_READING'],
    ]);
    expect(summary.errors[3]!.message).toMatch(/unit/);
    const glucose = await waitFor(async () => (await stored(t, dev.patientId, 'glucose')).length === 1 && stored(t, dev.patientId, 'glucose'));
    expect(glucose[0]!.fields.value).toBeCloseTo(109.9, 1);
    const weight = await waitFor(async () => (await stored(t, dev.patientId, 'weight')).length === 1 && stored(t, dev.patientId, 'weight'));
    expect(weight[0]!.fields.value).toBeCloseTo(79.832, 3);
    const recorded = t.vigil.ingest.rejections.recent({ deviceId: dev.deviceId });
    expect(recorded).toHaveLength(1);
    expect(recorded[0]!.examples.map((e) => e.code)).toEqual(summary.errors.map((e) => e.code));
    expect(await metric(t, 'vigil_readings_rejected_total{code="VIGIL_ERR_BP_ORDER"}')).toBeGreaterThanOrEqual(1);
    expect(await metric(t, 'vigil_readings_late_total')).toBeGreaterThanOrEqual(1);
  });

  it('rejects a payload that is not JSON, or too large, and keeps serving the same connection', async () => {
    const dev = await t.provision();
    const client = await t.connectDevice(dev);
    const errors = await listenErrors(client, dev.deviceId);
    await client.publishAsync(topic(dev.deviceId, 'readings'), '{"type": "weight", ', { qos: 1 });
    await client.publishAsync(topic(dev.deviceId, 'readings'), Buffer.from([0xff, 0xfe, 0x00]), { qos: 1 });
    const big = JSON.stringify(Array.from({ length: 100 }, () => ({ type: 'heart_rate', time: iso(), value: 70 })));
    expect(big.length).toBeGreaterThan(4096);
    await client.publishAsync(topic(dev.deviceId, 'readings'), big, { qos: 1 });
    await client.publishAsync(topic(dev.deviceId, 'readings'), JSON.stringify({ type: 'heart_rate', time: iso(), value: 70 }), { qos: 1 });
    await waitFor(() => errors.length >= 3);
    expect(errors.map((e) => e.code)).toEqual(['VIGIL_ERR_NOT_JSON', 'VIGIL_ERR_NOT_JSON', 'VIGIL_ERR_PAYLOAD_TOO_LARGE']);
    await waitFor(async () => (await stored(t, dev.patientId, 'heart_rate')).length === 1);
    expect(client.connected).toBe(true);
  });

  it('stores a reading sent twice once', async () => {
    const dev = await t.provision();
    const client = await t.connectDevice(dev);
    const before = await metric(t, 'vigil_readings_duplicate_total');
    const payload = JSON.stringify({ type: 'temperature', time: iso(), value: 37.1, unit: 'Cel', id: 'dup-1' });
    await client.publishAsync(topic(dev.deviceId, 'readings'), payload, { qos: 1 });
    await client.publishAsync(topic(dev.deviceId, 'readings'), payload, { qos: 1 });
    await client.publishAsync(topic(dev.deviceId, 'readings'), JSON.stringify([JSON.parse(payload), JSON.parse(payload)]), { qos: 1 });
    await waitFor(async () => (await stored(t, dev.patientId, 'temperature')).length === 1);
    expect(await metric(t, 'vigil_readings_duplicate_total')).toBe(before + 3);
  });

  it('refuses unknown devices, wrong secrets, revoked devices and borrowed client ids', async () => {
    const dev = await t.provision();
    const refusal = (p: Promise<unknown>) => p.then(() => 'connected', (err: { code?: number }) => err.code);
    expect(await refusal(t.connectDevice({ deviceId: 'nobody', secret: 'x' }))).toBe(4);
    expect(await refusal(t.connectDevice({ deviceId: dev.deviceId, secret: `${dev.secret}x` }))).toBe(4);
    expect(await refusal(t.connectDevice(dev, { clientId: 'someone-else' }))).toBe(5);
    expect(await refusal(t.connectDevice(dev, { clientId: `${dev.deviceId}.listener` }))).toBe('connected');
    await t.vigil.registry.revokeDevice(dev.deviceId);
    expect(await refusal(t.connectDevice(dev, { clientId: `${dev.deviceId}.again` }))).toBe(5);
    expect(await metric(t, 'vigil_mqtt_auth_failures_total{reason="bad-secret"}')).toBeGreaterThanOrEqual(1);
  });

  it('disconnects a device that publishes under another device, and refuses foreign subscriptions', async () => {
    const a = await t.provision();
    const b = await t.provision();
    const clientA = await t.connectDevice(a);
    const clientB = await t.connectDevice(b);
    // SUBACK 0x80: mqtt.js turns a refused subscription into an error; the connection stays up.
    await expect(clientA.subscribeAsync(topic(b.deviceId, 'errors'), { qos: 1 })).rejects.toThrow(/Subscribe error/);
    await expect(clientA.subscribeAsync('rpm/v1/#', { qos: 1 })).rejects.toThrow(/Subscribe error/);
    expect(clientA.connected).toBe(true);
    const closed = new Promise<void>((resolve) => clientA.once('close', () => resolve()));
    clientA.publish(topic(b.deviceId, 'readings'), JSON.stringify({ type: 'heart_rate', time: iso(), value: 70 }), { qos: 1 });
    await closed;
    await clientB.publishAsync(topic(b.deviceId, 'readings'), JSON.stringify({ type: 'heart_rate', time: iso(), value: 71 }), { qos: 1 });
    const points = await waitFor(async () => {
      const p = await stored(t, b.patientId, 'heart_rate');
      return p.length > 0 && p;
    });
    expect(points.map((p) => p.fields.value)).toEqual([71]);
    expect(await stored(t, a.patientId, 'heart_rate')).toEqual([]);
  });

  it('closes the connection of a device revoked while connected', async () => {
    const dev = await t.provision();
    const client = await t.connectDevice(dev);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    await t.vigil.registry.revokeDevice(dev.deviceId);
    await closed;
    expect(t.vigil.registry.getDevice(dev.deviceId)?.revokedAt).not.toBeNull();
  });

  it('accepts readings over MQTT on WebSocket', async () => {
    const dev = await t.provision();
    const client = await t.connectDevice(dev, { url: `ws://127.0.0.1:${t.vigil.httpPort}/mqtt` });
    await client.publishAsync(topic(dev.deviceId, 'readings'), JSON.stringify({ type: 'steps', time: iso(), count: 420, periodSeconds: 3600 }), { qos: 1 });
    await waitFor(async () => (await stored(t, dev.patientId, 'steps')).length === 1);
  });

  it('marks a device offline through its last will, and records its status', async () => {
    const dev = await t.provision();
    const client = await t.connectDevice(dev, { will: { topic: topic(dev.deviceId, 'status'), payload: Buffer.from('{"online":false}'), qos: 1, retain: true } });
    await client.publishAsync(topic(dev.deviceId, 'status'), JSON.stringify({ online: true, battery: 42, firmware: '2.1.0' }), { qos: 1, retain: true });
    await waitFor(() => t.vigil.registry.getDevice(dev.deviceId)?.battery === 42);
    expect(t.vigil.registry.getDevice(dev.deviceId)).toMatchObject({ online: true, firmware: '2.1.0' });
    client.stream.destroy();
    await waitFor(() => t.vigil.registry.getDevice(dev.deviceId)?.online === false, { what: 'device offline' });
  });

  it('records the sensor warm-up a status declares, keeps it across a lost link, and ends it with a ready status', async () => {
    const dev = await t.provision();
    const device = () => t.vigil.registry.listDevices().find((d) => d.id === dev.deviceId)!;
    const will = { topic: topic(dev.deviceId, 'status'), payload: Buffer.from('{"online":false}'), qos: 1 as const, retain: true };
    const first = await t.connectDevice(dev, { will });
    // Two hours ahead, written with an offset as a device in Central Europe would.
    const until = Math.floor((Date.now() + 2 * 3_600_000) / 1000) * 1000;
    const local = new Date(until + 3_600_000).toISOString().replace('Z', '+01:00');
    await first.publishAsync(topic(dev.deviceId, 'status'), JSON.stringify({ online: true, battery: 80, warmUpUntil: local }), { qos: 1, retain: true });
    await waitFor(() => device().warmUpUntil === until, { what: 'the warm-up recorded' });

    first.stream.destroy();
    await waitFor(() => device().online === false, { what: 'the last will' });
    expect(device().warmUpUntil).toBe(until);
    const second = await t.connectDevice(dev, { will });
    await waitFor(() => device().online, { what: 'online again' });
    expect(device().warmUpUntil).toBe(until);

    await second.publishAsync(topic(dev.deviceId, 'status'), JSON.stringify({ online: true, battery: 79 }), { qos: 1, retain: true });
    await waitFor(() => device().battery === 79);
    expect(device()).toMatchObject({ warmUpUntil: null, assignedAt: expect.any(Number) });
  });

  it('refuses a warm-up without an offset or implausibly far ahead, and keeps the stored status', async () => {
    const dev = await t.provision();
    const client = await t.connectDevice(dev);
    const errors = await listenErrors(client, dev.deviceId);
    await client.publishAsync(topic(dev.deviceId, 'status'), JSON.stringify({ online: true, warmUpUntil: '2026-11-22T11:00:00' }), { qos: 1, retain: true });
    await client.publishAsync(topic(dev.deviceId, 'status'), JSON.stringify({ online: true, battery: 5, warmUpUntil: iso(72 * 3_600_000) }), { qos: 1, retain: true });
    await waitFor(() => errors.length === 2);
    expect(errors.map((e) => e.code)).toEqual(['VIGIL_ERR_BAD_STATUS', 'VIGIL_ERR_BAD_STATUS']);
    expect(errors[1]!.message).toMatch(/warmUpUntil is more than 48 h ahead/);
    expect(t.vigil.registry.getDevice(dev.deviceId)).toMatchObject({ battery: null, warmUpUntil: null });
    expect(client.connected).toBe(true);
  });

  it('rejects a malformed status without disconnecting', async () => {
    const dev = await t.provision();
    const client = await t.connectDevice(dev);
    const errors = await listenErrors(client, dev.deviceId);
    await client.publishAsync(topic(dev.deviceId, 'status'), '{"online":"maybe"}', { qos: 1, retain: true });
    await waitFor(() => errors.length === 1);
    expect(errors[0]).toMatchObject({ ref: 'status', code: 'VIGIL_ERR_BAD_STATUS' });
    expect(client.connected).toBe(true);
  });

  it('serves /healthz, /readyz and /metrics', async () => {
    expect((await fetch(`${t.httpUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${t.httpUrl}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(body.status).toBe('ready');
    expect(body.checks.broker?.ok).toBe(true);
    expect(body.checks.outbox).toMatchObject({ ok: true, writable: true });
    const metrics = await (await fetch(`${t.httpUrl}/metrics`)).text();
    for (const name of ['vigil_readings_accepted_total', 'vigil_outbox_depth', 'vigil_outbox_oldest_age_seconds', 'vigil_store_write_duration_seconds', 'vigil_devices_connected']) {
      expect(metrics).toContain(name);
    }
  });
});

describe('per-device rate limit', () => {
  let t: TestVigil;
  beforeAll(async () => {
    t = await startTestVigil({ VIGIL_DEVICE_RATE: '5', VIGIL_DEVICE_BURST: '5', VIGIL_DEVICE_MAX_WAIT_MS: '300' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('slows a burst, then refuses without acknowledging, and loses none of what it acknowledged', async () => {
    const dev = await t.provision();
    const client = await t.connectDevice(dev);
    const errors = await listenErrors(client, dev.deviceId);
    const ackedTimes: number[] = [];
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    for (let i = 0; i < 40; i++) {
      const time = iso(-i * 1000);
      client.publish(topic(dev.deviceId, 'readings'), JSON.stringify({ type: 'heart_rate', time, value: 60 + (i % 30), id: `r${i}` }), { qos: 1 }, (err) => {
        if (!err) ackedTimes.push(Date.parse(time));
      });
    }
    await closed;
    expect(ackedTimes.length).toBeGreaterThanOrEqual(5);
    expect(ackedTimes.length).toBeLessThan(40);
    // Every acknowledged reading is stored. A reading made durable whose PUBACK the refusal's disconnect cut off
    // may be stored too: the device, never having had its PUBACK, sends it again and it is stored once.
    await waitFor(
      async () => {
        const times = new Set((await stored(t, dev.patientId, 'heart_rate')).map((p) => p.time));
        return ackedTimes.every((time) => times.has(time));
      },
      { what: 'every acknowledged reading stored' },
    );
    expect(errors.some((e) => e.code === 'VIGIL_ERR_RATE_LIMITED') || (await metric(t, 'vigil_mqtt_refused_total{code="VIGIL_ERR_RATE_LIMITED"}')) > 0).toBe(true);
    // The gateway keeps serving: another device publishes normally.
    const other = await t.provision();
    const otherClient = await t.connectDevice(other);
    await otherClient.publishAsync(topic(other.deviceId, 'readings'), JSON.stringify({ type: 'heart_rate', time: iso(), value: 64 }), { qos: 1 });
  });
});
