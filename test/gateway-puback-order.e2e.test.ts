import { generate, parser as parser_, type Packet } from 'mqtt-packet';
import { createConnection } from 'node:net';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../gateway/index.js';
import { waitFor } from './support/temp.js';
import { startTestGateway, type TestGateway } from './support/test-gateway.js';

/**
 * [MQTT-4.6.0-2] PUBACKs go out in the order the PUBLISHes were received. aedes handles a device's packets at once
 * as they are read, while its earlier readings still commit: a status, or a readings message answered at once (all
 * rejected, a duplicate), must still wait for the PUBACKs before it. The sink holds a message until the test
 * lets it commit; a payload "fast" it answers at once, as ingest answers a message whose readings are all refused.
 */

const topic = (deviceId: string, kind: string) => `rpm/v1/devices/${deviceId}/${kind}`;

/** A device on a raw MQTT socket, so that the test decides what goes in one TCP write; its PUBACKs in order. */
function rawDevice(port: number) {
  const socket = createConnection({ host: '127.0.0.1', port });
  const parser = parser_();
  const acks: number[] = [];
  const others: string[] = [];
  let accepted = false;
  parser.on('packet', (p: Packet) => {
    if (p.cmd === 'connack') accepted = p.returnCode === 0;
    else if (p.cmd === 'puback') acks.push(p.messageId!);
    else others.push(p.cmd);
  });
  socket.on('data', (b) => parser.parse(b));
  return { socket, acks, others, connected: () => accepted };
}

describe('PUBACK order while readings commit', () => {
  let state: TestGateway['state'];
  let gateway: Gateway;
  let stop: (() => Promise<void>) | undefined;
  const held: { payload: string; commit: () => void }[] = [];
  const answered: string[] = [];

  beforeAll(async () => {
    ({ state, gateway, stop } = await startTestGateway(
      {
        accept: (_deviceId, payload, _format, answer) => {
          if (payload.toString() === 'fast') {
            answered.push('fast');
            return answer({ rejections: [] });
          }
          held.push({ payload: payload.toString(), commit: () => answer({ rejections: [] }) });
        },
      },
    ));
  });
  afterAll(() => stop?.());

  it('acknowledges a status and an at-once answered reading only after the reading published before them', async () => {
    const patient = await state.registry.addPatient({ name: 'Puback Order' });
    const { device, secret } = await state.registry.addDevice({ patientId: patient.id });
    const { socket, acks, connected } = rawDevice(gateway.mqttPort);
    try {
      socket.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: device.id, username: device.id, password: Buffer.from(secret) }));
      await waitFor(connected);
      const publish = (messageId: number, kind: string, payload: string) =>
        generate({ cmd: 'publish', topic: topic(device.id, kind), payload: Buffer.from(payload), qos: 1, messageId, retain: false, dup: false });
      socket.write(publish(1, 'readings', 'slow'));
      await waitFor(() => held.length === 1);
      // Separate chunks, read while the first reading commits.
      socket.write(publish(2, 'status', JSON.stringify({ battery: 80 })));
      socket.write(publish(3, 'readings', 'fast'));
      await waitFor(() => answered.length === 1, { timeoutMs: 5_000, what: 'the later reading handed to ingest' });
      // Both later packets are handled: without the ordering their PUBACKs ([2, 3]) arrive within milliseconds.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(acks).toEqual([]);
      held[0]!.commit();
      await waitFor(() => acks.length === 3);
      expect(acks).toEqual([1, 2, 3]);
    } finally {
      socket.destroy();
    }
  });

  it('answers a reading committed before an earlier one after it', async () => {
    const patient = await state.registry.addPatient({ name: 'Puback Order Two' });
    const { device, secret } = await state.registry.addDevice({ patientId: patient.id });
    const { socket, acks, connected } = rawDevice(gateway.mqttPort);
    held.length = 0;
    try {
      socket.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: device.id, username: device.id, password: Buffer.from(secret) }));
      await waitFor(connected);
      const publish = (messageId: number) =>
        generate({ cmd: 'publish', topic: topic(device.id, 'readings'), payload: Buffer.from(`m${messageId}`), qos: 1, messageId, retain: false, dup: false });
      socket.write(publish(1));
      await waitFor(() => held.length === 1);
      socket.write(publish(2));
      await waitFor(() => held.length === 2);
      held[1]!.commit();
      held[0]!.commit();
      await waitFor(() => acks.length === 2);
      expect(acks).toEqual([1, 2]);
    } finally {
      socket.destroy();
    }
  });

  it('answers each QoS 1 publish with one PUBACK and a QoS 0 publish with none, however many commit together', async () => {
    const patient = await state.registry.addPatient({ name: 'Puback Once' });
    const { device, secret } = await state.registry.addDevice({ patientId: patient.id });
    const { socket, acks, others, connected } = rawDevice(gateway.mqttPort);
    held.length = 0;
    try {
      socket.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: device.id, username: device.id, password: Buffer.from(secret) }));
      await waitFor(connected);
      const publish = (messageId: number, qos: 0 | 1) =>
        generate({ cmd: 'publish', topic: topic(device.id, 'readings'), payload: Buffer.from(`m${messageId}`), qos, messageId, retain: false, dup: false });
      // One TCP write: aedes handles the five at once; their commits are answered in one turn, as a group commit does.
      socket.write(Buffer.concat([publish(1, 1), publish(2, 1), publish(3, 0), publish(4, 1), publish(5, 1)]));
      await waitFor(() => held.length === 5);
      for (const message of held) message.commit();
      await waitFor(() => acks.length >= 4);
      // Long enough for a second PUBACK of any of them (aedes' own, written after Vigil's) to arrive.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(acks).toEqual([1, 2, 4, 5]);
      expect(others).toEqual([]);
      // The connection still takes publishes and answers them.
      socket.write(publish(6, 1));
      await waitFor(() => held.length === 6);
      held[5]!.commit();
      await waitFor(() => acks.length === 5);
      expect(acks.at(-1)).toBe(6);
    } finally {
      socket.destroy();
    }
  });
});

/**
 * A refused publish closes the connection (aedes destroys it on the error answer). The messages answered before it
 * in the same turn are durable, and their PUBACKs were given first; they must reach the device before the close,
 * as handleReadingsPublish means for a device over its rate ("let the messages already accepted get their PUBACK
 * first"), rather than be dropped with the connection and sent again after a reconnect.
 */
describe('PUBACKs given before a refusal that closes the connection', () => {
  let state: TestGateway['state'];
  let gateway: Gateway;
  let stop: (() => Promise<void>) | undefined;
  const held: { commit: () => void }[] = [];

  beforeAll(async () => {
    // Answered from a promise reaction, as intake answers the messages of a group commit.
    // A burst of 3 and no refill to speak of, no waiting: the fourth reading is refused.
    ({ state, gateway, stop } = await startTestGateway(
      { accept: (_deviceId, _payload, _format, answer) => void held.push({ commit: () => void Promise.resolve().then(() => answer({ rejections: [] })) }) },
      { perSecond: 0.001, burst: 3, maxWaitMs: 0 },
    ));
  });
  afterAll(() => stop?.());

  async function connectedDevice() {
    const patient = await state.registry.addPatient({ name: 'Puback Before Refusal' });
    const { device, secret } = await state.registry.addDevice({ patientId: patient.id });
    const raw = rawDevice(gateway.mqttPort);
    let closed = false;
    raw.socket.on('close', () => (closed = true));
    raw.socket.on('error', () => undefined);
    raw.socket.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: device.id, username: device.id, password: Buffer.from(secret) }));
    await waitFor(raw.connected);
    const publish = (messageId: number, kind = 'readings') =>
      generate({ cmd: 'publish', topic: topic(device.id, kind), payload: Buffer.from(`m${messageId}`), qos: 1, messageId, retain: false, dup: false });
    return { ...raw, publish, closed: () => closed };
  }

  it('acknowledges the readings accepted ahead of one over the rate limit before closing', async () => {
    held.length = 0;
    const device = await connectedDevice();
    try {
      device.socket.write(Buffer.concat([device.publish(1), device.publish(2), device.publish(3), device.publish(4)]));
      await waitFor(() => held.length === 3);
      for (const message of held) message.commit();
      await waitFor(device.closed, { what: 'the connection closed for the rate limit' });
      expect(device.acks).toEqual([1, 2, 3]);
    } finally {
      device.socket.destroy();
    }
  });

  it('acknowledges a reading accepted ahead of a publish to a foreign topic before closing', async () => {
    held.length = 0;
    const device = await connectedDevice();
    try {
      device.socket.write(Buffer.concat([device.publish(1), device.publish(2, 'errors')]));
      await waitFor(() => held.length === 1);
      held[0]!.commit();
      await waitFor(device.closed, { what: 'the connection closed for the foreign topic' });
      expect(device.acks).toEqual([1]);
    } finally {
      device.socket.destroy();
    }
  });
});

/**
 * A device in a worker thread: it reads its socket while the gateway's thread is busy, so that the time its
 * PUBACKs arrive is when they left the gateway, not when the gateway's event loop was next free.
 */
function threadDevice(port: number) {
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     const socket = require('node:net').createConnection({ host: '127.0.0.1', port: ${port} });
     const now = () => performance.timeOrigin + performance.now();
     socket.on('data', (bytes) => parentPort.postMessage({ at: now(), bytes }));
     socket.on('error', () => undefined);
     parentPort.on('message', (bytes) => (bytes ? socket.write(Buffer.from(bytes)) : socket.destroy()));`,
    { eval: true },
  );
  const parser = parser_();
  const acks: { id: number; at: number }[] = [];
  let accepted = false;
  let at = 0;
  parser.on('packet', (p: Packet) => {
    if (p.cmd === 'connack') accepted = p.returnCode === 0;
    if (p.cmd === 'puback') acks.push({ id: p.messageId!, at });
  });
  worker.on('message', (m: { at: number; bytes: Uint8Array }) => {
    at = m.at;
    parser.parse(Buffer.from(m.bytes));
  });
  return {
    acks,
    connected: () => accepted,
    write: (bytes: Buffer) => worker.postMessage(bytes),
    close: async () => {
      worker.postMessage(null);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await worker.terminate();
    },
  };
}

/**
 * aedes reads a device's next packets when its last outstanding publish is answered, and hands them to ingest
 * there and then, synchronously. The answers of a group commit are given in one loop: the PUBACKs of that commit,
 * for every device, must not wait behind the ingest of one device's next packets read inside that loop.
 */
describe('PUBACKs of one commit, while a device has more packets waiting', () => {
  let state: TestGateway['state'];
  let gateway: Gateway;
  let stop: (() => Promise<void>) | undefined;
  const held: { answer: () => void }[] = [];
  const INGEST_MS = 300;

  beforeAll(async () => {
    ({ state, gateway, stop } = await startTestGateway(
      {
        accept: (_deviceId, payload, _format, answer) => {
          // Stands for the synchronous part of ingest of a large message (parse, validation, the append).
          if (payload.toString() === 'heavy') for (const until = Date.now() + INGEST_MS; Date.now() < until; );
          held.push({ answer: () => answer({ rejections: [] }) });
        },
      },
      { perSecond: 100, burst: 100, maxWaitMs: 0 },
    ));
  });
  afterAll(() => stop?.());

  async function connectedDevice() {
    const patient = await state.registry.addPatient({ name: 'Puback Fairness' });
    const { device, secret } = await state.registry.addDevice({ patientId: patient.id });
    const thread = threadDevice(gateway.mqttPort);
    thread.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 60, clientId: device.id, username: device.id, password: Buffer.from(secret) }));
    await waitFor(thread.connected);
    const publish = (messageId: number, payload: string) =>
      generate({ cmd: 'publish', topic: topic(device.id, 'readings'), payload: Buffer.from(payload), qos: 1, messageId, retain: false, dup: false });
    return { ...thread, publish };
  }

  it('writes every PUBACK of the commit before ingesting the packets a device sent behind them', async () => {
    const busy = await connectedDevice();
    const other = await connectedDevice();
    try {
      // Two publishes outstanding, so that aedes leaves the next chunk unread until both are answered.
      busy.write(Buffer.concat([busy.publish(1, 'a'), busy.publish(2, 'b')]));
      await waitFor(() => held.length === 2);
      other.write(other.publish(1, 'c'));
      await waitFor(() => held.length === 3);
      busy.write(busy.publish(3, 'heavy'));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const released = performance.timeOrigin + performance.now();
      // One commit answers the three, from a promise reaction, as intake does.
      await Promise.resolve().then(() => {
        for (const message of held.splice(0)) message.answer();
      });
      await waitFor(() => busy.acks.length === 2 && other.acks.length === 1);
      expect(busy.acks.map((a) => a.id)).toEqual([1, 2]);
      // Before the heavy message's ingest (300 ms) ends, with a margin for a busy machine.
      expect(other.acks[0]!.at - released).toBeLessThan(INGEST_MS / 2);
      expect(busy.acks[0]!.at - released).toBeLessThan(INGEST_MS / 2);
    } finally {
      await busy.close();
      await other.close();
    }
  });
});
