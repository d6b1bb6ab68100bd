/**
 * Characters of a topic a log line keeps. Vigil's own topics are shorter (a 64-character device id included):
 * only a topic that is already wrong is cut. A topic may be 65,535 bytes [MQTT-1.5.3], and one SUBSCRIBE can
 * carry many: logged whole, one connection wrote 4.8 MB of log in 20 packets.
 */
export const LOGGED_TOPIC_CHARS = 160;

/** The log fields for a topic: the topic itself when short, else its start and its full length. */
export function loggedTopic(topic: string | undefined): { topic?: string; topicLength?: number } {
  if (topic === undefined) return {};
  if (topic.length <= LOGGED_TOPIC_CHARS) return { topic };
  return { topic: `${topic.slice(0, LOGGED_TOPIC_CHARS)}…`, topicLength: topic.length };
}

/**
 * Characters of a device id a log line keeps: the longest id Vigil registers (ID_PATTERN, domain/ids.ts), so
 * only an id no device can have is cut. In worker mode the id comes from a topic the external broker let
 * through, and may be most of 64 KB.
 */
export const LOGGED_DEVICE_ID_CHARS = 64;

/** The log fields for a device id not known to be Vigil's: the id itself when short, else its start and its full length. */
export function loggedDeviceId(deviceId: string): { deviceId: string; deviceIdLength?: number } {
  if (deviceId.length <= LOGGED_DEVICE_ID_CHARS) return { deviceId };
  return { deviceId: `${deviceId.slice(0, LOGGED_DEVICE_ID_CHARS)}…`, deviceIdLength: deviceId.length };
}
