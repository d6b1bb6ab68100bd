import { listRejections, type DeviceErrorMessage } from '../domain/index.js';

/**
 * The one message a readings publish gets on the errors topic when some of its readings were rejected (errors
 * message v2, docs/device-protocol.md). Its top level is the first rejection in the v1 shape, so a device that
 * reads `{ref, code, message}` keeps working; `rejected` counts them all and `errors` lists the first
 * MAX_LISTED_REJECTIONS. One message per publish, whatever the number of bad readings: before, a publish of
 * 1,000 bad readings became 1,000 messages.
 */
export interface DeviceErrorSummary extends DeviceErrorMessage {
  readonly rejected: number;
  readonly errors: readonly DeviceErrorMessage[];
  /** Rejections not listed in `errors` (all are kept in the rejection log). */
  readonly omitted: number;
}

export function summariseRejections(rejections: readonly DeviceErrorMessage[]): DeviceErrorSummary | undefined {
  // The errors topic speaks the device protocol: ref, code and message only.
  const errors = listRejections(rejections).map(({ ref, code, message }) => ({ ref, code, message }));
  const first = errors[0];
  if (!first) return undefined;
  return { ...first, rejected: rejections.length, errors, omitted: rejections.length - errors.length };
}
