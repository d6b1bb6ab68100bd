import { afterAll, describe, expect, it } from 'vitest';
import { call } from './support/dashboard-client.js';
import { everyReadingType } from './support/fhir-readings.js';
import { fhirErrors } from './support/fhir-validator.js';
import { startInfluxd, type InfluxInstance } from './support/influxd.js';
import { waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const TOKEN = 'integration-token-for-the-fhir-store-test';

/**
 * The same readings, published over MQTT to a Vigil on the embedded store and to one on a real InfluxDB, give the
 * same Observations (but for the patient's id, which each registry draws), valid, and page the same: the FHIR
 * search relies on the stores' range query with its limit and tags, which each store implements on its own.
 */
describe('FHIR Observations are the same from the embedded store and from InfluxDB', () => {
  const started: TestVigil[] = [];
  let influx: InfluxInstance | undefined;
  afterAll(async () => {
    for (const t of started) await t.stop();
    await influx?.destroy();
  });

  async function observations(env: Record<string, string>, t0: number): Promise<{ all: Json[]; paged: Json[]; patientId: string }> {
    const t = await startTestVigil({ VIGIL_ADMIN_TOKEN: TOKEN, ...env });
    started.push(t);
    const dev = await t.provision('cuff_1');
    const client = await t.connectDevice(dev);
    await client.publishAsync(`rpm/v1/devices/${dev.deviceId}/readings`, JSON.stringify(everyReadingType(t0)), { qos: 1 });
    const get = async (path: string) => (await call<Json>(t.httpUrl, 'GET', `/fhir${path}`, undefined, { authorization: `Bearer ${TOKEN}` })).body;
    const all = await waitFor(async () => {
      const bundle = await get(`/Observation?patient=${dev.patientId}`);
      return bundle.entry?.length === 11 ? bundle : undefined;
    }, { what: 'the readings in the store' });
    expect(fhirErrors(all as Json & { resourceType: string })).toEqual([]);
    const paged: Json[] = [];
    let next: string | undefined = `/Observation?patient=${dev.patientId}&_count=4&code=85354-9,99504-3,41653-7`;
    for (let i = 0; next && i < 5; i++) {
      const page = await get(next);
      paged.push(...page.entry.map((e: Json) => e.resource));
      next = page.link.find((l: Json) => l.relation === 'next')?.url.slice(`${t.httpUrl}/fhir`.length);
    }
    return { all: all.entry.map((e: Json) => e.resource), paged, patientId: dev.patientId };
  }

  /** What does not depend on the patient's id (the Observation id digests it). */
  const comparable = (o: Json, patientId: string) => JSON.parse(JSON.stringify({ ...o, id: undefined }).replaceAll(patientId, '<patient>'));

  it('answers the same Observations, searches and pages', async () => {
    influx = await startInfluxd();
    const t0 = Date.now() - 2 * 3_600_000;
    const embedded = await observations({}, t0);
    const influxed = await observations({ VIGIL_INFLUX_URL: influx.url, VIGIL_INFLUX_DB: 'vigil' }, t0);
    expect(influxed.all.map((o) => comparable(o, influxed.patientId))).toEqual(embedded.all.map((o) => comparable(o, embedded.patientId)));
    // The code search needs the glucose source tag (meter 41653-7, CGM 99504-3) from each store: 2 BP + 3 glucose.
    expect(embedded.paged.map((o) => o.code.coding[0].code)).toEqual(['85354-9', '85354-9', '41653-7', '99504-3', '41653-7']);
    expect(influxed.paged.map((o) => comparable(o, influxed.patientId))).toEqual(embedded.paged.map((o) => comparable(o, embedded.patientId)));
  });
});
