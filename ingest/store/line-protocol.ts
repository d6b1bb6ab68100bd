import type { Reading } from '../../domain/index.js';

// InfluxDB line protocol escaping (docs: "Line protocol", special characters): measurements escape comma and
// space; tag keys, tag values and field keys also escape the equals sign.
function escapeMeasurement(value: string): string {
  return value.replace(/[, \\]/g, (c) => `\\${c}`);
}

function escapeKey(value: string): string {
  return value.replace(/[,= \\]/g, (c) => `\\${c}`);
}

/**
 * Escaped names and tag values, remembered: a batch repeats the same few devices, patients, fields and tags in
 * every line, and the shipper builds its lines on the main thread, where the PUBACKs wait behind it. Bounded:
 * past MEMO_LIMIT different names it starts over.
 */
const MEMO_LIMIT = 10_000;
const escapedKeys = new Map<string, string>();
const escapedMeasurements = new Map<string, string>();

function memo(cache: Map<string, string>, value: string, escape: (value: string) => string): string {
  let escaped = cache.get(value);
  if (escaped === undefined) {
    if (cache.size >= MEMO_LIMIT) cache.clear();
    escaped = escape(value);
    cache.set(value, escaped);
  }
  return escaped;
}

function formatFloat(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError('line protocol cannot carry a non-finite number');
  return String(value);
}

/**
 * A sub-millisecond offset derived from the device's message id, so that two readings with the same time but
 * different ids are two points, while a replay of the same reading lands on the same point and overwrites it.
 */
export function tiebreakNanos(msgId: string | undefined): number {
  if (!msgId) return 0;
  let hash = 0x811c9dc5; // FNV-1a, 32 bit
  for (let i = 0; i < msgId.length; i++) {
    hash ^= msgId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return 1 + (hash % 999_999);
}

/** Nanosecond timestamp as a decimal string: epoch ms do not fit a double once multiplied by 1e6. */
export function timestampNanos(reading: Reading): string {
  // Six digits of tiebreak (0-999,999) after the milliseconds: the digits of 1,000,000 + tiebreak bar the first.
  return `${reading.time}${String(1_000_000 + tiebreakNanos(reading.msgId)).slice(1)}`;
}

/** One measurement per reading type; patient and device as tags; numeric fields; time of measurement. */
export function toLine(reading: Reading): string {
  let line = `${memo(escapedMeasurements, reading.type, escapeMeasurement)},device_id=${memo(escapedKeys, reading.deviceId, escapeKey)},patient_id=${memo(escapedKeys, reading.patientId, escapeKey)}`;
  const tags = Object.keys(reading.tags);
  if (tags.length > 1) tags.sort();
  for (const key of tags) line += `,${memo(escapedKeys, key, escapeKey)}=${memo(escapedKeys, reading.tags[key]!, escapeKey)}`;
  let separator = ' ';
  for (const key of Object.keys(reading.fields)) {
    line += `${separator}${memo(escapedKeys, key, escapeKey)}=${formatFloat(reading.fields[key]!)}`;
    separator = ',';
  }
  return `${line} ${timestampNanos(reading)}`;
}
