import type { MqttClient } from 'mqtt';
import type { IPublishPacket } from 'mqtt-packet';
import type { Registry as MetricsRegistry } from 'prom-client';
import { deviceTopic, parseDeviceTopic, VigilError, workerAcl, type DeviceErrorMessage, type ErrorCode } from '../../domain/index.js';
import type { Registry } from '../../registry/index.js';
import { Admission } from '../admission.js';
import { logReadingsRejected, summariseRejections } from '../device-errors.js';
import { parseDeviceStatus } from '../device-status.js';
import type { GatewayLogger, HubSink, ReadingSink } from '../gateway.js';
import { acceptReadings } from '../reading-sink.js';
import { loggedDeviceId, loggedTopic } from '../log-fields.js';
import { LogLimiter, type DeviceLogLimit } from '../log-limiter.js';
import { StatusBatch } from '../status-batch.js';
import { connectToBroker, endSession, redact, type BrokerConnectionOptions } from './broker-connection.js';
import { createBrokerWorkerMetrics } from './metrics.js';
import { ackWhenDurable } from './ordered-acks.js';

const payloadOf = (packet: IPublishPacket): Buffer => (Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));

export interface BrokerWorkerOptions {
  readonly broker: BrokerConnectionOptions & {
    /** Workers in one group share the devices' messages: each message goes to one of them. */
    readonly shareGroup: string;
  };
  readonly topicPrefix: string;
  readonly registry: Registry;
  readonly sink: ReadingSink;
  /** Hubs' replies (the care loop); without it, replies are acknowledged and dropped with a warning. */
  readonly hub?: HubSink | undefined;
  readonly metrics: MetricsRegistry;
  readonly log: GatewayLogger;
  /** Payload bytes between arrival and PUBACK before the worker stops reading from the broker (VIGIL_MAX_INFLIGHT_BYTES). */
  readonly maxInFlightBytes: number;
  /** How often last-seen times are written to the registry. */
  readonly seenFlushMs?: number;
  /** The lines keyed by device, as the embedded gateway's (GatewayOptions.deviceLogLimiter); closed by its maker. */
  readonly deviceLogLimiter: DeviceLogLimit;
}

/**
 * Worker mode: Vigil runs no broker of its own and consumes the devices' readings and status from an external
 * MQTT broker (Mosquitto, EMQX, HiveMQ, VerneMQ) through a shared subscription, so several workers split the
 * stream. The broker has authenticated each device and enforced its topic ACL (a device publishes only under its
 * own id): the worker trusts the device id in the topic. A readings message is acknowledged to the broker only
 * once ingest made its readings durable; until then the broker keeps it in this worker's persistent session and
 * sends it again after a reconnect or a restart (at-least-once; ingest drops the duplicates).
 */
export async function startBrokerWorker(options: BrokerWorkerOptions) {
  const { registry, log, topicPrefix } = options;
  const logLimiter = new LogLimiter();
  // Keyed by device (and code), as the embedded gateway's: the one the Nightscout uploads' lines go through too.
  const { deviceLogLimiter } = options;
  const admission = new Admission(options.maxInFlightBytes);
  // The same first-come gate, counting messages instead of bytes: a 150-byte reading costs the worker far more
  // than its payload while it waits for its commit (its packet, its promises, its held PUBACK), so a byte bound
  // alone let a broker's backlog pile up here by the tens of thousands (docs/benchmarks.md, workers). Mosquitto
  // 2.0 does not hold a returning session to the Receive Maximum sent with the CONNECT: this gate is what holds.
  const slots = new Admission(options.broker.receiveMaximum);
  let peakInFlight = 0;
  /** When the last message arrived (performance.now()), and how many have: a retiring worker waits for quiet. */
  let lastArrival = performance.now();
  let arrivals = 0;
  const lastSeen = new Map<string, number>();
  let client: MqttClient | undefined;
  let closing = false;
  let connectedOnce = false;
  const metrics = createBrokerWorkerMetrics(options.metrics, {
    connected: () => client?.connected ?? false,
    inFlight: () => slots.inFlightBytes,
    peakInFlight: () => peakInFlight,
    bound: options.broker.receiveMaximum,
  });
  const filters = [...workerAcl(topicPrefix, options.broker.shareGroup).subscribe];

  /** Same payload and QoS 0 as the embedded gateway's (gateway.ts publishError): advice, never queued. */
  function publishError(deviceId: string, error: DeviceErrorMessage): void {
    client?.publish(deviceTopic(topicPrefix, deviceId, 'errors'), JSON.stringify(error), { qos: 0, retain: false }, (err) => {
      if (err) logLimiter.note('errors-topic', (count) => log.warn({ err, count }, 'could not publish to a device errors topic'));
    });
  }

  function refuse(deviceId: string, code: ErrorCode, ref: string, message: string): void {
    metrics.refused.inc({ code });
    logRefusal(deviceId, code);
    publishError(deviceId, { ref, code, message });
  }

  /**
   * At most one line per device and code every 10 s, as in the embedded gateway: keyed by code alone, one
   * device's refusals hid every other device's, and the line gave their count to the device it named. The
   * broker's ACL is the only check on a topic's device id, so only devices in Vigil's registry get a key of their
   * own: made-up ids, a new one per message, share one line per code instead of buying a line each. A made-up
   * id is also as long as the broker lets a topic be (64 KB): its line keeps its start and its length.
   */
  function logRefusal(deviceId: string, code: ErrorCode): void {
    const registered = isRegistered(deviceId);
    const id = registered ? { deviceId } : loggedDeviceId(deviceId);
    const line = (count: number) => log.warn({ ...id, code, count }, 'message from the broker refused');
    if (registered) deviceLogLimiter.note(`refused:${deviceId}:${code}`, line);
    else logLimiter.note(`refused:${code}`, line);
  }

  /** Whether Vigil's registry has the device (revoked or not): what bounds the per-device keys to the fleet. */
  function isRegistered(deviceId: string): boolean {
    try {
      return registry.getDevice(deviceId) !== undefined;
    } catch {
      // The state database unreadable: the refusal is still counted and answered; its line shares the code's.
      return false;
    }
  }

  /**
   * Writes the counts of lines folded since each key's last line, which no later message will carry. The
   * per-device limiter is closed by its maker, after every path that writes through it.
   */
  function closeLogLimiters(): void {
    logLimiter.close();
  }

  // Status reports, written in batches like the embedded gateway's; last-seen times every few seconds.
  const statuses = new StatusBatch(registry, (err) => log.warn({ err }, 'could not record device status'));
  function flushLastSeen(): void {
    if (lastSeen.size === 0) return;
    try {
      registry.markSeen([...lastSeen]);
      lastSeen.clear();
    } catch (err) {
      log.warn({ err }, 'could not record last-seen times');
    }
  }

  function handleStatus(deviceId: string, payload: Buffer): void {
    const at = Date.now();
    const checked = parseDeviceStatus(payload, at);
    if ('problem' in checked) return refuse(deviceId, 'VIGIL_ERR_BAD_STATUS', 'status', checked.problem);
    statuses.note({ kind: 'status', deviceId, status: checked.status, at });
  }

  /** Resolves when the message may be acknowledged; rejects when it must not be (the broker sends it again). */
  async function handleReadings(deviceId: string, payload: Buffer, format: 'v1' | 'senml'): Promise<void> {
    const device = registry.getDevice(deviceId);
    if (!device || device.revokedAt !== null) {
      // Acknowledged: sending it again would not make the device known. The broker should have refused it.
      return refuse(deviceId, 'VIGIL_ERR_NOT_FOUND', '*', 'device unknown to Vigil or revoked');
    }
    const outcome = await acceptReadings(options.sink, deviceId, payload, format);
    lastSeen.set(deviceId, Date.now());
    const summary = summariseRejections(outcome.rejections);
    if (summary) {
      logReadingsRejected(deviceLogLimiter, log, deviceId, outcome.rejections);
      publishError(deviceId, summary);
    }
  }

  async function enterBoth(bytes: number): Promise<() => void> {
    const leaveSlot = await slots.enter(1);
    const leaveBytes = await admission.enter(bytes);
    return () => {
      leaveBytes();
      leaveSlot();
    };
  }

  async function handle(packet: IPublishPacket): Promise<void> {
    const topic = parseDeviceTopic(topicPrefix, packet.topic);
    const payload = payloadOf(packet);
    if (topic?.kind === 'replies' && options.hub) {
      // The broker's ACL let only this hub publish here; the care loop checks the device is a hub of Vigil's.
      const problem = registry.getDevice(topic.deviceId)?.kind === 'hub' ? options.hub.handleReply(topic.deviceId, payload) : { ref: 'reply', code: 'VIGIL_ERR_FOREIGN_TOPIC' as const, message: 'only a hub may publish replies' };
      if (problem) refuse(topic.deviceId, problem.code, problem.ref, problem.message);
      metrics.messages.inc({ kind: 'other', outcome: 'acknowledged' });
      return;
    }
    if (!topic || topic.kind === 'errors' || topic.kind === 'inbox' || topic.kind === 'replies') {
      metrics.messages.inc({ kind: 'other', outcome: 'acknowledged' });
      const fields = loggedTopic(packet.topic);
      logLimiter.note('foreign-topic', (count) => log.warn({ ...fields, count }, 'message on a topic the worker does not read: acknowledged and dropped'));
      return;
    }
    if (topic.kind === 'status') {
      handleStatus(topic.deviceId, payload);
      metrics.messages.inc({ kind: 'status', outcome: 'acknowledged' });
      return;
    }
    const arrived = performance.now();
    await handleReadings(topic.deviceId, payload, topic.kind === 'senml' ? 'senml' : 'v1');
    metrics.ackSeconds.observe((performance.now() - arrived) / 1000);
    metrics.messages.inc({ kind: 'readings', outcome: 'acknowledged' });
  }

  function prepare(c: MqttClient): void {
    // Before the first CONNACK: a kept session's messages arrive at once, and their errors go out on this client.
    client = c;
    const acknowledge = ackWhenDurable(c);
    c.handleMessage = (packet, done) => {
      const stream = c.stream;
      lastArrival = performance.now();
      arrivals++;
      // Back-pressure: past either in-flight bound (messages, payload bytes), the next message is not read (nor
      // acknowledged) until earlier ones are acknowledged: mqtt.js reads on only once `done` is called, so the
      // rest stays queued at the broker, not in this process.
      void enterBoth(payloadOf(packet).length).then((release) => {
        peakInFlight = Math.max(peakInFlight, slots.inFlightBytes);
        const work = handle(packet);
        work.catch((err: Error) => {
          metrics.messages.inc({ kind: 'readings', outcome: 'not_acknowledged' });
          const outboxDown = err instanceof VigilError && err.code === 'VIGIL_ERR_OUTBOX_UNAVAILABLE';
          log.error({ err }, outboxDown ? 'not acknowledged: outbox unavailable; reconnecting so the broker sends it again' : 'ingest failed; reconnecting so the broker sends it again');
          // No PUBACK for this delivery: brokers send unacknowledged messages again only on a new connection
          // [MQTT-4.4.0-1], so the worker drops this one and mqtt.js reconnects a second later.
          if (c.stream === stream) stream.destroy();
        });
        // The PUBACK leaves only once the readings are durable (ordered-acks.ts); a QoS 0 message has none. The
        // message keeps its place in the bound until its PUBACK has left, as the broker counts it.
        const settled = packet.qos > 0 ? acknowledge(work, done) : work.then(() => done(), () => undefined);
        void settled.finally(release);
      });
    };
    c.on('connect', (connack) => {
      if (connectedOnce) metrics.reconnects.inc();
      connectedOnce = true;
      log.info({ broker: redact(options.broker.url), sessionPresent: connack.sessionPresent }, 'connected to the external broker');
      // A kept session still holds the subscriptions; a new one (first start, expired session) needs them.
      if (!connack.sessionPresent) subscribe(c);
    });
    c.on('close', () => {
      if (!closing && connectedOnce) logLimiter.note('broker-closed', (count) => log.warn({ count }, 'connection to the external broker lost; reconnecting'));
    });
    c.on('error', (err) => logLimiter.note(`broker-error:${err.message}`, (count) => log.warn({ err, count }, 'external broker connection error')));
  }

  let subscribed: Promise<void> | undefined;
  function subscribe(c: MqttClient): void {
    subscribed = c.subscribeAsync(filters, { qos: 1 }).then((granted) => {
      const refused = granted.filter((g) => g.qos !== 1);
      if (refused.length > 0) {
        throw new VigilError('VIGIL_ERR_CONFIG', `the broker refused the subscriptions ${refused.map((g) => g.topic).join(', ')} at QoS 1 (check its ACL for the worker's user)`);
      }
    });
    subscribed.catch((err: Error) => log.error({ err }, 'subscription failed'));
  }

  const connected = await connectToBroker(options.broker, prepare);
  client = connected.client;
  // Start-up fails on a refused subscription (ACL, broker without shared subscriptions): nothing would arrive.
  if (subscribed) {
    try {
      await subscribed;
    } catch (err) {
      await client.endAsync(true);
      throw err;
    }
  }
  log.info({ broker: redact(options.broker.url), protocolVersion: connected.protocolVersion, filters }, 'worker mode: consuming from the external broker');

  const seenTimer = setInterval(flushLastSeen, options.seenFlushMs ?? 2_000);
  seenTimer.unref();
  const active = client;

  return {
    /** No MQTT listener of its own: devices connect to the external broker. */
    mqttPort: undefined,
    mqttsPort: undefined,
    handleWebSocket: undefined,
    readiness() {
      return { ok: active.connected, mode: 'external', broker: redact(options.broker.url), protocolVersion: connected.protocolVersion, connected: active.connected };
    },
    /**
     * Puts a message in a hub's inbox through the external broker at QoS 1. On MQTT 5 the message-expiry property
     * makes the broker drop it unsent once it has expired [MQTT-3.3.2.3.3]; on 3.1.1 the hub reads `expiresAt`.
     */
    async publishToInbox(hubId: string, payload: Buffer, expiresAt: number): Promise<void> {
      const seconds = Math.max(1, Math.ceil((expiresAt - Date.now()) / 1000));
      const properties = connected.protocolVersion === 5 ? { properties: { messageExpiryInterval: seconds } } : {};
      await active.publishAsync(deviceTopic(topicPrefix, hubId, 'inbox'), payload, { qos: 1, retain: false, ...properties });
    },
    /**
     * Takes this worker out of the share group for good without losing a message (scaling down; docs/operations.md
     * "Retiring a worker"): waits until the backlog the broker kept for its session has arrived and been
     * acknowledged (no message for `quietMs`, none in flight), unsubscribes, waits the same way for what the broker
     * assigned before its UNSUBACK, then ends the session (MQTT 5: session expiry 0 on DISCONNECT; 3.1.1: one clean
     * connection), so that the broker assigns this worker nothing more. The worker is closed afterwards.
     */
    async retire(o: { quietMs: number; timeoutMs: number }): Promise<{ /** Messages received since this worker connected. */ messages: number }> {
      const deadline = performance.now() + o.timeoutMs;
      const quiet = async (what: string) => {
        while (slots.inFlightBytes > 0 || performance.now() - lastArrival < o.quietMs || !active.connected) {
          if (performance.now() > deadline) {
            throw new VigilError('VIGIL_ERR_BROKER', `the worker was still receiving (${what}) after ${Math.round(o.timeoutMs / 1000)} s: its session is kept; run the retirement again`);
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      };
      await quiet('its backlog');
      await active.unsubscribeAsync(filters);
      await quiet('after unsubscribing');
      closing = true;
      clearInterval(seenTimer);
      if (connected.protocolVersion === 5) {
        await active.endAsync(false, { properties: { sessionExpiryInterval: 0 } });
      } else {
        await active.endAsync(false);
        await endSession(options.broker);
      }
      statuses.flush();
      flushLastSeen();
      closeLogLimiters();
      // Since this worker connected: a retirement starts a stopped worker, which the backlog reaches at once.
      log.info({ broker: redact(options.broker.url), messages: arrivals }, 'worker retired: its session at the broker is ended');
      return { messages: arrivals };
    },
    /** Stops taking messages; what was not acknowledged stays with the broker for this worker's session. */
    async close(): Promise<void> {
      closing = true;
      clearInterval(seenTimer);
      // Forced: a message being committed is not acknowledged now and is sent again on the next connection.
      if (!active.disconnected) await active.endAsync(true);
      statuses.flush();
      flushLastSeen();
      closeLogLimiters();
    },
  };
}

export type BrokerWorker = Awaited<ReturnType<typeof startBrokerWorker>>;
