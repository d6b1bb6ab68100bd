import { countByCode, rejectedLineKey, type ErrorCode } from '../domain/index.js';

/** Writes a line for `key` at most once an interval, telling it how many events it stands for. */
export interface LogLimit {
  note(key: string, write: (count: number) => void): void;
}

export interface UploadLog {
  info(obj: object, msg: string): void;
}

/*
 * The log lines of an upload Vigil could not use, at most one per device every 10 s, under the key MQTT's
 * 'readings rejected' lines use (logReadingsRejected), in the limiter both paths share: an uploader whose every
 * upload fails would otherwise write a line per upload, at its rate limit, all day, and a device bad on both paths
 * one line per path. `count` is the uploads (and publishes) the line stands for; each upload is still answered,
 * counted in the metrics and, when its body was read, recorded in the rejection log. Ids, codes and counts only:
 * no reading value, nothing of the body. The device id is the one the api-secret was checked against, a
 * registered id (at most 64 characters, ID_PATTERN). The fields are made before the line is noted: a folded line
 * is kept up to 10 s, and must not keep the upload meanwhile.
 */

/** An upload answered 200 with some of its documents rejected. */
export function logUploadRejected(limiter: LogLimit, log: UploadLog, deviceId: string, rejections: readonly { readonly code: string }[]): void {
  const fields = { deviceId, rejected: rejections.length, codes: countByCode(rejections) };
  limiter.note(rejectedLineKey(deviceId), (count) => log.info({ ...fields, count }, 'Nightscout upload: readings rejected'));
}

/** An upload refused whole: its body not JSON or nested too deep (400), too large or with too many documents (413). */
export function logUploadRefused(limiter: LogLimit, log: UploadLog, deviceId: string, code: ErrorCode, status: number): void {
  limiter.note(rejectedLineKey(deviceId), (count) => log.info({ deviceId, code, status, count }, 'Nightscout upload refused'));
}
