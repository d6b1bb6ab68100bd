import { LeanClient } from './lean-client.js';

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
  /**
   * Messages each device sends first, not measured (payload numbers -1, -2, ...), at the measured load's pace:
   * as fast as acknowledged, or on the same schedule when paced. A paced load after a full-rate warm-up timed
   * the server recovering from that burst, which held the first half second: Vigil's PUBACK p99 paced from 100
   * devices, three alternating pairs on the same code, 67, 86 and 74 ms after a full-rate warm-up, 41, 42 and
   * 42 ms after a paced one (docs/benchmarks.md, "A tenth look").
   */
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

interface Stream {
  /** Messages each device sends. */
  readonly perDevice: number;
  /** The payload number of a device's message n (the warm-up's are negative). */
  readonly numbered: (n: number) => number;
  /** Milliseconds between two messages across all devices; 0: each device as fast as acknowledged. */
  readonly intervalMs: number;
  /** Called per PUBACK with its publish's time and its own. */
  readonly onAck?: (publishedAt: number, ackedAt: number) => void;
}

/**
 * Sends one stream and resolves when every message of it is acknowledged. Each device keeps at most `window`
 * messages in flight. Paced, the schedule is open loop: message k of the whole stream (device k mod N) is due at
 * k intervals from the start whether or not earlier ones were acknowledged, and a device whose window is full
 * sends its due messages as its PUBACKs arrive.
 */
function send(devices: readonly LeanClient[], o: LoadOptions, stream: Stream): Promise<void> {
  const n = devices.length;
  const topics = o.devices.map((d) => `rpm/v1/devices/${d.deviceId}/readings`);
  const sent = new Array<number>(n).fill(0);
  const overdue = new Array<number>(n).fill(0);
  const total = stream.perDevice * n;
  let acknowledged = 0;
  return new Promise<void>((resolve, reject) => {
    const publish = (i: number) => devices[i]!.publish(topics[i]!, o.payload(o.devices[i]!.deviceId, stream.numbered(sent[i]!++)));
    for (const [i, d] of devices.entries()) {
      if (d.failure) return reject(d.failure);
      d.onFailure(reject);
      d.onAck((publishedAt) => {
        const ackedAt = performance.now();
        stream.onAck?.(publishedAt, ackedAt);
        if (++acknowledged === total) return resolve();
        if (stream.intervalMs === 0 ? sent[i]! < stream.perDevice : overdue[i]! > 0) {
          if (stream.intervalMs > 0) overdue[i]!--;
          publish(i);
        }
      });
    }
    if (total === 0) return resolve();
    if (stream.intervalMs === 0) {
      devices.forEach((d, i) => d.batch(() => {
        while (sent[i]! < Math.min(o.window, stream.perDevice)) publish(i);
      }));
      return;
    }
    const startedAt = performance.now();
    let k = 0;
    const tick = () => {
      const now = performance.now();
      for (; k < total && startedAt + k * stream.intervalMs <= now; k++) {
        const i = k % n;
        if (devices[i]!.inFlight < o.window) publish(i);
        else overdue[i]!++;
      }
      if (k < total) setTimeout(tick, Math.max(0, startedAt + k * stream.intervalMs - performance.now()));
    };
    tick();
  });
}

/**
 * The same load against any broker: every device its own MQTT connection over TCP (`LeanClient`), QoS 1, at most
 * `window` messages in flight per device, each PUBACK timed. Bounded by count: it ends when every message is
 * acknowledged, or fails when a device's connection does.
 */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const { hostname, port } = new URL(o.url);
  const devices = await Promise.all(
    o.devices.map((d) => LeanClient.connect({ host: hostname, port: Number(port), clientId: d.deviceId, username: d.secret ? d.deviceId : undefined, password: d.secret })),
  );
  try {
    const intervalMs = o.ratePerSecond ? 1000 / o.ratePerSecond : 0;
    await send(devices, o, { perDevice: o.warmUpPerDevice ?? 0, numbered: (n) => -1 - n, intervalMs });
    await o.afterWarmUp?.();
    const pubackMs: number[] = [];
    const timeline: { publishedAt: number; ackedAt: number }[] = [];
    const startedAt = performance.now();
    await send(
      devices,
      o,
      {
        perDevice: o.perDevice,
        numbered: (n) => n,
        intervalMs,
        onAck: (publishedAt, ackedAt) => {
          pubackMs.push(ackedAt - publishedAt);
          timeline.push({ publishedAt: publishedAt - startedAt, ackedAt: ackedAt - startedAt });
        },
      },
    );
    const seconds = (performance.now() - startedAt) / 1000;
    return { acknowledged: pubackMs.length, seconds, pubackMs, timeline, startedAt };
  } finally {
    await Promise.all(devices.map((d) => d.end()));
  }
}
