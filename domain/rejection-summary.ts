import type { DeviceErrorMessage } from './wire.js';

/**
 * Rejections listed by name for one publish, on the errors topic and in the rejection log alike; the rest are
 * counted. A publish of 1,000 bad readings is one summary, not 1,000 of anything (issue 13, item 6).
 */
export const MAX_LISTED_REJECTIONS = 20;
/** A listed rejection's message is cut to this many characters, its ref to 64 (the longest id a device may use). */
const MAX_MESSAGE_CHARS = 200;
const MAX_REF_CHARS = 64;

export interface ListedRejection extends DeviceErrorMessage {
  readonly readingType?: string | undefined;
}

/** The first MAX_LISTED_REJECTIONS rejections, cut to size, without anything else a rejection carries. */
export function listRejections(rejections: readonly ListedRejection[]): ListedRejection[] {
  return rejections.slice(0, MAX_LISTED_REJECTIONS).map((r) => {
    const message = r.message.length > MAX_MESSAGE_CHARS ? `${r.message.slice(0, MAX_MESSAGE_CHARS - 1)}…` : r.message;
    const listed = { ref: r.ref.slice(0, MAX_REF_CHARS), code: r.code, message };
    return r.readingType === undefined ? listed : { ...listed, readingType: r.readingType };
  });
}

/**
 * The log-limiter key of a device's 'readings rejected' lines, whichever path the readings came by (MQTT, a
 * Nightscout upload): with one limiter for all paths (the composition root's), a device bad on every path still
 * writes one line per interval, not one per path.
 */
export function rejectedLineKey(deviceId: string): string {
  return `rejected:${deviceId}`;
}

/** Rejections by code. */
export function countByCode(rejections: readonly { code: string }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of rejections) counts[r.code] = (counts[r.code] ?? 0) + 1;
  return counts;
}
