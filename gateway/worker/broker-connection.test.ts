import { createServer, type AddressInfo, type Server } from 'node:net';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectToBroker, redact } from './broker-connection.js';

/** A real MQTT 3.1.1-only broker (aedes 1.x refuses MQTT 5 with return code 1) that knows one user. */
describe('connectToBroker', () => {
  let broker: Aedes;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    broker = await Aedes.createBroker({
      authenticate: (_client, username, password, done) => {
        const ok = username === 'worker' && password?.toString() === 'right';
        done(ok ? null : Object.assign(new Error('bad login'), { returnCode: 4 as const }), ok);
      },
    });
    server = createServer(broker.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const options = (password: string) => ({ url, clientId: 'w-test', username: 'worker', password, sessionExpirySeconds: 60, connectTimeoutMs: 10_000, receiveMaximum: 100 });

  it('falls back to MQTT 3.1.1 when the broker refuses MQTT 5, with a persistent session', async () => {
    const prepared: number[] = [];
    const receiveMaximum: (number | undefined)[] = [];
    const { client, protocolVersion } = await connectToBroker(options('right'), (c) => {
      prepared.push(c.options.protocolVersion ?? 0);
      receiveMaximum.push(c.options.properties?.receiveMaximum);
    });
    try {
      expect(protocolVersion).toBe(4);
      expect(prepared).toEqual([5, 4]);
      // The MQTT 5 CONNECT asks the broker for at most VIGIL_WORKER_MAX_INFLIGHT unacknowledged messages.
      expect(receiveMaximum).toEqual([100, undefined]);
      expect(client.connected).toBe(true);
      expect(client.options.clean).toBe(false);
    } finally {
      await client.endAsync(true);
    }
  });

  it('fails at once, without waiting for the timeout, when the broker refuses the credentials', async () => {
    const started = Date.now();
    await expect(connectToBroker(options('wrong'), () => undefined)).rejects.toThrow(/Bad username or password|Not authorized/i);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('speaks only MQTT 3.1.1 when told to (VIGIL_BROKER_PROTOCOL=3.1.1), without trying 5 first', async () => {
    const prepared: number[] = [];
    const { client, protocolVersion } = await connectToBroker({ ...options('right'), protocol: 4 }, (c) => prepared.push(c.options.protocolVersion ?? 0));
    await client.endAsync(true);
    expect(protocolVersion).toBe(4);
    expect(prepared).toEqual([4]);
  });

  it('never shows the credentials of a URL', () => {
    expect(redact('mqtts://user:secret@broker.example.org:8883')).toBe('mqtts://broker.example.org:8883');
  });
});
