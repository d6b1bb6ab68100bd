import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

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
