import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from './support/temp.js';
import { listenErrors, startTestVigil, type TestVigil } from './support/vigil.js';
import { logInto } from './support/log-lines.js';

const sha1 = (text: string) => createHash('sha1').update(text, 'utf8').digest('hex');
/** In every body this test sends: no log line may carry it. */
const MARKER = 'payload-marker-7f3a';

/** An upload as xDrip+ makes it (test/nightscout.e2e.test.ts), to the device's own base URL. */
async function upload(t: TestVigil, dev: { deviceId: string; secret: string }, body: string) {
  const response = await fetch(`${t.httpUrl}/ns/${dev.deviceId}/api/v1/entries`, {
    method: 'POST',
    headers: { 'api-secret': sha1(dev.secret), 'content-type': 'application/json' },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

/** An sgv of 2,000 mg/dL: out of range, so the upload is answered 200 with its one entry rejected. */
const rejectedEntry = () => JSON.stringify([{ type: 'sgv', sgv: 2_000, date: Date.now() - 60_000, device: MARKER }]);

/**
 * A device's log lines about what it sent Vigil are limited per device, whichever path it came by: MQTT and the
 * Nightscout API share one limiter (the composition root's), so a device bad on both writes one line every 10 s,
 * not one per path. Nightscout uploads refused whole (400, 413) have a line too, under the same limit.
 */
describe('per-device log lines over MQTT and Nightscout', () => {
  let t: TestVigil | undefined;
  const lines: Record<string, unknown>[] = [];
  const logged = (deviceId: string) => lines.filter((l) => l.deviceId === deviceId);
  beforeEach(async () => {
    lines.length = 0;
    const log = logInto(lines);
    t = await startTestVigil({ VIGIL_LOG_LEVEL: 'info', VIGIL_MAX_PAYLOAD_BYTES: '4096', VIGIL_MAX_BATCH: '5' }, undefined, { log });
  });
  afterEach(async () => {
    await t?.stop();
  });

  async function stop(): Promise<void> {
    await t!.stop();
    t = undefined;
  }

  it('writes one line for a device rejected on both paths within 10 s, and counts the folded upload when Vigil stops', async () => {
    const dev = await t!.provision();
    const client = await t!.connectDevice(dev);
    const errors = await listenErrors(client, dev.deviceId);
    await client.publishAsync(`rpm/v1/devices/${dev.deviceId}/readings`, JSON.stringify({ type: 'heart_rate', time: new Date().toISOString(), value: 0, id: 'mqtt-0' }), { qos: 1 });
    await waitFor(() => errors.length === 1, { what: 'the MQTT rejection answered' });
    expect(await upload(t!, dev, rejectedEntry())).toBe(200);
    await waitFor(() => t!.vigil.ingest.rejections.recent({ deviceId: dev.deviceId }).length === 2, { what: 'both rejections recorded' });
    expect(logged(dev.deviceId).map((l) => [l.component, l.msg, l.count])).toEqual([['gateway', 'readings rejected', 1]]);

    // The upload was folded into the device's interval: its line, with its count, is written at the stop.
    await stop();
    expect(logged(dev.deviceId).map((l) => [l.component, l.msg, l.count])).toEqual([
      ['gateway', 'readings rejected', 1],
      ['nightscout', 'Nightscout upload: readings rejected', 1],
    ]);
  });

  it('logs an upload refused whole (400 not JSON, 413 too large or too many entries) with its code, once per device every 10 s, and nothing it carried', async () => {
    const [notJson, tooLarge, tooMany] = [await t!.provision(), await t!.provision(), await t!.provision()];
    expect(await upload(t!, notJson, `not json ${MARKER}`)).toBe(400);
    expect(await upload(t!, tooLarge, JSON.stringify([{ type: 'sgv', sgv: 120, date: Date.now(), device: MARKER.repeat(400) }]))).toBe(413);
    const six = Array.from({ length: 6 }, (_, i) => ({ type: 'sgv', sgv: 120, date: Date.now() - i * 60_000, device: MARKER }));
    expect(await upload(t!, tooMany, JSON.stringify(six))).toBe(413);
    // A second refusal of the same device within its interval is folded.
    expect(await upload(t!, notJson, `still not json ${MARKER}`)).toBe(400);

    const line = (deviceId: string, code: string, status: number, count: number) => ({ level: 30, component: 'nightscout', deviceId, code, status, count, msg: 'Nightscout upload refused' });
    const fields = (deviceId: string) => logged(deviceId).map(({ time: _time, service: _service, ...rest }) => rest);
    await waitFor(() => fields(tooMany.deviceId).length === 1, { what: 'the line of the upload with too many entries' });
    expect(fields(notJson.deviceId)).toEqual([line(notJson.deviceId, 'VIGIL_ERR_NOT_JSON', 400, 1)]);
    expect(fields(tooLarge.deviceId)).toEqual([line(tooLarge.deviceId, 'VIGIL_ERR_PAYLOAD_TOO_LARGE', 413, 1)]);
    expect(fields(tooMany.deviceId)).toEqual([line(tooMany.deviceId, 'VIGIL_ERR_BATCH_TOO_LARGE', 413, 1)]);
    // Each is in the rejection log too, the upload refused before its body was read as well (`vigil rejections`).
    for (const [dev, code] of [[notJson, 'VIGIL_ERR_NOT_JSON'], [tooLarge, 'VIGIL_ERR_PAYLOAD_TOO_LARGE'], [tooMany, 'VIGIL_ERR_BATCH_TOO_LARGE']] as const) {
      await waitFor(() => t!.vigil.ingest.rejections.recent({ deviceId: dev.deviceId }).length > 0, { what: `the rejection of ${code} recorded` });
      expect(t!.vigil.ingest.rejections.recent({ deviceId: dev.deviceId })[0]).toMatchObject({ code, ref: '*' });
    }
    expect(t!.vigil.ingest.rejections.recent({ deviceId: tooLarge.deviceId })[0]?.message).toMatch(/limit is 4096/);

    await stop();
    expect(fields(notJson.deviceId)).toEqual([line(notJson.deviceId, 'VIGIL_ERR_NOT_JSON', 400, 1), line(notJson.deviceId, 'VIGIL_ERR_NOT_JSON', 400, 1)]);
    expect(lines.filter((l) => JSON.stringify(l).includes(MARKER))).toEqual([]);
  });

  it('folds a refused upload into the line of a device whose MQTT publish was rejected just before', async () => {
    const dev = await t!.provision();
    const client = await t!.connectDevice(dev);
    const errors = await listenErrors(client, dev.deviceId);
    await client.publishAsync(`rpm/v1/devices/${dev.deviceId}/readings`, 'not json', { qos: 1 });
    await waitFor(() => errors.length === 1, { what: 'the MQTT rejection answered' });
    expect(await upload(t!, dev, 'not json either')).toBe(400);
    expect(logged(dev.deviceId).map((l) => [l.component, l.msg, l.count])).toEqual([['gateway', 'readings rejected', 1]]);
    await stop();
    expect(logged(dev.deviceId).map((l) => [l.component, l.msg, l.code, l.count])).toEqual([
      ['gateway', 'readings rejected', undefined, 1],
      ['nightscout', 'Nightscout upload refused', 'VIGIL_ERR_NOT_JSON', 1],
    ]);
  });
});
