import type { Aedes } from 'aedes';

/**
 * A device's messages end at Vigil. authorizeSubscribe lets a device read only its own errors topic, and a hub
 * its own inbox, and only the broker itself publishes there; a device may publish only its readings, senml,
 * status and replies, which authorizePublish has handled (made durable, recorded) before aedes routes them. So
 * no subscriber can exist for a device's publish, and aedes' routing of it (a look-up of offline queues, one
 * promise per message; mqemitter; a retained copy in memory; the 'publish' event) is work for nobody, on every
 * reading. The broker's own messages (errors, inbox, $SYS) are routed as before.
 */
export function endDevicePublishesAtVigil(broker: Aedes): void {
  const route = broker.publish.bind(broker) as (packet: unknown, client: unknown, done?: unknown) => void;
  const publish = (packet: unknown, client: unknown, done?: (err?: Error | null) => void): void => {
    // aedes calls this with the device's client once the PUBACK is written (QoS 1) or at once (QoS 0), and
    // with the client when an unclean disconnect publishes its will (authorizePublish saw the will first).
    if (client !== null && typeof client === 'object') return done?.(null);
    route(packet, client, done);
  };
  broker.publish = publish as Aedes['publish'];
}
