import { connect, type MqttClient } from 'mqtt';
import { deviceTopic, inboxMessageSchema, type EducationWire, type HubReply, type InboxMessage, type ReadingType } from '../domain/index.js';
import { simulatedCheckinAnswers } from './checkin-answers.js';
import type { DeviceConnection } from './device.js';
import { Rng } from './rng.js';

export interface HubAppSpec {
  readonly hubId: string;
  readonly secret: string;
  readonly seed: number;
  /** Chance that the patient measures when reminded (0-1). */
  readonly measureAdherence: number;
  /** Chance that the patient takes a dose when reminded; the rest is skipped or left unanswered (missed). */
  readonly medicationAdherence: number;
  /** Chance that the patient answers a symptom check-in (0-1); the measurement adherence when left out. */
  readonly checkinAdherence?: number;
  /** Chance, per question, of an answer worse than the patient's usual (default 0.15). */
  readonly worseSymptomChance?: number;
  /** Answers the patient writes back to a message now and then. */
  readonly replies?: readonly string[];
}

export interface HubAppStats {
  received: number;
  measured: number;
  taken: number;
  skipped: number;
  unanswered: number;
  read: number;
  checkins: number;
}

/**
 * The patient's hub app, simulated as a real MQTT client (docs/hub-protocol.md): a persistent session
 * subscribed to its inbox at QoS 1, a `delivered` receipt for each message, and a patient who follows the plan
 * with the configured adherence: measures when reminded (`measure` is how the app asks a device to measure),
 * takes, skips or ignores doses, answers symptom check-ins (mostly as usual), reads messages (a `read` receipt), re-measures when asked and sometimes replies.
 * An expired message is never shown (MQTT 3.1.1 brokers do not drop it for us).
 */
export class SimulatedHubApp {
  readonly spec: HubAppSpec;
  readonly stats: HubAppStats = { received: 0, measured: 0, taken: 0, skipped: 0, unanswered: 0, read: 0, checkins: 0 };
  /** Education items kept by id (docs/hub-protocol.md): the same item comes with many reminders, shown once. */
  readonly education = new Map<string, EducationWire>();
  readonly #conn: DeviceConnection;
  readonly #measure: (type: ReadingType) => Promise<void>;
  readonly #rng: Rng;
  readonly #seen = new Set<string>();
  #client: MqttClient | undefined;

  constructor(spec: HubAppSpec, conn: DeviceConnection, measure: (type: ReadingType) => Promise<void>) {
    this.spec = spec;
    this.#conn = conn;
    this.#measure = measure;
    this.#rng = new Rng(spec.seed);
  }

  async start(): Promise<void> {
    const client = connect(this.#conn.url, {
      clientId: this.spec.hubId,
      username: this.spec.hubId,
      password: this.spec.secret,
      clean: false,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      ca: this.#conn.ca,
    });
    this.#client = client;
    client.on('message', (_topic, payload) => void this.#handle(payload).catch(() => undefined));
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    // A kept session still has the subscription (and the messages that waited for it).
    if (!connack.sessionPresent) await client.subscribeAsync(deviceTopic(this.#conn.topicPrefix, this.spec.hubId, 'inbox'), { qos: 1 });
  }

  async #reply(reply: { type: HubReply['type']; ref?: string; text?: string; answers?: object[] }): Promise<void> {
    await this.#client?.publishAsync(deviceTopic(this.#conn.topicPrefix, this.spec.hubId, 'replies'), JSON.stringify({ v: 1, at: new Date().toISOString(), ...reply }), { qos: 1 });
  }

  async #handle(payload: Buffer): Promise<void> {
    const parsed = inboxMessageSchema.safeParse(JSON.parse(payload.toString('utf8')));
    if (!parsed.success) return;
    const message: InboxMessage = parsed.data;
    // A redelivery (DUP) of a message already handled, or one that expired on the way: not shown again.
    if (this.#seen.has(message.id) || Date.parse(message.expiresAt) <= Date.now()) return;
    this.#seen.add(message.id);
    this.stats.received += 1;
    // A check-in carries no education items; reminders and messages may.
    if ('education' in message) for (const item of message.education ?? []) this.education.set(item.id, item);
    await this.#reply({ type: 'delivered', ref: message.id });
    switch (message.kind) {
      case 'measure_reminder':
        if (this.#rng.chance(this.spec.measureAdherence)) {
          this.stats.measured += 1;
          await this.#measure(message.measurement);
        }
        return;
      case 'medication_reminder': {
        const roll = this.#rng.next();
        if (roll < this.spec.medicationAdherence) {
          this.stats.taken += 1;
          await this.#reply({ type: 'taken', ref: message.id });
        } else if (roll < this.spec.medicationAdherence + (1 - this.spec.medicationAdherence) / 2) {
          this.stats.skipped += 1;
          await this.#reply({ type: 'skipped', ref: message.id });
        } else this.stats.unanswered += 1;
        return;
      }
      case 'message':
        this.stats.read += 1;
        await this.#reply({ type: 'read', ref: message.id });
        if (message.measure) {
          this.stats.measured += 1;
          await this.#measure(message.measure);
        }
        if (this.spec.replies?.length && this.#rng.chance(0.5)) await this.#reply({ type: 'message', ref: message.id, text: this.#rng.pick(this.spec.replies) });
        return;
      case 'checkin':
        if (this.#rng.chance(this.spec.checkinAdherence ?? this.spec.measureAdherence)) {
          this.stats.checkins += 1;
          await this.#reply({ type: 'checkin', ref: message.id, answers: simulatedCheckinAnswers(message.questionnaire, this.#rng, this.spec.worseSymptomChance) });
        }
        return;
    }
  }

  async stop(): Promise<void> {
    await this.#client?.endAsync().catch(() => undefined);
  }
}
