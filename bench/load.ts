import { connect, type MqttClient } from 'mqtt';

export interface Credentials {
  readonly deviceId: string;
  readonly secret?: string;
}

export interface LoadOptions {
  readonly url: string;
  readonly devices: readonly Credentials[];
  /** Messages each device publishes. */
  readonly perDevice: number;
  /** QoS 1 messages in flight per device (a device's window). */
  readonly window: number;
  /** Builds the payload of message n of a device. */
  readonly payload: (deviceId: string, n: number) => string;
  /** Paced load: messages per second across all devices (each device sends on its own schedule); unset: as fast as acknowledged. */
  readonly ratePerSecond?: number | undefined;
  /** Messages each device sends first, as fast as acknowledged and not measured (payload numbers -1, -2, ...). */
  readonly warmUpPerDevice?: number | undefined;
  /**
   * Called once the warm-up is acknowledged; the measured load starts when it has returned (or its promise has
   * settled): to read CPU counters, or to wait until the server has finished with the warm-up.
   */
  readonly afterWarmUp?: (() => void | Promise<void>) | undefined;
}

export interface LoadResult {
  readonly acknowledged: number;
  readonly seconds: number;
  /** Publish to PUBACK, ms, per message. */
  readonly pubackMs: number[];
  /** When each message was published and acknowledged (ms since the run started), in acknowledgement order. */
  readonly timeline: { publishedAt: number; ackedAt: number }[];
  readonly startedAt: number;
}

async function connectDevice(url: string, creds: Credentials): Promise<MqttClient> {
  const client = connect(url, {
    clientId: creds.deviceId,
    username: creds.secret ? creds.deviceId : undefined,
    password: creds.secret,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 30_000,
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

/**
 * The same load against any broker: every device a real MQTT client over TCP, QoS 1, at most `window`
 * messages in flight per device, each PUBACK timed. Bounded by count: it ends when every message is acknowledged.
 */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const clients = await Promise.all(o.devices.map((d) => connectDevice(o.url, d)));
  const warmUp = o.warmUpPerDevice ?? 0;
  await Promise.all(
    clients.map(async (client, i) => {
      const deviceId = o.devices[i]!.deviceId;
      let next = 0;
      const worker = async () => {
        while (next < warmUp) await client.publishAsync(`rpm/v1/devices/${deviceId}/readings`, o.payload(deviceId, -1 - next++), { qos: 1 });
      };
      await Promise.all(Array.from({ length: o.window }, worker));
    }),
  );
  await o.afterWarmUp?.();
  const pubackMs: number[] = [];
  const timeline: { publishedAt: number; ackedAt: number }[] = [];
  const startedAt = performance.now();
  await Promise.all(
    clients.map(async (client, i) => {
      const deviceId = o.devices[i]!.deviceId;
      const topic = `rpm/v1/devices/${deviceId}/readings`;
      let next = 0;
      const interval = o.ratePerSecond ? (1000 * o.devices.length) / o.ratePerSecond : 0;
      const offset = interval * (i / o.devices.length);
      const worker = async () => {
        while (next < o.perDevice) {
          const n = next++;
          // Open loop when paced: message n leaves at its time, whether or not earlier ones were acknowledged.
          const due = startedAt + offset + n * interval;
          if (interval > 0 && due > performance.now()) await new Promise((resolve) => setTimeout(resolve, due - performance.now()));
          const publishedAt = performance.now();
          await client.publishAsync(topic, o.payload(deviceId, n), { qos: 1 });
          const ackedAt = performance.now();
          pubackMs.push(ackedAt - publishedAt);
          timeline.push({ publishedAt: publishedAt - startedAt, ackedAt: ackedAt - startedAt });
        }
      };
      await Promise.all(Array.from({ length: o.window }, worker));
    }),
  );
  const seconds = (performance.now() - startedAt) / 1000;
  await Promise.all(clients.map((c) => c.endAsync(true)));
  return { acknowledged: pubackMs.length, seconds, pubackMs, timeline, startedAt };
}
