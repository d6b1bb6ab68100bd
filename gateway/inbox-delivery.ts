import type { Aedes, Client, PublishPacket, PubrelPacket, Subscription } from 'aedes';
import { deviceTopic, parseDeviceTopic } from '../domain/index.js';
import { deviceIdOf } from './client-identity.js';

/** What the care loop hears of its inbox messages on the embedded broker (optional: worker mode has none). */
export interface InboxDelivery {
  /** The hub's MQTT client acknowledged (PUBACK) an inbox message: it holds it now. */
  inboxAcked?(hubId: string, payload: Buffer): void;
  /** The hub subscribed to its inbox on a new session: the broker holds nothing for it; resend what it lacks. */
  inboxSubscribed?(hubId: string): void;
  /** Whether an inbox message may still go to the hub (it serves the patient the message was written for). */
  inboxDeliverable?(hubId: string, payload: Buffer): boolean;
}

/**
 * The embedded aedes keeps an offline hub's queue in memory: a restart loses it, and the hub's session with
 * it (sessionPresent = 0 on its next CONNACK, [MQTT-3.2.2-2]). So the care loop records each inbox message's
 * PUBACK from the hub, and when a hub subscribes to its inbox on a session the broker did not have, resends its
 * unexpired messages not yet acknowledged. A hub on a session the broker kept gets its queue from aedes instead
 * (no resend, no duplicate); a message resent after a lost acknowledgement is deduplicated by its id on the hub.
 */
export function watchInboxDelivery(broker: Aedes, topicPrefix: string, sink: InboxDelivery, log: { warn(obj: object, msg: string): void }): void {
  const newSessions = new WeakSet<Client>();
  const guarded = (what: string, work: () => void) => {
    try {
      work();
    } catch (err) {
      log.warn({ err }, `inbox ${what} could not be recorded`);
    }
  };
  broker.on('connackSent', (packet: { sessionPresent?: boolean }, client: Client) => {
    if (!packet.sessionPresent) newSessions.add(client);
  });
  broker.on('subscribe', (subscriptions: Subscription[], client: Client) => {
    const hubId = deviceIdOf(client);
    if (!hubId || !sink.inboxSubscribed || !newSessions.has(client)) return;
    const inbox = deviceTopic(topicPrefix, hubId, 'inbox');
    // A refused subscription (another hub's inbox, SUBACK 0x80) is granted as 128: nothing to resend.
    if (!subscriptions.some((s) => s.topic === inbox && (s.qos as number) !== 128)) return;
    // Once per session: a second SUBSCRIBE on the same connection finds the broker holding the queue again.
    newSessions.delete(client);
    guarded('resend', () => sink.inboxSubscribed!(hubId));
  });
  broker.on('ack', (packet: PublishPacket | PubrelPacket | undefined, client: Client) => {
    const hubId = client && deviceIdOf(client);
    // QoS 1 only (a PUBREL is QoS 2, which Vigil does not send); undefined when the broker had lost the packet.
    if (!hubId || !packet || packet.cmd !== 'publish' || !sink.inboxAcked || parseDeviceTopic(topicPrefix, packet.topic)?.kind !== 'inbox') return;
    guarded('acknowledgement', () => sink.inboxAcked!(hubId, packet.payload as Buffer));
  });
}
