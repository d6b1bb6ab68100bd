import type { Reading } from '../../domain/index.js';

// InfluxDB line protocol escaping (docs: "Line protocol", special characters): measurements escape comma and
// space; tag keys, tag values and field keys also escape the equals sign.
function escapeMeasurement(value: string): string {
  return value.replace(/[, \\]/g, (c) => `\\${c}`);
}

function escapeKey(value: string): string {
  return value.replace(/[,= \\]/g, (c) => `\\${c}`);
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
  return `${reading.time}${String(tiebreakNanos(reading.msgId)).padStart(6, '0')}`;
}

/** One measurement per reading type; patient and device as tags; numeric fields; time of measurement. */
export function toLine(reading: Reading): string {
  let line = `${escapeMeasurement(reading.type)},device_id=${escapeKey(reading.deviceId)},patient_id=${escapeKey(reading.patientId)}`;
  for (const key of Object.keys(reading.tags).sort()) {
    line += `,${escapeKey(key)}=${escapeKey(reading.tags[key]!)}`;
  }
  const fields = Object.entries(reading.fields).map(([k, v]) => `${escapeKey(k)}=${formatFloat(v)}`);
  return `${line} ${fields.join(',')} ${timestampNanos(reading)}`;
}
