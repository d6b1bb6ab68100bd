import { Aedes } from 'aedes';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LeanClient } from './lean-client.js';
import { runLoad } from './load.js';

/** The bench's instrument against a real broker: what it sends, what it times, and that it never hangs. */
describe('bench load generator', () => {
  let broker: Aedes | undefined;
  let server: Server | undefined;

  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (broker ? broker.close(() => resolve()) : resolve()));
    broker = undefined;
    server = undefined;
  });

  async function start(options: Parameters<typeof Aedes.createBroker>[0] = {}): Promise<{ url: string; port: number; published: string[] }> {
    broker = await Aedes.createBroker(options);
    const published: string[] = [];
    broker.on('publish', (packet, client) => {
      if (client) published.push(packet.payload.toString());
    });
    server = createServer(broker.handle);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `mqtt://127.0.0.1:${port}`, port, published };
  }

  const payload = (deviceId: string, n: number) => JSON.stringify({ deviceId, n });

  it('sends the warm-up and then every message of every device once, and times each PUBACK', async () => {
    const { url, published } = await start();
    let warmedUp = 0;
    const load = await runLoad({
      url,
      devices: [{ deviceId: 'd-0' }, { deviceId: 'd-1' }, { deviceId: 'd-2' }],
      perDevice: 40,
      window: 5,
      payload,
      warmUpPerDevice: 10,
      afterWarmUp: () => {
        warmedUp = published.length;
      },
    });
    expect(warmedUp).toBe(30);
    expect(load.acknowledged).toBe(120);
    expect(load.pubackMs).toHaveLength(120);
    expect(load.pubackMs.every((ms) => ms >= 0)).toBe(true);
    expect(load.timeline.every((t) => t.ackedAt >= t.publishedAt)).toBe(true);
    const sent = published.map((p) => JSON.parse(p) as { deviceId: string; n: number });
    const warmUp = sent.filter((m) => m.n < 0);
    const measured = sent.filter((m) => m.n >= 0);
    expect(warmUp).toHaveLength(30);
    for (const deviceId of ['d-0', 'd-1', 'd-2']) {
      // Each device's messages leave in order, numbered 0 to 39, none twice.
      expect(measured.filter((m) => m.deviceId === deviceId).map((m) => m.n)).toEqual(Array.from({ length: 40 }, (_, n) => n));
    }
  });

  it('paced, never sends a message before its time (message k is due k intervals after the start)', async () => {
    const { url } = await start();
    const rate = 400;
    const load = await runLoad({ url, devices: [{ deviceId: 'p-0' }, { deviceId: 'p-1' }], perDevice: 30, window: 20, payload, ratePerSecond: rate });
    expect(load.acknowledged).toBe(60);
    const published = load.timeline.map((t) => t.publishedAt).sort((a, b) => a - b);
    published.forEach((at, k) => expect(at).toBeGreaterThanOrEqual((k * 1000) / rate - 1));
  });

  it('delivers to a lean subscriber, which acknowledges every message at QoS 1', async () => {
    const { url, port } = await start();
    // aedes emits 'ack' when a subscriber's PUBACK for a delivered QoS 1 message arrives.
    let acknowledgedBySubscriber = 0;
    broker!.on('ack', (_packet, client) => {
      if (client.id === 'sub') acknowledgedBySubscriber++;
    });
    const subscriber = await LeanClient.connect({ host: '127.0.0.1', port, clientId: 'sub' });
    try {
      await subscriber.subscribe('rpm/v1/devices/+/readings');
      const load = await runLoad({ url, devices: [{ deviceId: 's-0' }], perDevice: 25, window: 5, payload });
      expect(load.acknowledged).toBe(25);
      for (let i = 0; i < 100 && acknowledgedBySubscriber < 25; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(acknowledgedBySubscriber).toBe(25);
    } finally {
      await subscriber.end();
    }
  });

  it('fails with the reason when the broker refuses a device, instead of hanging', async () => {
    const { url } = await start({ authenticate: (_client, _username, _password, done) => done(null, false) });
    await expect(runLoad({ url, devices: [{ deviceId: 'x', secret: 'wrong' }], perDevice: 1, window: 1, payload })).rejects.toThrow(/CONNACK refused with return code/);
  });
});
