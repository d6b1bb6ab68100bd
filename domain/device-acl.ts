import { deviceTopic, type DeviceTopicKind } from './topics.js';

/**
 * The one list of what a device may do on its topics, and what a worker consumes and sends. Every place that
 * enforces a device's topics reads it: the Mosquitto dynamic-security roles Vigil provisions, and the HTTP
 * authorisation hook EMQX and VerneMQ call. A new device topic is added here and nowhere else.
 */
export const DEVICE_PUBLISHES = ['readings', 'senml', 'status'] as const satisfies readonly DeviceTopicKind[];
export const DEVICE_SUBSCRIBES = ['errors'] as const satisfies readonly DeviceTopicKind[];
/** A hub (the care loop's phone app or home hub, docs/hub-protocol.md) also reads its inbox and publishes replies. */
export const HUB_PUBLISHES = [...DEVICE_PUBLISHES, 'replies'] as const satisfies readonly DeviceTopicKind[];
export const HUB_SUBSCRIBES = [...DEVICE_SUBSCRIBES, 'inbox'] as const satisfies readonly DeviceTopicKind[];
/** The kinds workers take from the devices through the shared subscription (everything a hub publishes). */
export const WORKER_CONSUMES: readonly DeviceTopicKind[] = HUB_PUBLISHES;
/** The kinds workers publish to a device (errors, and a hub's inbox). */
export const WORKER_SENDS: readonly DeviceTopicKind[] = HUB_SUBSCRIBES;

/** What a device is: an ordinary measuring device, or a hub of the care loop. */
export type DeviceAclKind = 'device' | 'hub';

export interface TopicAcl {
  /** Exact topics the client may publish to. */
  readonly publish: readonly string[];
  /** Exact topic filters the client may subscribe to (no wildcards for a device). */
  readonly subscribe: readonly string[];
}

/**
 * A device's own topics: it publishes its readings (also as SenML) and status and reads its errors, under its own
 * id only; a hub also reads its inbox and publishes its replies.
 */
export function deviceAcl(prefix: string, deviceId: string, kind: DeviceAclKind = 'device'): TopicAcl {
  return {
    publish: (kind === 'hub' ? HUB_PUBLISHES : DEVICE_PUBLISHES).map((k) => deviceTopic(prefix, deviceId, k)),
    subscribe: (kind === 'hub' ? HUB_SUBSCRIBES : DEVICE_SUBSCRIBES).map((k) => deviceTopic(prefix, deviceId, k)),
  };
}

/** A worker's filters: the shared subscriptions it consumes, and the per-device topics it publishes to. */
export function workerAcl(prefix: string, shareGroup: string): TopicAcl {
  return {
    publish: WORKER_SENDS.map((kind) => deviceTopic(prefix, '+', kind)),
    subscribe: WORKER_CONSUMES.map((kind) => `$share/${shareGroup}/${deviceTopic(prefix, '+', kind)}`),
  };
}
