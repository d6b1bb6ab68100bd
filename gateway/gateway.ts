import { Aedes, type AuthenticateError, type Client, type PublishPacket, type Subscription } from 'aedes';
import type { Registry as MetricsRegistry } from 'prom-client';
import {
  deviceTopic,
  ID_PATTERN,
  inboxExpiresAt,
  parseDeviceTopic,
  VigilError,
  type DeviceErrorMessage,
  type ErrorCode,
  type RejectionCode,
} from '../domain/index.js';
import type { DeviceStatusChange, Registry } from '../registry/index.js';
import { clientIdMatches, deviceIdOf, setDeviceId } from './client-identity.js';
import { Admission } from './admission.js';
import { AuthThrottle } from './auth-throttle.js';
import { ConnectionLimits, openFilesLimit } from './connection-limits.js';
import { logReadingsRejected, summariseRejections } from './device-errors.js';
import { endDevicePublishesAtVigil } from './device-publishes.js';
import { parseDeviceStatus } from './device-status.js';
import { StatusBatch } from './status-batch.js';
import { startListeners, type ConnectionRefusal } from './listeners.js';
import { loggedDeviceId, loggedTopic } from './log-fields.js';
import { LogLimiter, type DeviceLogLimit } from './log-limiter.js';
import { createGatewayMetrics } from './metrics.js';
import { inArrivalOrder, type PublishAnswer } from './puback-order.js';
import { acknowledgeHere } from './puback-writer.js';
import type { ReadingSink, SinkOutcome } from './reading-sink.js';
import { DeviceRateLimiter } from './rate-limit.js';
import { DeviceSessions } from './sessions.js';
import { markAuthenticated } from './stream-guard.js';
import { watchInboxDelivery, type InboxDelivery } from './inbox-delivery.js';

/** A hub reply refused: reported on the hub's errors topic (docs/hub-protocol.md "Errors"). */
export interface ReplyProblem {
  readonly ref: string;
  readonly code: RejectionCode;
  readonly message: string;
}

/** How the gateway hands a hub's reply to the care loop: recorded when it returns (then acknowledged). */
export interface HubSink extends InboxDelivery {
  handleReply(hubId: string, payload: Buffer): ReplyProblem | undefined;
}

export type { ReadingSink, SinkOutcome } from './reading-sink.js';

export interface GatewayLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface GatewayOptions {
  readonly host: string;
  /** TCP port for MQTT; 0 picks a free one. */
  readonly port: number;
  readonly tls?: { readonly port: number; readonly cert: Buffer; readonly key: Buffer; readonly ca?: Buffer | undefined } | undefined;
  readonly topicPrefix: string;
  readonly registry: Registry;
  readonly sink: ReadingSink;
  /** Hubs' replies (the care loop); without it, replies are refused as a foreign topic. */
  readonly hub?: HubSink | undefined;
  readonly metrics: MetricsRegistry;
  readonly log: GatewayLogger;
  readonly rate: { readonly perSecond: number; readonly burst: number; readonly maxWaitMs: number };
  /** Payload bytes between arrival and PUBACK across all devices before publishes wait (back-pressure). */
  readonly maxInFlightBytes: number;
  /** How often revocations made by the CLI are enforced on live connections. */
  readonly revocationSweepMs?: number;
  /** Largest readings payload (VIGIL_MAX_PAYLOAD_BYTES): the stream guard derives the largest packet from it. */
  readonly maxPayloadBytes?: number;
  /** Availability limits of the MQTT side (docs/security.md); each has a default. */
  readonly protection?: Partial<GatewayProtection>;
  /**
   * The lines keyed by device (a device's refused publishes and subscriptions, its rejected readings): one line per
   * device and reason every 10 s, shared with the Nightscout uploads' (perDeviceLogLimiter). Closed by its maker,
   * after every path that writes through it.
   */
  readonly deviceLogLimiter: DeviceLogLimit;
}

export interface GatewayProtection {
  /** Open MQTT connections (TCP, TLS, WebSocket), authenticated or not. */
  readonly maxConnections: number;
  /** MQTT connections from one remote address that have not authenticated yet. */
  readonly maxConnectionsPerAddress: number;
  /** A connection must have authenticated this long after it was accepted. */
  readonly connectTimeoutMs: number;
  /** Largest CONNECT packet (remaining length). */
  readonly maxConnectBytes: number;
  /** Bytes read from a connection before it authenticates; past them its reading pauses. */
  readonly unauthenticatedBytes: number;
  /** Client ids (sessions) one device may hold. */
  readonly maxSessionsPerDevice: number;
  /** Failed logins per minute from one remote address, and for one device id, before attempts are refused unchecked. */
  readonly authFailuresPerMinutePerAddress: number;
  readonly authFailuresPerMinutePerDevice: number;
  /** Origins allowed on MQTT over WebSocket ('*': any); requests without an Origin (devices) always are. */
  readonly webSocketOrigins: readonly string[] | '*';
}

export const GATEWAY_PROTECTION_DEFAULTS: GatewayProtection = Object.freeze({
  maxConnections: 10_000,
  maxConnectionsPerAddress: 1_000,
  connectTimeoutMs: 5_000,
  maxConnectBytes: 4_096,
  unauthenticatedBytes: 16_384,
  maxSessionsPerDevice: 4,
  authFailuresPerMinutePerAddress: 10,
  authFailuresPerMinutePerDevice: 20,
  webSocketOrigins: [],
});

/**
 * [MQTT-1.5.3] a topic name is at most 65,535 bytes; with its 2-byte length and the 2-byte packet identifier
 * [MQTT-2.3.1], this is the most a PUBLISH variable header can take. A packet declaring more than the payload
 * limit plus that cannot carry an acceptable payload and is refused at its header.
 */
const MAX_PUBLISH_HEADER_BYTES = 2 + 65_535 + 2;

function authError(message: string, returnCode: 3 | 4 | 5): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/** aedes' persistence, which its type declarations leave out. */
interface BrokerPersistence {
  readonly persistence: {
    cleanSubscriptions(client: { id: string }): Promise<void>;
    createRetainedStream(pattern: string): AsyncIterable<unknown>;
  };
}

function remoteOf(client: Client): string | undefined {
  return (client.conn as { remoteAddress?: string }).remoteAddress;
}

/**
 * The MQTT gateway: an aedes broker on TCP (and TLS, and WebSocket through the HTTP server) where each device
 * logs in with its own id and secret and may only publish its own readings and status and read its own errors.
 * A readings message is acknowledged (PUBACK) only after ingest has made its readings durable: the PUBACK is
 * given when authorizePublish calls back (written by the stream guard, puback-writer.ts, or by aedes when the
 * connection is backed up), so the durable write happens before that callback.
 */
export async function createGateway(options: GatewayOptions) {
  const { registry, log, topicPrefix } = options;
  const protection: GatewayProtection = { ...GATEWAY_PROTECTION_DEFAULTS, ...options.protection };
  const limiter = new DeviceRateLimiter(options.rate.perSecond, options.rate.burst);
  const admission = new Admission(options.maxInFlightBytes);
  const connectionLimits = new ConnectionLimits(protection.maxConnections, protection.maxConnectionsPerAddress);
  const sessions = new DeviceSessions(protection.maxSessionsPerDevice);
  const addressFailures = new AuthThrottle(protection.authFailuresPerMinutePerAddress);
  const deviceFailures = new AuthThrottle(protection.authFailuresPerMinutePerDevice);
  // The connection refusals' few reasons; the lines keyed by device go through options.deviceLogLimiter.
  const logLimiter = new LogLimiter();
  const { deviceLogLimiter } = options;
  const connections = new Map<string, number>();
  const lastSeen = new Map<string, number>();
  let broker: Aedes;
  const metrics = createGatewayMetrics(options.metrics, () => broker?.connectedClients ?? 0, admission, () => connectionLimits.open);
  const observePuback = metrics.pubackSeconds.observe;

  /**
   * Errors go to the device's connected subscribers only, at QoS 0: nothing is queued for offline sessions
   * (aedes would keep a QoS 1 message for every persistent session without bound, as Mosquitto does up to
   * max_queued_messages). A report is advice about a message already acknowledged; the rejection log keeps all.
   */
  function publishError(deviceId: string, error: DeviceErrorMessage): void {
    broker.publish(
      {
        cmd: 'publish',
        topic: deviceTopic(topicPrefix, deviceId, 'errors'),
        payload: Buffer.from(JSON.stringify(error)),
        qos: 0,
        retain: false,
        dup: false,
      },
      (err) => {
        if (err) log.warn({ deviceId, err }, 'could not publish to the device errors topic');
      },
    );
  }

  /**
   * Device state (online, battery, last seen) is bookkeeping: when the state database cannot be written (disk
   * full, say) the gateway logs it and keeps serving, rather than letting the error escape an event handler.
   */
  function recordState(deviceId: string, what: string, write: () => void): void {
    try {
      write();
    } catch (err) {
      log.warn({ deviceId, err }, `could not record device ${what}`);
    }
  }

  // Online/offline and status reports, written in batches (see Registry.recordStatusChanges).
  const statuses = new StatusBatch(registry, (err) => log.warn({ deviceId: '*', err: err.message }, 'could not record device status'));
  const noteStatus = (change: DeviceStatusChange) => statuses.note(change);

  function refuse(deviceId: string, code: ErrorCode, message: string, client: Client, topic?: string): Error {
    metrics.refused.inc({ code });
    // At most one line per device and code every 10 s, with the count: one write of pipelined publishes past the
    // rate limit is refused hundreds of times before the connection closes. The fields are taken now: a folded
    // line is kept until its interval ends, and must not hold the connection or a 64 KB topic meanwhile.
    const fields = { deviceId, code, remote: remoteOf(client), ...loggedTopic(topic) };
    deviceLogLimiter.note(`publish:${deviceId}:${code}`, (count) => log.warn({ ...fields, count }, 'refused'));
    publishError(deviceId, { ref: '*', code, message });
    return new VigilError(code, message);
  }

  /** A connection closed before or instead of authenticating: counted always, logged at most once per reason every few seconds. */
  function connectionRefused(reason: ConnectionRefusal, address: string, fields: object = {}): void {
    metrics.connectionsRefused.inc({ reason });
    // No device data in the line: the reason, the address, and how many were refused since the last line.
    logLimiter.note(`conn:${reason}`, (count) => log.warn({ reason, remote: address, ...fields, count }, `MQTT connection closed: ${refusalReasons[reason]}`));
  }

  /** A refused login: counted always, logged at most once per reason every few seconds (with the count). */
  function loginRefused(reason: string, fields: object, msg: string): void {
    metrics.authFailures.inc({ reason });
    logLimiter.note(`auth:${reason}`, (count) => log.warn({ ...fields, reason, count }, msg));
  }

  async function authenticate(client: Client, username: string | undefined, password: Buffer | undefined) {
    const remote = remoteOf(client) ?? 'unknown';
    // Throttled first, before any secret is hashed: a peer failing a thousand times a second costs a lookup.
    if (addressFailures.blocked(remote) || (username && deviceFailures.blocked(username))) {
      loginRefused('throttled', { remote }, 'device connection refused: too many failed logins (throttled)');
      throw authError('too many failed logins; retry later', 3);
    }
    if (!username || !password) {
      addressFailures.fail(remote);
      loginRefused('missing_credentials', { remote }, 'device connection without credentials refused');
      throw authError('username and password are required', 4);
    }
    // A username that cannot be a device id is unknown without a lookup, and keys no per-device bucket: a peer
    // making up usernames of up to 4 KB would otherwise fill the throttle (100,000 keys) with them.
    const possibleDevice = ID_PATTERN.test(username);
    const result = possibleDevice ? await registry.authenticateDevice(username, password) : 'unknown';
    if (result !== 'ok') {
      addressFailures.fail(remote);
      if (possibleDevice) deviceFailures.fail(username);
      // The username of a refused login is whatever the peer sent, up to most of the CONNECT's 4 KB: cut to an id's length.
      loginRefused(result, { ...loggedDeviceId(username), remote }, 'device connection refused');
      throw authError('not authorized', result === 'revoked' ? 5 : 4);
    }
    if (!clientIdMatches(client.id, username)) {
      addressFailures.fail(remote);
      loginRefused('client_id', { deviceId: username, remote }, 'device connection refused: client id does not match the device id');
      throw authError('client id must be the device id', 5);
    }
    const evict = sessions.reserve(username, client.id);
    if (!evict) {
      loginRefused('max_sessions', { deviceId: username, remote }, `device connection refused: the device already has ${protection.maxSessionsPerDevice} sessions online`);
      throw authError('too many sessions for this device', 3);
    }
    for (const clientId of evict) {
      // The least recently used offline session of the device makes room: its subscriptions go.
      sessions.forget(username, clientId);
      await (broker as unknown as BrokerPersistence).persistence.cleanSubscriptions({ id: clientId });
      metrics.sessionsEvicted.inc();
    }
    sessions.connected(username, client.id, !client.clean);
    client.conn.once('close', () => sessions.disconnected(username, client.id));
    setDeviceId(client, username);
    markAuthenticated(client.conn);
  }

  function refuseStatus(deviceId: string, message: string): void {
    metrics.refused.inc({ code: 'VIGIL_ERR_BAD_STATUS' });
    publishError(deviceId, { ref: 'status', code: 'VIGIL_ERR_BAD_STATUS', message });
  }

  function handleStatus(deviceId: string, packet: PublishPacket): void {
    // Never retained, valid or not: the registry keeps the status, and a retained message would stay in the
    // broker's memory (four 100 MB statuses did). The same holds for the last will, which comes through here.
    packet.retain = false;
    const at = Date.now();
    const checked = parseDeviceStatus(packet.payload as Buffer, at);
    if ('problem' in checked) return refuseStatus(deviceId, checked.problem);
    noteStatus({ kind: 'status', deviceId, status: checked.status, at });
  }

  /** A hub's reply, recorded before the PUBACK; a refused one is acknowledged and reported (like a rejected reading). */
  function handleReply(deviceId: string, packet: PublishPacket, client: Client): Error | undefined {
    const hub = options.hub;
    if (!hub || registry.getDevice(deviceId)?.kind !== 'hub') {
      return refuse(deviceId, 'VIGIL_ERR_FOREIGN_TOPIC', 'only a hub may publish replies', client, packet.topic);
    }
    if (limiter.take(deviceId, 0) === undefined) return refuse(deviceId, 'VIGIL_ERR_RATE_LIMITED', `over ${options.rate.perSecond} messages/s; resend later`, client);
    packet.retain = false;
    try {
      const problem = hub.handleReply(deviceId, packet.payload as Buffer);
      if (problem) {
        metrics.refused.inc({ code: problem.code });
        // The code and the reference only: a reply's text is the patient's words.
        log.info({ deviceId, code: problem.code, ref: problem.ref }, 'hub reply refused');
        publishError(deviceId, problem);
      }
      return undefined;
    } catch (err) {
      // Not acknowledged: the hub sends the reply again after reconnecting.
      log.error({ deviceId, err }, 'hub reply not recorded');
      return err as Error;
    }
  }

  /**
   * Readings messages of each device still being made durable, and who waits for the device to have none (a
   * refusal, so that the messages accepted before it are answered first). A count, not a set of promises: one
   * increment per publish instead of a set entry and two promise reactions.
   */
  const inflight = new Map<string, { count: number; drained: (() => void)[] }>();

  function enterFlight(deviceId: string): void {
    const entry = inflight.get(deviceId);
    if (entry) entry.count += 1;
    else inflight.set(deviceId, { count: 1, drained: [] });
  }

  function leaveFlight(deviceId: string): void {
    const entry = inflight.get(deviceId)!;
    if (--entry.count > 0) return;
    inflight.delete(deviceId);
    for (const resolve of entry.drained) resolve();
  }

  function flightDrained(deviceId: string): Promise<void> {
    const entry = inflight.get(deviceId);
    return entry ? new Promise((resolve) => entry.drained.push(resolve)) : Promise.resolve();
  }

  /**
   * Answers `done` once the message's readings are durable (or with why not). Synchronous up to ingest's outbox
   * append when the device is within its rate and the global bound has room: the common case waits for nothing
   * but its commit.
   */
  function handleReadingsPublish(deviceId: string, packet: PublishPacket, client: Client, format: 'v1' | 'senml', done: PublishAnswer): void {
    const wait = limiter.take(deviceId, options.rate.maxWaitMs);
    if (wait === undefined) {
      // Refusing closes the connection; let the messages already accepted get their PUBACK first.
      void flightDrained(deviceId).then(() => done(refuse(deviceId, 'VIGIL_ERR_RATE_LIMITED', `over ${options.rate.perSecond} messages/s; resend later`, client)));
      return;
    }
    enterFlight(deviceId);
    const bytes = (packet.payload as Buffer).length;
    // After the device's own rate limit: a device slowed down for itself holds no share of the global bound.
    if (wait === 0 && admission.tryEnter(bytes)) return acceptAdmitted(deviceId, packet, format, bytes, done);
    void admitAfter(wait, bytes).then(() => acceptAdmitted(deviceId, packet, format, bytes, done));
  }

  async function admitAfter(wait: number, bytes: number): Promise<void> {
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    await admission.wait(bytes);
  }

  /** Hands an admitted message to ingest; `done` is called once, after the admission is given back. */
  function acceptAdmitted(deviceId: string, packet: PublishPacket, format: 'v1' | 'senml', bytes: number, done: PublishAnswer): void {
    const finish = (result: SinkOutcome | Error): void => {
      admission.release(bytes);
      leaveFlight(deviceId);
      if (result instanceof Error) {
        if (!(result instanceof VigilError)) log.error({ deviceId, err: result }, 'ingest failed');
        else if (result.code === 'VIGIL_ERR_OUTBOX_UNAVAILABLE') log.error({ deviceId, err: result }, 'not acknowledged: outbox unavailable');
        // Without a PUBACK the device keeps the message and sends it again after reconnecting.
        return done(result);
      }
      lastSeen.set(deviceId, Date.now());
      const summary = summariseRejections(result.rejections);
      if (summary) {
        // One errors message per publish, however many readings it rejected; the log line is per device.
        logReadingsRejected(deviceLogLimiter, log, deviceId, result.rejections);
        publishError(deviceId, summary);
      }
      done(null);
    };
    let device: ReturnType<typeof registry.getDevice>;
    try {
      device = registry.getDevice(deviceId);
    } catch (err) {
      return finish(err instanceof Error ? err : new Error(String(err)));
    }
    if (!device || device.revokedAt !== null) {
      log.warn({ deviceId }, 'publish from a revoked device: disconnecting');
      return finish(new VigilError('VIGIL_ERR_NOT_FOUND', 'device revoked'));
    }
    // Readings are never retained: they are not state, and a retained reading would sit in broker memory.
    packet.retain = false;
    options.sink.accept(deviceId, packet.payload as Buffer, format, finish);
  }

  broker = await Aedes.createBroker({
    id: 'vigil',
    // Bounded per-client buffers: a device cannot make the broker hold unbounded messages for it.
    queueLimit: 100,
    maxClientsIdLength: 128,
    // The stream guard enforces the deadline from the moment a connection is accepted; this is aedes' own.
    connectTimeout: protection.connectTimeoutMs,
    // A subscriber that does not read for this long is disconnected (aedes' default is 60 s).
    drainTimeout: 30_000,
    authenticate(client, username, password, done) {
      authenticate(client, username, password).then(
        () => done(null, true),
        (err: AuthenticateError) => done(err.returnCode ? err : authError('server error', 4), false),
      );
    },
    authorizePublish(client, packet, answer) {
      if (!client) return answer(null); // the broker's own messages (device errors)
      let readings = false;
      const arrived = performance.now();
      // Answered in the order the client published, whichever finishes first (puback-order.ts).
      const done = inArrivalOrder(client, (err) => {
        // Measured when the PUBACK goes out, after the ones ahead of it, not when this message alone was durable.
        if (!err && readings) observePuback((performance.now() - arrived) / 1000);
        // aedes, answered, reads the device's next packets at once: only after the PUBACKs of this turn are written.
        if (!err && acknowledgeHere(client, packet, () => answer(null))) return;
        answer(err);
      });
      const deviceId = deviceIdOf(client);
      const topic = parseDeviceTopic(topicPrefix, packet.topic);
      if (!deviceId || !topic || topic.deviceId !== deviceId || topic.kind === 'errors' || topic.kind === 'inbox') {
        return done(refuse(deviceId ?? 'unknown', 'VIGIL_ERR_FOREIGN_TOPIC', 'devices may publish only to their own readings, senml and status topics (and hubs to their replies)', client, packet.topic));
      }
      if (topic.kind === 'replies') return done(handleReply(deviceId, packet, client) ?? null);
      if (topic.kind === 'status') {
        handleStatus(deviceId, packet);
        return done(null);
      }
      readings = true;
      handleReadingsPublish(deviceId, packet, client, topic.kind === 'senml' ? 'senml' : 'v1', done);
    },
    authorizeSubscribe(client, subscription: Subscription, done) {
      const deviceId = deviceIdOf(client);
      if (deviceId && subscription.topic === deviceTopic(topicPrefix, deviceId, 'errors')) {
        return done(null, subscription);
      }
      // A hub reads its own inbox, and no other (docs/hub-protocol.md): reminders and messages are patient data.
      if (deviceId && subscription.topic === deviceTopic(topicPrefix, deviceId, 'inbox') && registry.getDevice(deviceId)?.kind === 'hub') {
        return done(null, subscription);
      }
      metrics.refused.inc({ code: 'VIGIL_ERR_FOREIGN_TOPIC' });
      // The connection stays up, so it could refuse lines without end: one per device every 10 s, with the count.
      const fields = { deviceId, ...loggedTopic(subscription.topic) };
      deviceLogLimiter.note(`subscribe:${deviceId}`, (count) => log.warn({ ...fields, count }, 'subscription refused'));
      // A null subscription is answered with SUBACK 0x80 (failure) and the connection stays up.
      done(null, null);
    },
    authorizeForward(_client, packet) {
      // aedes asks before every delivery, including an offline session's queue on reconnect: an expired inbox
      // message (an 08:00 reminder at 15:00) is dropped here rather than delivered late.
      const inbox = packet.topic.endsWith('/inbox') ? parseDeviceTopic(topicPrefix, packet.topic) : undefined;
      if (inbox?.kind !== 'inbox') return packet;
      const expiresAt = inboxExpiresAt(packet.payload as Buffer);
      if (expiresAt !== undefined && expiresAt <= Date.now()) {
        metrics.inboxExpired.inc();
        return null;
      }
      // Queued for the patient the hub served before it was handed to another: never delivered to the next one.
      // When that cannot be told (the state database failing), withheld too: unacknowledged, it is sent again
      // when the hub next subscribes on a new session.
      if (!inboxDeliverable(inbox.deviceId, packet.payload as Buffer)) {
        metrics.inboxWithheld.inc();
        return null;
      }
      return packet;
    },
  });

  function inboxDeliverable(hubId: string, payload: Buffer): boolean {
    try {
      return options.hub?.inboxDeliverable?.(hubId, payload) ?? true;
    } catch (err) {
      log.warn({ deviceId: hubId, err }, 'inbox message withheld: could not tell whether the hub still serves its patient');
      return false;
    }
  }

  endDevicePublishesAtVigil(broker);
  if (options.hub) watchInboxDelivery(broker, topicPrefix, options.hub, log);

  broker.on('clientReady', (client) => {
    const deviceId = deviceIdOf(client);
    if (!deviceId) return;
    connections.set(deviceId, (connections.get(deviceId) ?? 0) + 1);
    noteStatus({ kind: 'connected', deviceId, at: Date.now() });
  });
  broker.on('clientDisconnect', (client) => {
    const deviceId = deviceIdOf(client);
    if (!deviceId) return;
    const left = (connections.get(deviceId) ?? 1) - 1;
    if (left > 0) return void connections.set(deviceId, left);
    connections.delete(deviceId);
    // The device's rate-limit bucket stays: a reconnect must not hand it a fresh burst (rate-limit.ts).
    noteStatus({ kind: 'disconnected', deviceId, at: Date.now() });
  });
  // A packet the MQTT parser refused before the device logged in (a CONNECT with its reserved flag set, a will
  // flag without a will...): aedes closes the connection and says nothing. The stream guard has judged sizes,
  // protocol name and level already; this counts the rest. Only the parser's errors, which it keeps (aedes'
  // and mqtt-packet's internals: the type declarations leave them out): a reset or aedes' own answers are not
  // refusals of a malformed packet.
  broker.on('connectionError', (client, err) => {
    if ((client as unknown as { _parser?: { error?: Error | null } })._parser?.error !== err) return;
    // The parser's message names the rule broken (mqtt-packet's fixed texts), not what the packet carried.
    connectionRefused('malformed_packet', remoteOf(client) ?? 'unknown', { error: err.message });
  });
  broker.on('clientError', (client, err) => {
    log.info({ deviceId: deviceIdOf(client), err }, 'device connection error');
  });

  const clientsByDevice = () => {
    const byDevice = new Map<string, Client[]>();
    const clients = (broker as unknown as { clients: Record<string, Client> }).clients;
    for (const client of Object.values(clients)) {
      const id = deviceIdOf(client);
      if (id) byDevice.set(id, [...(byDevice.get(id) ?? []), client]);
    }
    return byDevice;
  };

  // Revocations made by the CLI (another process) take effect on live connections within one sweep.
  const sweep = setInterval(() => {
    try {
      const revoked = registry.revokedDeviceIds();
      for (const [deviceId, clients] of clientsByDevice()) {
        if (!revoked.has(deviceId)) continue;
        log.warn({ deviceId }, 'device revoked: disconnecting');
        for (const client of clients) client.close();
      }
      if (lastSeen.size > 0) {
        registry.markSeen([...lastSeen]);
        lastSeen.clear();
      }
    } catch (err) {
      log.warn({ err }, 'registry sweep failed');
    }
  }, options.revocationSweepMs ?? 2_000);
  sweep.unref();

  const refusalReasons: Record<ConnectionRefusal, string> = {
    packet_too_large: 'a packet declared larger than the payload limit allows',
    connect_too_large: 'a CONNECT larger than allowed',
    first_packet_not_connect: 'the first packet was not CONNECT',
    malformed_length: 'a malformed remaining length',
    max_connections: 'the connection limit is reached',
    max_connections_per_address: 'the limit of connections from one address is reached',
    connect_deadline: 'no successful CONNECT in time',
    origin: 'a WebSocket from an Origin not allowed',
    protocol_version: 'an MQTT protocol version other than 3.1.1 or 3.1, answered with CONNACK 1 (MQTT 5 is not supported: see docs/device-protocol.md)',
    protocol_name: 'a CONNECT whose protocol name is not MQTT (or MQIsdp)',
    malformed_packet: 'a packet the MQTT parser refused before login',
  };
  const maxPayloadBytes = options.maxPayloadBytes ?? 256 * 1024;
  const listeners = await startListeners({
    host: options.host,
    port: options.port,
    tls: options.tls,
    stream: {
      maxPacketBytes: maxPayloadBytes + MAX_PUBLISH_HEADER_BYTES,
      maxConnectBytes: protection.maxConnectBytes,
      unauthenticatedBytes: protection.unauthenticatedBytes,
    },
    connectTimeoutMs: protection.connectTimeoutMs,
    webSocketOrigins: protection.webSocketOrigins,
    limits: connectionLimits,
    handle: (conn, req) => broker.handle(conn, req),
    refused: (reason, address, fields) => connectionRefused(reason, address, fields),
  });
  const { mqttPort, mqttsPort, servers } = listeners;
  const fds = openFilesLimit();
  if (fds !== undefined && fds < protection.maxConnections + 256) {
    log.warn({ openFilesLimit: fds, maxConnections: protection.maxConnections }, 'the open-files limit (ulimit -n) is below the MQTT connection limit plus headroom: raise it or lower VIGIL_MQTT_MAX_CONNECTIONS');
  }
  log.info({ mqttPort, mqttsPort }, 'MQTT gateway listening');

  return {
    mqttPort,
    mqttsPort,
    /** MQTT over WebSocket: the HTTP server hands each upgraded connection here. */
    handleWebSocket: listeners.handleWebSocket,
    listening(): boolean {
      return servers.every((s) => s.listening);
    },
    connectedDevices(): number {
      return broker.connectedClients;
    },
    /**
     * Puts a message in a hub's inbox at QoS 1: delivered now if the hub is connected, else kept for its persistent
     * session until it reconnects (and dropped then if it has expired: authorizeForward).
     */
    publishToInbox(hubId: string, payload: Buffer): Promise<void> {
      return new Promise((resolve, reject) =>
        broker.publish({ cmd: 'publish', topic: deviceTopic(topicPrefix, hubId, 'inbox'), payload, qos: 1, retain: false, dup: false }, (err) => (err ? reject(err) : resolve())),
      );
    },
    /** Retained messages the broker holds: none, ever (statuses are recorded in the registry instead). */
    async retainedMessages(): Promise<number> {
      let count = 0;
      for await (const _ of (broker as unknown as BrokerPersistence).persistence.createRetainedStream('#')) count++;
      return count;
    },
    /** Stops accepting connections and publishes; devices keep what was not acknowledged. */
    async close(): Promise<void> {
      clearInterval(sweep);
      const stopped = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      // Closing the broker ends every client connection, which lets the listeners finish closing.
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await Promise.all(stopped);
      // The counts of lines folded since each key's last line, which no later event will carry (the per-device
      // limiter's, by its maker: other paths write through it).
      logLimiter.close();
      statuses.flush();
      if (lastSeen.size > 0) recordState('*', 'last-seen times', () => registry.markSeen([...lastSeen]));
    },
  };
}

export type Gateway = Awaited<ReturnType<typeof createGateway>>;
