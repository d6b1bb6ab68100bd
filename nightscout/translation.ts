import { createHash } from 'node:crypto';
import { isRepresentableTime } from '../domain/index.js';
import type { PayloadItem, Rejection } from '../ingest/index.js';

/** What one Nightscout upload becomes: wire format v1 items for intake, and what was not usable, with why. */
export interface Translation {
  readonly items: PayloadItem[];
  readonly rejections: Rejection[];
  /** Documents Vigil does not use (calibration parameters, insulin, carbs...): not errors, counted and left out. */
  readonly ignored: { readonly ref: string; readonly kind: IgnoredKind }[];
  /** The uploaded document of each translated item (by ref), for the answer, which echoes what was kept. */
  readonly documents: Map<string, Record<string, unknown>>;
}

/** Why a document was left out (the label of vigil_nightscout_ignored_total: a closed set). */
export type IgnoredKind = 'calibration' | 'treatment' | 'sensor_glucose_treatment' | 'devicestatus';

export function emptyTranslation(): Translation {
  return { items: [], rejections: [], ignored: [], documents: new Map() };
}

export function isDocument(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Nightscout stores numbers sent as strings (its own tests post `"sgv": "199"`): both are read. */
export function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

/**
 * The time of a document, epoch ms: the first of `msFields` that is a number of milliseconds a date can hold,
 * else the first of `isoFields` that is an ISO 8601 time with an offset (a local time cannot be placed on the
 * timeline). A number past what a Date holds (9e15) counts as no time, so the document is rejected with the
 * translator's code rather than throwing when it is made an ISO string.
 */
export function timeOf(doc: Record<string, unknown>, msFields: readonly string[], isoFields: readonly string[]): number | undefined {
  for (const field of msFields) {
    const ms = numberOf(doc[field]);
    if (ms !== undefined && ms > 0 && isRepresentableTime(Math.round(ms))) return Math.round(ms);
  }
  for (const field of isoFields) {
    const text = doc[field];
    if (typeof text === 'string' && /(Z|[+-]\d{2}:?\d{2})$/i.test(text.trim())) {
      const ms = Date.parse(text);
      if (Number.isFinite(ms)) return ms;
    }
  }
  return undefined;
}

/**
 * A Nightscout `_id` (24 hex digits, the length of a MongoDB ObjectId, which xDrip+ and Loop expect) that is the
 * same for the same reading: a re-upload gets the id it got the first time.
 */
export function documentId(deviceId: string, kind: string, time: number): string {
  return createHash('sha1').update(`${deviceId}|${kind}|${time}`).digest('hex').slice(0, 24);
}

export function rejection(ref: string, code: Rejection['code'], message: string, item: unknown): Rejection {
  return { ref, code, message, item, readingType: 'glucose' };
}
