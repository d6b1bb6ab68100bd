import type { DeviceId, PatientId } from './ids.js';
import type { ReadingType } from './reading-types.js';

/**
 * A validated reading in stored units, attributed to a patient by the server (never by the device).
 * `fields` hold numbers only, so that every store can aggregate every field.
 */
export interface Reading {
  /** Idempotency key: (device, type, time of measurement, device message id). */
  readonly key: string;
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

export function readingKey(deviceId: string, type: ReadingType, time: number, msgId: string | undefined): string {
  return `${deviceId}|${type}|${time}|${msgId ?? ''}`;
}
