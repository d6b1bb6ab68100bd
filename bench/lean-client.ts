/**
 * One bench client: a load-generating device or the bare brokers' subscriber, on its own TCP connection speaking
 * MQTT 3.1.1 through mqtt-packet (the wire-format library aedes and mqtt.js both build on), with none of a full
 * client's machinery (an outgoing store, a promise, a timer and several stream layers per message). On this
 * two-core machine the bench shares the cores with the server it measures: with mqtt.js the load generator took
 * half a core to three quarters at 12,000 messages/s, CPU the server under test then lacked and an event loop
 * whose own lag was counted in every PUBACK time; the subscriber, a whole core at 55,000 messages/s, bounded the
 * bare brokers' rate.
 */
import { generate, parser as packetParser, type Packet } from 'mqtt-packet';
import { connect as tcpConnect, type Socket } from 'node:net';

export interface LeanClientOptions {
  readonly host: string;
  readonly port: number;
  readonly clientId: string;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
}

const CONNECT_TIMEOUT_MS = 30_000;

export class LeanClient {
  readonly #socket: Socket;
  #acked: (publishedAt: number) => void = () => undefined;
  /** The SUBACK a subscribe waits for. */
  #subacked: (() => void) | undefined;
  /** Message id to the time its publish was written, for the messages not yet acknowledged. */
  readonly #inFlight = new Map<number, number>();
  #nextId = 1;
  #failure: Error | undefined;
  #failed: ((err: Error) => void) | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
  }

  /** Subscribes at QoS 1 and resolves on the SUBACK; every message delivered is then acknowledged (PUBACK). */
  async subscribe(topic: string): Promise<void> {
    const subacked = new Promise<void>((resolve) => (this.#subacked = resolve));
    this.#socket.write(generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] }));
    await subacked;
  }

  /** Connects and resolves once the broker has accepted the session (CONNACK 0), or rejects with why not. */
  static async connect(o: LeanClientOptions): Promise<LeanClient> {
    const socket = tcpConnect({ host: o.host, port: o.port, noDelay: true });
    const client = new LeanClient(socket);
    const parser = packetParser({ protocolVersion: 4 });
    let connacked: ((err?: Error) => void) | undefined;
    const accepted = new Promise<void>((resolve, reject) => {
      connacked = (err) => (err ? reject(err) : resolve());
    });
    parser.on('packet', (packet: Packet) => client.#receive(packet, connacked));
    parser.on('error', (err: Error) => client.#fail(err));
    socket.on('data', (chunk: Buffer) => {
      // What one chunk's packets answer (a device's next publishes, a subscriber's PUBACKs) leaves in one write.
      socket.cork();
      parser.parse(chunk);
      process.nextTick(() => socket.uncork());
    });
    socket.on('error', (err) => client.#fail(err));
    socket.on('close', () => client.#fail(new Error(`${o.clientId}: connection closed by the broker`)));
    client.#failed = (err) => connacked?.(err);
    socket.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: o.clientId, clean: true, keepalive: 300, username: o.username, password: o.password === undefined ? undefined : Buffer.from(o.password) }));
    const timer = setTimeout(() => client.#fail(new Error(`${o.clientId}: no CONNACK within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
    try {
      await accepted;
    } finally {
      clearTimeout(timer);
    }
    return client;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Set once the connection has failed: a run polls it so that a lost device ends the run instead of hanging it. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Notified once, when the connection fails (after connecting). */
  onFailure(listener: (err: Error) => void): void {
    this.#failed = listener;
  }

  /** Notified of each PUBACK with the time (performance.now()) its publish was written. */
  onAck(listener: (publishedAt: number) => void): void {
    this.#acked = listener;
  }

  publish(topic: string, payload: string): void {
    const messageId = this.#nextId;
    this.#nextId = this.#nextId === 0xffff ? 1 : this.#nextId + 1;
    this.#inFlight.set(messageId, performance.now());
    this.#socket.write(generate({ cmd: 'publish', topic, payload, qos: 1, messageId, retain: false, dup: false }));
  }

  /** Writes the publishes of one turn of the event loop together. */
  batch(send: () => void): void {
    this.#socket.cork();
    send();
    this.#socket.uncork();
  }

  async end(): Promise<void> {
    if (this.#socket.destroyed) return;
    this.#failed = undefined;
    this.#socket.removeAllListeners('close');
    // A broker that never finishes the close must not hold the bench: destroyed after a second either way.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1_000);
      this.#socket.end(generate({ cmd: 'disconnect' }), () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.#socket.destroy();
  }

  #receive(packet: Packet, connacked: ((err?: Error) => void) | undefined): void {
    if (packet.cmd === 'puback') {
      const publishedAt = this.#inFlight.get(packet.messageId!);
      if (publishedAt === undefined) return this.#fail(new Error(`PUBACK for message ${packet.messageId}, which is not in flight`));
      this.#inFlight.delete(packet.messageId!);
      this.#acked(publishedAt);
    } else if (packet.cmd === 'publish') {
      // Acknowledged as it arrives (the socket is corked while its chunk is parsed).
      if (packet.qos === 1) this.#socket.write(generate({ cmd: 'puback', messageId: packet.messageId! }));
    } else if (packet.cmd === 'suback') {
      this.#subacked?.();
    } else if (packet.cmd === 'connack') {
      connacked?.(packet.returnCode === 0 ? undefined : new Error(`CONNACK refused with return code ${packet.returnCode}`));
    }
  }

  #fail(err: Error): void {
    if (this.#failure) return;
    this.#failure = err;
    this.#socket.destroy();
    this.#failed?.(err);
  }
}
