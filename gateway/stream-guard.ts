import { Duplex } from 'node:stream';

/** Why the guard closed a connection (a metric label, never device data). */
export type GuardViolation = 'packet_too_large' | 'connect_too_large' | 'first_packet_not_connect' | 'malformed_length' | 'protocol_name' | 'protocol_version';

const PUBACK_BYTES = 4;

/** [MQTT-3.2.2.3] CONNACK, return code 1: "the Server does not support the level of the MQTT protocol requested". */
const CONNACK_UNACCEPTABLE_PROTOCOL_VERSION = Buffer.from([0x20, 0x02, 0x00, 0x01]);

export interface StreamLimits {
  /** Largest remaining length of any packet after CONNECT. */
  readonly maxPacketBytes: number;
  /** Largest remaining length of the CONNECT packet (client id, credentials, will). */
  readonly maxConnectBytes: number;
  /** Bytes read from a connection before it has authenticated; past them, reading pauses until it has. */
  readonly unauthenticatedBytes: number;
}

/**
 * Follows the MQTT byte stream packet by packet, reading only each fixed header (one type byte and the
 * remaining-length varint), so that a packet's declared size is judged before its bytes are buffered. aedes
 * (mqtt-packet) collects a whole packet of any declared size, up to 256 MB, before any hook runs.
 */
export class FixedHeaderScanner {
  readonly #limits: StreamLimits;
  #state: 'type' | 'length' | 'body' = 'type';
  #type = 0;
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #remaining = 0;
  #packets = 0;
  /** The first bytes of the CONNECT's variable header, while its protocol name and level are being read. */
  #connectHead: number[] | undefined;
  #protocolLevel: number | undefined;

  constructor(limits: StreamLimits) {
    this.#limits = limits;
  }

  /** Packets whose fixed header has been read. */
  get packets(): number {
    return this.#packets;
  }

  /** The protocol level the CONNECT asked for, once read. */
  get protocolLevel(): number | undefined {
    return this.#protocolLevel;
  }

  /** Reads a chunk; answers the first violation in it, or undefined when the chunk is within limits. */
  feed(chunk: Buffer): GuardViolation | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.#state === 'body' && this.#connectHead) {
        const violation = this.#readConnectHead(chunk[i++]!);
        if (--this.#remaining === 0) {
          this.#state = 'type';
          this.#connectHead = undefined;
        }
        if (violation) return violation;
        continue;
      }
      if (this.#state === 'body') {
        const skip = Math.min(this.#remaining, chunk.length - i);
        i += skip;
        this.#remaining -= skip;
        if (this.#remaining === 0) this.#state = 'type';
        continue;
      }
      const byte = chunk[i++]!;
      if (this.#state === 'type') {
        // [MQTT-2.2.1] the control packet type is the high nibble of the first byte.
        this.#type = byte >> 4;
        // [MQTT-3.1.0-1] the first packet a client sends must be CONNECT (type 1).
        if (this.#packets === 0 && this.#type !== 1) return 'first_packet_not_connect';
        this.#state = 'length';
        this.#length = 0;
        this.#multiplier = 1;
        this.#lengthBytes = 0;
        continue;
      }
      // [MQTT-2.2.3] remaining length: 7 bits per byte, least significant first, the high bit says "more";
      // at most four bytes (268,435,455).
      this.#length += (byte & 0x7f) * this.#multiplier;
      this.#multiplier *= 128;
      this.#lengthBytes++;
      if (byte & 0x80) {
        if (this.#lengthBytes === 4) return 'malformed_length';
        continue;
      }
      this.#packets++;
      if (this.#type === 1 && this.#length > this.#limits.maxConnectBytes) return 'connect_too_large';
      if (this.#length > this.#limits.maxPacketBytes) return 'packet_too_large';
      this.#remaining = this.#length;
      this.#state = this.#remaining > 0 ? 'body' : 'type';
      if (this.#packets === 1 && this.#remaining > 0) this.#connectHead = [];
    }
    return undefined;
  }

  /**
   * [MQTT-3.1.2.1, 3.1.2.2] The CONNECT's protocol name ("MQTT", or "MQIsdp" for 3.1) and level, judged here
   * because mqtt-packet fails on a name or a level it does not know (9, 0) before any aedes hook runs, and aedes
   * then closes the connection without a CONNACK, a metric or a log line. Levels it does parse but aedes does
   * not speak (5) are refused here too, so that every unsupported level is answered the same way. A CONNECT that
   * ends before its level is left to the parser (the gateway counts what it refuses as `malformed_packet`).
   */
  #readConnectHead(byte: number): GuardViolation | undefined {
    const head = this.#connectHead!;
    head.push(byte);
    if (head.length < 2) return undefined;
    const nameLength = (head[0]! << 8) | head[1]!;
    if (nameLength !== 4 && nameLength !== 6) return this.#connectHeadRead('protocol_name');
    if (head.length === 2 + nameLength) {
      const name = String.fromCharCode(...head.slice(2));
      if (name !== 'MQTT' && name !== 'MQIsdp') return this.#connectHeadRead('protocol_name');
    }
    if (head.length < 2 + nameLength + 1) return undefined;
    // The high bit is a bridge's flag (Mosquitto bridges send 0x84), not part of the level: as mqtt-packet reads it.
    this.#protocolLevel = byte & 0x7f;
    return this.#connectHeadRead(this.#protocolLevel === 3 || this.#protocolLevel === 4 ? undefined : 'protocol_version');
  }

  #connectHeadRead(verdict: GuardViolation | undefined): GuardViolation | undefined {
    this.#connectHead = undefined;
    return verdict;
  }
}

/**
 * A connection as aedes sees it: the device's stream, read through a FixedHeaderScanner. A packet declared
 * larger than the limits closes the connection at its header; until the connection has authenticated, at most
 * `unauthenticatedBytes` are read (the rest waits in the device and the kernel), so a peer without credentials
 * can hold only a few kilobytes of Vigil's memory, and only until the CONNECT deadline.
 */
export class GuardedStream extends Duplex {
  readonly remoteAddress: string | undefined;
  readonly #inner: Duplex;
  readonly #scanner: FixedHeaderScanner;
  readonly #limits: StreamLimits;
  readonly #onViolation: (reason: GuardViolation, fields: { protocolVersion?: number }) => void;
  /** Told once, when the connection has authenticated (the listener stops counting it against its address). */
  onAuthenticated: (() => void) | undefined;
  #authenticated = false;
  #unauthenticatedRead = 0;
  #wantsData = false;
  /** Message ids of the PUBACKs given this turn, written together when it ends (`acknowledge`). */
  #acks: number[] = [];
  /** The streams with PUBACKs queued this turn, and what waits for them to be written (GuardedStream.#flush). */
  static #acking: GuardedStream[] = [];
  static #afterAcks: (() => void)[] = [];

  constructor(inner: Duplex, remoteAddress: string | undefined, limits: StreamLimits, onViolation: (reason: GuardViolation, fields: { protocolVersion?: number }) => void) {
    super({ allowHalfOpen: false });
    this.#inner = inner;
    this.remoteAddress = remoteAddress;
    this.#limits = limits;
    this.#scanner = new FixedHeaderScanner(limits);
    this.#onViolation = onViolation;
    inner.on('data', (chunk: Buffer) => this.#onData(chunk));
    inner.once('end', () => this.push(null));
    inner.once('error', (err) => this.destroy(err));
    inner.once('close', () => this.destroy());
    inner.pause();
  }

  get authenticated(): boolean {
    return this.#authenticated;
  }

  /** Called once the device has authenticated: the pre-authentication budget no longer applies. */
  markAuthenticated(): void {
    if (this.#authenticated) return;
    this.#authenticated = true;
    this.onAuthenticated?.();
    if (this.#wantsData) this.#inner.resume();
  }

  #onData(chunk: Buffer): void {
    const violation = this.#scanner.feed(chunk);
    if (violation) {
      this.#inner.pause();
      // [MQTT-3.1.2-2] an unsupported level must be answered with CONNACK 1 before the close. A wrong protocol
      // name has no return code: the connection is closed without a CONNACK, as [MQTT-3.1.2-1] allows.
      if (violation === 'protocol_version') this.#inner.write(CONNACK_UNACCEPTABLE_PROTOCOL_VERSION);
      this.#onViolation(violation, violation === 'protocol_version' ? { protocolVersion: this.#scanner.protocolLevel! } : {});
      this.destroy();
      return;
    }
    if (!this.#authenticated) this.#unauthenticatedRead += chunk.length;
    if (!this.push(chunk)) {
      this.#wantsData = false;
      this.#inner.pause();
    } else if (this.#overBudget()) {
      this.#inner.pause();
    }
  }

  #overBudget(): boolean {
    return !this.#authenticated && this.#unauthenticatedRead >= this.#limits.unauthenticatedBytes;
  }

  override _read(): void {
    this.#wantsData = true;
    if (!this.#overBudget()) this.#inner.resume();
  }

  /**
   * Queues the PUBACK of a QoS 1 PUBLISH; every PUBACK queued in one turn of the event loop (a group commit
   * releases a device's readings together) leaves as one buffer when the turn ends, through this stream's own
   * write, behind whatever was written to it before. Answers false, queueing nothing, when the stream is closed
   * or backed up with nothing queued: the caller then lets aedes write the PUBACK, which waits for 'drain'. While
   * PUBACKs are queued, every later one is queued too, so that none overtakes another.
   *
   * `then` (aedes' answer, which reads the device's next packets and hands them to ingest synchronously) runs
   * once the PUBACKs of every connection queued in this turn have been written: a group commit answers many
   * devices in one loop, and none of their PUBACKs should wait behind the ingest of one device's next packets.
   */
  acknowledge(messageId: number, then?: () => void): boolean {
    if (this.#acks.length === 0) {
      if (this.destroyed || this.writableEnded || this.writableNeedDrain) return false;
      if (GuardedStream.#acking.length === 0) process.nextTick(GuardedStream.#flush);
      GuardedStream.#acking.push(this);
    }
    this.#acks.push(messageId);
    if (then) GuardedStream.#afterAcks.push(then);
    return true;
  }

  /** Writes the PUBACKs of every stream queued this turn, then runs what waited for them, in the order given. */
  static readonly #flush = (): void => {
    const streams = GuardedStream.#acking;
    const after = GuardedStream.#afterAcks;
    GuardedStream.#acking = [];
    GuardedStream.#afterAcks = [];
    for (const stream of streams) stream.#writeAcks();
    // Every answer is given even if one throws (a bug in what it runs): the other devices' connections would
    // otherwise wait for an answer that never comes. The first error is thrown afterwards.
    let thrown: { err: unknown } | undefined;
    for (const then of after) {
      try {
        then();
      } catch (err) {
        thrown ??= { err };
      }
    }
    if (thrown) throw thrown.err;
  };

  #writeAcks(): void {
    const ids = this.#acks;
    this.#acks = [];
    // Closed meanwhile: the device sends the messages again after reconnecting, as with any PUBACK it never read.
    // (A close by this process has written them already: _destroy.)
    if (ids.length === 0 || this.destroyed || this.writableEnded) return;
    this.write(pubacks(ids));
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#inner.write(chunk, encoding, callback);
  }

  /**
   * What aedes wrote while the previous write was in flight (the PUBACKs of one group commit, released together)
   * leaves in one corked batch: one writev system call instead of one write per packet.
   */
  override _writev(chunks: { chunk: Buffer; encoding: BufferEncoding }[], callback: (error?: Error | null) => void): void {
    this.#inner.cork();
    const last = chunks.length - 1;
    for (let i = 0; i < last; i++) this.#inner.write(chunks[i]!.chunk);
    this.#inner.write(chunks[last]!.chunk, callback);
    this.#inner.uncork();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#inner.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // aedes closes the connection on a refused publish in the same turn as it was told the answers ahead of it
    // (a group commit answers them all in one loop, and a publish over the rate waits only for those ahead): the
    // PUBACKs given by then are for durable messages and leave before the close, as a device over its rate is
    // meant to get them (gateway.ts, handleReadingsPublish). Not when earlier writes are still buffered here:
    // those are dropped with the stream, and a PUBACK must not overtake them.
    const ids = this.#acks;
    this.#acks = [];
    if (ids.length > 0 && this.writableLength === 0 && this.#inner.writable) this.#inner.write(pubacks(ids));
    this.#inner.destroy();
    callback(error);
  }
}

/** [MQTT-3.4] PUBACKs, one after another: type 4 (0x40), remaining length 2, the packet identifier (big-endian). */
function pubacks(ids: readonly number[]): Buffer {
  const packets = Buffer.allocUnsafe(ids.length * PUBACK_BYTES);
  for (let i = 0, at = 0; i < ids.length; i++, at += PUBACK_BYTES) {
    packets[at] = 0x40;
    packets[at + 1] = 2;
    packets.writeUInt16BE(ids[i]!, at + 2);
  }
  return packets;
}

export function markAuthenticated(conn: unknown): void {
  if (conn instanceof GuardedStream) conn.markAuthenticated();
}
