import { connect, type MqttClient } from 'mqtt';
import { deviceTopic } from '../domain/index.js';
import type { DeviceConnection } from './device.js';

export interface LoadDevice {
  readonly deviceId: string;
  readonly secret: string;
}

export interface LoadOptions extends DeviceConnection {
  readonly devices: readonly LoadDevice[];
  /** Target readings per second over the whole fleet. */
  readonly rate: number;
  readonly durationMs: number;
  /** Stop after this many readings, if sooner. */
  readonly maxCount?: number | undefined;
  /** Devices whose one reading is a blood-pressure crisis, to time the reading-to-alert path. */
  readonly probes?: readonly LoadDevice[] | undefined;
  readonly onProgress?: (snapshot: LoadSnapshot) => void;
  readonly progressEveryMs?: number;
}

export interface LoadSnapshot {
  readonly elapsedSeconds: number;
  readonly published: number;
  readonly acknowledged: number;
  readonly errors: number;
  readonly ackedPerSecond: number;
  readonly puback: { readonly p50: number; readonly p95: number; readonly p99: number };
}

export interface LoadResult extends LoadSnapshot {
  readonly connectSeconds: number;
  /** When each probe's crisis reading was published (epoch ms), by device id. */
  readonly probeSentAt: ReadonlyMap<string, number>;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Drives many simulated devices at a target rate: each device publishes QoS 1 heart-rate readings on its own
 * schedule (one in flight at a time, as a real device), and every publish-to-PUBACK time is recorded. Bounded
 * by time and, optionally, count; it stops by itself.
 */
export async function runFleetLoad(o: LoadOptions): Promise<LoadResult> {
  const connectStarted = performance.now();
  const connectDevice = async (d: LoadDevice): Promise<MqttClient> => {
    const client = connect(o.url, { clientId: d.deviceId, username: d.deviceId, password: d.secret, clean: true, reconnectPeriod: 1000, connectTimeout: 60_000, ca: o.ca });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    return client;
  };
  // Connect in waves, so that authentication (a slow KDF on the server) is not asked for all at once.
  const clients: MqttClient[] = [];
  for (let i = 0; i < o.devices.length; i += 200) clients.push(...(await Promise.all(o.devices.slice(i, i + 200).map(connectDevice))));
  const probeClients = await Promise.all((o.probes ?? []).map(connectDevice));
  const connectSeconds = (performance.now() - connectStarted) / 1000;

  const latencies: number[] = [];
  let published = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + o.durationMs;
  const periodMs = (o.devices.length / o.rate) * 1000;
  const base = Date.now();
  const snapshot = (): LoadSnapshot => {
    const sorted = [...latencies].sort((a, b) => a - b);
    const elapsedSeconds = (performance.now() - started) / 1000;
    return {
      elapsedSeconds,
      published,
      acknowledged: latencies.length,
      errors,
      ackedPerSecond: latencies.length / Math.max(elapsedSeconds, 0.001),
      puback: { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) },
    };
  };
  const progress = o.onProgress ? setInterval(() => o.onProgress!(snapshot()), o.progressEveryMs ?? 5000) : undefined;
  const done = () => performance.now() >= deadline || (o.maxCount !== undefined && published >= o.maxCount);

  const deviceLoop = async (client: MqttClient, deviceId: string, offset: number) => {
    const topic = deviceTopic(o.topicPrefix, deviceId, 'readings');
    let next = started + offset;
    for (let n = 0; !done(); n++) {
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      if (done()) break;
      next += periodMs;
      published += 1;
      const sent = performance.now();
      try {
        await client.publishAsync(topic, JSON.stringify({ type: 'heart_rate', time: new Date(base + n * periodMs).toISOString(), value: 60 + (n % 40), id: `l${n}` }), { qos: 1 });
        latencies.push(performance.now() - sent);
      } catch {
        errors += 1;
      }
    }
  };
  const probeSentAt = new Map<string, number>();
  const probeLoop = async () => {
    const spacing = o.durationMs / Math.max(1, probeClients.length + 1);
    for (const [i, client] of probeClients.entries()) {
      // Probes are few and each is a measurement: all of them are sent, even if the last lands after the end.
      await sleep(spacing);
      const probe = o.probes![i]!;
      probeSentAt.set(probe.deviceId, Date.now());
      await client.publishAsync(deviceTopic(o.topicPrefix, probe.deviceId, 'readings'), JSON.stringify({ type: 'blood_pressure', time: new Date().toISOString(), systolic: 196, diastolic: 112, id: 'probe' }), { qos: 1 });
    }
  };
  await Promise.all([...clients.map((c, i) => deviceLoop(c, o.devices[i]!.deviceId, (i / clients.length) * periodMs)), probeLoop()]);
  if (progress) clearInterval(progress);
  const result = { ...snapshot(), connectSeconds, probeSentAt };
  await Promise.all([...clients, ...probeClients].map((c) => c.endAsync(true)));
  return result;
}
