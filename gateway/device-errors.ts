import { countByCode, listRejections, rejectedLineKey, type DeviceErrorMessage } from '../domain/index.js';
import type { GatewayLogger } from './gateway.js';
import type { DeviceLogLimit } from './log-limiter.js';

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

/**
 * The 'readings rejected' log line of a publish, at most one per device per interval of `limiter`: a device
 * whose every publish is rejected (broken or hostile) would otherwise write a line per message, all day, at its
 * rate limit. `count` is the publishes the line stands for (this one and those folded into it since the last
 * line; or, for the line that ends an interval, those folded into it); `rejected` and `codes` are this
 * publish's (the last folded one's). The limiter is the one the Nightscout uploads' lines go through too: the line
 * that ends an interval may be an upload's. Every publish is still recorded in the rejection log and
 * answered on the errors topic, and every rejected reading counted in the metrics. Ids, codes and counts only:
 * no reading value is logged.
 */
export function logReadingsRejected(limiter: DeviceLogLimit, log: GatewayLogger, deviceId: string, rejections: readonly DeviceErrorMessage[]): void {
  // Counted now: a folded line is kept until its interval ends, and must not hold the rejections meanwhile.
  const fields = { deviceId, rejected: rejections.length, codes: countByCode(rejections) };
  limiter.note(rejectedLineKey(deviceId), (count) => log.info({ ...fields, count }, 'readings rejected'));
}
