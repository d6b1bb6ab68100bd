import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { VigilError } from '../../domain/index.js';

/** How a worker reaches the external broker (VIGIL_BROKER_*, docs/configuration.md). */
export interface BrokerConnectionOptions {
  /** mqtt:// or mqtts:// */
  readonly url: string;
  /** Fixed per worker: the broker keeps this worker's session (subscriptions, unacknowledged messages) under it. */
  readonly clientId: string;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly tls?: { readonly ca?: Buffer | undefined; readonly cert?: Buffer | undefined; readonly key?: Buffer | undefined } | undefined;
  /** MQTT 5: how long the broker keeps the session (and the messages for it) while the worker is away. */
  readonly sessionExpirySeconds: number;
  /** How long start-up waits for the first CONNACK before it gives up. */
  readonly connectTimeoutMs: number;
  /**
   * Messages the worker holds between arrival and PUBACK (VIGIL_WORKER_MAX_INFLIGHT): sent as the MQTT 5 Receive
   * Maximum, so the broker itself sends no more unacknowledged QoS 1 messages than this [MQTT-3.3.4-9].
   */
  readonly receiveMaximum: number;
  /** VIGIL_BROKER_PROTOCOL: MQTT 5 with a fall-back to 3.1.1 (auto), or one of them only. */
  readonly protocol?: 'auto' | 5 | 4 | undefined;
}

/**
 * [MQTT-3.2.2.3] return code 1 (3.1.1) and [MQTT 5 3.2.2.2] reason code 0x84 both mean "this protocol version
 * is not spoken here": the worker then speaks MQTT 3.1.1, which every broker it may meet supports.
 */
const UNSUPPORTED_PROTOCOL = new Set([1, 0x84]);
/** Refusals that will not heal by retrying: bad credentials, not authorised, banned, bad client id. */
const REFUSED_FOR_GOOD = new Set([2, 4, 5, 0x85, 0x86, 0x87, 0x8a, 0x8c]);

function clientOptions(o: BrokerConnectionOptions, protocolVersion: 4 | 5): IClientOptions {
  return {
    clientId: o.clientId,
    username: o.username,
    password: o.password,
    protocolVersion,
    // A persistent session: what the broker sent and this worker has not acknowledged is sent again after a
    // reconnect or a restart under the same client id, and messages arriving meanwhile are kept for it.
    clean: false,
    // MQTT 5: the broker keeps at most `receiveMaximum` QoS 1 messages unacknowledged at this worker and queues the
    // rest [MQTT-3.1.2.11.3]; an MQTT 3.1.1 broker has only its own setting (Mosquitto's max_inflight_messages),
    // and the worker's own gate (broker-worker.ts) stops reading from it at the same bound.
    ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: o.sessionExpirySeconds, receiveMaximum: o.receiveMaximum } } : {}),
    reconnectPeriod: 1_000,
    connectTimeout: o.connectTimeoutMs,
    // The worker subscribes itself on each connection the broker did not keep a session for.
    resubscribe: false,
    // Error reports to devices are advice (the rejection log keeps every rejection): never held in memory
    // while the broker is away.
    queueQoSZero: false,
    ca: o.tls?.ca,
    cert: o.tls?.cert,
    key: o.tls?.key,
    rejectUnauthorized: true,
  };
}

function codeOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Connects to the external broker, MQTT 5 first and MQTT 3.1.1 when the broker refuses 5, and resolves once the
 * first CONNACK came with the client connected. `prepare` runs on each client before it connects, so its
 * message handler is in place when the broker resends what the session holds. After start-up, mqtt.js
 * reconnects by itself every second.
 */
export async function connectToBroker(o: BrokerConnectionOptions, prepare: (client: MqttClient) => void): Promise<{ client: MqttClient; protocolVersion: 4 | 5 }> {
  if (o.protocol === 4 || o.protocol === 5) return { client: await attempt(o, o.protocol, prepare), protocolVersion: o.protocol };
  try {
    return { client: await attempt(o, 5, prepare), protocolVersion: 5 };
  } catch (err) {
    if (!UNSUPPORTED_PROTOCOL.has(codeOf(err) ?? -1)) throw err;
    return { client: await attempt(o, 4, prepare), protocolVersion: 4 };
  }
}

function attempt(o: BrokerConnectionOptions, protocolVersion: 4 | 5, prepare: (client: MqttClient) => void): Promise<MqttClient> {
  const client = connect(o.url, clientOptions(o, protocolVersion));
  prepare(client);
  return new Promise<MqttClient>((resolve, reject) => {
    let last: Error | undefined;
    const fail = (err: Error) => {
      cleanup();
      client.end(true);
      reject(err);
    };
    const onError = (err: Error) => {
      last = err;
      const code = codeOf(err);
      if (code !== undefined && (UNSUPPORTED_PROTOCOL.has(code) || REFUSED_FOR_GOOD.has(code))) fail(err);
    };
    const onConnect = () => {
      cleanup();
      resolve(client);
    };
    const timer = setTimeout(
      () => fail(new VigilError('VIGIL_ERR_CONFIG', `VIGIL_BROKER_URL: no connection to ${redact(o.url)} within ${o.connectTimeoutMs} ms${last ? `: ${last.message}` : ''}`)),
      o.connectTimeoutMs,
    );
    const cleanup = () => {
      clearTimeout(timer);
      client.off('error', onError);
      client.off('connect', onConnect);
    };
    client.on('error', onError);
    client.on('connect', onConnect);
  });
}

/**
 * Ends this worker's session at the broker for good (MQTT 3.1.1, which has no session expiry to set on
 * DISCONNECT): one connection under its client id with a clean session makes the broker discard the session,
 * its subscriptions included [MQTT-3.1.2-6]. Only once nothing is queued for it: what is queued goes too.
 */
export async function endSession(o: BrokerConnectionOptions): Promise<void> {
  const client = connect(o.url, { ...clientOptions(o, 4), clean: true, reconnectPeriod: 0 });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
      client.once('close', () => reject(new VigilError('VIGIL_ERR_BROKER', `${redact(o.url)} closed the connection that was to end the worker's session`)));
    });
  } finally {
    await client.endAsync();
  }
}

/** The broker URL without any user:password it may carry, for logs and /readyz. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return 'the broker';
  }
}
