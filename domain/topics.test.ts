import { describe, expect, it } from 'vitest';
import { deviceAcl, workerAcl } from './device-acl.js';
import { parseDeviceTopic, TOPIC_PREFIX_MAX_CHARS, topicPrefixSchema, type DeviceTopicKind } from './topics.js';

/** The previous implementation (split on slashes), the reference the faster one must answer exactly like. */
function bySplit(prefix: string, topic: string): { deviceId: string; kind: DeviceTopicKind } | undefined {
  const head = `${prefix}/devices/`;
  if (!topic.startsWith(head)) return undefined;
  const rest = topic.slice(head.length).split('/');
  if (rest.length !== 2) return undefined;
  const [deviceId, kind] = rest as [string, string];
  if (!deviceId || !['readings', 'senml', 'status', 'errors', 'inbox', 'replies'].includes(kind)) return undefined;
  return { deviceId, kind: kind as DeviceTopicKind };
}

describe('parseDeviceTopic', () => {
  it('answers exactly as splitting the topic on slashes, for well-formed and malformed topics and two prefixes', () => {
    const parts = ['', 'rpm', 'v1', 'rpm/v1', 'clinic/rpm', 'devices', 'dev-1', 'ü-7', 'readings', 'senml', 'status', 'errors', 'inbox', 'replies', 'reading', '+', '#'];
    let compared = 0;
    for (const prefix of ['rpm/v1', 'clinic/rpm', 'rpm/v1']) {
      for (const a of parts) {
        for (const b of parts) {
          for (const topic of [`${prefix}/devices/${a}/${b}`, `${prefix}/devices/${a}/${b}/`, `${prefix}/devices/${a}${b}`, `${prefix}/devices/${a}/${b}/x`, `${a}/devices/${b}`, `/${prefix}/devices/${a}/${b}`]) {
            expect(parseDeviceTopic(prefix, topic)).toEqual(bySplit(prefix, topic));
            compared++;
          }
        }
      }
    }
    expect(compared).toBe(3 * parts.length * parts.length * 6);
    expect(parseDeviceTopic('rpm/v1', 'rpm/v1/devices/dev-1/readings')).toEqual({ deviceId: 'dev-1', kind: 'readings' });
    expect(parseDeviceTopic('clinic/rpm', 'rpm/v1/devices/dev-1/readings')).toBeUndefined();
  });
});

describe('the topic prefix bound', () => {
  it('keeps every topic and filter Vigil builds under 256 bytes with the longest prefix, device id and share group', () => {
    const prefix = 'p'.repeat(TOPIC_PREFIX_MAX_CHARS);
    expect(topicPrefixSchema.parse(prefix)).toBe(prefix);
    const hub = deviceAcl(prefix, 'd'.repeat(64), 'hub');
    const worker = workerAcl(prefix, 'g'.repeat(64));
    const topics = [...hub.publish, ...hub.subscribe, ...worker.publish, ...worker.subscribe];
    expect(Math.max(...topics.map((t) => Buffer.byteLength(t)))).toBeLessThan(256);
  });
});
