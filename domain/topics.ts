import { z } from 'zod';

/** MQTT topics of the device contract (docs/device-protocol.md "MQTT"). The prefix is configurable, default rpm/v1. */
export const DEFAULT_TOPIC_PREFIX = 'rpm/v1';

/**
 * The longest prefix (VIGIL_TOPIC_PREFIX). MQTT lets a topic be 65,535 bytes, but brokers hold less (AWS IoT
 * Core: 256 bytes), and every topic Vigil builds carries the prefix: with 128 characters, the longest of them (a
 * worker's shared subscription `$share/{64-character group}/{prefix}/devices/+/readings`, or a 64-character
 * device id's topic) stays under 256 bytes (domain/topics.test.ts).
 */
export const TOPIC_PREFIX_MAX_CHARS = 128;

/**
 * A prefix is topic levels of the characters device ids use (ID_PATTERN, domain/ids.ts): no wildcard, no empty
 * level, and no leading `$`, which brokers keep for their own topics ($SYS).
 */
export const topicPrefixSchema = z
  .string()
  .max(TOPIC_PREFIX_MAX_CHARS, `must be at most ${TOPIC_PREFIX_MAX_CHARS} characters`)
  .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, 'must be topic levels without wildcards, e.g. rpm/v1');

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

/** The last prefix asked about and its head: there is one prefix per process, and one topic per publish. */
let known = { prefix: DEFAULT_TOPIC_PREFIX, head: `${DEFAULT_TOPIC_PREFIX}/devices/` };

/**
 * Splits `{prefix}/devices/{deviceId}/{kind}`; anything else is not a device topic. Asked of every publish, so
 * it cuts at the slashes rather than splitting into an array (domain/topics.test.ts checks it against split).
 */
export function parseDeviceTopic(prefix: string, topic: string): { deviceId: string; kind: DeviceTopicKind } | undefined {
  if (known.prefix !== prefix) known = { prefix, head: `${prefix}/devices/` };
  const { head } = known;
  if (!topic.startsWith(head)) return undefined;
  const slash = topic.indexOf('/', head.length);
  // Exactly two parts after the head: a device id, then a kind.
  if (slash < 0 || topic.includes('/', slash + 1)) return undefined;
  const deviceId = topic.slice(head.length, slash);
  const kind = topic.slice(slash + 1);
  if (!deviceId || !KINDS.includes(kind)) return undefined;
  return { deviceId, kind: kind as DeviceTopicKind };
}
