import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const BOUND = 65_536;
const DEVICES = 40;
const MESSAGES = 25;
const PER_MESSAGE = 40;

/**
 * More than Vigil takes at once: 40 devices each upload 25 backlog messages of 40 readings without waiting for
 * PUBACKs. With a small in-flight bound, publishes must queue (back-pressure), memory for them stays bounded, and
 * every reading is still acknowledged and stored exactly once.
 */
describe('overload', () => {
  let t: TestVigil;
  beforeAll(async () => {
    t = await startTestVigil({ VIGIL_MAX_INFLIGHT_BYTES: String(BOUND), VIGIL_DEVICE_RATE: '100000', VIGIL_DEVICE_BURST: '100000' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('holds publishes back past the in-flight bound, and loses none of them', async () => {
    const devices = await Promise.all(Array.from({ length: DEVICES }, () => t.provision()));
    const clients = await Promise.all(devices.map((d) => t.connectDevice(d)));
    let maxInFlight = 0;
    let maxWaiting = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
        maxInFlight = Math.max(maxInFlight, Number(/^vigil_ingest_inflight_bytes (\d+)/m.exec(text)?.[1] ?? 0));
        maxWaiting = Math.max(maxWaiting, Number(/^vigil_ingest_backpressure_waiting (\d+)/m.exec(text)?.[1] ?? 0));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const base = Date.now() - 3_600_000;
    let largest = 0;
    const acks = devices.flatMap((d, k) =>
      Array.from({ length: MESSAGES }, (_, m) => {
        const readings = Array.from({ length: PER_MESSAGE }, (_, n) => ({ type: 'heart_rate', time: new Date(base + (m * PER_MESSAGE + n) * 1000).toISOString(), value: 60 + (n % 40), id: `m${m}-${n}` }));
        const payload = JSON.stringify(readings);
        largest = Math.max(largest, payload.length);
        return clients[k]!.publishAsync(`rpm/v1/devices/${d.deviceId}/readings`, payload, { qos: 1 });
      }),
    );
    await Promise.all(acks);
    sampling = false;
    await sampler;
    expect(maxWaiting).toBeGreaterThan(0);
    expect(maxInFlight).toBeLessThanOrEqual(BOUND + largest);
    const total = DEVICES * MESSAGES * PER_MESSAGE;
    await waitFor(
      async () => {
        const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
        return Number(/^vigil_readings_stored_total (\d+)/m.exec(text)?.[1] ?? 0) >= total;
      },
      { what: 'every reading stored', timeoutMs: 60_000 },
    );
    for (const d of devices.slice(0, 3)) {
      const points = await t.vigil.ingest.store.queryRaw({ patientId: d.patientId, type: 'heart_rate', from: 0, to: Date.now() });
      expect(points).toHaveLength(MESSAGES * PER_MESSAGE);
    }
  });

  it('absorbs a reconnect storm: 1,000 devices connecting at the same moment all get in', async () => {
    const devices = await Promise.all(Array.from({ length: 1000 }, () => t.provision()));
    const clients = await Promise.all(devices.map((d) => t.connectDevice(d, { clean: true, keepalive: 0 })));
    expect(clients.every((c) => c.connected)).toBe(true);
    await waitFor(
      async () => {
        const text = await (await fetch(`${t.httpUrl}/metrics`)).text();
        return Number(/^vigil_devices_connected (\d+)/m.exec(text)?.[1] ?? 0) >= 1000;
      },
      { what: '1,000 devices connected' },
    );
    await Promise.all(clients.map((c) => c.endAsync(true)));
  });
});
