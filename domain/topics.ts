/** MQTT topics of the device contract (docs/device-protocol.md "MQTT"). The prefix is configurable, default rpm/v1. */
export const DEFAULT_TOPIC_PREFIX = 'rpm/v1';

/**
 * readings, status: a device publishes (senml: readings as a SenML (RFC 8428) JSON pack instead of wire format v1,
 * docs/device-protocol.md "SenML"); errors: Vigil publishes, the device reads. inbox: Vigil publishes to a hub
 * (reminders, messages), the hub reads; replies: the hub publishes its answers (docs/hub-protocol.md).
 */
export type DeviceTopicKind = 'readings' | 'senml' | 'status' | 'errors' | 'inbox' | 'replies';

const KINDS: readonly string[] = ['readings', 'senml', 'status', 'errors', 'inbox', 'replies'] satisfies DeviceTopicKind[];


export function deviceTopic(prefix: string, deviceId: string, kind: DeviceTopicKind): string {
  return `${prefix}/devices/${deviceId}/${kind}`;
}

/** Splits `{prefix}/devices/{deviceId}/{kind}`; anything else is not a device topic. */
export function parseDeviceTopic(prefix: string, topic: string): { deviceId: string; kind: DeviceTopicKind } | undefined {
  const head = `${prefix}/devices/`;
  if (!topic.startsWith(head)) return undefined;
  const rest = topic.slice(head.length).split('/');
  if (rest.length !== 2) return undefined;
  const [deviceId, kind] = rest as [string, string];
  if (!deviceId || !KINDS.includes(kind)) return undefined;
  return { deviceId, kind: kind as DeviceTopicKind };
}
