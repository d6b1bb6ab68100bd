import type { Client, PublishPacket } from 'aedes';
import { GuardedStream } from './stream-guard.js';

/**
 * Writes the PUBACK of a device's QoS 1 PUBLISH here, once Vigil has made it durable, instead of through aedes.
 * aedes writes each PUBACK as three stream writes through mqtt-packet (with a cork, a `process.nextTick` to
 * uncork, three debug calls) and then calls back through a `setImmediate`, per message: about 3 % of Vigil's CPU
 * at full rate (docs/benchmarks.md, "A ninth look"). The connection's stream guard writes every PUBACK of one
 * turn as one buffer (GuardedStream.acknowledge).
 *
 * Then aedes is told the message has nothing left to acknowledge: its QoS becomes 0, so aedes hands it to
 * `broker.publish`, which ends a device's publish at Vigil (device-publishes.ts), and reads the device's next
 * packets. Only a PUBLISH that aedes is about to acknowledge qualifies: a last will (no packet identifier) and any
 * other QoS are left to aedes, as is a connection closed or backed up (aedes' write then waits for 'drain').
 *
 * Answers whether the PUBACK was taken; if so, `then` (aedes' answer) is called once the PUBACKs of the turn
 * have been written, and must not be called before.
 */
export function acknowledgeHere(client: Client, packet: PublishPacket, then?: () => void): boolean {
  if (packet.cmd !== 'publish' || packet.qos !== 1 || typeof packet.messageId !== 'number') return false;
  const conn: unknown = client.conn;
  if (!(conn instanceof GuardedStream) || !conn.acknowledge(packet.messageId, then)) return false;
  packet.qos = 0;
  return true;
}
