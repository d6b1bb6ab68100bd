import type { Client, PublishPacket } from 'aedes';
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { acknowledgeHere } from './puback-writer.js';
import { GuardedStream } from './stream-guard.js';

const limits = { maxPacketBytes: 1024, maxConnectBytes: 256, unauthenticatedBytes: 4096 };

/** A socket stand-in that records what reaches it; `hold` keeps its write callbacks back (a peer not reading). */
function socketStandIn(hold = false) {
  const written: Buffer[] = [];
  const inner = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      written.push(Buffer.from(chunk));
      if (!hold) callback();
    },
  });
  const guard = new GuardedStream(inner, '127.0.0.1', limits, () => undefined);
  return { guard, written };
}

const turnEnds = () => new Promise((resolve) => setImmediate(resolve));

function publish(messageId: number | undefined, qos: 0 | 1 | 2 = 1): PublishPacket {
  return { cmd: 'publish', topic: 'rpm/v1/devices/d-1/readings', payload: Buffer.from('{}'), qos, retain: false, dup: false, messageId } as PublishPacket;
}

describe('PUBACKs written by the stream guard', () => {
  it('writes every PUBACK of one turn as one buffer, in the order given, after what was written before', async () => {
    const { guard, written } = socketStandIn();
    guard.write(Buffer.from([0xd0, 0x00])); // a PINGRESP written first
    for (const id of [7, 8, 300, 65535]) expect(guard.acknowledge(id)).toBe(true);
    await turnEnds();
    expect(written).toEqual([Buffer.from([0xd0, 0x00]), Buffer.from([0x40, 2, 0, 7, 0x40, 2, 0, 8, 0x40, 2, 1, 44, 0x40, 2, 255, 255])]);
    guard.acknowledge(9);
    await turnEnds();
    expect(written[2]).toEqual(Buffer.from([0x40, 2, 0, 9]));
  });

  it('refuses when closed, and when backed up with none queued, but never lets a later PUBACK overtake a queued one', async () => {
    const closed = socketStandIn();
    closed.guard.destroy();
    expect(closed.guard.acknowledge(1)).toBe(false);

    const slow = socketStandIn(true);
    expect(slow.guard.acknowledge(1)).toBe(true);
    slow.guard.write(Buffer.alloc(64 * 1024)); // past the high-water mark, never taken by the peer
    expect(slow.guard.writableNeedDrain).toBe(true);
    // Queued before the stream backed up: the next one of the same turn joins it rather than going elsewhere.
    expect(slow.guard.acknowledge(2)).toBe(true);
    await turnEnds();
    expect(slow.guard.acknowledge(3)).toBe(false);
  });
});

describe('what waits for the PUBACKs of a turn', () => {
  it("runs once every connection's PUBACKs of the turn are written, in the order given", async () => {
    const one = socketStandIn();
    const two = socketStandIn();
    const ran: string[] = [];
    const seen = () => `${one.written.length}/${two.written.length}`;
    one.guard.acknowledge(1, () => ran.push(`one:1 after ${seen()}`));
    two.guard.acknowledge(5, () => ran.push(`two:5 after ${seen()}`));
    one.guard.acknowledge(2, () => ran.push(`one:2 after ${seen()}`));
    expect(ran).toEqual([]);
    await turnEnds();
    expect(ran).toEqual(['one:1 after 1/1', 'two:5 after 1/1', 'one:2 after 1/1']);
    expect(one.written).toEqual([Buffer.from([0x40, 2, 0, 1, 0x40, 2, 0, 2])]);
  });
});

describe('an answer that throws', () => {
  it("does not keep the turn's other answers from being given", async () => {
    const { guard } = socketStandIn();
    const ran: number[] = [];
    const thrown = new Promise<unknown>((resolve) => process.once('uncaughtException', resolve));
    guard.acknowledge(1, () => {
      throw new Error('a bug in what the answer runs');
    });
    guard.acknowledge(2, () => ran.push(2));
    expect(await thrown).toMatchObject({ message: 'a bug in what the answer runs' });
    expect(ran).toEqual([2]);
  });
});

describe('PUBACKs queued when the connection is closed', () => {
  it('writes them before the close, unless writes ahead of them are still buffered (and dropped)', () => {
    const { guard, written } = socketStandIn();
    guard.acknowledge(1);
    guard.acknowledge(2);
    guard.destroy();
    expect(written).toEqual([Buffer.from([0x40, 2, 0, 1, 0x40, 2, 0, 2])]);

    const slow = socketStandIn(true);
    slow.guard.write(Buffer.from([0xd0, 0x00])); // in the socket, its callback held back
    slow.guard.write(Buffer.from([0x90, 0x03, 0x00, 0x01, 0x00])); // buffered in the guard: dropped by the close
    slow.guard.acknowledge(3);
    slow.guard.destroy();
    expect(slow.written).toEqual([Buffer.from([0xd0, 0x00])]);
  });
});

describe('acknowledgeHere', () => {
  it("takes a QoS 1 PUBLISH's PUBACK from aedes (its QoS becomes 0), and leaves everything else to aedes", async () => {
    const { guard, written } = socketStandIn();
    const client = { conn: guard } as unknown as Client;
    const qos1 = publish(5);
    acknowledgeHere(client, qos1);
    expect(qos1.qos).toBe(0);
    // A last will has no packet identifier; QoS 0 and 2 are not acknowledged with a PUBACK.
    const will = { topic: 'rpm/v1/devices/d-1/status', payload: Buffer.from('{}'), qos: 1, retain: false } as unknown as PublishPacket;
    const others = [will, publish(6, 0), publish(7, 2), publish(undefined)];
    for (const packet of others) acknowledgeHere(client, packet);
    expect(others.map((p) => p.qos)).toEqual([1, 0, 2, 1]);
    await turnEnds();
    expect(written).toEqual([Buffer.from([0x40, 2, 0, 5])]);

    // Not a guarded connection (aedes' own stream): aedes writes the PUBACK.
    const plain = publish(8);
    acknowledgeHere({ conn: new Duplex({ read() {}, write: (_c, _e, cb) => cb() }) } as unknown as Client, plain);
    expect(plain.qos).toBe(1);
    // A connection gone: aedes answers it as closed.
    guard.destroy();
    const late = publish(9);
    acknowledgeHere(client, late);
    expect(late.qos).toBe(1);
  });
});
