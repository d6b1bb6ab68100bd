import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenErrors, startTestVigil, type TestVigil } from './support/vigil.js';
import { waitFor } from './support/temp.js';

const senml = (deviceId: string) => `rpm/v1/devices/${deviceId}/senml`;

async function metric(t: TestVigil, name: string): Promise<number> {
  const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('SenML (RFC 8428) on rpm/v1/devices/{id}/senml, over real MQTT on the embedded broker', () => {
  let t: TestVigil;
  beforeAll(async () => {
    t = await startTestVigil();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('stores the readings of a pack for the device\'s patient, and a resent pack is acknowledged as duplicates', async () => {
    const dev = await t.provision();
    const client = await t.connectDevice(dev);
    const errors = await listenErrors(client, dev.deviceId);
    const bt = Math.floor(Date.now() / 1000) - 600;
    const pack = JSON.stringify([
      { bn: `urn:dev:mac:${dev.deviceId}:`, bt, bu: 'mmol/L', n: 'cgm-glucose', v: 6.2 },
      { n: 'cgm-glucose', t: 300, v: 6.8 },
      { n: 'systolic', u: 'mmHg', v: 128 },
      { n: 'diastolic', u: 'mmHg', v: 82 },
    ]);
    // The PUBACK (publishAsync resolving) comes once the readings are in the outbox on disk.
    await client.publishAsync(senml(dev.deviceId), pack, { qos: 1 });
    const glucose = await waitFor(async () => {
      const points = await t.vigil.ingest.store.queryRaw({ patientId: dev.patientId, type: 'glucose', from: 0, to: Date.now() });
      return points.length === 2 && points;
    }, { what: 'two CGM readings stored' });
    expect(glucose.map((p) => [p.time, p.fields.value, p.tags.source])).toEqual([
      [bt * 1000, 111.7, 'cgm'],
      [(bt + 300) * 1000, 122.5, 'cgm'],
    ]);
    const bp = await waitFor(async () => {
      const points = await t.vigil.ingest.store.queryRaw({ patientId: dev.patientId, type: 'blood_pressure', from: 0, to: Date.now() });
      return points.length === 1 && points;
    });
    expect(bp[0]!.fields).toMatchObject({ systolic: 128, diastolic: 82 });

    const before = await metric(t, 'vigil_readings_duplicate_total');
    await client.publishAsync(senml(dev.deviceId), pack, { qos: 1 });
    expect(await metric(t, 'vigil_readings_duplicate_total')).toBe(before + 3);
    expect(errors).toEqual([]);
  });

  it('rejects records it cannot map with their codes on the errors topic and in the rejection log, and a pack it must not read whole', async () => {
    const dev = await t.provision();
    const client = await t.connectDevice(dev);
    const errors = await listenErrors(client, dev.deviceId);
    const now = Math.floor(Date.now() / 1000);
    await client.publishAsync(
      senml(dev.deviceId),
      JSON.stringify([
        { bn: 'urn:dev:mac:0024befffe804ff1:', bt: now, n: 'glucose', u: 'mg/dL', v: 2_000 },
        { n: 'glucose', u: 'mg/dl', v: 100 },
        { n: 'thermostat', u: 'Cel', v: 21 },
        { n: 'weight', vs: 'heavy' },
        { n: 'weight', u: 'kg', v: 80.5 },
      ]),
      { qos: 1 },
    );
    await waitFor(() => errors.length === 1, { what: 'the rejections summary' });
    const summary = errors[0] as unknown as { rejected: number; errors: { ref: string; code: string }[] };
    expect(summary.rejected).toBe(4);
    expect(summary.errors.map((e) => [e.ref, e.code])).toEqual([
      ['0', 'VIGIL_ERR_OUT_OF_RANGE'],
      ['1', 'VIGIL_ERR_SCHEMA'],
      ['2', 'VIGIL_ERR_UNKNOWN_TYPE'],
      ['3', 'VIGIL_ERR_SENML'],
    ]);
    await waitFor(async () => (await t.vigil.ingest.store.queryRaw({ patientId: dev.patientId, type: 'weight', from: 0, to: Date.now() + 1000 })).length === 1, { what: 'the good weight stored' });
    const recorded = await waitFor(() => t.vigil.ingest.rejections.recent({ deviceId: dev.deviceId }).length === 1 && t.vigil.ingest.rejections.recent({ deviceId: dev.deviceId }));
    expect(recorded[0]!.codes).toEqual({ VIGIL_ERR_OUT_OF_RANGE: 1, VIGIL_ERR_SCHEMA: 1, VIGIL_ERR_UNKNOWN_TYPE: 1, VIGIL_ERR_SENML: 1 });

    await client.publishAsync(senml(dev.deviceId), JSON.stringify([{ n: 'glucose', u: 'mg/dL', v: 100, t: now, calibrated_: true }]), { qos: 1 });
    await waitFor(() => errors.length === 2, { what: 'the refusal of the pack' });
    expect(errors[1]).toMatchObject({ ref: '*', code: 'VIGIL_ERR_SENML' });
    expect(await metric(t, 'vigil_readings_rejected_total{code="VIGIL_ERR_SENML"}')).toBe(2);
  });

  it('rejects a record whose time is beyond what a date can hold, and acknowledges and stores the rest of the pack', async () => {
    const dev = await t.provision();
    const client = await t.connectDevice(dev);
    const errors = await listenErrors(client, dev.deviceId);
    const bt = Math.floor(Date.now() / 1000);
    // t 1e17 s is 1e20 ms, past Date's ±8.64e15 ms: it used to throw in translation and cost the connection.
    await client.publishAsync(
      senml(dev.deviceId),
      JSON.stringify([
        { bn: 'urn:dev:x:', bt, n: 'heart-rate', u: 'beat/min', v: 74 },
        { n: 'heart-rate', u: 'beat/min', v: 75, t: 1e17 },
        { n: 'heart-rate', u: 'beat/min', v: 76, t: -1e17 },
      ]),
      { qos: 1 },
    );
    await waitFor(() => errors.length === 1, { what: 'the rejections summary' });
    const summary = errors[0] as unknown as { rejected: number; errors: { ref: string; code: string; message: string }[] };
    expect(summary.errors.map((e) => [e.ref, e.code])).toEqual([
      ['1', 'VIGIL_ERR_SENML'],
      ['2', 'VIGIL_ERR_SENML'],
    ]);
    expect(summary.errors[0]!.message).toMatch(/time/);
    const stored = await waitFor(async () => {
      const points = await t.vigil.ingest.store.queryRaw({ patientId: dev.patientId, type: 'heart_rate', from: 0, to: Date.now() + 1000 });
      return points.length === 1 && points;
    }, { what: 'the good heart rate stored' });
    expect(stored[0]!.fields.value).toBe(74);
    const recorded = await waitFor(() => t.vigil.ingest.rejections.recent({ deviceId: dev.deviceId }).length === 1 && t.vigil.ingest.rejections.recent({ deviceId: dev.deviceId }));
    expect(recorded[0]!.codes).toEqual({ VIGIL_ERR_SENML: 2 });
    expect(client.connected).toBe(true);
  });
});

describe('SenML and Nightscout rejections replay as wire format readings', () => {
  let t: TestVigil;
  // The clock intake judges times by: 10 minutes slow until the test sets it right.
  let slowBy = 600_000;
  beforeAll(async () => {
    t = await startTestVigil({}, undefined, { now: () => Date.now() - slowBy });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('keeps what a slow clock refused as FUTURE_TIME from a pack and an upload, and stores it once replayed', async () => {
    const dev = await t.provision();
    const client = await t.connectDevice(dev);
    const now = Date.now();
    await client.publishAsync(senml(dev.deviceId), JSON.stringify([{ bt: now / 1000, n: 'cgm-glucose', u: 'mg/dL', v: 140 }, { n: 'thermostat', u: 'Cel', v: 21 }]), { qos: 1 });
    const upload = await fetch(`${t.httpUrl}/ns/${dev.deviceId}/api/v1/entries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'api-secret': dev.secret },
      body: JSON.stringify([{ type: 'sgv', sgv: 150, date: now - 1_000 }]),
    });
    expect(upload.status).toBe(200);
    expect(upload.headers.get('x-vigil-error')).toMatch(/^VIGIL_ERR_FUTURE_TIME/);
    const rows = t.vigil.ingest.rejections.recent({ deviceId: dev.deviceId });
    expect(rows.map((r) => r.codes)).toEqual([{ VIGIL_ERR_FUTURE_TIME: 1 }, { VIGIL_ERR_FUTURE_TIME: 1, VIGIL_ERR_UNKNOWN_TYPE: 1 }]);

    slowBy = 0;
    t.vigil.ingest.rejections.requestReplay({ deviceId: dev.deviceId });
    await t.vigil.ingest.replayRejections();
    const points = await waitFor(async () => {
      const p = await t.vigil.ingest.store.queryRaw({ patientId: dev.patientId, type: 'glucose', from: 0, to: Date.now() + 60_000 });
      return p.length === 2 && p;
    }, { what: 'both replayed readings stored' });
    expect(points.map((p) => [p.fields.value, p.tags.source])).toEqual([
      [150, 'cgm'],
      [140, 'cgm'],
    ]);
    // The Nightscout reading keeps its identity through the replay: uploaded again, it is a duplicate.
    const again = await fetch(`${t.httpUrl}/ns/${dev.deviceId}/api/v1/entries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'api-secret': dev.secret },
      body: JSON.stringify([{ type: 'sgv', sgv: 150, date: now - 1_000 }]),
    });
    expect(again.headers.get('x-vigil-duplicates')).toBe('1');
  });
});
