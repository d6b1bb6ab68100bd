import { connect, type MqttClient } from 'mqtt';
import { deviceTopic, type DeviceErrorMessage, type WireReadingInput } from '../domain/index.js';
import { duringEpisode, episodeStep, type Episode } from './episodes.js';
import { implausible } from './faults.js';
import { applyTrend, historyTimes, type HistoryTrend } from './history.js';
import { measure, type DeviceModel } from './models/index.js';
import { PROFILES, type Condition } from './profiles.js';
import { Rng } from './rng.js';

const CGM_WARM_UP_READINGS = 2;
const CGM_SIGNAL_LOSS_CHANCE = 0.02;

export interface SimulatedDeviceSpec {
  readonly deviceId: string;
  readonly secret: string;
  readonly model: DeviceModel;
  readonly condition: Condition;
  readonly seed: number;
  /** Share of readings sent with an impossible value (0-1). */
  readonly badReadingRate?: number;
  /** A clinical episode the patient goes through now and then. */
  readonly episode?: Episode | undefined;
  /** How the backfilled history trends towards today. */
  readonly trend?: HistoryTrend | undefined;
  /** Devices with the same hub are relayed by one phone hub (store-and-forward when it is offline). */
  readonly hub?: string | undefined;
  /** Share of the past measurements (backfill) the patient actually took (0-1, default 1): plan adherence. */
  readonly adherence?: number | undefined;
}

export interface DeviceConnection {
  /** mqtt://host:port, mqtts://host:port or ws://host:port/mqtt */
  readonly url: string;
  readonly topicPrefix: string;
  /** Trust this CA for mqtts:// and wss:// (self-signed test certificates). */
  readonly ca?: Buffer | undefined;
}

export interface DeviceStats {
  published: number;
  acknowledged: number;
  rejected: number;
  lastRejection?: DeviceErrorMessage | undefined;
  /** Every error the gateway sent on this device's errors topic, in order. */
  readonly rejections: DeviceErrorMessage[];
}

/**
 * A simulated device is a real MQTT client with its own credentials, doing what a real device does: a
 * persistent session (so unacknowledged readings are resent after a reconnect), a retained online status with a
 * last will that marks it offline, QoS 1 readings, and a subscription to its own errors topic.
 */
export class SimulatedDevice {
  readonly spec: SimulatedDeviceSpec;
  readonly stats: DeviceStats = { published: 0, acknowledged: 0, rejected: 0, rejections: [] };
  readonly #conn: DeviceConnection;
  readonly #rng: Rng;
  #client: MqttClient | undefined;
  #seq = 0;
  /** CGM readings held while the sensor has no signal, sent as a backlog when it returns (as transmitters do). */
  #held: WireReadingInput[] = [];
  #signalLossLeft = 0;

  constructor(spec: SimulatedDeviceSpec, conn: DeviceConnection) {
    this.spec = spec;
    this.#conn = conn;
    this.#rng = new Rng(spec.seed);
  }

  #topic(kind: 'readings' | 'status' | 'errors'): string {
    return deviceTopic(this.#conn.topicPrefix, this.spec.deviceId, kind);
  }

  async start(): Promise<void> {
    const client = connect(this.#conn.url, {
      clientId: this.spec.deviceId,
      username: this.spec.deviceId,
      password: this.spec.secret,
      clean: false,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      ca: this.#conn.ca,
      will: { topic: this.#topic('status'), payload: Buffer.from('{"online":false}'), qos: 1, retain: true },
    });
    this.#client = client;
    client.on('message', (_topic, payload) => {
      try {
        // Errors message v2: one summary per publish, listing the first rejections and counting all of them.
        const summary = JSON.parse(payload.toString('utf8')) as DeviceErrorMessage & { rejected?: number; errors?: DeviceErrorMessage[] };
        this.stats.lastRejection = summary;
        this.stats.rejections.push(...(summary.errors ?? [summary]));
        this.stats.rejected += summary.rejected ?? 1;
      } catch {
        // A device ignores what it cannot read.
      }
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync(this.#topic('errors'), { qos: 1 });
    await client.publishAsync(
      this.#topic('status'),
      JSON.stringify({ online: true, battery: Math.round(60 + this.#rng.next() * 40), firmware: 'sim-1.0' }),
      { qos: 1, retain: true },
    );
  }

  /**
   * What the device sends now: usually one reading; nothing during a CGM's sensor warm-up or a signal loss;
   * the readings held through a signal loss, as one backlog array, when the signal returns.
   */
  nextPayload(at = new Date()): WireReadingInput | WireReadingInput[] | undefined {
    const reading = this.nextReading(at);
    if (this.spec.model !== 'cgm') return reading;
    // A new sensor gives no readings while it warms up (the first few of the run).
    if (this.#seq <= CGM_WARM_UP_READINGS) return undefined;
    if (this.#signalLossLeft === 0 && this.#rng.chance(CGM_SIGNAL_LOSS_CHANCE)) this.#signalLossLeft = 3 + Math.floor(this.#rng.next() * 4);
    if (this.#signalLossLeft > 0) {
      this.#signalLossLeft -= 1;
      this.#held.push(reading);
      return undefined;
    }
    if (this.#held.length === 0) return reading;
    const backlog = [...this.#held, reading];
    this.#held = [];
    return backlog;
  }

  /** The next measurement this device would take now. */
  nextReading(at = new Date()): WireReadingInput {
    const seq = ++this.#seq;
    let reading = measure(this.spec.model, { body: PROFILES[this.spec.condition], at, rng: this.#rng, seq });
    const step = episodeStep(this.spec.episode, seq);
    if (step !== undefined && this.spec.episode) reading = duringEpisode(reading, this.spec.episode, step);
    return this.#rng.chance(this.spec.badReadingRate ?? 0) ? implausible(reading) : reading;
  }

  /**
   * Uploads `days` of past measurements as backlog arrays, as a phone hub does after being offline, so that a
   * new installation has history (and trend rules something to judge). Ids are derived from the time of
   * measurement, so a second backfill of the same period is recognised as duplicates.
   */
  async backfill(days: number, now = Date.now()): Promise<number> {
    // A patient who measures on 70 % of the planned occasions leaves the other 30 % empty (a separate stream,
    // so that the readings taken stay the same whatever the adherence).
    const skips = new Rng(this.spec.seed + 104_729);
    const taken = historyTimes(this.spec.model, days, now).filter(() => !skips.chance(1 - (this.spec.adherence ?? 1)));
    const readings = taken.map((at) => {
      const reading = measure(this.spec.model, { body: PROFILES[this.spec.condition], at, rng: this.#rng, seq: 0 });
      return { ...applyTrend(reading, this.spec.trend, (now - at.getTime()) / 86_400_000), id: `h${at.getTime()}` };
    });
    for (let i = 0; i < readings.length; i += 500) await this.publish(readings.slice(i, i + 500));
    return readings.length;
  }

  /** Publishes readings (QoS 1) and resolves on the PUBACK. */
  async publish(readings: WireReadingInput | readonly WireReadingInput[]): Promise<void> {
    if (!this.#client) throw new Error('device not started');
    this.stats.published += Array.isArray(readings) ? readings.length : 1;
    await this.#client.publishAsync(this.#topic('readings'), JSON.stringify(readings), { qos: 1 });
    this.stats.acknowledged += Array.isArray(readings) ? readings.length : 1;
  }

  /**
   * Publishes any payload to any topic (a broken or hostile device). With QoS 1 it resolves on the PUBACK;
   * with QoS 0 (used for what the gateway refuses, so that the client does not resend it forever) it resolves
   * once sent. Rejects if the gateway closes the connection instead.
   */
  async publishRaw(topic: string, payload: string | Buffer, qos: 0 | 1 = 1): Promise<void> {
    if (!this.#client) throw new Error('device not started');
    const client = this.#client;
    await new Promise<void>((resolve, reject) => {
      const onClose = () => reject(new Error('connection closed by the gateway'));
      client.once('close', onClose);
      client.publish(topic, payload, { qos }, (err) => {
        if (qos === 1 || err) client.off('close', onClose);
        if (err) reject(err);
        else if (qos === 1) resolve();
        else setTimeout(() => {
          client.off('close', onClose);
          resolve();
        }, 1000);
      });
    });
  }

  /** The topic of this device for a kind, or another device's (for hostile scenarios). */
  topic(kind: 'readings' | 'status' | 'errors', deviceId = this.spec.deviceId): string {
    return deviceTopic(this.#conn.topicPrefix, deviceId, kind);
  }

  /** Drops the network connection without a DISCONNECT, as a phone losing signal does; mqtt.js reconnects. */
  dropConnection(): void {
    this.#client?.stream.destroy();
  }

  async waitConnected(timeoutMs = 15_000): Promise<void> {
    const client = this.#client;
    if (!client || client.connected) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('device did not reconnect')), timeoutMs);
      client.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Gives up at once, without a last status: for a device that never connected (mqtt.js would keep retrying). */
  async abort(): Promise<void> {
    await this.#client?.endAsync(true);
  }

  async stop(): Promise<void> {
    const client = this.#client;
    if (!client) return;
    await client.publishAsync(this.#topic('status'), '{"online":false}', { qos: 1, retain: true }).catch(() => undefined);
    await client.endAsync();
  }
}
