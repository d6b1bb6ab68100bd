import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStateDb } from '../state/index.js';
import { waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';
import { logInto } from './support/log-lines.js';

const sha1 = (text: string) => createHash('sha1').update(text, 'utf8').digest('hex');

/** What xDrip+ sends: its base URL is https://SECRET@host/ns/{deviceId}/api/v1/ and every request carries api-secret. */
async function ns(t: TestVigil, deviceId: string, secret: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${t.httpUrl}/ns/${deviceId}/api/v1/${path}`, {
    method,
    headers: { ...(secret === undefined ? {} : { 'api-secret': sha1(secret) }), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as unknown) : undefined };
}

/**
 * An entry as xDrip+ uploads it (NightscoutFoundation/xDrip NightscoutUploader.java populateV1APIBGEntry: device,
 * date, dateString, sgv, delta, direction, type, filtered, unfiltered, rssi, noise, sysTime), with the string sgv
 * of Nightscout's own test (nightscout/cgm-remote-monitor tests/api.entries.test.js, "post multiple entries").
 */
function xdripSgv(date: number, sgv: number | string) {
  const dateString = new Date(date).toISOString().replace('Z', '+0000');
  return { device: 'xDrip-DexcomG6', date, dateString, sgv, delta: 1.5, direction: 'Flat', type: 'sgv', filtered: 119_000, unfiltered: 121_000, rssi: 100, noise: 1, sysTime: dateString };
}

async function glucose(t: TestVigil, patientId: string) {
  return t.vigil.ingest.store.queryRaw({ patientId, type: 'glucose', from: 0, to: Date.now() + 3_600_000 });
}

async function metric(t: TestVigil, name: string): Promise<number> {
  const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('Nightscout-compatible upload API, over real HTTP against a running Vigil', () => {
  let t: TestVigil;
  const lines: Record<string, unknown>[] = [];
  beforeAll(async () => {
    const log = logInto(lines);
    // A burst of 40 and practically no refill (one token per 1,000 s, far beyond any test's timeout): the rate
    // test's answers then depend on how many requests it sent, not on how fast a busy machine served them (at 2/s a
    // token came back every 500 ms, and a loaded machine let one through). The other tests send a few per device.
    t = await startTestVigil({ VIGIL_DEVICE_RATE: '0.001', VIGIL_DEVICE_BURST: '40', VIGIL_LOG_LEVEL: 'info' }, undefined, { log });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers the status probe, stores an xDrip+ upload for the device\'s patient, and deduplicates the re-upload', async () => {
    const dev = await t.provision();
    const status = await ns(t, dev.deviceId, dev.secret, 'GET', 'status.json');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ status: 'ok', apiEnabled: true, careportalEnabled: true, settings: { units: 'mg/dl' } });
    expect((status.body as { version: string }).version).toMatch(/^1\d\./);

    const now = Date.now() - 60_000;
    const upload = [
      xdripSgv(now - 600_000, '142'),
      xdripSgv(now - 300_000, 151),
      xdripSgv(now, 163),
      // A finger stick and xDrip+'s calibration record of it (populateV1APIMeterReadingEntry, populateV1APICalibrationEntry).
      { device: 'xDrip-DexcomG6', type: 'mbg', date: now, dateString: new Date(now).toISOString(), mbg: 158, sysTime: new Date(now).toISOString() },
      { device: 'xDrip-DexcomG6', type: 'cal', date: now, dateString: new Date(now).toISOString(), slope: 1000, intercept: 2500, scale: 1 },
    ];
    const first = await ns(t, dev.deviceId, dev.secret, 'POST', 'entries', upload);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-vigil-accepted')).toBe('4');
    expect(first.headers.get('x-vigil-ignored')).toBe('1');
    expect(first.headers.get('x-vigil-rejected')).toBe('0');
    const echoed = first.body as { _id: string; type: string }[];
    expect(echoed.map((e) => e.type)).toEqual(['sgv', 'sgv', 'sgv', 'mbg', 'cal']);
    for (const e of echoed) expect(e._id).toMatch(/^[0-9a-f]{24}$/);

    const points = await waitFor(async () => {
      const p = await glucose(t, dev.patientId);
      return p.length === 4 && p;
    }, { what: 'four glucose readings stored' });
    // The patient page's "last seen" covers uploads as it covers MQTT (written in batches every 2 s).
    await waitFor(() => (t.vigil.registry.getDevice(dev.deviceId)?.lastSeenAt ?? 0) >= now, { what: 'the device recorded as seen' });
    const bySource = (a: { tags: Record<string, string> }, b: { tags: Record<string, string> }) => a.tags.source!.localeCompare(b.tags.source!);
    expect([...points].sort((a, b) => a.time - b.time || bySource(a, b)).map((p) => [p.time, p.fields.value, p.tags.source, p.deviceId])).toEqual([
      [now - 600_000, 142, 'cgm', dev.deviceId],
      [now - 300_000, 151, 'cgm', dev.deviceId],
      [now, 163, 'cgm', dev.deviceId],
      [now, 158, 'meter', dev.deviceId],
    ]);

    // xDrip+ uploads again what it is not sure arrived: the same readings, acknowledged, stored once.
    const again = await ns(t, dev.deviceId, dev.secret, 'POST', 'entries', upload.slice(0, 4));
    expect(again.status).toBe(200);
    expect(again.headers.get('x-vigil-accepted')).toBe('0');
    expect(again.headers.get('x-vigil-duplicates')).toBe('4');
    expect((again.body as { _id: string }[]).map((e) => e._id)).toEqual(echoed.slice(0, 4).map((e) => e._id));
    // Compressed, as xDrip+ sends once it has seen the server compress (GzipRequestInterceptor).
    const gzipped = await ns(t, dev.deviceId, dev.secret, 'POST', 'entries', gzipSync(JSON.stringify(upload.slice(2, 3))), { 'content-encoding': 'gzip' });
    expect(gzipped.status).toBe(200);
    expect(gzipped.headers.get('x-vigil-duplicates')).toBe('1');
    expect(await glucose(t, dev.patientId)).toHaveLength(4);

    const read = await ns(t, dev.deviceId, dev.secret, 'GET', 'entries.json?count=2');
    expect(read.status).toBe(200);
    expect(read.headers.get('cache-control')).toBe('no-store');
    expect((read.body as { type: string; sgv?: number; mbg?: number; date: number }[]).map((e) => [e.type, e.sgv ?? e.mbg, e.date])).toEqual([
      ['mbg', 158, now],
      ['sgv', 163, now],
    ]);
  });

  it('serves Loop, which keeps only the host of its site URL, at /api/v1 for the device whose secret it presents', async () => {
    const dev = await t.provision();
    const other = await t.provision();
    const hostLevel = (secret: string | undefined, method: string, path: string, body?: unknown) =>
      fetch(`${t.httpUrl}/api/v1/${path}`, {
        method,
        headers: { ...(secret === undefined ? {} : { 'api-secret': sha1(secret) }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    // Loop checks its credentials first (NightscoutKit NightscoutClient.swift, Endpoint.authTest).
    expect((await hostLevel(dev.secret, 'GET', 'experiments/test')).status).toBe(200);
    expect((await hostLevel('not the secret', 'GET', 'experiments/test')).status).toBe(401);
    expect((await hostLevel(undefined, 'GET', 'experiments/test')).status).toBe(401);
    // A sensor entry as NightscoutKit GlucoseEntry.dictionaryRepresentation writes it (date in fractional ms).
    const date = Date.now() - 120_000.25;
    const response = await hostLevel(dev.secret, 'POST', 'entries', [{ date, dateString: new Date(date).toISOString(), device: 'loop://iPhone', type: 'sgv', sgv: 104, trend: 4, direction: 'Flat', trendRate: 0.1, isCalibration: false }]);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { _id: string }[]).map((d) => d._id)).toEqual([expect.stringMatching(/^[0-9a-f]{24}$/)]);
    const points = await waitFor(async () => {
      const p = await glucose(t, dev.patientId);
      return p.length === 1 && p;
    });
    expect(points[0]).toMatchObject({ time: Math.round(date), deviceId: dev.deviceId, fields: { value: 104 } });
    expect(await glucose(t, other.patientId)).toEqual([]);
  });

  it('refuses a wrong or missing api-secret and an unknown device alike with 401, and a revoked device with 403', async () => {
    const dev = await t.provision();
    const other = await t.provision();
    const before = await metric(t, 'vigil_nightscout_refused_total{code="VIGIL_ERR_UNAUTHORIZED"}');
    const entry = [xdripSgv(Date.now() - 60_000, 120)];
    for (const [deviceId, secret] of [
      [dev.deviceId, other.secret],
      [dev.deviceId, undefined],
      ['no-such-device', dev.secret],
    ] as const) {
      const refused = await ns(t, deviceId, secret, 'POST', 'entries', entry);
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ code: 'VIGIL_ERR_UNAUTHORIZED' });
    }
    // The secret itself (not its SHA-1) opens the device too; the SHA-1 of another device's secret does not.
    const plain = await fetch(`${t.httpUrl}/ns/${dev.deviceId}/api/v1/status`, { headers: { 'api-secret': dev.secret } });
    expect(plain.status).toBe(200);
    expect(await metric(t, 'vigil_nightscout_refused_total{code="VIGIL_ERR_UNAUTHORIZED"}')).toBe(before + 3);
    expect(await glucose(t, dev.patientId)).toEqual([]);

    await t.vigil.registry.revokeDevice(other.deviceId);
    expect((await ns(t, other.deviceId, other.secret, 'GET', 'status')).status).toBe(403);
  });

  it('gives devices provisioned before this version their API secret when their secret is rotated', async () => {
    const dev = await t.provision();
    // As the migration leaves an existing device: no verifier.
    const db = openStateDb(t.dataDir, []);
    db.prepare('UPDATE devices SET ns_verifier = NULL WHERE id = ?').run(dev.deviceId);
    db.close();
    const before = await ns(t, dev.deviceId, dev.secret, 'GET', 'status');
    expect(before.status).toBe(401);
    expect((before.body as { message: string }).message).toMatch(/rotate its secret/);
    const secret = await t.vigil.registry.rotateSecret(dev.deviceId);
    expect((await ns(t, dev.deviceId, secret, 'GET', 'status')).status).toBe(200);
    expect((await ns(t, dev.deviceId, dev.secret, 'GET', 'status')).status).toBe(401);
  });

  it('rejects garbage with a coded reason: a body that is not JSON with 400, unusable entries one by one in a 200', async () => {
    const dev = await t.provision();
    const notJson = await ns(t, dev.deviceId, dev.secret, 'POST', 'entries', '{"type": "sgv", "sgv": 1');
    expect(notJson.status).toBe(400);
    expect(notJson.body).toMatchObject({ code: 'VIGIL_ERR_NOT_JSON' });

    const now = Date.now() - 60_000;
    // Nightscout's example data (tests/fixtures/example.json) holds "sgv": "5", a Dexcom status code (?NC).
    const garbage = [{ type: 'sgv', sgv: '5', date: now, dateString: new Date(now).toISOString(), device: 'dexcom', direction: 'NOT COMPUTABLE' }, { type: 'sgv', sgv: 'high', date: now }, { type: 'rawbg', date: now }, 'sgv 120', xdripSgv(now, 2_000), xdripSgv(now - 300_000, 99)];
    const judged = await ns(t, dev.deviceId, dev.secret, 'POST', 'entries', garbage);
    // 200: xDrip+ resends a refused upload for ever, the good entry with the bad.
    expect(judged.status).toBe(200);
    expect(judged.headers.get('x-vigil-accepted')).toBe('1');
    expect(judged.headers.get('x-vigil-rejected')).toBe('5');
    expect(judged.headers.get('x-vigil-error')).toMatch(/^VIGIL_ERR_OUT_OF_RANGE 0: sgv 5 is a CGM sensor status code/);
    // One answer per document, in order (Loop checks the length), each saying what became of it.
    const answers = judged.body as { _id: string; sgv?: number; vigilRejected?: { code: string } }[];
    expect(answers.map((a) => a.vigilRejected?.code ?? 'stored')).toEqual(['VIGIL_ERR_OUT_OF_RANGE', 'VIGIL_ERR_SCHEMA', 'VIGIL_ERR_UNKNOWN_TYPE', 'VIGIL_ERR_NOT_A_READING', 'VIGIL_ERR_OUT_OF_RANGE', 'stored']);
    for (const a of answers) expect(a._id).toMatch(/^[0-9a-f]{24}$/);
    const recorded = await waitFor(() => t.vigil.ingest.rejections.recent({ deviceId: dev.deviceId }).length === 2 && t.vigil.ingest.rejections.recent({ deviceId: dev.deviceId }), { what: 'both refusals in the rejection log' });
    const codes = recorded.map((r) => r.codes);
    expect(codes).toContainEqual({ VIGIL_ERR_NOT_JSON: 1 });
    expect(codes).toContainEqual({ VIGIL_ERR_OUT_OF_RANGE: 2, VIGIL_ERR_SCHEMA: 1, VIGIL_ERR_UNKNOWN_TYPE: 1, VIGIL_ERR_NOT_A_READING: 1 });
    expect(await metric(t, 'vigil_readings_rejected_total{code="VIGIL_ERR_NOT_JSON"}')).toBeGreaterThanOrEqual(1);
  });

  it('logs rejected uploads at most once per device every 10 s, with a count, while answering and recording each', async () => {
    const [noisy, other] = [await t.provision(), await t.provision()];
    const now = Date.now() - 60_000;
    // 2,000 mg/dL: out of range, one rejected entry per upload.
    const badUpload = (i: number) => ns(t, noisy.deviceId, noisy.secret, 'POST', 'entries', [xdripSgv(now - i * 1000, 2_000)]);
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => badUpload(i)));
    const otherAnswer = await ns(t, other.deviceId, other.secret, 'POST', 'entries', [xdripSgv(now, 2_000)]);
    // Each upload is answered with its coded reason and recorded, as before.
    for (const a of [...answers, otherAnswer]) {
      expect(a.status).toBe(200);
      expect(a.headers.get('x-vigil-error')).toMatch(/^VIGIL_ERR_OUT_OF_RANGE 0: /);
      expect(a.body).toEqual([expect.objectContaining({ vigilRejected: expect.objectContaining({ code: 'VIGIL_ERR_OUT_OF_RANGE' }) })]);
    }
    await waitFor(() => t.vigil.ingest.rejections.recent({ deviceId: noisy.deviceId }).length === 30, { what: '30 uploads in the rejection log' });
    // One line for the 30 (the rest are folded into the device's next line, 10 s on), and another device's
    // line is not held back by the noisy one's.
    const logged = (deviceId: string) => lines.filter((l) => l.deviceId === deviceId && l.msg === 'Nightscout upload: readings rejected');
    expect(logged(noisy.deviceId).map((l) => l.count)).toEqual([1]);
    expect(logged(other.deviceId).map((l) => l.count)).toEqual([1]);
    // Ids, codes and counts: no reading value.
    const { time: _time, ...fields } = logged(noisy.deviceId)[0]!;
    expect(fields).toEqual({ level: 30, service: 'vigil', component: 'nightscout', deviceId: noisy.deviceId, rejected: 1, codes: { VIGIL_ERR_OUT_OF_RANGE: 1 }, count: 1, msg: 'Nightscout upload: readings rejected' });
  });

  it('rejects an entry or treatment whose date is beyond what a date can hold with its code, and stores the good one', async () => {
    const dev = await t.provision();
    const now = Date.now() - 60_000;
    // 9e15 ms is past Date's 8.64e15: it used to throw in translation and answer 500, so the uploader resent for ever.
    const entries = await ns(t, dev.deviceId, dev.secret, 'POST', 'entries', [{ type: 'sgv', sgv: 121, date: now }, { type: 'sgv', sgv: 120, date: 9e15 }]);
    expect(entries.status).toBe(200);
    expect(entries.headers.get('x-vigil-accepted')).toBe('1');
    expect(entries.headers.get('x-vigil-error')).toMatch(/^VIGIL_ERR_SCHEMA 1: date/);
    const treatments = await ns(t, dev.deviceId, dev.secret, 'POST', 'treatments', [{ eventType: 'BG Check', glucose: 110, units: 'mg/dl', date: 9e15 }]);
    expect(treatments.status).toBe(200);
    expect((treatments.body as { vigilRejected?: { code: string } }[]).map((d) => d.vigilRejected?.code)).toEqual(['VIGIL_ERR_SCHEMA']);
    const points = await waitFor(async () => {
      const p = await glucose(t, dev.patientId);
      return p.length === 1 && p;
    }, { what: 'the good sgv stored' });
    expect(points[0]!.fields.value).toBe(121);
    await waitFor(() => t.vigil.ingest.rejections.recent({ deviceId: dev.deviceId }).length === 2, { what: 'both uploads in the rejection log' });
  });

  it('refuses an upload nested deeper than 32 levels with 400 VIGIL_ERR_TOO_DEEP, stores none of it, and records the refusal', async () => {
    const dev = await t.provision();
    const now = Date.now() - 60_000;
    // Built as text: JSON.stringify cannot write it. It used to store the sgv and then answer 500, so the uploader resent it for ever.
    const body = `[{"type":"sgv","sgv":121,"date":${now},"extra":${'['.repeat(20_000)}${']'.repeat(20_000)}}]`;
    const refused = await ns(t, dev.deviceId, dev.secret, 'POST', 'entries', body);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: 'VIGIL_ERR_TOO_DEEP', message: expect.stringMatching(/32 levels/) });
    expect(await glucose(t, dev.patientId)).toEqual([]);
    const recorded = await waitFor(() => t.vigil.ingest.rejections.recent({ deviceId: dev.deviceId }).length === 1 && t.vigil.ingest.rejections.recent({ deviceId: dev.deviceId }), { what: 'the refusal in the rejection log' });
    expect(recorded[0]!.codes).toEqual({ VIGIL_ERR_TOO_DEEP: 1 });
    expect(await metric(t, 'vigil_nightscout_refused_total{code="VIGIL_ERR_TOO_DEEP"}')).toBe(1);
  });

  it('keeps the finger-stick glucose of treatments in their units and answers the rest as stored, ignored and counted', async () => {
    const dev = await t.provision();
    const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();
    // Shapes of Nightscout's tests/api.treatments.test.js ("BG Check", "Meal Bolus" with a finger-stick glucose).
    const treatments = [
      { eventType: 'BG Check', created_at: at(30), glucose: 6.5, glucoseType: 'Finger', units: 'mmol', enteredBy: 'AndroidAPS' },
      { eventType: 'Meal Bolus', created_at: at(20), carbs: '30', insulin: '2.00', preBolus: '15', glucose: 100, glucoseType: 'Finger', units: 'mg/dl' },
      { eventType: 'Temp Basal', created_at: at(10), duration: 30, absolute: 1.5 },
      { eventType: 'BG Check', created_at: at(5), glucose: 120 },
    ];
    const answer = await ns(t, dev.deviceId, dev.secret, 'POST', 'treatments', treatments);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-vigil-accepted')).toBe('2');
    expect(answer.headers.get('x-vigil-ignored')).toBe('1');
    expect(answer.headers.get('x-vigil-error')).toMatch(/^VIGIL_ERR_SCHEMA 3: units/);
    expect((answer.body as { eventType: string; vigilIgnored?: string; vigilRejected?: { code: string } }[]).map((d) => [d.eventType, d.vigilIgnored ?? d.vigilRejected?.code ?? 'stored'])).toEqual([
      ['BG Check', 'stored'],
      ['Meal Bolus', 'stored'],
      ['Temp Basal', 'treatment'],
      ['BG Check', 'VIGIL_ERR_SCHEMA'],
    ]);
    const points = await waitFor(async () => {
      const p = await glucose(t, dev.patientId);
      return p.length === 2 && p;
    });
    expect(points.map((p) => [p.fields.value, p.tags.source])).toEqual([
      [117.1, 'meter'],
      [100, 'meter'],
    ]);
    // xDrip+ upserts its treatments one at a time with PUT (postTreatments): a note is ignored, answered 200.
    const put = await ns(t, dev.deviceId, dev.secret, 'PUT', 'treatments', { timestamp: Date.now(), eventType: 'Note', enteredBy: 'xdrip', notes: 'walk', uuid: '3d2c1b0a-aaaa-bbbb-cccc-000000000001', created_at: at(1), _id: '3d2c1b0aaaaabbbbcccc0000' });
    expect(put.status).toBe(200);
    expect(put.body).toEqual([expect.objectContaining({ _id: '3d2c1b0aaaaabbbbcccc0000' })]);
    expect(await metric(t, 'vigil_nightscout_ignored_total{kind="treatment"}')).toBeGreaterThanOrEqual(2);
    expect((await ns(t, dev.deviceId, dev.secret, 'POST', 'devicestatus', { device: 'xDrip-DexcomG6', uploader: { battery: 87 } })).status).toBe(200);
  });

  it('holds each device to its rate (VIGIL_DEVICE_RATE, BURST), answering 429 with Retry-After', async () => {
    const dev = await t.provision();
    const answers: Awaited<ReturnType<typeof ns>>[] = [];
    const started = Date.now();
    for (let i = 0; i < 60; i++) answers.push(await ns(t, dev.deviceId, dev.secret, 'GET', 'status'));
    const elapsedMs = Date.now() - started;
    // The burst, then nothing: no token comes back while the test runs, so every request past the 40th is refused.
    expect(answers.map((a) => a.status)).toEqual([...Array.from({ length: 40 }, () => 200), ...Array.from({ length: 20 }, () => 429)]);
    for (const limited of answers.slice(40)) {
      // The next token is 1,000 s after the first request, less what the bucket refilled since: Retry-After says so.
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(retryAfter).toBeLessThanOrEqual(1000);
      expect(retryAfter).toBeGreaterThanOrEqual(1000 - elapsedMs / 1000);
      expect(limited.body).toMatchObject({ code: 'VIGIL_ERR_RATE_LIMITED' });
    }
    // The budget is the device's: spent on one mount, it is spent on the other (Loop's /api/v1, found by the
    // secret), and another device still has its whole burst.
    const hostLevel = await fetch(`${t.httpUrl}/api/v1/status`, { headers: { 'api-secret': sha1(dev.secret) } });
    expect(hostLevel.status).toBe(429);
    const other = await t.provision();
    expect((await ns(t, other.deviceId, other.secret, 'GET', 'status')).status).toBe(200);
  });
});

describe('Retry-After of the Nightscout API at a device rate under one request a second', () => {
  let t: TestVigil;
  beforeAll(async () => {
    // One token, back 2.5 s after it was taken: Retry-After is then 3, rounded up (2 would be too early).
    t = await startTestVigil({ VIGIL_DEVICE_RATE: '0.4', VIGIL_DEVICE_BURST: '1' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('says when the device\'s next token is due, in whole seconds rounded up, and a retry then is let in', async () => {
    const dev = await t.provision();
    const now = Date.now() - 60_000;
    const started = Date.now();
    // The status probe (as the apps start) takes the one token; the upload right after it is refused.
    expect((await ns(t, dev.deviceId, dev.secret, 'GET', 'status')).status).toBe(200);
    const limited = await ns(t, dev.deviceId, dev.secret, 'POST', 'entries', [xdripSgv(now, 125)]);
    const elapsedMs = Date.now() - started;
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    // Bounds, not a value: a loaded machine may take long enough between the two requests to make it 2.
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeLessThanOrEqual(3);
    expect(retryAfter).toBeGreaterThanOrEqual(Math.ceil(2.5 - elapsedMs / 1000));
    // Retrying when told (plus a few ms: timers and clocks round to the millisecond) is let in, and stored.
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000 + 20));
    const retried = await ns(t, dev.deviceId, dev.secret, 'POST', 'entries', [xdripSgv(now, 125)]);
    expect(retried.status).toBe(200);
    expect(retried.headers.get('x-vigil-accepted')).toBe('1');
  });
});
