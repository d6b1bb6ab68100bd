import type { DeviceId, PatientId } from './ids.js';
import type { ReadingType } from './reading-types.js';

/**
 * A validated reading in stored units, attributed to a patient by the server (never by the device).
 * `fields` hold numbers only, so that every store can aggregate every field. Its idempotency key (device, type,
 * time of measurement, device message id) is derived where a string is needed (`keyOf`), not carried: it was
 * about a fifth of each outbox record's bytes, and built for every reading though few need it as a string.
 */
export interface Reading {
  readonly type: ReadingType;
  readonly deviceId: DeviceId;
  readonly patientId: PatientId;
  /** Time of measurement, epoch milliseconds. */
  readonly time: number;
  /** The device's own message id, when it sent one. */
  readonly msgId?: string | undefined;
  /** When Vigil received it, epoch milliseconds. */
  readonly receivedAt: number;
  /** Uploaded long after it was measured (a store-and-forward backlog). */
  readonly late: boolean;
  readonly fields: Readonly<Record<string, number>>;
  readonly tags: Readonly<Record<string, string>>;
}

/** What makes a reading the same reading: the parts of its idempotency key. */
export type ReadingIdentity = Pick<Reading, 'deviceId' | 'type' | 'time' | 'msgId'>;

/** The idempotency key as a string: no message id and an empty one are the same key. */
export function readingKey(deviceId: string, type: ReadingType, time: number, msgId: string | undefined): string {
  return `${deviceId}|${type}|${time}|${msgId ?? ''}`;
}

export function keyOf(reading: ReadingIdentity): string {
  return readingKey(reading.deviceId, reading.type, reading.time, reading.msgId);
}
