import type { DeviceErrorMessage } from '../domain/index.js';

/** Rejections listed in one errors message; the rest are counted (all are kept in the rejection log). */
export const MAX_ERRORS_PER_MESSAGE = 20;
/** A rejection's message is cut to this many characters on the errors topic. */
const MAX_MESSAGE_CHARS = 200;

/**
 * The one message a readings publish gets on the errors topic when some of its readings were rejected (errors
 * message v2, docs/device-protocol.md). Its top level is the first rejection in the v1 shape, so a device that
 * reads `{ref, code, message}` keeps working; `rejected` counts them all and `errors` lists the first
 * MAX_ERRORS_PER_MESSAGE. One message per publish, whatever the number of bad readings: before, a publish of
 * 1,000 bad readings became 1,000 messages.
 */
export interface DeviceErrorSummary extends DeviceErrorMessage {
  readonly rejected: number;
  readonly errors: readonly DeviceErrorMessage[];
  /** Rejections not listed in `errors`. */
  readonly omitted: number;
}

function cut(error: DeviceErrorMessage): DeviceErrorMessage {
  const message = error.message.length > MAX_MESSAGE_CHARS ? `${error.message.slice(0, MAX_MESSAGE_CHARS - 1)}…` : error.message;
  return { ref: error.ref.slice(0, 64), code: error.code, message };
}

export function summariseRejections(rejections: readonly DeviceErrorMessage[]): DeviceErrorSummary | undefined {
  const first = rejections[0];
  if (!first) return undefined;
  const errors = rejections.slice(0, MAX_ERRORS_PER_MESSAGE).map(cut);
  return { ...errors[0]!, rejected: rejections.length, errors, omitted: rejections.length - errors.length };
}

/** Rejections by code, for one log line per publish instead of one per reading. */
export function countByCode(rejections: readonly { code: string }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of rejections) counts[r.code] = (counts[r.code] ?? 0) + 1;
  return counts;
}
