import Database from 'better-sqlite3';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InfluxStore, READINGS_DB_FILE, SqliteStore, StoreRejectedError, StoreUnavailableError, type ReadingStore } from '../ingest/index.js';
import { startInfluxd, type InfluxInstance } from './support/influxd.js';
import { freePort } from './support/ports.js';
import { reading } from './support/readings.js';
import { tempDir } from './support/temp.js';

const T0 = Date.parse('2026-11-22T00:00:00Z');
const HOUR = 3_600_000;

/**
 * One contract, two implementations: the embedded SQLite store and InfluxDB (a real influxd) must answer the
 * same writes and queries the same way.
 */
function contract(name: string, open: () => Promise<{ store: ReadingStore; cleanup: () => Promise<void> }>) {
  describe(`ReadingStore contract: ${name}`, () => {
    let store: ReadingStore;
    let cleanup: () => Promise<void>;
    let n = 0;
    let patientId: string;

    beforeAll(async () => {
      ({ store, cleanup } = await open());
    });
    afterAll(async () => {
      await store.close();
      await cleanup();
    });
    beforeEach(() => {
      patientId = `pat-${++n}`;
    });

    const bp = (hour: number, systolic: number, extra: Partial<Parameters<typeof reading>[0]> = {}) =>
      reading({ patientId, time: T0 + hour * HOUR, fields: { systolic, diastolic: systolic - 40, pulse: 70 }, ...extra });

    it('stores readings and returns them in time order with device, fields and tags', async () => {
      await store.write([bp(2, 140), bp(1, 130)]);
      await store.write([reading({ patientId, type: 'glucose', time: T0, fields: { value: 101.5 }, tags: { source: 'cgm', meal: 'fasting' } })]);
      const points = await store.queryRaw({ patientId, type: 'blood_pressure', from: T0, to: T0 + 24 * HOUR });
      expect(points).toEqual([
        { time: T0 + HOUR, deviceId: 'dev-1', fields: { systolic: 130, diastolic: 90, pulse: 70 }, tags: {} },
        { time: T0 + 2 * HOUR, deviceId: 'dev-1', fields: { systolic: 140, diastolic: 100, pulse: 70 }, tags: {} },
      ]);
      const glucose = await store.queryRaw({ patientId, type: 'glucose', from: T0, to: T0 + HOUR });
      expect(glucose).toEqual([{ time: T0, deviceId: 'dev-1', fields: { value: 101.5 }, tags: { source: 'cgm', meal: 'fasting' } }]);
    });

    it('stores a reading written twice once (replays are idempotent)', async () => {
      await store.write([bp(1, 130, { msgId: 'a' })]);
      await store.write([bp(1, 130, { msgId: 'a' }), bp(1, 150, { msgId: 'b' })]);
      const points = await store.queryRaw({ patientId, type: 'blood_pressure', from: T0, to: T0 + 2 * HOUR });
      expect(points.map((p) => p.fields.systolic).sort()).toEqual([130, 150]);
    });

    it('keeps patients apart and honours the half-open time range and the limit', async () => {
      await store.write([bp(0, 120), bp(1, 121), bp(2, 122), reading({ patientId: `${patientId}-other`, time: T0 + HOUR })]);
      const points = await store.queryRaw({ patientId, type: 'blood_pressure', from: T0 + HOUR, to: T0 + 2 * HOUR });
      expect(points.map((p) => p.fields.systolic)).toEqual([121]);
      const limited = await store.queryRaw({ patientId, type: 'blood_pressure', from: T0, to: T0 + 3 * HOUR, limit: 2 });
      expect(limited.map((p) => p.fields.systolic)).toEqual([120, 121]);
    });

    it('aggregates into epoch-aligned buckets with mean, min, max, sum and count', async () => {
      await store.write([bp(0, 120), bp(0.5, 140), bp(3, 160), bp(3.25, 170), bp(3.5, 180)]);
      const buckets = await store.queryAggregate({ patientId, type: 'blood_pressure', from: T0, to: T0 + 24 * HOUR, bucketMs: 2 * HOUR });
      expect(buckets.map((b) => b.time)).toEqual([T0, T0 + 2 * HOUR]);
      expect(buckets[0]!.fields.systolic).toEqual({ mean: 130, min: 120, max: 140, sum: 260, count: 2 });
      expect(buckets[1]!.fields.systolic!.mean).toBeCloseTo(170, 6);
      expect(buckets[1]!.fields.systolic!.count).toBe(3);
      expect(buckets[1]!.fields.diastolic!.max).toBe(140);
      expect(buckets[0]!.fields.irregular).toBeUndefined();
    });

    it('stores a glucose meter HI / LO event, which has no value, beside numeric readings', async () => {
      const glucose = (hour: number, fields: Record<string, number>, msgId: string) =>
        reading({ patientId, type: 'glucose', time: T0 + hour * HOUR, fields, tags: { source: 'meter' }, msgId });
      await store.write([glucose(0, { value: 140 }, 'a'), glucose(0.5, { hi: 1 }, 'b'), glucose(1, { lo: 1, value: 18 }, 'c'), glucose(1.5, { lo: 1 }, 'd')]);
      const points = await store.queryRaw({ patientId, type: 'glucose', from: T0, to: T0 + 2 * HOUR });
      expect(points.map((p) => p.fields)).toEqual([{ value: 140 }, { hi: 1 }, { lo: 1, value: 18 }, { lo: 1 }]);
      expect(points[1]).toEqual({ time: T0 + 0.5 * HOUR, deviceId: 'dev-1', fields: { hi: 1 }, tags: { source: 'meter' } });
      const [bucket] = await store.queryAggregate({ patientId, type: 'glucose', from: T0, to: T0 + 2 * HOUR, bucketMs: 2 * HOUR });
      expect(bucket!.fields).toEqual({
        value: { mean: 79, min: 18, max: 140, sum: 158, count: 2 },
        hi: { mean: 1, min: 1, max: 1, sum: 1, count: 1 },
        lo: { mean: 1, min: 1, max: 1, sum: 2, count: 2 },
      });
    });

    it('computes one field\'s count, mean, sample SD and counts in value ranges in the store', async () => {
      const glucose = (minute: number, value: number, source = 'cgm') =>
        reading({ patientId, type: 'glucose', time: T0 + minute * 60_000, fields: { value }, tags: { source }, msgId: `g${minute}` });
      // 50, 60, 70, 180, 180.5, 250, 300 (cgm) and a meter 400 that the tag filter leaves out. Mean of the seven:
      // 1090.5 / 7 = 155.7857...; squared deviations sum to 58,595.93 (to 2 dp), / 6 = 9765.99, SD 98.82.
      await store.write([glucose(0, 50), glucose(5, 60), glucose(10, 70), glucose(15, 180), glucose(20, 180.5), glucose(25, 250), glucose(30, 300), glucose(35, 400, 'meter')]);
      await store.write([reading({ patientId, type: 'glucose', time: T0 + 40 * 60_000, fields: { hi: 1 }, tags: { source: 'cgm' }, msgId: 'hi' })]);
      const d = await store.queryDistribution({
        patientId, type: 'glucose', from: T0, to: T0 + HOUR, field: 'value', tags: { source: 'cgm' },
        ranges: [{ lt: 54 }, { gte: 54, lt: 70 }, { gte: 70, lte: 180 }, { gt: 180, lte: 250 }, { gt: 250 }, {}],
      });
      expect(d.count).toBe(7);
      expect(d.mean).toBeCloseTo(1090.5 / 7, 6);
      expect(d.stddev).toBeCloseTo(98.823, 2);
      expect(d.inRanges).toEqual([1, 1, 2, 2, 1, 7]);
      const all = await store.queryDistribution({ patientId, type: 'glucose', from: T0, to: T0 + HOUR, field: 'value', ranges: [{ gt: 250 }] });
      expect(all.count).toBe(8);
      expect(all.inRanges).toEqual([2]);
      const none = await store.queryDistribution({ patientId, type: 'glucose', from: T0 + HOUR, to: T0 + 2 * HOUR, field: 'value', ranges: [{ lt: 54 }] });
      expect(none).toEqual({ count: 0, mean: null, stddev: null, inRanges: [0] });
      await expect(store.queryDistribution({ patientId, type: 'glucose', from: T0, to: T0 + HOUR, field: 'x" OR 1=1', ranges: [] })).rejects.toThrow(/no field/);
    });

    it('answers an empty range with nothing', async () => {
      expect(await store.queryRaw({ patientId, type: 'weight', from: T0, to: T0 + HOUR })).toEqual([]);
      expect(await store.queryAggregate({ patientId, type: 'weight', from: T0, to: T0 + HOUR, bucketMs: HOUR })).toEqual([]);
    });

    it("erases every reading of one patient (any type, any time) and keeps the others'", async () => {
      const other = `${patientId}-other`;
      await store.write([bp(1, 130), reading({ patientId, type: 'glucose', time: T0 - 400 * 24 * HOUR, fields: { value: 99 }, tags: { source: 'meter' } })]);
      await store.write([reading({ patientId: other, time: T0 + HOUR, fields: { systolic: 120, diastolic: 80, pulse: 60 } })]);
      await store.erasePatient(patientId);
      const range = { from: 0, to: T0 + 48 * HOUR };
      expect(await store.queryRaw({ patientId, type: 'blood_pressure', ...range })).toEqual([]);
      expect(await store.queryRaw({ patientId, type: 'glucose', ...range })).toEqual([]);
      expect(await store.queryRaw({ patientId: other, type: 'blood_pressure', ...range })).toHaveLength(1);
    });

    it('tells which spans hold a reading of any type, by existence, with half-open bounds', async () => {
      // Hours 1 (BP), 5 (weight at exactly the span's start) and 9 (another patient's): spans of 2 hours.
      await store.write([bp(1, 130), reading({ patientId, type: 'weight', time: T0 + 4 * HOUR, fields: { value: 80 } }), reading({ patientId: `${patientId}-x`, time: T0 + 9 * HOUR })]);
      const spans = [0, 2, 4, 8].map((h) => ({ from: T0 + h * HOUR, to: T0 + (h + 2) * HOUR }));
      expect(await store.querySpansWithReadings({ patientId, spans })).toEqual([true, false, true, false]);
      // The end is exclusive: [T0 + 2 h, T0 + 4 h) does not hold the weight at T0 + 4 h.
      expect(await store.querySpansWithReadings({ patientId, spans: [{ from: T0 + 2 * HOUR, to: T0 + 4 * HOUR }] })).toEqual([false]);
      expect(await store.querySpansWithReadings({ patientId, spans: [] })).toEqual([]);
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}

contract('sqlite', async () => {
  const dir = await tempDir();
  return { store: new SqliteStore(dir.path), cleanup: dir.remove };
});

let influx: InfluxInstance | undefined;
contract('influxdb', async () => {
  influx = await startInfluxd();
  const store = await InfluxStore.open({ url: influx.url, database: 'vigil' });
  return { store, cleanup: () => influx!.destroy() };
});

describe('InfluxDB retention policy (VIGIL_INFLUX_RETENTION_DURATION)', () => {
  it('creates the policy Vigil writes to, alters its duration at the next start, and leaves no series of an erased patient', async () => {
    const server = await startInfluxd();
    try {
      const policies = async () => (await server.query('SHOW RETENTION POLICIES ON vigil')).map((row) => [row[0], row[1]]);
      const first = await InfluxStore.open({ url: server.url, database: 'vigil', retentionPolicy: 'vigil', retentionDuration: '3653d' });
      expect(await policies()).toContainEqual(['vigil', '87672h0m0s']);
      await first.write([reading({ patientId: 'erased', time: Date.now() - HOUR }), reading({ patientId: 'kept', time: Date.now() - HOUR })]);
      expect(await server.query('SELECT count(*) FROM "vigil"."blood_pressure"')).not.toEqual([]);
      await InfluxStore.open({ url: server.url, database: 'vigil', retentionPolicy: 'vigil', retentionDuration: '520w' });
      expect(await policies()).toContainEqual(['vigil', '87360h0m0s']);
      await first.erasePatient('erased');
      expect(await server.query(`SHOW TAG VALUES ON vigil WITH KEY = "patient_id"`)).toEqual([['patient_id', 'kept']]);
    } finally {
      await server.destroy();
    }
  });
});

/** A loopback proxy in front of influxd that notes each write's content-encoding: what Vigil sent, not what it meant to. */
async function encodingRecorder(target: string): Promise<{ url: string; encodings: string[]; close: () => Promise<void> }> {
  const encodings: string[] = [];
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/write')) encodings.push(req.headers['content-encoding'] ?? 'identity');
    const forward = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, encodings, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('InfluxDB write compression (VIGIL_INFLUX_GZIP)', () => {
  it('sends plain text to InfluxDB on this host by default and gzip when asked, stored alike', async () => {
    const server = await startInfluxd();
    const proxy = await encodingRecorder(server.url);
    try {
      const plain = await InfluxStore.open({ url: proxy.url, database: 'vigil' });
      await plain.write([reading({ patientId: 'plain', time: T0 })]);
      const compressed = await InfluxStore.open({ url: proxy.url, database: 'vigil', gzip: true });
      await compressed.write([reading({ patientId: 'gzipped', time: T0 })]);
      expect(proxy.encodings).toEqual(['identity', 'gzip']);
      for (const patientId of ['plain', 'gzipped']) {
        expect(await plain.queryRaw({ patientId, type: 'blood_pressure', from: T0, to: T0 + HOUR })).toHaveLength(1);
      }
      await plain.close();
      await compressed.close();
    } finally {
      await proxy.close();
      await server.destroy();
    }
  });
});

describe('InfluxStore error classes', () => {
  it('reports an unreachable server as unavailable (retry), not as a rejection', async () => {
    const port = await freePort();
    const store = await InfluxStore.open({ url: `http://127.0.0.1:${port}`, database: 'vigil', timeoutMs: 2000 });
    await expect(store.write([reading()])).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('reports an answer cut off mid-body as unavailable (retry), not a hang or a rejection', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(500, { 'content-length': '1000' });
      res.write('{"error":"half');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const store = await InfluxStore.open({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, database: 'vigil', timeoutMs: 5000 });
      await expect(store.write([reading()])).rejects.toBeInstanceOf(StoreUnavailableError);
      await store.close();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('reports a refused write (field type conflict, 400) as a rejection', async () => {
    const server = await startInfluxd();
    try {
      const store = await InfluxStore.open({ url: server.url, database: 'vigil' });
      // A string in a field that Vigil writes as a number, in the same shard (field types are per shard):
      // InfluxDB refuses the later float write with 400.
      const ns = `${Date.parse('2026-11-22T07:00:00Z')}000000`;
      await fetch(`${server.url}/write?db=vigil`, { method: 'POST', body: `weight,device_id=d,patient_id=p value="heavy" ${ns}` });
      const error = await store.write([reading({ type: 'weight', fields: { value: 80 } })]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreRejectedError);
      expect((error as StoreRejectedError).status).toBe(400);
    } finally {
      await server.destroy();
    }
  });
});

describe('SqliteStore layout', () => {
  it('moves a store written by the first layout (two indexes) to the patient-first key, keeping every point', async () => {
    const dir = await tempDir();
    try {
      // The version 1 layout, as earlier releases created it, with one reading in it.
      const old = new Database(join(dir.path, READINGS_DB_FILE));
      old.exec(`CREATE TABLE readings (type TEXT NOT NULL, patient_id TEXT NOT NULL, device_id TEXT NOT NULL, series_tags TEXT NOT NULL,
        time INTEGER NOT NULL, tiebreak INTEGER NOT NULL, fields TEXT NOT NULL, tags TEXT NOT NULL,
        PRIMARY KEY (type, patient_id, device_id, series_tags, time, tiebreak)) WITHOUT ROWID;
        CREATE INDEX readings_by_patient ON readings(patient_id, type, time);`);
      old.prepare('INSERT INTO readings VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run('glucose', 'pat-old', 'dev-1', '{"meal":"fasting","source":"cgm"}', T0, 0, '{"value":101.5}', '{"meal":"fasting","source":"cgm"}');
      old.close();

      const store = new SqliteStore(dir.path);
      // The same point written again (as a replay would) replaces it: the identity survived the move.
      await store.write([reading({ patientId: 'pat-old', type: 'glucose', time: T0, fields: { value: 101.5 }, tags: { source: 'cgm', meal: 'fasting' } })]);
      const points = await store.queryRaw({ patientId: 'pat-old', type: 'glucose', from: T0, to: T0 + HOUR });
      await store.close();
      expect(points).toEqual([{ time: T0, deviceId: 'dev-1', fields: { value: 101.5 }, tags: { source: 'cgm', meal: 'fasting' } }]);

      const after = new Database(join(dir.path, READINGS_DB_FILE), { readonly: true });
      const indexes = after.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'readings'").all();
      after.close();
      // WITHOUT ROWID: the key is the table; no second B-tree remains.
      expect(indexes).toEqual([]);
    } finally {
      await dir.remove();
    }
  });
});
