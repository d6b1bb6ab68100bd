import type { MqttClient } from 'mqtt';
import type { Packet } from 'mqtt-packet';

type Send = (this: MqttClient, packet: Packet, cb?: (err?: Error) => void, ...rest: unknown[]) => void;

/**
 * mqtt.js reads the next message from the broker only after the PUBACK of the current one was handed to its
 * `_sendPacket`, so delaying the PUBACK through `handleMessage` alone makes one durable commit per message
 * (about 140 messages/s measured here, against thousands for the embedded broker's group commits). This lets
 * mqtt.js read on at once while each PUBACK waits for its own message to be durable: the PUBACK is held here and
 * sent when the message's work resolves, in the order the messages arrived ([MQTT-4.6.0-2]), on the connection
 * they arrived on. A message whose work fails gets no PUBACK; the caller drops the connection so that the broker
 * sends it again. `_sendPacket` is mqtt.js 5's internal send; start-up refuses a client without it, and the
 * SIGKILL test (test/broker-worker.e2e.test.ts) fails if PUBACKs ever leave before the commit.
 */
export function ackWhenDurable(client: MqttClient): (work: Promise<void>, done: () => void) => Promise<void> {
  const target = client as unknown as { _sendPacket: Send };
  const send = target._sendPacket;
  if (typeof send !== 'function') throw new Error('this mqtt.js has no _sendPacket: worker mode needs the mqtt 5.x that package.json names');
  let held: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  let order: Promise<void> = Promise.resolve();
  target._sendPacket = function (this: MqttClient, packet, cb, ...rest) {
    const work = held;
    held = undefined;
    if (packet.cmd !== 'puback' || !work) return send.call(this, packet, cb, ...rest);
    const stream = client.stream;
    order = order.then(() =>
      work.then(
        () => {
          // A PUBACK for a connection that was lost since is not sent: the broker sends that message again.
          if (client.stream === stream && client.connected) send.call(client, packet);
        },
        () => undefined,
      ),
    );
    queued = order;
    cb?.();
  };
  /**
   * Resolves once this message's PUBACK has left (or was given up with its connection or its failed work): until
   * then the broker counts the message as in flight at this worker, and so does the worker's bound.
   */
  return (work, done) => {
    // mqtt.js calls _sendPacket for the PUBACK synchronously inside `done`: that call takes `work`.
    held = work;
    queued = undefined;
    try {
      done();
    } finally {
      held = undefined;
    }
    const settled = queued ?? work.catch(() => undefined);
    queued = undefined;
    return settled;
  };
}
