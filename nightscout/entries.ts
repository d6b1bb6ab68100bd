import { documentId, emptyTranslation, isDocument, numberOf, rejection, timeOf, type Translation } from './translation.js';

/**
 * Dexcom receivers report sensor states as small numbers in `sgv` (Nightscout lib/plugins/errorcodes.js: 1 ?SN
 * sensor not active, 5 ?NC not calibrated, 9 ?AD, 10 ???, 12 ?RF ...); Nightscout treats every `sgv` below 39 as
 * such a code. They are not glucose values.
 */
const DEXCOM_CODE_BELOW = 39;

/**
 * The message id of a glucose reading from Nightscout: its kind, so that a re-upload of the same entry (same
 * time) is the same reading, and a finger-stick entry (`mbg`) and a BG Check treatment of the same moment are one.
 */
export const SENSOR_ID = 'ns-sgv';
export const METER_ID = 'ns-mbg';

/**
 * `POST /api/v1/entries`: an entry or an array of them (Nightscout's entries collection; values always in mg/dL).
 * `sgv` (sensor glucose) becomes a CGM glucose reading, `mbg` (meter glucose) a meter reading; `cal` (xDrip+'s
 * calibration slope and intercept) is not a measurement and is ignored; any other type is rejected.
 */
export function translateEntries(body: unknown, deviceId: string): Translation {
  const out = emptyTranslation();
  const entries = Array.isArray(body) ? body : [body];
  entries.forEach((entry, index) => {
    const ref = String(index);
    if (!isDocument(entry)) return void out.rejections.push({ ref, code: 'VIGIL_ERR_NOT_A_READING', message: 'each entry must be a JSON object', item: entry });
    const type = entry.type;
    if (type === 'cal') return void out.ignored.push({ ref, kind: 'calibration' });
    if (type !== 'sgv' && type !== 'mbg') {
      return void out.rejections.push({ ref, code: 'VIGIL_ERR_UNKNOWN_TYPE', item: entry, message: `entry type ${JSON.stringify(type ?? null).slice(0, 40)} is not sgv, mbg or cal` });
    }
    const time = timeOf(entry, ['date'], ['dateString', 'sysTime']);
    if (time === undefined) return void out.rejections.push(rejection(ref, 'VIGIL_ERR_SCHEMA', 'date: epoch milliseconds (at most 8.64e15, what a date can hold), or dateString with an offset, is required', entry));
    const value = numberOf(entry[type]);
    if (value === undefined) return void out.rejections.push(rejection(ref, 'VIGIL_ERR_SCHEMA', `${type}: a number in mg/dL is required`, entry));
    if (type === 'sgv' && value < DEXCOM_CODE_BELOW) {
      return void out.rejections.push(rejection(ref, 'VIGIL_ERR_OUT_OF_RANGE', `sgv ${value} is a CGM sensor status code (Nightscout shows it as ?NC, ?SN...), not a glucose value`, entry));
    }
    out.items.push({
      ref,
      item: { type: 'glucose', time: new Date(time).toISOString(), value, unit: 'mg/dL', source: type === 'sgv' ? 'cgm' : 'meter', id: type === 'sgv' ? SENSOR_ID : METER_ID },
    });
    out.documents.set(ref, { ...entry, _id: documentId(deviceId, type === 'sgv' ? SENSOR_ID : METER_ID, time) });
  });
  return out;
}
