import { createConnection, type Socket } from 'node:net';

/**
 * MQTT 3.1.1 packets built byte by byte, for tests that must send what no well-behaved client library would
 * (a bad protocol level, a pipelined flood in one write).
 */

/** [MQTT-2.2.3] remaining length. */
export function varint(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}

/** [MQTT-1.5.3] a length-prefixed UTF-8 string. */
export function utf8(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
}

/** A CONNECT with username and password, clean session, keep-alive 60 s; protocol name and level as given. */
export function connectPacket(clientId: string, username: string, password: string, { protocolName = 'MQTT', level = 4, flags = 0xc2 } = {}): Buffer {
  const body = Buffer.concat([utf8(protocolName), Buffer.from([level, flags, 0, 60]), utf8(clientId), utf8(username), utf8(password)]);
  return Buffer.concat([Buffer.from([0x10]), varint(body.length), body]);
}

/** A QoS 1 PUBLISH. */
export function publishPacket(topicName: string, packetId: number, payload: string): Buffer {
  const body = Buffer.concat([utf8(topicName), Buffer.from([packetId >> 8, packetId & 0xff]), Buffer.from(payload)]);
  return Buffer.concat([Buffer.from([0x32]), varint(body.length), body]);
}

/** A raw TCP connection from a given loopback address, with what it received and a promise of its close. */
export function rawSocket(port: number, localAddress = '127.0.0.1') {
  const socket: Socket = createConnection({ port, host: '127.0.0.1', localAddress });
  socket.on('error', () => undefined);
  const received: Buffer[] = [];
  socket.on('data', (d: Buffer) => received.push(d));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  let isClosed = false;
  void closed.then(() => (isClosed = true));
  return { socket, received: () => Buffer.concat(received), closed, connected, isClosed: () => isClosed };
}
